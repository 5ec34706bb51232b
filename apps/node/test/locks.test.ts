import { randomBytes } from 'node:crypto';
import { lockHolderId, type TxMessage } from '@trinity/tx';
import { hypervectorsEqual, lockHolderVector } from '@trinity/vsa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchHeader } from '../src/http/batch-body.js';
import type { TrinityNode } from '../src/node/trinity-node.js';
import { objectLockKey } from '../src/services/tx/object-locks.js';
import { apiFetch, getObject, metricSample, sha256Hex, startNodes, until } from './helpers.js';

/** One sample of a metric on a node's /metrics page (0 when absent). */
const scrape = async (node: TrinityNode, name: string, labels = '') =>
  (await metricSample(node.telemetry.url!, name, labels)) ?? 0;

const acquisitions = 'trinity_lock_acquisitions_total';

/**
 * Puts lock what conflicts: each holder locks the object's (owner, name) key, so two puts of one
 * object contend, and the lock metrics on /metrics move.
 */
describe('puts of one object contend on its lock', () => {
  let nodes: TrinityNode[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ nodes, close } = await startNodes('trinity-locks-', 3, () => ({
      erasure: { dataShards: 2, parityShards: 1, shardBytes: 64 * 1024 },
      prometheus: { enabled: true, port: 0 },
      fsync: false,
    })));
  }, 300_000);

  afterAll(async () => {
    await close?.();
  }, 120_000);

  const put = (node: TrinityNode, name: string, body: Uint8Array) =>
    apiFetch(`${node.apiUrl}/v1/objects?name=${name}`, { method: 'PUT', body });

  it('a second put of an object whose first put is in prepare gets 409 TX_CONFLICT; the first commits', async () => {
    // The coordinator (node 0) holds back the votes of the first put: its participants stay
    // prepared, holding the object's locks, until the votes are let through.
    const coordinator = nodes[0]!;
    const engine = coordinator.tx.engine;
    const receive = engine.receive.bind(engine);
    const held: TxMessage[] = [];
    let holding = true;
    let heldTx: string | undefined;
    engine.receive = (message: TxMessage) => {
      if (holding && message.type === 'vote' && (heldTx ?? message.txId) === message.txId) {
        heldTx = message.txId;
        held.push(message);
      } else receive(message);
    };
    const conflictsBefore = await Promise.all(
      nodes.map((node) => scrape(node, acquisitions, '{result="conflict"}')),
    );
    try {
      const first = randomBytes(200_000);
      const firstPut = put(coordinator, 'contended.bin', first);
      await until(
        'every holder to vote on the first put',
        async () => (held.length >= 3 ? true : undefined),
        120_000,
      );
      expect(held.every((vote) => vote.type === 'vote' && vote.vote === 'commit')).toBe(true);
      // Each holder holds the object's lock now.
      for (const node of nodes) {
        expect(node.tx.locks.size).toBe(1);
        expect(
          await until(
            'the held gauge',
            async () => ((await scrape(node, 'trinity_locks_held')) === 1 ? true : undefined),
            30_000,
          ),
        ).toBe(true);
      }

      // The same object put through another node (same owner) and through the same node: refused.
      for (const via of [nodes[1]!, coordinator]) {
        const response = await put(via, 'contended.bin', randomBytes(150_000));
        expect(response.status).toBe(409);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('TX_CONFLICT');
      }
      // Another object is not held up.
      const other = await put(nodes[1]!, 'other.bin', randomBytes(1000));
      expect(other.status).toBe(201);

      holding = false;
      for (const vote of held.splice(0)) receive(vote);
      const response = await firstPut;
      expect(response.status).toBe(201);
      const { id } = (await response.json()) as { id: string };
      expect(sha256Hex(await getObject(nodes[2]!.apiUrl, id))).toBe(sha256Hex(first));
    } finally {
      holding = false;
      for (const vote of held.splice(0)) receive(vote);
      engine.receive = receive;
    }

    // The conflicts show on /metrics: on the holders the refused puts asked to lock.
    const moved = await until(
      'the conflict counters to move on /metrics',
      async () => {
        const now = await Promise.all(nodes.map((node) => scrape(node, acquisitions, '{result="conflict"}')));
        const total = now.reduce((a, b) => a + b, 0) - conflictsBefore.reduce((a, b) => a + b, 0);
        return total >= 2 ? total : undefined;
      },
      30_000,
    );
    expect(moved).toBeGreaterThanOrEqual(2);
    for (const node of nodes) {
      expect(await scrape(node, acquisitions, '{result="granted"}')).toBeGreaterThanOrEqual(1);
      // Every lock is released once the puts ended.
      await until('locks to be released', async () => (node.tx.locks.size === 0 ? true : undefined), 60_000);
    }

    // Serialized: with the first put done, the object can be put again.
    const again = await put(nodes[1]!, 'contended.bin', randomBytes(50_000));
    expect(again.status).toBe(201);
  }, 300_000);

  it('concurrent puts of one object: at least one commits, the others commit after it or get 409 TX_CONFLICT', async () => {
    const responses = await Promise.all(
      [0, 1, 2, 0, 1, 2].map((i) => put(nodes[i]!, 'raced.bin', randomBytes(100_000 + i))),
    );
    const statuses = responses.map((response) => response.status);
    for (const status of statuses) expect([201, 409]).toContain(status);
    // Wait-die: the put with the smallest transaction id never loses, so one always gets through.
    expect(statuses).toContain(201);
    for (const response of responses.filter((r) => r.status === 409))
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('TX_CONFLICT');
    for (const node of nodes)
      await until(
        'locks to be released and what the losers uploaded to be dropped',
        async () =>
          node.tx.locks.size === 0 && node.store.stagedTransactions().length === 0 ? true : undefined,
        60_000,
      );
    // Once they ended, the object is free again.
    expect((await put(nodes[2]!, 'raced.bin', randomBytes(1000))).status).toBe(201);
  }, 300_000);

  it('wait-die: a put never commits while an older one holds the lock; a younger one loses, an older one waits', async () => {
    const coordinator = nodes[0]!;
    const engine = coordinator.tx.engine;
    const receive = engine.receive.bind(engine);
    const held: TxMessage[] = [];
    let holding = true;
    engine.receive = (message: TxMessage) => {
      if (holding && message.type === 'vote' && (held[0]?.txId ?? message.txId) === message.txId)
        held.push(message);
      else receive(message);
    };
    let firstTx = '';
    let releasedAtMs = 0;
    let second: { status: number; text: string; endedAtMs: number };
    try {
      const firstPut = put(coordinator, 'waited.bin', randomBytes(100_000));
      await until(
        'every holder to vote on the first put',
        async () => (held.length >= 3 ? true : undefined),
        120_000,
      );
      firstTx = held[0]!.txId;
      const secondPut = put(nodes[1]!, 'waited.bin', randomBytes(100_000)).then(async (response) => ({
        status: response.status,
        text: await response.text(),
        endedAtMs: Date.now(),
      }));
      // The first put stays prepared (its locks held) for 1.5 s more, then commits.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      releasedAtMs = Date.now();
      holding = false;
      for (const vote of held.splice(0)) receive(vote);
      expect((await firstPut).status).toBe(201);
      second = await secondPut;
    } finally {
      holding = false;
      for (const vote of held.splice(0)) receive(vote);
      engine.receive = receive;
    }
    if (second.status === 201) {
      // Serialized: it committed only after the first put let its locks go (it waited, being older,
      // or it reached prepare after that).
      expect(second.endedAtMs).toBeGreaterThanOrEqual(releasedAtMs);
    } else {
      // Refused: only a younger transaction (larger id) is refused; an older one would have waited.
      expect(second.status).toBe(409);
      const { code, message } = JSON.parse(second.text).error as { code: string; message: string };
      expect(code).toBe('TX_CONFLICT');
      const secondTx = /transaction ([0-9a-f]{32})/.exec(message)![1]!;
      expect(secondTx > firstTx).toBe(true);
    }
  }, 300_000);

  it('a batch needing more locks than a transaction may take is refused whole with 413 TX_TOO_LARGE', async () => {
    // 22 objects on 3 holders: 66 locks, over the limit of 64.
    const parts = Array.from({ length: 22 }, (_, i) => randomBytes(1000 + i));
    const body = Buffer.concat(parts.flatMap((data, i) => [batchHeader(`many-${i}`, data.length), data]));
    const listed = await Promise.all(nodes.map(async (node) => (await node.directory.list()).length));
    const response = await apiFetch(`${nodes[0]!.apiUrl}/v1/batches`, { method: 'POST', body });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('TX_TOO_LARGE');
    for (const [i, node] of nodes.entries()) {
      expect((await node.directory.list()).length).toBe(listed[i]);
      await until(
        'the refused batch to be unstaged',
        async () => (node.store.stagedTransactions().length === 0 ? true : undefined),
        60_000,
      );
      expect(node.tx.locks.size).toBe(0);
    }
    // Within the limit (21 × 3 = 63) the same batch goes through.
    const fits = Buffer.concat(
      parts.slice(1).flatMap((data, i) => [batchHeader(`many-${i}`, data.length), data]),
    );
    expect((await apiFetch(`${nodes[0]!.apiUrl}/v1/batches`, { method: 'POST', body: fits })).status).toBe(
      201,
    );
  }, 300_000);

  it('a participant refuses to lock a key that is not what was staged there', async () => {
    const [coordinator, participant] = [nodes[0]!, nodes[1]!];
    const txId = randomBytes(16).toString('hex');
    const unrelated = objectLockKey(participant.peerId, {
      id: '0'.repeat(64),
      owner: coordinator.objects.owner,
      name: 'somebody-elses.bin',
    });
    const votes: TxMessage[] = [];
    const engine = coordinator.tx.engine;
    const receive = engine.receive.bind(engine);
    engine.receive = (message: TxMessage) => {
      if (message.txId === txId) votes.push(message);
      else receive(message);
    };
    try {
      coordinator.tx.send(participant.peerId, {
        type: 'prepare',
        txId,
        coordinator: coordinator.peerId,
        deadlineMs: Date.now() + 60_000,
        shards: [{ shard: unrelated, ref: 'a'.repeat(64) }],
      });
      await until('the participant to vote', async () => (votes.length > 0 ? true : undefined), 60_000);
    } finally {
      engine.receive = receive;
    }
    expect(votes[0]).toMatchObject({ type: 'vote', vote: 'abort', from: participant.peerId });
    expect((votes[0] as { reason?: string }).reason).toMatch(/^TX_LOCK_MISMATCH/);
    expect(participant.tx.locks.get(unrelated, Date.now())).toBeUndefined();
    expect(participant.tx.engine.participant.state(txId)).toBeUndefined();
  }, 120_000);
});

