import { join } from 'node:path';
import { SystemClock, seededRandom, sha256, toHex } from '@trinity/core';
import { TxEngine, TxLog, type TxMessage, type TxStagingHost } from '@trinity/tx';
import { ShardLockManager } from '@trinity/vsa';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ShardStore,
  type ShardStoreStep,
  type StagedRecord,
  StagingArea,
  StagingMismatchError,
  stagedBundleDigest,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const fast = { fsync: false } as const;
const txConfig = {
  commitRetryIntervalMs: 20,
  statusQueryIntervalMs: 20,
  prepareTimeoutMs: 20_000,
  preallocateBytes: 0,
};
const recordId = (n: number) => n.toString(16).padStart(64, '0');
/** The lock a participant takes for an object: here simply a hash of the record id. */
const lockOf = (id: string) => toHex(sha256(new TextEncoder().encode(`lock:${id}`)));

interface Node {
  readonly id: string;
  readonly dir: string;
  store: ShardStore;
  area: StagingArea;
  engine: TxEngine;
  log: TxLog;
  /** Records this node published (its "manifest store"), by id. */
  readonly published: Map<string, Uint8Array>;
}

const nodes = new Map<string, Node>();
/** What each node published, kept across its restarts (its durable manifest store). */
const publishedBy = new Map<string, Map<string, Uint8Array>>();
const transport = {
  send(to: string, message: TxMessage) {
    const node = nodes.get(to);
    if (node === undefined) return;
    const copy = JSON.parse(JSON.stringify(message)) as TxMessage;
    setImmediate(() => node.engine.receive(copy));
  },
};

async function start(id: string, dir: string, crashAt?: (step: ShardStoreStep) => void): Promise<Node> {
  const store = await ShardStore.open(join(dir, 'store'), fast, crashAt === undefined ? {} : { crashAt });
  const published = publishedBy.get(id) ?? new Map<string, Uint8Array>();
  publishedBy.set(id, published);
  const area = new StagingArea(store, id, {
    // The locks asked for must be exactly those of the records staged here.
    check: (_txId, locks, records) => {
      const expected = records.map((r) => lockOf(r.id)).sort();
      const asked = locks.map((l) => l.shardHash).sort();
      return JSON.stringify(asked) === JSON.stringify(expected)
        ? undefined
        : 'locks are not those of the records';
    },
    publish: async (_txId, records: readonly StagedRecord[]) => {
      for (const record of records) published.set(record.id, record.bytes);
    },
  });
  // It is a TxStagingHost: the engine runs on it directly.
  const staging: TxStagingHost = area;
  const log = await TxLog.open(join(dir, 'tx.log'), { preallocateBytes: 0 });
  const engine = await TxEngine.open({
    nodeId: id,
    log,
    transport,
    clock: new SystemClock(),
    locks: new ShardLockManager(),
    staging,
    config: txConfig,
  });
  const node = { id, dir, store, area, engine, log, published };
  nodes.set(id, node);
  return node;
}

async function stop(node: Node): Promise<void> {
  nodes.delete(node.id);
  await node.engine.close();
  await node.log.close();
  await node.store.close().catch(() => {});
}

afterEach(async () => {
  for (const node of [...nodes.values()]) await stop(node);
  publishedBy.clear();
});

/** What a coordinator sends one participant: shards and one record, and the locks that name them. */
async function sendBundle(node: Node, txId: string, seed: number, options: { skipShard?: boolean } = {}) {
  const random = seededRandom(seed);
  const shards = [random.bytes(500), random.bytes(700)];
  const id = recordId(seed);
  const record = random.bytes(80);
  const sent = shards.map((s) => toHex(sha256(s)));
  for (const [i, shard] of shards.entries())
    if (!(options.skipShard === true && i === 1)) await node.store.stage(txId, shard);
  await node.store.stageRecord(txId, id, record);
  const ref = stagedBundleDigest(txId, node.id, sent, [id]);
  return { shards, id, record, lock: { node: node.id, shardHash: lockOf(id), ref } };
}

