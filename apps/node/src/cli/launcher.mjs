// `pnpm -s trinity …` from the repository: runs the built CLI (dist/cli.js). Plain JavaScript, so it
// runs before anything is built. When dist is missing or older than a source file of the workspace,
// it builds first, with every build line on stderr: stdout carries only the command's own output.
// Relative paths are the caller's: pnpm runs scripts in the repository root, so the launcher moves
// back to the directory pnpm was started in (INIT_CWD) before the CLI reads its arguments. The root
// scripts `exec` it, so signals pnpm forwards (SIGTERM, SIGINT) reach the CLI, whose exit code pnpm
// then returns: a devnet stopped cleanly exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const root = resolve(appDir, '../..');
const cli = join(appDir, 'dist/cli.js');
// Touched after a build this launcher ran: a build that changed nothing still counts as fresh.
const stamp = join(appDir, 'dist/.launcher-built');

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/** The newest modification time of a file under `dir` (bounded walk: sources only, no node_modules). */
function newestUnder(dir, depth = 0) {
  let newest = -1;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return newest;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth < 8) newest = Math.max(newest, newestUnder(path, depth + 1));
    } else newest = Math.max(newest, mtimeMs(path));
  }
  return newest;
}

function isStale() {
  const built = Math.max(mtimeMs(cli), mtimeMs(stamp));
  if (mtimeMs(cli) < 0) return true;
  // The workspace packages the node depends on (all of them are direct dependencies).
  const manifest = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
  const names = Object.keys(manifest.dependencies ?? {}).filter((name) => name.startsWith('@trinity/'));
  for (const name of names) {
    const dir = join(root, 'packages', name.slice('@trinity/'.length));
    if (!existsSync(join(dir, 'dist'))) return true;
    if (Math.max(newestUnder(join(dir, 'src')), mtimeMs(join(dir, 'package.json'))) > built) return true;
  }
  const own = Math.max(
    newestUnder(join(appDir, 'src')),
    mtimeMs(join(appDir, 'package.json')),
    mtimeMs(join(appDir, 'tsup.config.ts')),
  );
  return own > built;
}

if (isStale()) {
  process.stderr.write(
    'trinity: building (dist is missing or older than the sources); one line per package…\n',
  );
  const turbo = join(root, 'node_modules/.bin/turbo');
  const build = spawnSync(turbo, ['run', 'build', '--filter=@trinity/node...', '--output-logs=hash-only'], {
    cwd: root,
    stdio: ['ignore', 2, 2],
  });
  if (build.status !== 0) {
    process.stderr.write(`trinity: the build failed (${build.error?.message ?? `exit ${build.status}`})\n`);
    process.exit(1);
  }
  writeFileSync(stamp, '');
}

if (process.env.npm_lifecycle_event === 'trinity' && process.env.INIT_CWD)
  process.chdir(process.env.INIT_CWD);
await import(pathToFileURL(cli).href);
