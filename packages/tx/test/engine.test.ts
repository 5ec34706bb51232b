import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryMetrics, SystemClock } from '@trinity/core';
import { ShardLockManager } from '@trinity/vsa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  registerTxMetrics,
  TxEngine,
  TxLimitError,
  TxLog,
  type TxMessage,
  type TxStagingHost,
} from '../src/index.js';
import { shardOf } from './helpers.js';

const config = {
  commitRetryIntervalMs: 20,
  statusQueryIntervalMs: 20,
  prepareTimeoutMs: 20_000, // outcomes must not depend on how loaded the machine is
  preallocateBytes: 0,
};

/** A staging area in memory that records what was committed, per node. */
class Store implements TxStagingHost {
  readonly staged = new Map<string, string[]>();
  readonly committed = new Map<string, string>();
  failStage = false;
  async stage(txId: string, shards: readonly { shardHash: string }[]) {
    if (this.failStage) throw new Error('disk full');
    this.staged.set(
      txId,
      shards.map((s) => s.shardHash),
    );
  }
  async commitStaged(txId: string, shards: readonly { shardHash: string }[]) {
    for (const { shardHash } of shards) this.committed.set(shardHash, txId);
    this.staged.delete(txId);
  }
  async abortStaged(txId: string) {
    this.staged.delete(txId);
  }
  async purgeStaged(keep: readonly string[]) {
    for (const txId of [...this.staged.keys()]) if (!keep.includes(txId)) this.staged.delete(txId);
  }
}

interface Node {
  engine: TxEngine;
  log: TxLog;
  store: Store;
  locks: ShardLockManager;
}

let dir: string;
let nodes: Map<string, Node>;
/** Messages to these nodes are dropped (a partition, or a node that is down). */
let unreachable: Set<string>;
/** Messages of these types are dropped on their way to these nodes. */
let dropTypes: Map<string, string>;

const transport = {
  send(to: string, message: TxMessage) {
    const node = nodes.get(to);
    if (node === undefined || unreachable.has(to) || dropTypes.get(to) === message.type) return;
    const copy = JSON.parse(JSON.stringify(message)) as TxMessage;
    setImmediate(() => node.engine.receive(copy));
  },
};

async function start(id: string, store = new Store(), locks = new ShardLockManager()): Promise<Node> {
  const log = await TxLog.open(join(dir, `${id}.log`), { preallocateBytes: 0 });
  const engine = await TxEngine.open({
    nodeId: id,
    log,
    transport,
    clock: new SystemClock(),
    locks,
    staging: store,
    config,
  });
  const node = { engine, log, store, locks };
  nodes.set(id, node);
  return node;
}

/** A crash: the engine stops at once; only what its log made durable survives. */
async function crash(id: string): Promise<void> {
  const node = nodes.get(id)!;
  nodes.delete(id);
  await node.engine.close();
  await node.log.close();
}

/** Polls `condition`: at least 50 s (more when timers run late) before it fails with `what`. */
const until = async (condition: () => boolean, what: string) => {
  for (let i = 0; i < 10_000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trinity-tx-engine-'));
  nodes = new Map();
  unreachable = new Set();
  dropTypes = new Map();
});
afterEach(async () => {
  for (const id of [...nodes.keys()]) await crash(id);
  await rm(dir, { recursive: true, force: true });
});

