// put/get of 1 MiB shards through ShardStore (fsync on) beside raw fs writes/reads of the same
// bytes, plus the time to reopen a store of 10,000 shards. `--json` prints one object per line.
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { seededRandom } from '@trinity/core';
import { ShardStore } from '../src/index.js';
import { benchReport } from './_report.js';

const MiB = 1024 * 1024;
const shardBytes = MiB;
const count = Number(process.env.BENCH_SHARDS ?? 64);
const { report, printTable } = benchReport();

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

const random = seededRandom(2024);
const shards = Array.from({ length: count }, () => random.bytes(shardBytes));
const mbps = (seconds: number) => (count * shardBytes) / 1e6 / seconds;
const root = await mkdtemp(join(tmpdir(), 'trinity-bench-'));

try {
  const store = await ShardStore.open(join(root, 'store'));
  const rawDir = join(root, 'raw');
  await mkdir(rawDir);
  const params = { shardBytes, shards: count, fsync: true };

  // Interleave the two so both see the same disk conditions.
  let storePut = 0;
  let rawPut = 0;
  for (const [i, data] of shards.entries()) {
    storePut += await timed(async () => void (await store.put(data)));
    rawPut += await timed(async () => {
      const handle = await open(join(rawDir, String(i)), 'w');
      await handle.writeFile(data);
      await handle.sync();
      await handle.close();
    });
  }
  report('put 1MiB', '@trinity/storage', params, mbps(storePut), 'MB/s');
  report('put 1MiB', 'fs.writeFile+fsync', params, mbps(rawPut), 'MB/s');

  const hashes: Uint8Array[] = [];
  for await (const hash of store.list()) hashes.push(hash);
  let storeGet = 0;
  let rawGet = 0;
  for (const [i, hash] of hashes.entries()) {
    storeGet += await timed(async () => void (await store.get(hash)));
    rawGet += await timed(async () => void (await readFile(join(rawDir, String(i)))));
  }
  report(
    'get 1MiB',
    '@trinity/storage (sha256 verified)',
    { shardBytes, shards: count },
    mbps(storeGet),
    'MB/s',
  );
  report('get 1MiB', 'fs.readFile', { shardBytes, shards: count }, mbps(rawGet), 'MB/s');
  await store.close();

  // Reopen 10,000 small shards: from the clean-close index, and by scanning (after a crash).
  const many = await ShardStore.open(join(root, 'many'), { fsync: false });
  for (let i = 0; i < 10_000; i += 100)
    await Promise.all(Array.from({ length: 100 }, () => many.put(random.bytes(64))));
  await many.close();
  // The first open consumes the snapshot and is not closed (as after a crash), so the second scans.
  const opened: ShardStore[] = [];
  const clean = await timed(
    async () => void opened.push(await ShardStore.open(join(root, 'many'), { fsync: false })),
  );
  const scan = await timed(
    async () => void opened.push(await ShardStore.open(join(root, 'many'), { fsync: false })),
  );
  for (const s of opened) await s.close();
  report('open 10k shards', '@trinity/storage (index snapshot)', { shards: 10_000 }, clean * 1000, 'ms');
  report('open 10k shards', '@trinity/storage (full scan)', { shards: 10_000 }, scan * 1000, 'ms');
} finally {
  await rm(root, { recursive: true, force: true });
}

printTable({ params: false });
