import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, freeBasePort, tempDir, until } from './helpers.js';

/** Whether `pid` is a live process (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Field 3 of /proc/PID/stat is the state; Z is a zombie. Absent /proc, signal 0 decides.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

/** Every pid a test starts, killed in afterAll whatever happened. */
const started = new Set<number>();
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const cleanup of cleanups) await cleanup();
}, 120_000);

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

describe('trinity node start --exit-with-parent', () => {
  it('stops when its parent is killed with SIGKILL while the node is still starting', async () => {
    const dir = await tempDir('trinity-orphan-');
    cleanups.push(dir.remove);
    // A parent that starts a node, prints its pid and is then killed before the node is up.
    const script = `
      const { spawn } = require('node:child_process');
      const child = spawn(process.execPath, ${JSON.stringify([cliPath, 'node', 'start', '--data-dir', dir.path, '--api-port', '0', '--listen-port', '0', '--log-level', 'silent', '--exit-with-parent'])}, { stdio: 'ignore', env: { ...process.env, TRINITY_PARENT_PID: String(process.pid) } });
      process.stdout.write(child.pid + '\\n');
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.add(parent.pid!);
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      parent.once('exit', () => reject(new Error('the parent exited before printing the pid')));
    });
    started.add(pid);
    parent.kill('SIGKILL');
    await exitOf(parent);
    // Generous: the node first finishes starting (minutes on a loaded machine), then stops.
    await until('the orphaned node to exit', async () => (alive(pid) ? undefined : true), 240_000, 500);
    expect(alive(pid)).toBe(false);
  }, 300_000);
});

const repoRoot = new URL('../../..', import.meta.url).pathname;

describe('trinity devnet without a terminal', () => {
  // Directly, and through the root script (`exec`: pnpm forwards SIGTERM and returns the CLI's code).
  it.each([
    ['node dist/cli.js', process.execPath, [cliPath]],
    ['pnpm -s trinity', 'pnpm', ['-s', 'trinity']],
  ])(
    '%s devnet: stops every node gracefully on SIGTERM and exits 0',
    async (_name, command, prefix) => {
      const dir = await tempDir('trinity-devnet-stop-');
      cleanups.push(dir.remove);
      const basePort = await freeBasePort(2);
      const devnet = spawn(
        command,
        [...prefix, 'devnet', '--nodes', '2', '--data-dir', dir.path, '--base-port', String(basePort)],
        { stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot },
      );
      started.add(devnet.pid!);
      let output = '';
      devnet.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      devnet.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const exited = exitOf(devnet);
      await until(
        'the devnet to be up',
        async () => {
          if (devnet.exitCode !== null) throw new Error(`devnet exited early: ${output}`);
          return output.includes('Press Ctrl-C to stop') ? true : undefined;
        },
        480_000,
        500,
      );
      const pids = [0, 1].map((i) => {
        const ready = JSON.parse(readFileSync(`${dir.path}/node-${i}/ready.json`, 'utf8')) as { pid: number };
        started.add(ready.pid);
        return ready.pid;
      });
      expect(pids.every(alive)).toBe(true);
      // Node 0 serves S3 at the documented offset, and the devnet prints a working key for it.
      expect(output).toContain(`S3 gateway (node 0): http://127.0.0.1:${basePort + 300}`);
      expect(output).toMatch(/AWS_ACCESS_KEY_ID=TRN[A-Z2-7]{17} AWS_SECRET_ACCESS_KEY=\S{40}/);
      const ready0 = JSON.parse(readFileSync(`${dir.path}/node-0/ready.json`, 'utf8')) as { s3Url?: string };
      expect(ready0.s3Url).toBe(`http://127.0.0.1:${basePort + 300}`);
      devnet.kill('SIGTERM');
      const { code, signal } = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(output).toContain('all nodes stopped');
      expect(pids.filter(alive)).toEqual([]);
      // Each node stopped itself (graceful), rather than being killed: its log says so.
      for (const i of [0, 1]) {
        expect(readFileSync(`${dir.path}/node-${i}/node.log`, 'utf8')).toContain('shutting down');
      }
    },
    600_000,
  );
});