describe('TxEngine', () => {
  it('commits a transaction across nodes with real logs, and releases every lock', async () => {
    const c = await start('c');
    const p1 = await start('p1');
    const p2 = await start('p2');
    const metrics = new MemoryMetrics();
    registerTxMetrics(metrics, c.engine.stats);
    const result = await c.engine.execute([
      { shardHash: shardOf('a'), node: 'p1' },
      { shardHash: shardOf('b'), node: 'p2' },
      { shardHash: shardOf('c'), node: 'p2' },
      { shardHash: shardOf('d'), node: 'c' }, // the coordinator's node holds a shard too
    ]);
    expect(result.outcome).toBe('committed');
    expect(c.store.committed.get(shardOf('d'))).toBe(result.txId);
    expect(p1.store.committed.get(shardOf('a'))).toBe(result.txId);
    expect(p2.store.committed.get(shardOf('c'))).toBe(result.txId);
    expect(p1.locks.activeCount(Date.now()) + p2.locks.activeCount(Date.now())).toBe(0);
    expect(metrics.value('trinity_tx_committed_total')).toBe(1);
    expect(metrics.value('trinity_tx_commit_acks_total')).toBe(4);
  });

  it('drains: refuses new transactions, lets in-flight ones finish, then closes', async () => {
    const c = await start('c');
    await start('p1');
    const inFlight = c.engine.execute([{ shardHash: shardOf('a'), node: 'p1' }]);
    const drained = c.engine.drain(5_000);
    await expect(c.engine.execute([{ shardHash: shardOf('b'), node: 'p1' }])).rejects.toMatchObject({
      code: 'TX_ENGINE_STOPPED',
    });
    expect((await inFlight).outcome).toBe('committed');
    expect(await drained).toBe(0);
    expect(c.engine.snapshot()).toMatchObject({ coordinating: 0, inDoubt: 0, stats: { committed: 1 } });
  });

  it('aborts when a participant cannot stage, and nothing is committed anywhere', async () => {
    const c = await start('c');
    const p1 = await start('p1');
    const p2 = await start('p2');
    p2.store.failStage = true;
    const result = await c.engine.execute([
      { shardHash: shardOf('a'), node: 'p1' },
      { shardHash: shardOf('b'), node: 'p2' },
    ]);
    expect(result).toMatchObject({ outcome: 'aborted' });
    expect(result.reason).toContain('disk full');
    await until(() => p1.store.staged.size === 0 && p1.locks.activeCount(Date.now()) === 0, 'p1 to abort');
    expect(p1.store.committed.size + p2.store.committed.size).toBe(0);
  });

  it('treats a staging host that throws instead of rejecting, or returns no promise, as one that rejects or resolves', async () => {
    const c = await start('c');
    const throwing = new Store();
    throwing.stage = () => {
      throw new Error('disk gone');
    };
    const plain = new Store();
    // A host written without async: it returns nothing.
    plain.stage = ((txId: string) => void plain.staged.set(txId, [])) as unknown as Store['stage'];
    plain.purgeStaged = (() => {
      throw new Error('purge failed');
    }) as unknown as Store['purgeStaged'];
    await start('p1', throwing);
    await start('p2', plain); // its start-up purge throws: logged, and it starts all the same
    const refused = await c.engine.execute([{ shardHash: shardOf('a'), node: 'p1' }]);
    expect(refused).toMatchObject({ outcome: 'aborted' });
    expect(refused.reason).toContain('disk gone');
    const ok = await c.engine.execute([{ shardHash: shardOf('b'), node: 'p2' }]);
    expect(ok.outcome).toBe('committed');
    expect(plain.committed.get(shardOf('b'))).toBe(ok.txId);
  });

  it('a coordinator killed after its decision finishes the commit when it restarts', async () => {
    await start('c');
    const p1 = await start('p1');
    const p2 = await start('p2');
    dropTypes.set('p2', 'commit'); // p2 votes, but never hears the commit before the coordinator dies
    const shards = [
      { shardHash: shardOf('a'), node: 'p1' },
      { shardHash: shardOf('b'), node: 'p2' },
    ];
    const execute = nodes.get('c')!.engine.execute(shards, { awaitAcks: false });
    expect((await execute).outcome).toBe('committed');
    await crash('c');
    dropTypes.clear();
    expect(p2.store.committed.size).toBe(0);
    await start('c'); // recovery resends the commit it logged
    await until(() => p2.store.committed.size === 1, 'p2 to commit after the restart');
    expect(p1.store.committed.size).toBe(1);
  });

  it('a participant killed while in doubt recovers its vote and learns the outcome', async () => {
    await start('c');
    const p1 = await start('p1');
    const locks = new ShardLockManager();
    const p2Store = new Store();
    await start('p2', p2Store, locks);
    unreachable.add('c'); // votes are lost until the partition heals
    const execute = nodes.get('c')!.engine.execute([
      { shardHash: shardOf('a'), node: 'p1' },
      { shardHash: shardOf('b'), node: 'p2' },
    ]);
    await until(() => nodes.get('p2')!.engine.participant.inDoubt().length === 1, 'p2 in doubt');
    await crash('p2');
    // The lock table lives in memory: a restart loses it, and recovery takes the lock again.
    const restarted = await start('p2', p2Store, new ShardLockManager());
    expect(restarted.engine.participant.inDoubt()).toHaveLength(1);
    expect(restarted.locks.activeCount(Date.now())).toBe(1);
    unreachable.delete('c');
    // The coordinator's prepare retries now reach both: the recovered vote counts, and it commits.
    expect((await execute).outcome).toBe('committed');
    await until(() => restarted.engine.participant.inDoubt().length === 0, 'p2 to learn the outcome');
    expect(restarted.locks.activeCount(Date.now())).toBe(0);
    expect(p2Store.committed.get(shardOf('b'))).toBeDefined();
    expect(p1.store.committed.get(shardOf('a'))).toBeDefined();
  });

  it('enforces the concurrency limit and rejects bad participants without leaking a slot', async () => {
    const log = await TxLog.open(join(dir, 'solo.log'), { preallocateBytes: 0 });
    const engine = await TxEngine.open({
      nodeId: 'solo',
      log,
      transport: { send: () => {} },
      clock: new SystemClock(),
      locks: new ShardLockManager(),
      staging: new Store(),
      config: { ...config, maxConcurrentTransactions: 2 },
    });
    const pending = [0, 1].map((i) => engine.execute([{ shardHash: shardOf(`${i}`), node: 'far' }]));
    await expect(engine.execute([{ shardHash: shardOf('x'), node: 'far' }])).rejects.toBeInstanceOf(
      TxLimitError,
    );
    await engine.close();
    await expect(Promise.all(pending)).rejects.toMatchObject({ code: 'TX_ENGINE_STOPPED' });
    await log.close();
    const log2 = await TxLog.open(join(dir, 'solo2.log'), { preallocateBytes: 0 });
    const again = await TxEngine.open({
      nodeId: 'solo',
      log: log2,
      transport: { send: () => {} },
      clock: new SystemClock(),
      locks: new ShardLockManager(),
      staging: new Store(),
    });
    await expect(again.execute([{ shardHash: 'nope', node: 'far' }])).rejects.toBeInstanceOf(RangeError);
    await expect(again.execute([])).rejects.toMatchObject({ code: 'TX_STATE' });
    expect(again.activeCount).toBe(0);
    // Bytes from the network: validated, and the sender must be who it claims to be.
    const ack = new TextEncoder().encode(JSON.stringify({ type: 'ack', txId: 't1', from: 'peer-a' }));
    expect(() => again.receiveFrom('peer-b', ack)).toThrow(/claims to be from peer-a/);
    expect(() => again.receiveFrom('peer-a', new TextEncoder().encode('{"type":"vote"}'))).toThrow(
      /invalid tx message/,
    );
    again.receiveFrom('peer-a', ack);
    // Still serving after all that.
    expect(again.activeCount).toBe(0);
    const third = again.execute([{ shardHash: shardOf('z'), node: 'far' }]);
    expect(again.activeCount).toBe(1);
    await again.close();
    await expect(third).rejects.toMatchObject({ code: 'TX_ENGINE_STOPPED' });
    await log2.close();
    await again.close();
  });

  it('checkpoints its log so it does not grow without bound, and replays correctly after', async () => {
    const c = await start('c');
    const p1 = await start('p1');
    await crash('c');
    const log = await TxLog.open(join(dir, 'c.log'), { preallocateBytes: 0 });
    const engine = await TxEngine.open({
      nodeId: 'c',
      log,
      transport,
      clock: new SystemClock(),
      locks: new ShardLockManager(),
      staging: new Store(),
      config: { ...config, checkpointLogBytes: 64 * 1024 },
    });
    nodes.set('c', { ...c, engine, log });
    for (let i = 0; i < 60; i++) {
      const batch = Array.from({ length: 10 }, (_, j) =>
        engine.execute([{ shardHash: shardOf(`${i}/${j}`), node: 'p1' }]),
      );
      for (const result of await Promise.all(batch)) expect(result.outcome).toBe('committed');
    }
    expect(p1.store.committed.size).toBe(600);
    // 600 transactions wrote ~90 KiB of coordinator records: a checkpoint has cut the file.
    expect((await stat(join(dir, 'c.log'))).size).toBeLessThan(64 * 1024 + 16 * 1024);
    await crash('c');
    const reopened = await TxLog.open(join(dir, 'c.log'), { preallocateBytes: 0 });
    expect(reopened.replay().filter((r) => r.type === 'coord-commit').length).toBeLessThan(600);
    await reopened.close();
  });
});
