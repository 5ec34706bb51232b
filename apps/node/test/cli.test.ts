import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrinityNode } from '../src/node/trinity-node.js';
import { cliPath, sha256Hex, startNodes, tempDir } from './helpers.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const launcher = fileURLToPath(new URL('../src/cli/launcher.mjs', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a fresh shell: no trace of the pnpm script running these tests. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of Object.keys(env)) {
    if ((key.startsWith('npm_') || key === 'INIT_CWD') && !(key in extra)) delete env[key];
  }
  return env;
}

/** Runs a command to completion; `stdoutFile` sends its stdout straight to a file, as `> file` does. */
function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; stdoutFile?: string } = {},
): Promise<Run> {
  const fd = options.stdoutFile === undefined ? undefined : openSync(options.stdoutFile, 'w');
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? cleanEnv(),
      stdio: ['ignore', fd ?? 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  }).finally(() => {
    if (fd !== undefined) closeSync(fd);
  });
}

/** `pnpm -s trinity ARGS` from the repository root, as a user types it. */
const pnpmTrinity = (args: string[], options: { stdoutFile?: string } = {}) =>
  run('pnpm', ['-s', 'trinity', ...args], options);
/** The built CLI directly (faster, for what does not depend on the pnpm script). */
const trinity = (args: string[], env?: NodeJS.ProcessEnv) =>
  run(process.execPath, [cliPath, ...args], { env });

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('trinity CLI against a 3-node network', () => {
  let nodes: TrinityNode[];
  let close: (() => Promise<void>) | undefined;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const api = () => nodes[0]!.apiUrl;

  beforeAll(async () => {
    dir = await tempDir('trinity-cli-files-');
    ({ nodes, close } = await startNodes('trinity-cli-', 3, () => ({
      erasure: { dataShards: 2, parityShards: 1, shardBytes: 64 * 1024 },
      limits: { maxObjectBytes: 4 * 1024 * 1024 },
    })));
  }, 600_000);

  afterAll(async () => {
    await close?.();
    await dir?.remove();
  }, 300_000);

  it('pnpm -s trinity: put prints exactly the id, get > file is byte-identical, rm confirms', async () => {
    const data = randomBytes(200_000);
    const file = join(dir.path, 'in.bin');
    await writeFile(file, data);
    // The token from the node's data directory (--data-dir), from the file (--token-file), and from
    // the environment (TRINITY_API_TOKEN).
    const dataDir = ['--data-dir', nodes[0]!.config.dataDir];
    const put = await pnpmTrinity(['put', file, '--api', api(), ...dataDir]);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    expect(put.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const id = put.stdout.trim();

    const copy = join(dir.path, 'copy.bin');
    const get = await pnpmTrinity(['get', id, '--api', api(), '--token-file', nodes[0]!.api.tokenPath], {
      stdoutFile: copy,
    });
    expect(get.code).toBe(0);
    expect(sha256Hex(await readFile(copy))).toBe(sha256Hex(data));

    const rm = await pnpmTrinity(['rm', id, '--api', api(), ...dataDir]);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toBe(`deleted ${id}\n`);

    // Exit code 3: the object is gone.
    const gone = await trinity(
      ['get', id, '--api', api()],
      cleanEnv({ TRINITY_API_TOKEN: nodes[0]!.api.token }),
    );
    expect(gone.code).toBe(3);
    expect(gone.stdout).toBe('');
    expect(gone.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('resolves relative paths from the directory pnpm was started in (INIT_CWD)', async () => {
    const data = randomBytes(10_000);
    await writeFile(join(dir.path, 'relative.bin'), data);
    const env = cleanEnv({
      npm_lifecycle_event: 'trinity',
      INIT_CWD: dir.path,
      TRINITY_API_TOKEN_FILE: nodes[0]!.api.tokenPath,
    });
    const put = await run(process.execPath, [launcher, 'put', 'relative.bin', '--api', api()], { env });
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    const id = put.stdout.trim();
    const get = await run(process.execPath, [launcher, 'get', id, '-o', 'back.bin', '--api', api()], { env });
    expect(get.code).toBe(0);
    expect(sha256Hex(await readFile(join(dir.path, 'back.bin')))).toBe(sha256Hex(data));
  });

  it('finds the token of the node serving --api in a data directory under the current one', async () => {
    // A devnet's layout in a fresh working directory: .trinity/devnet/node-<i>/{ready.json, api-token}.
    const cwd = await tempDir('trinity-cli-cwd-');
    try {
      for (const [i, node] of nodes.entries()) {
        const nodeDir = join(cwd.path, '.trinity', 'devnet', `node-${i}`);
        await mkdir(nodeDir, { recursive: true });
        await copyFile(join(node.config.dataDir, 'ready.json'), join(nodeDir, 'ready.json'));
        await writeFile(join(nodeDir, 'api-token'), `${node.api.token}\n`, { mode: 0o600 });
      }
      const ls = await run(process.execPath, [cliPath, 'ls', '--api', nodes[2]!.apiUrl], { cwd: cwd.path });
      expect(ls.stderr).toBe('');
      expect(ls.code).toBe(0);
    } finally {
      await cwd.remove();
    }
  });

  it('without the token, or with a wrong one, fails in one line that says where the token is', async () => {
    const missing = await trinity(['ls', '--api', api()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `trinity: the node at ${api()} needs an API token: pass --token-file <its dataDir>/api-token or set TRINITY_API_TOKEN\n`,
    );
    const wrong = await trinity(['ls', '--api', api()], cleanEnv({ TRINITY_API_TOKEN: nodes[1]!.api.token }));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^trinity: the node at .* refused the API token: /);
    const loose = join(dir.path, 'loose-token');
    await writeFile(loose, `${nodes[0]!.api.token}\n`, { mode: 0o644 });
    await chmod(loose, 0o644);
    const refused = await trinity(['ls', '--api', api(), '--token-file', loose]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/readable by its owner only/);
  });

  it('exit code 1: a file that cannot be read', async () => {
    const result = await trinity(['put', join(dir.path, 'no-such-file'), '--api', api()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`trinity: cannot read ${join(dir.path, 'no-such-file')}\n`);
  });
});

describe('trinity CLI without a network', () => {
  it('--version prints the package version', async () => {
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const result = await trinity(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`trinity ${manifest.version} (node ${process.version})\n`);
  });

  it('every command has its own help page with examples, by --help and by help <command>', async () => {
    const pages = new Set<string>();
    for (const command of ['put', 'get', 'rm', 'ls', 'status', 'search']) {
      const byFlag = await trinity([command, '--help']);
      const byHelp = await trinity(['help', command]);
      expect(byFlag.code).toBe(0);
      expect(byHelp.code).toBe(0);
      expect(byFlag.stdout).toBe(byHelp.stdout);
      expect(byFlag.stdout).toContain(`trinity ${command}`);
      expect(byFlag.stdout).toMatch(/Examples?:/);
      pages.add(byFlag.stdout);
    }
    expect(pages.size).toBe(6);
    expect((await trinity(['help', 'node', 'start'])).stdout).toContain('Usage: trinity node start');
    expect((await trinity(['help', 'devnet'])).stdout).toContain('Usage: trinity devnet');
  });

  it('exit code 2: usage errors are one line, with balanced quotes', async () => {
    const cases: [string[], string][] = [
      [
        ['ls', 'extra-arg'],
        'trinity: ls: takes no arguments, got extra "extra-arg" (see "trinity ls --help")',
      ],
      [['status', 'x'], 'trinity: status: takes no arguments, got extra "x" (see "trinity status --help")'],
      [
        ['get', 'a'.repeat(64), 'b'],
        'trinity: get: takes 1 argument, got extra "b" (see "trinity get --help")',
      ],
      [['put', '--bogus'], 'trinity: put: unknown option "--bogus" (see "trinity put --help")'],
      [['get', '--api'], 'trinity: get: option "--api" needs a value (see "trinity get --help")'],
      [['get', 'xyz'], 'trinity: "xyz" is not an object id (64 hex characters)'],
      [['frob'], 'trinity: unknown command "frob" (see "trinity --help")'],
      [['help', 'frob'], 'trinity: no help for "frob": not a command (see "trinity --help")'],
      [['devnet', '--nodes', 'six'], 'trinity: --nodes must be a whole number, got "six"'],
    ];
    for (const [args, line] of cases) {
      const result = await trinity(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`${line}\n`);
      expect(result.stderr.split('"').length % 2, `quotes of ${result.stderr}`).toBe(1);
    }
  });

  it('exit code 4: no node at --api', async () => {
    const port = await closedPort();
    const result = await trinity(['ls', '--api', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(4);
    expect(result.stderr).toBe(
      `trinity: cannot reach http://127.0.0.1:${port} (ECONNREFUSED): is a node running there?\n`,
    );
  });

  for (const which of ['listen', 'api'] as const) {
    it(`exit code 5: a busy ${which === 'listen' ? 'peer-to-peer' : 'API'} port is one clear line`, async () => {
      const dir = await tempDir('trinity-cli-port-');
      const server: Server = createServer();
      try {
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const port = (server.address() as { port: number }).port;
        const ports =
          which === 'listen'
            ? ['--listen-port', String(port), '--api-port', '0']
            : ['--listen-port', '0', '--api-port', String(port)];
        const result = await trinity([
          'node',
          'start',
          '--data-dir',
          dir.path,
          '--log-level',
          'silent',
          ...ports,
        ]);
        expect(result.code).toBe(5);
        expect(result.stderr).toBe(`trinity: port ${port} on 127.0.0.1 is in use\n`);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await dir.remove();
      }
    });
  }
});
