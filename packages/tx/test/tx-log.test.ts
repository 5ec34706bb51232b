import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTrinityError } from '@trinity/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeFrames,
  encodeFrame,
  LOG_MAGIC,
  MemoryTxLog,
  TxLog,
  TxLogClosedError,
  TxLogCorruptError,
  type TxLogRecord,
} from '../src/index.js';
import { encodeFrames, encodeRecord } from '../src/log-codec.js';

const shard = (i: number) => i.toString(16).padStart(64, '0');
const prepared = (i: number): Extract<TxLogRecord, { type: 'part-prepared' }> => ({
  type: 'part-prepared',
  txId: `tx${i}`,
  coordinator: 'node-c',
  deadlineMs: 1_000 + i,
  shards: [shard(i), shard(i + 1)],
});
const records = (n: number) => Array.from({ length: n }, (_, i) => prepared(i));

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trinity-tx-log-'));
  path = join(dir, 'tx.log');
});
afterEach(async () => {
  for (const log of opened.splice(0)) await log.close();
  await rm(dir, { recursive: true, force: true });
});

/** Logs a test opened: closed after it (close is idempotent), so no file handle is left to the GC. */
const opened: TxLog[] = [];
async function openLog(at: string, options?: Parameters<typeof TxLog.open>[1]): Promise<TxLog> {
  const log = await TxLog.open(at, options);
  opened.push(log);
  return log;
}

async function writeLog(all: readonly TxLogRecord[], options = { preallocateBytes: 0 }): Promise<void> {
  const log = await openLog(path, options);
  for (const record of all) await log.append(record);
  await log.close();
}

async function reopen(options = { preallocateBytes: 0 }): Promise<TxLog> {
  return openLog(path, options);
}

