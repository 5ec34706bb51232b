/**
 * Every package README's quick start, run exactly as written: each package is packed (`pnpm pack`, as
 * it would be published), a scratch project runs the README's install line with the @trinity names
 * mapped to those tarballs (third-party dependencies come from the npm registry, or npm's cache), the
 * quick start is saved as `quick-start.mjs` and run with plain `node`, and what it prints is compared
 * with the README's "It prints:" block.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReadme, type Readme } from '../src/readme.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
/** The packages whose quick starts are checked (each must have one). */
const packages = ['core', 'erasure', 'vsa', 'topology', 'tx', 'economics', 'metrics', 'storage'];
/** Scratch projects installed at once: npm is mostly waiting on the network, the machine has 2 cores. */
const installsAtOnce = 2;
const installTimeoutMs = 300_000;
const runTimeoutMs = 120_000;

interface Outcome {
  readonly readme: Readme;
  readonly example: string;
  readonly stdout?: string;
  readonly failure?: string;
}

let scratch: string;
const outcomes = new Map<string, Outcome>();

async function pack(name: string, destination: string): Promise<void> {
  await run('pnpm', ['pack', '--pack-destination', destination], {
    cwd: join(root, 'packages', name),
    timeout: installTimeoutMs,
  });
}

/** `npm install a b` with each @trinity name replaced by its tarball; the rest go to npm as written. */
function installArguments(readme: Readme, tarballs: ReadonlyMap<string, string>): string[] {
  return readme.installPackages.map((spec) => tarballs.get(spec) ?? spec);
}

async function tryQuickStart(name: string, tarballs: ReadonlyMap<string, string>): Promise<Outcome> {
  const readme = parseReadme(await readFile(join(root, 'packages', name, 'README.md'), 'utf8'));
  const example = await readFile(join(root, 'packages', name, 'examples', 'quick-start.mjs'), 'utf8');
  const dir = join(scratch, name);
  await mkdir(dir);
  // @trinity packages the install line does not name, but one it names depends on, come from their
  // tarballs too (a direct dependency must not be overridden, so those are left out).
  const overrides = Object.fromEntries(
    [...tarballs]
      .filter(([spec]) => !readme.installPackages.includes(spec))
      .map(([spec, file]) => [spec, `file:${file}`]),
  );
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: `quick-start-${name}`, private: true, type: 'module', overrides }, null, 2),
  );
  try {
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=error',
        ...installArguments(readme, tarballs),
      ],
      { cwd: dir, timeout: installTimeoutMs },
    );
  } catch (error) {
    return {
      readme,
      example,
      failure: `${readme.install} failed: ${(error as { stderr?: string }).stderr ?? error}`,
    };
  }
  await writeFile(join(dir, 'quick-start.mjs'), readme.code);
  try {
    const { stdout } = await run(process.execPath, ['quick-start.mjs'], { cwd: dir, timeout: runTimeoutMs });
    return { readme, example, stdout };
  } catch (error) {
    return {
      readme,
      example,
      failure: `node quick-start.mjs failed: ${(error as { stderr?: string }).stderr ?? error}`,
    };
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'trinity-readme-check-'));
  const tarballDir = join(scratch, 'tarballs');
  await mkdir(tarballDir);
  for (const name of packages) await pack(name, tarballDir);
  const tarballs = new Map<string, string>();
  for (const file of await readdir(tarballDir)) {
    const match = /^trinity-(.+)-\d+\.\d+\.\d+.*\.tgz$/.exec(file);
    if (match !== null) tarballs.set(`@trinity/${match[1]}`, join(tarballDir, file));
  }
  const queue = [...packages];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      outcomes.set(name, await tryQuickStart(name, tarballs));
    }
  };
  await Promise.all(Array.from({ length: installsAtOnce }, worker));
});

afterAll(async () => {
  // Retried: an install cut short by the timeout may still be writing there for a moment.
  if (scratch === undefined) return;
  await rm(scratch, { recursive: true, force: true, maxRetries: 10, retryDelay: 500 });
});

describe.each(packages)('@trinity/%s README', (name) => {
  it('shows examples/quick-start.mjs as its quick start, word for word', () => {
    const { readme, example } = outcomes.get(name)!;
    expect(readme.code).toBe(example);
  });

  it('installs every package its quick start imports', () => {
    const { readme } = outcomes.get(name)!;
    expect(readme.imports.filter((spec) => !readme.installPackages.includes(spec))).toEqual([]);
  });

  it('runs its quick start as written, after its install line, with plain node', () => {
    const outcome = outcomes.get(name)!;
    expect(outcome.failure).toBeUndefined();
    if (outcome.readme.prints !== undefined) expect(outcome.stdout).toBe(outcome.readme.prints);
  });
});