describe('StagingArea: the tx engine over a ShardStore', () => {
  it('commits shards and records on every participant, records published before shards show', async () => {
    const base = await tempDir();
    const [c, p1, p2] = await Promise.all(['c', 'p1', 'p2'].map((id) => start(id, join(base, id))));
    const txId = 'aa00bb11';
    const a = await sendBundle(p1!, txId, 1);
    const b = await sendBundle(p2!, txId, 2);
    const result = await c!.engine.execute([a.lock, b.lock], { txId });
    expect(result.outcome).toBe('committed');
    for (const [node, bundle] of [
      [p1!, a],
      [p2!, b],
    ] as const) {
      expect(node.published.get(bundle.id)).toEqual(bundle.record);
      for (const shard of bundle.shards) expect(await node.store.get(sha256(shard))).toEqual(shard);
      expect(node.store.stagedTransactions()).toEqual([]);
    }
  });

  it('a participant that does not hold exactly what was sent votes abort: nothing shows anywhere', async () => {
    const base = await tempDir();
    const [c, p1, p2] = await Promise.all(['c', 'p1', 'p2'].map((id) => start(id, join(base, id))));
    const txId = 'aa00bb12';
    const a = await sendBundle(p1!, txId, 3);
    const b = await sendBundle(p2!, txId, 4, { skipShard: true }); // one shard never arrived
    const result = await c!.engine.execute([a.lock, b.lock], { txId });
    expect(result.outcome).toBe('aborted');
    for (const node of [p1!, p2!]) {
      expect(node.published.size).toBe(0);
      await expect.poll(() => node.store.stagedTransactions()).toEqual([]);
    }
    for (const shard of a.shards) expect(await p1!.store.has(sha256(shard))).toBe(false);
  });

  it('locks the host does not accept (not those of the staged objects) are refused with a typed error', async () => {
    const base = await tempDir();
    const p1 = await start('p1', join(base, 'p1'));
    const txId = 'aa00bb13';
    const a = await sendBundle(p1, txId, 5);
    await expect(
      p1.area.stage(txId, [{ shardHash: lockOf(recordId(99)), ref: a.lock.ref }]),
    ).rejects.toBeInstanceOf(StagingMismatchError);
    await expect(
      p1.area.stage(txId, [{ shardHash: a.lock.shardHash, ref: '00'.repeat(32) }]),
    ).rejects.toThrow('not what the coordinator sent');
    await p1.area.stage(txId, [a.lock]);
  });

  it.each<ShardStoreStep>(['commit:marked', 'commit:published', 'commit:shard-moved'])(
    'a participant killed at %s finishes the commit after restart: records and shards both there',
    async (step) => {
      const base = await tempDir();
      let armed = true;
      const c = await start('c', join(base, 'c'));
      const p1 = await start('p1', join(base, 'p1'), (s) => {
        if (armed && s === step) {
          armed = false;
          throw new Error(`kill at ${s}`);
        }
      });
      const txId = 'aa00bb14';
      const a = await sendBundle(p1, txId, 6);
      const pending = c.engine.execute([a.lock], { txId, awaitAcks: false });
      expect((await pending).outcome).toBe('committed');
      await expect
        .poll(() => p1.store.isCommitting(txId) || p1.published.size > 0, { timeout: 20_000 })
        .toBe(true);
      // The "process" died at the step: restart it from its directory and log.
      await stop(p1);
      const again = await start('p1', join(base, 'p1'));
      await expect.poll(() => again.store.stagedTransactions(), { timeout: 30_000 }).toEqual([]);
      expect(again.published.get(a.id)).toEqual(a.record);
      for (const shard of a.shards) expect(await again.store.get(sha256(shard))).toEqual(shard);
    },
  );
});
