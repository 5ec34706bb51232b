import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseArgs, promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { flagsToConfig, nodeFlags } from '../src/cli/commands/node-start.js';
import { parseNodeConfig } from '../src/config/config.js';

const run = promisify(execFile);
const deploy = (name: string) => new URL(`../deploy/${name}`, import.meta.url);
const repoRoot = new URL('../../..', import.meta.url).pathname;

/** The `--flag`s of an argument list, each checked against `trinity node start`'s options. */
function unknownFlags(args: string[]): string[] {
  return args
    .filter((arg) => arg.startsWith('--'))
    .map((arg) => arg.slice(2))
    .filter((flag) => !(flag in nodeFlags));
}

/** The node config `node start ARGS` runs with: throws ConfigError (exit 6) when the flags make a bad one. */
function configOf(args: string[]) {
  const { values } = parseArgs({
    args: args.slice(2),
    options: nodeFlags,
    strict: true,
    allowPositionals: false,
  });
  return parseNodeConfig(flagsToConfig(values));
}

describe('deploy files', () => {
  it('the systemd unit runs `trinity node start` with flags it knows', async () => {
    const unit = await readFile(deploy('trinity.service'), 'utf8');
    const execStart = /^ExecStart=(.+)$/m.exec(unit)?.[1]?.split(/\s+/);
    expect(execStart?.slice(1, 3)).toEqual(['node', 'start']);
    expect(unknownFlags(execStart!)).toEqual([]);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    // Exit codes a restart cannot fix: usage error, port in use, bad config (README "Exit codes").
    expect(unit).toMatch(/^RestartPreventExitStatus=2 5 6$/m);
    expect(configOf(execStart!.slice(1)).api.host).toBe('127.0.0.1');
  });

  it('the Dockerfile runs `trinity node start` with flags it knows', async () => {
    const dockerfile = await readFile(deploy('Dockerfile'), 'utf8');
    const cmd = JSON.parse(/^CMD (\[.+\])$/m.exec(dockerfile)![1]!) as string[];
    expect(cmd.slice(0, 2)).toEqual(['node', 'start']);
    expect(unknownFlags(cmd)).toEqual([]);
    // The API listens on the container's every address: allowed only with --insecure-http (or TLS).
    expect(configOf(cmd).api).toMatchObject({ host: '0.0.0.0', insecureHttp: true });
    expect(JSON.parse(/^ENTRYPOINT (\[.+\])$/m.exec(dockerfile)![1]!)).toEqual(['node', '/app/dist/cli.js']);
  });
});

/** docker or podman with a reachable engine, or why there is none. */
async function containerEngine(): Promise<{ engine?: string; reason: string }> {
  for (const engine of ['docker', 'podman']) {
    try {
      await run(engine, ['version', '--format', '{{.Server.Version}}'], { timeout: 30_000 });
      return { engine, reason: '' };
    } catch {
      // not installed, or no engine behind it
    }
  }
  return { reason: 'no docker or podman engine reachable on this machine' };
}

const { engine, reason } = await containerEngine();

describe('container image', () => {
  it.skipIf(engine === undefined)(
    `builds from the repository root and prints its version${engine === undefined ? ` (skipped: ${reason})` : ''}`,
    async () => {
      const tag = `trinity-node-test:${process.pid}`;
      try {
        await run(engine!, ['build', '-f', 'apps/node/deploy/Dockerfile', '-t', tag, '.'], {
          cwd: repoRoot,
          timeout: 1_800_000,
          maxBuffer: 64 * 1024 * 1024,
        });
        const { stdout } = await run(engine!, ['run', '--rm', tag, '--version'], { timeout: 300_000 });
        expect(stdout).toMatch(/^trinity \d+\.\d+\.\d+ \(node v22\./);
      } finally {
        await run(engine!, ['rmi', '-f', tag]).catch(() => {});
      }
    },
    2_400_000,
  );
});