describe('shardLocks.binding: hypervector', () => {
  let nodes: TrinityNode[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ nodes, close } = await startNodes('trinity-locks-hv-', 3, () => ({
      erasure: { dataShards: 2, parityShards: 1, shardBytes: 64 * 1024 },
      shardLocks: { binding: 'hypervector', bindingDims: 512 },
      fsync: false,
    })));
  }, 300_000);

  afterAll(async () => {
    await close?.();
  }, 120_000);

  it('binds each lock as a hypervector the holder is unbound from, and puts commit through it', async () => {
    const coordinator = nodes[0]!;
    const engine = coordinator.tx.engine;
    const receive = engine.receive.bind(engine);
    const held: TxMessage[] = [];
    engine.receive = (message: TxMessage) => {
      if (message.type === 'vote' && (held[0]?.txId ?? message.txId) === message.txId) held.push(message);
      else receive(message);
    };
    let response: Promise<Response>;
    try {
      response = apiFetch(`${coordinator.apiUrl}/v1/objects?name=bound.bin`, {
        method: 'PUT',
        body: randomBytes(100_000),
      });
      await until('every holder to vote', async () => (held.length >= 3 ? true : undefined), 120_000);
      const txId = held[0]!.txId;
      for (const node of nodes) {
        expect(node.tx.locks.config).toMatchObject({ binding: 'hypervector', bindingDims: 512 });
        const key = objectLockKey(node.peerId, {
          id: '',
          owner: coordinator.objects.owner,
          name: 'bound.bin',
        });
        const lock = node.tx.locks.get(key, Date.now());
        expect(lock?.txId).toBe(txId);
        const recovered = node.tx.locks.recoverHolderVector(key, Date.now());
        const holder = lockHolderVector(lockHolderId(node.peerId, txId), 512);
        expect(recovered === undefined ? false : hypervectorsEqual(recovered, holder)).toBe(true);
      }
    } finally {
      engine.receive = receive;
      for (const vote of held.splice(0)) receive(vote);
    }
    expect((await response).status).toBe(201);
  }, 300_000);
});
