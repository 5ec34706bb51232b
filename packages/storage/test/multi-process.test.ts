import { type ChildProcess, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomSeed, sha256, toHex } from '@trinity/core';
import { afterEach, describe, expect, it } from 'vitest';
import { parseShardHash, ShardStore } from '../src/index.js';
import { tempDir } from './helpers.js';

const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
/** A writer that has not acknowledged enough writes by then is killed and the test fails. Generous:
 * it only has to start (tsx compiles it) and write a few dozen small shards, on a machine that may be busy. */
const WRITER_TIMEOUT_MS = 120_000;

/** Writers still running: killed after each test even when it failed or timed out mid-run, before the
 * temp dir is removed (this hook is registered after helpers.ts's, so it runs first). */
const running = new Set<ChildProcess>();
afterEach(async () => {
  const exits = [...running].map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of running) child.kill('SIGKILL');
  await Promise.all(exits);
});

/** Runs the writer until it acknowledged `acks` writes, then SIGKILLs it; returns its acknowledged hashes. */
function runAndKill(dir: string, seed: number, acks: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    const acked: string[] = [];
    let buffer = '';
    let stderr = '';
    let count = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), WRITER_TIMEOUT_MS);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const [kind, ...rest] = line.split(' ');
        if (kind === 'put') acked.push(rest[0]!);
        if (kind === 'commit') acked.push(...rest.slice(1));
        if ((kind === 'put' || kind === 'commit') && ++count === acks) child.kill('SIGKILL');
      }
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (signal === 'SIGKILL' && count >= acks) resolve(acked);
      else reject(new Error(`writer ended early (${signal}): ${stderr}`));
    });
  });
}

describe('multi-process: a writer killed with SIGKILL mid-stream', () => {
  it(
    'loses no acknowledged write and reopens consistent',
    async () => {
      const dir = await tempDir();
      const seed = randomSeed();
      const acked = new Set<string>();
      for (const [round, acks] of [25, 40, 15].entries()) {
        for (const hex of await runAndKill(dir, seed + round, acks)) acked.add(hex);
        const store = await ShardStore.open(dir, { fsync: false });
        expect(await readdir(join(dir, 'tmp')), `seed ${seed}`).toEqual([]);
        for (const tx of store.stagedTransactions()) if (store.isCommitting(tx)) await store.commitStaged(tx);
        for (const hex of acked) {
          const data = await store.get(parseShardHash(hex));
          expect(toHex(sha256(data)), `seed ${seed}`).toBe(hex);
        }
        for (const [hex] of store.entries()) expect(await store.verify(parseShardHash(hex))).toBe('ok');
        await store.close();
      }
    },
    3 * WRITER_TIMEOUT_MS + 60_000,
  );
});