describe('TxLog', () => {
  it('appends, and a reopened log replays every record in order', async () => {
    await writeLog(records(20));
    const log = await reopen();
    expect(log.replay()).toEqual(records(20));
    expect(log.recovery).toEqual({ records: 20, truncatedBytes: 0, lastSeq: 20 });
    await log.append(prepared(99));
    await log.close();
    expect((await reopen()).replay()).toEqual([...records(20), prepared(99)]);
  });

  it.each(['dsync', 'fdatasync'] as const)(
    'appends, preallocates and replays with syncMode %s',
    async (syncMode) => {
      const log = await openLog(path, { syncMode, preallocateBytes: 4_096 });
      await Promise.all(records(100).map((record) => log.append(record)));
      await log.checkpoint(records(3));
      await log.append(prepared(99));
      await log.close();
      const reopened = await openLog(path, { syncMode });
      expect(reopened.replay()).toEqual([...records(3), prepared(99)]);
      await reopened.close();
    },
  );

  it('resolves an append only after its group fdatasync, and many appends share one', async () => {
    const log = await openLog(path, { preallocateBytes: 0 });
    const seqs = await Promise.all(records(500).map((record) => log.append(record)));
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(log.syncCount).toBeGreaterThan(0);
    expect(log.syncCount).toBeLessThan(50);
    await log.close();
    expect((await reopen()).replay()).toHaveLength(500);
  });

  it('truncated at every byte offset of its last record: the prefix is recovered, the rest dropped', async () => {
    const all = records(4);
    await writeLog(all);
    const full = new Uint8Array(await readFile(path));
    const lastFrame = encodeFrame(all[3]!, 4);
    const lastStart = full.length - lastFrame.length;
    for (let cut = lastStart; cut < full.length; cut++) {
      await writeFile(path, full.subarray(0, cut));
      const log = await reopen();
      expect(log.replay(), `cut at ${cut}`).toEqual(all.slice(0, 3));
      expect(log.recovery.truncatedBytes).toBe(cut - lastStart);
      // The log stays usable: the next append lands where the torn record was.
      await log.append(prepared(50));
      await log.close();
      expect((await reopen()).replay()).toEqual([...all.slice(0, 3), prepared(50)]);
    }
  });

  it('treats a torn tail of garbage or zeros as torn, never as records', async () => {
    await writeLog(records(3));
    const full = new Uint8Array(await readFile(path));
    for (const tail of [new Uint8Array(100), Uint8Array.from({ length: 37 }, (_, i) => (i * 37) & 0xff)]) {
      await writeFile(path, Buffer.concat([full, tail]));
      const log = await reopen();
      expect(log.replay()).toEqual(records(3));
      await log.close();
    }
  });

  it('refuses a log corrupted before its tail (TxLogCorruptError naming the offset), whatever byte is hit', async () => {
    await writeLog(records(3));
    const full = new Uint8Array(await readFile(path));
    const firstFrameEnd = LOG_MAGIC.length + encodeFrame(records(1)[0]!, 1).length;
    for (let offset = LOG_MAGIC.length; offset < firstFrameEnd; offset += 7) {
      const damaged = full.slice();
      damaged[offset]! ^= 0x40;
      await writeFile(path, damaged);
      const error = await reopen().catch((e: unknown) => e);
      expect(error, `flip at ${offset}`).toBeInstanceOf(TxLogCorruptError);
      expect(isTrinityError(error, 'TX_LOG_CORRUPT')).toBe(true);
      expect((error as TxLogCorruptError).message).toContain(`at byte ${LOG_MAGIC.length}`);
    }
  });

  it('refuses a file that is not a transaction log', async () => {
    await writeFile(path, 'hello, this is not a log at all');
    await expect(reopen()).rejects.toBeInstanceOf(TxLogCorruptError);
  });

  it('recovers a log torn while it was being created', async () => {
    await writeFile(path, LOG_MAGIC.subarray(0, 3));
    const log = await reopen();
    expect(log.replay()).toEqual([]);
    await log.append(prepared(1));
    await log.close();
    expect((await reopen()).replay()).toEqual([prepared(1)]);
  });

  it('checkpoints: the log is replaced by the live records, later appends follow, and it survives reopening', async () => {
    const log = await openLog(path, { preallocateBytes: 0 });
    for (const record of records(100)) await log.append(record);
    const before = (await stat(path)).size;
    const live = records(100).slice(90);
    const checkpoint = log.checkpoint(live);
    const after = log.append(prepared(200));
    await Promise.all([checkpoint, after]);
    expect(log.bytesSinceCheckpoint).toBeGreaterThan(0);
    await log.close();
    expect((await stat(path)).size).toBeLessThan(before / 5);
    expect((await reopen()).replay()).toEqual([...live, prepared(200)]);
  });

  it('ignores a checkpoint that was interrupted before it replaced the log', async () => {
    await writeLog(records(5));
    await writeFile(`${path}.checkpoint`, 'half-written checkpoint');
    const log = await reopen();
    expect(log.replay()).toEqual(records(5));
    await log.close();
  });

  it('keeps preallocated zeros as free space, not as damage', async () => {
    await writeLog(records(3), { preallocateBytes: 64 * 1024 });
    expect((await stat(path)).size).toBeGreaterThanOrEqual(64 * 1024);
    const log = await reopen({ preallocateBytes: 64 * 1024 });
    expect(log.replay()).toEqual(records(3));
    expect(log.recovery.truncatedBytes).toBe(0);
    await log.append(prepared(9));
    await log.close();
    expect((await reopen({ preallocateBytes: 64 * 1024 })).replay()).toEqual([...records(3), prepared(9)]);
  });

  it('rejects an oversized record and appends after close with typed errors', async () => {
    const log = await openLog(path, { preallocateBytes: 0, recordMaxBytes: 256 });
    const big: TxLogRecord = { ...prepared(1), shards: Array.from({ length: 10 }, (_, i) => shard(i)) };
    await expect(log.append(big)).rejects.toMatchObject({ code: 'TX_LIMIT' });
    await log.close();
    await expect(log.append(prepared(2))).rejects.toBeInstanceOf(TxLogClosedError);
  });

  it('takes a record of exactly recordMaxBytes and refuses one byte more', async () => {
    const log = await openLog(path, { preallocateBytes: 0, recordMaxBytes: 256 });
    // {"type":"part-prepared","txId":"…","coordinator":"node-c","deadlineMs":1001,"shards":["…"]}
    const record = (txIdLength: number): TxLogRecord => ({
      ...prepared(1),
      txId: 't'.repeat(txIdLength),
      shards: [shard(1)],
    });
    const fixed = encodeRecord(record(0)).length;
    await expect(log.append(record(256 - fixed))).resolves.toBeGreaterThan(0);
    await expect(log.append(record(257 - fixed))).rejects.toMatchObject({ code: 'TX_LIMIT' });
    // Escapes count: 5 quotes written as \" take 10 bytes.
    const quoted = { ...record(256 - fixed - 5), coordinator: `node-c${'"'.repeat(5)}` };
    await expect(log.append(quoted)).rejects.toMatchObject({ code: 'TX_LIMIT' });
    await log.close();
  });

  it('fails a malformed record alone: appends around it are durable', async () => {
    const log = await openLog(path, { preallocateBytes: 0 });
    const first = log.append(prepared(1));
    const bad = log.append({ type: 'coord-commit', txId: 'tx9' } as unknown as TxLogRecord);
    const after = log.append(prepared(2));
    await expect(bad).rejects.toThrow(/malformed/);
    await expect(Promise.all([first, after])).resolves.toHaveLength(2);
    await log.close();
    expect((await reopen({ preallocateBytes: 0 })).replay()).toEqual([prepared(1), prepared(2)]);
  });

  it('waits groupCommitMaxDelayMs to gather appends into one fdatasync', async () => {
    const log = await openLog(path, { preallocateBytes: 0, groupCommitMaxDelayMs: 20 });
    const appends: Promise<number>[] = [];
    for (let i = 0; i < 50; i++) {
      appends.push(log.append(prepared(i)));
      await Promise.resolve();
    }
    await Promise.all(appends);
    expect(log.syncCount).toBe(1);
    await log.close();
  });

  it('refuses appends beyond pendingRecordsMax instead of queueing without bound', async () => {
    const log = await openLog(path, { preallocateBytes: 0, pendingRecordsMax: 10 });
    const results = await Promise.allSettled(records(30).map((record) => log.append(record)));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'TX_LIMIT' });
    await log.close();
  });

  it('rejects bad options with a ConfigError', async () => {
    await expect(openLog(path, { groupCommitMaxRecords: 0 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});

describe('decodeFrames', () => {
  const frames = (first: number, n: number) =>
    encodeFrames(
      Array.from({ length: n }, (_, i) => encodeRecord(prepared(first + i))),
      first + 1,
    );

  it('treats a hole inside the last group write as a torn tail (pages persisted out of order)', () => {
    const earlier = frames(0, 3);
    const last = frames(3, 5);
    const hole = last.slice();
    const secondFrameStart = encodeFrame(prepared(3), 4).length;
    hole.fill(0, secondFrameStart, secondFrameStart + 40);
    const decoded = decodeFrames(Buffer.concat([LOG_MAGIC, earlier, hole]), LOG_MAGIC.length, 65_536);
    expect(decoded.corruption).toBeUndefined();
    expect(decoded.records).toEqual(records(4));
  });

  it('reports damage in an earlier group write as corruption, even with more damage after it', () => {
    const a = frames(0, 3);
    const b = frames(3, 3);
    const c = frames(6, 3);
    a[20]! ^= 1;
    c[20]! ^= 1;
    const decoded = decodeFrames(Buffer.concat([LOG_MAGIC, a, b, c]), LOG_MAGIC.length, 65_536);
    expect(decoded.corruption?.offset).toBe(LOG_MAGIC.length);
  });

  it('stops at a truncated file without claiming corruption', async () => {
    const bytes = Buffer.concat([LOG_MAGIC, encodeFrame(prepared(1), 1), encodeFrame(prepared(2), 2)]);
    const decoded = decodeFrames(bytes.subarray(0, bytes.length - 3), LOG_MAGIC.length, 65_536);
    expect(decoded.records).toEqual([prepared(1)]);
    expect(decoded.corruption).toBeUndefined();
  });

  it('flags a frame out of sequence as corruption', () => {
    const bytes = Buffer.concat([LOG_MAGIC, encodeFrame(prepared(1), 1), encodeFrame(prepared(2), 5)]);
    expect(decodeFrames(bytes, LOG_MAGIC.length, 65_536).corruption?.reason).toContain('sequence 5 after 1');
  });
});

describe('MemoryTxLog', () => {
  it('keeps only synced records (and a chosen prefix of the rest) across a crash', async () => {
    const log = new MemoryTxLog({ autoSync: false });
    log.write(prepared(1));
    log.sync();
    log.write(prepared(2));
    log.write(prepared(3));
    expect(log.crash(0).replay()).toEqual([prepared(1)]);
    const again = new MemoryTxLog({ autoSync: false });
    again.write(prepared(1));
    again.write(prepared(2));
    expect(again.crash(1).replay()).toEqual([prepared(1)]);
    expect(() => again.write(prepared(4))).toThrow(TxLogClosedError);
  });

  it('resolves appends once synced, and checkpoints atomically', async () => {
    const log = new MemoryTxLog();
    expect(await log.append(prepared(1))).toBe(1);
    await log.checkpoint([prepared(7)]);
    expect(log.durableRecords).toEqual([prepared(7)]);
  });
});
