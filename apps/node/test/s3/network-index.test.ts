import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519, noopLogger, toHex } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ObjectEntry } from '../../src/s3/backend.js';
import {
  FileHeadStore,
  HeadReplica,
  type HeadReply,
  type HeadRequest,
  type HeadTransport,
  headLogBytesMax,
  MemoryHeadStore,
  ReplicatedHeads,
  signHead,
  validHead,
} from '../../src/s3/index-heads.js';
import { InMemoryS3Index } from '../../src/s3/memory.js';
import {
  type IndexBlobs,
  NetworkS3Index,
  type NetworkS3IndexOptions,
  ownerLogCipher,
} from '../../src/s3/network-index.js';
import { s3IndexContract } from './index-contract.js';

const ownerSecret = randomBytes(32);
const owner = { publicKey: toHex(ed25519.publicKey(ownerSecret)), secretKey: new Uint8Array(ownerSecret) };
const logCipher = await ownerLogCipher(owner.secretKey);

class MemoryBlobs implements IndexBlobs {
  readonly blobs = new Map<string, Uint8Array>();
  /** Slow reads let a snapshot be replaced and freed while a gateway is still fetching it. */
  constructor(readonly readDelayMs = 0) {}
  async put(bytes: Uint8Array): Promise<string> {
    const id = randomBytes(32).toString('hex');
    this.blobs.set(id, bytes.slice());
    return id;
  }
  async get(id: string): Promise<Uint8Array> {
    if (this.readDelayMs > 0)
      await new Promise((resolve) => setTimeout(resolve, Math.random() * this.readDelayMs));
    const bytes = this.blobs.get(id);
    if (bytes === undefined) throw new Error(`no blob ${id}`);
    return bytes;
  }
  async delete(id: string): Promise<void> {
    this.blobs.delete(id);
  }
}

/** Head replicas in this process, one per node; `down` nodes do not answer. */
class FakeNetwork {
  readonly replicas = new Map<string, HeadReplica>();
  readonly down = new Set<string>();
  constructor(count: number) {
    for (let i = 0; i < count; i++) this.replicas.set(`node-${i}`, new HeadReplica(new MemoryHeadStore()));
  }
  /** What a gateway that reaches `visible` nodes (default: all) sees. */
  view(visible?: readonly string[]): HeadTransport {
    const sees = (node: string) => !this.down.has(node) && (visible === undefined || visible.includes(node));
    return {
      nodes: () => [...this.replicas.keys()].filter(sees),
      call: async (node: string, request: HeadRequest): Promise<HeadReply> => {
        await new Promise((resolve) => setImmediate(resolve)); // interleave like a real network
        if (!sees(node)) throw new Error(`${node} is unreachable`);
        // A copy both ways, as a wire would make.
        return structuredClone(await this.replicas.get(node)!.handle(structuredClone(request)));
      },
    };
  }
}

function gateway(
  transport: HeadTransport,
  blobs: IndexBlobs,
  options: NetworkS3IndexOptions = {},
): NetworkS3Index {
  return new NetworkS3Index(
    {
      heads: new ReplicatedHeads(owner, transport, { proposerId: randomBytes(8).toString('hex') }),
      blobs,
      logCipher,
      logger: noopLogger,
      backoff: (attempt) => new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * attempt)),
    },
    options,
  );
}

/** `transport` with every request counted by op. */
function counted(transport: HeadTransport): { transport: HeadTransport; ops: Map<string, number> } {
  const ops = new Map<string, number>();
  return {
    ops,
    transport: {
      nodes: () => transport.nodes(),
      call: (node, request) => {
        ops.set(request.op, (ops.get(request.op) ?? 0) + 1);
        return transport.call(node, request);
      },
    },
  };
}

const entry = (n: number): ObjectEntry => ({
  pieces: [{ id: `p${n}`, sizeBytes: n }],
  sizeBytes: n,
  etag: n.toString(16).padStart(32, '0'),
  lastModifiedMs: n,
  contentType: 'text/plain',
  userMetadata: {},
  headers: {},
});

const all = { from: '', inclusive: true, prefix: '', limit: 1000 };

s3IndexContract('network (in-process replicas and blobs)', async () =>
  gateway(new FakeNetwork(3).view(), new MemoryBlobs()),
);

// A small head log: most writes append to it, every few a new snapshot starts over (its boundary).
s3IndexContract('network, a 1,200-byte head log', async () =>
  gateway(new FakeNetwork(3).view(), new MemoryBlobs(), { logBytesMax: 1200 }),
);

describe('FileHeadStore', () => {
  it('keeps what it wrote on disk (with or without fsync) and answers from memory after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trinity-head-store-'));
    try {
      const key = owner.publicKey;
      const head = signHead(owner, 3, 'root', ['node-0'], undefined);
      const state = { promised: { n: 4, by: 'p' }, accepted: { ballot: { n: 3, by: 'p' }, head } };
      for (const fsync of [true, false]) {
        const store = new FileHeadStore(dir, { fsync });
        expect(await store.get(key)).toEqual(fsync ? {} : state);
        await store.set(key, state);
        expect(await store.get(key)).toBe(state);
        // Another store over the directory (a restarted node) reads the file.
        expect(await new FileHeadStore(dir).get(key)).toEqual(state);
        expect(JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8'))).toEqual(state);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('NetworkS3Index reads', () => {
  it('getBucket mayBeStale answers a bucket seen without a round, and the write after it still checks', async () => {
    const network = new FakeNetwork(3);
    const blobs = new MemoryBlobs();
    const seen = counted(network.view());
    const a = gateway(seen.transport, blobs);
    const b = gateway(network.view(), blobs);
    await a.createBucket({ name: 'gone', owner: 'o', createdMs: 1 });
    await b.deleteBucket('gone');
    await b.createBucket({ name: 'new', owner: 'o', createdMs: 2 });
    seen.ops.clear();
    // `gone` as a last saw it, with no request; a fresh read knows better.
    expect((await a.getBucket('gone', { mayBeStale: true }))?.createdMs).toBe(1);
    expect(seen.ops.size).toBe(0);
    expect(await a.getBucket('gone')).toBeUndefined();
    // A bucket a has not seen is looked up, never answered missing from the cache.
    const c = gateway(network.view(), blobs);
    await c.createBucket({ name: 'newer', owner: 'o', createdMs: 3 });
    expect((await a.getBucket('newer', { mayBeStale: true }))?.createdMs).toBe(3);
    // The write that follows a stale check is refused atomically.
    const d = gateway(network.view(), blobs);
    expect((await d.getBucket('newer', { mayBeStale: true }))?.createdMs).toBe(3);
    await c.deleteBucket('newer');
    await expect(d.putObject('newer', 'k', entry(1))).rejects.toMatchObject({ s3Code: 'NoSuchBucket' });
  });

  it('getBucketObject is one read of the head', async () => {
    const network = new FakeNetwork(3);
    const seen = counted(network.view());
    const a = gateway(seen.transport, new MemoryBlobs());
    await a.createBucket({ name: 'bkt', owner: 'o', createdMs: 1 });
    await a.putObject('bkt', 'k', entry(7));
    seen.ops.clear();
    expect((await a.getBucketObject('bkt', 'k'))?.entry).toEqual(entry(7));
    expect(Object.fromEntries(seen.ops)).toEqual({ get: 3 });
  });
});

describe('NetworkS3Index head log', () => {
  it('writes a snapshot only when the log is full; another gateway reads snapshot + log', async () => {
    const network = new FakeNetwork(3);
    const blobs = new MemoryBlobs();
    const a = gateway(network.view(), blobs, { logBytesMax: 2000 });
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    for (let i = 0; i < 40; i++) await a.putObject('b', `key-${String(i).padStart(2, '0')}`, entry(i));
    const stats = a.stats();
    expect(stats.headRounds).toBe(41);
    expect(stats.snapshotsWritten + stats.logAppends).toBe(41);
    // About 300 bytes a record (escaped): six or so per 2,000-byte log, then a snapshot.
    expect(stats.snapshotsWritten).toBeGreaterThanOrEqual(4);
    expect(stats.snapshotsWritten).toBeLessThanOrEqual(12);
    expect(stats.logAppends).toBeGreaterThan(stats.snapshotsWritten * 2);
    // Replaced snapshots are freed: only the current one is left.
    expect(blobs.blobs.size).toBe(1);
    // The log travels in the head, which every node keeps in the clear: its lines are sealed to the owner.
    const heads = await Promise.all(
      [...network.replicas.values()].map(
        async (r) => (await r.handle({ op: 'get', owner: owner.publicKey })).state,
      ),
    );
    const logs = heads.map((state) => state.accepted?.head.log ?? state.learned?.log ?? '').join('\n');
    expect(logs).not.toBe('');
    expect(logs).not.toMatch(/key-|photos|putObject|"b"/);
    const line = logs.split('\n')[0]!;
    expect(JSON.parse(await logCipher.open(line)).r[0].op).toBe('putObject');
    const other = await ownerLogCipher(new Uint8Array(randomBytes(32)));
    await expect(other.open(line)).rejects.toThrow(/does not open/);
    const b = gateway(network.view(), blobs, { logBytesMax: 2000 });
    const listed = await b.listObjects('b', all);
    expect(listed.map(([key]) => key)).toEqual(
      Array.from({ length: 40 }, (_, i) => `key-${String(i).padStart(2, '0')}`),
    );
    expect(listed.map(([, e]) => e)).toEqual(Array.from({ length: 40 }, (_, i) => entry(i)));
    expect(await b.deleteObject('b', 'key-07')).toEqual(entry(7));
    expect(await a.getObject('b', 'key-07')).toBeUndefined();
    expect((await a.listObjects('b', all)).length).toBe(39);
  });

  it('a mutation after one this gateway won skips the prepare; another writer in between costs a full round', async () => {
    const network = new FakeNetwork(3);
    const blobs = new MemoryBlobs();
    const { transport, ops } = counted(network.view());
    const a = gateway(transport, blobs);
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    const prepares = ops.get('prepare') ?? 0;
    for (let i = 0; i < 10; i++) await a.putObject('b', `k${i}`, entry(i));
    expect(ops.get('prepare') ?? 0).toBe(prepares); // one accept round each
    // Another gateway writes: a's next fast accept is refused, and a full round applies it on b's head.
    const b = gateway(network.view(), blobs);
    await b.putObject('b', 'from-b', entry(100));
    expect(await a.putObject('b', 'k0', entry(50))).toEqual(entry(0));
    // a reads b's newer head before writing again: its next round is a full one (no "went back").
    await b.putObject('b', 'from-b-2', entry(101));
    expect(await a.getObject('b', 'from-b-2')).toEqual(entry(101));
    expect(await a.putObject('b', 'k1', entry(51))).toEqual(entry(1));
    expect(ops.get('prepare') ?? 0).toBeGreaterThan(prepares);
    expect(await b.getObject('b', 'k0')).toEqual(entry(50));
    expect((await b.listObjects('b', all)).length).toBe(12);
  });

  it('any sequence of writes through two gateways, at any log size, lists like the in-memory index at any page size', async () => {
    const keyArb = fc.constantFrom('a', 'a/b', 'a/c', 'b', 'b/a', 'c', 'é', 'z/y/x', 'zz');
    const opArb = fc.oneof(
      fc.record({ op: fc.constant('put' as const), key: keyArb, n: fc.nat(1000), via: fc.nat(1) }),
      fc.record({ op: fc.constant('delete' as const), key: keyArb, via: fc.nat(1) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 300, max: headLogBytesMax }),
        fc.integer({ min: 1, max: 12 }),
        async (steps, logBytesMax, pageSize) => {
          const network = new FakeNetwork(3);
          const blobs = new MemoryBlobs();
          const gateways = [0, 1].map(() => gateway(network.view(), blobs, { logBytesMax }));
          const model = new InMemoryS3Index();
          const bucket = { name: 'b', owner: 'o', createdMs: 1 };
          await gateways[0]!.createBucket(bucket);
          await model.createBucket(bucket);
          for (const step of steps) {
            const via = gateways[step.via]!;
            if (step.op === 'put') {
              expect(await via.putObject('b', step.key, entry(step.n))).toEqual(
                await model.putObject('b', step.key, entry(step.n)),
              );
            } else {
              expect(await via.deleteObject('b', step.key)).toEqual(await model.deleteObject('b', step.key));
            }
          }
          for (const reader of [...gateways, gateway(network.view(), blobs)]) {
            const pages: string[] = [];
            let from = '';
            let inclusive = true;
            for (;;) {
              const page = await reader.listObjects('b', { from, inclusive, prefix: '', limit: pageSize });
              pages.push(...page.map(([key]) => key));
              if (page.length < pageSize) break;
              from = page[page.length - 1]![0];
              inclusive = false;
            }
            const expected = await model.listObjects('b', all);
            expect(pages).toEqual(expected.map(([key]) => key));
          }
          // Old snapshots are freed as they are replaced.
          expect(blobs.blobs.size).toBe(1);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('NetworkS3Index across gateways', () => {
  it('a second gateway sees puts, overwrites and deletes of the first at once', async () => {
    const network = new FakeNetwork(4);
    const blobs = new MemoryBlobs();
    const a = gateway(network.view(), blobs);
    const b = gateway(network.view(), blobs);
    await a.createBucket({ name: 'photos', owner: 'o', createdMs: 1 });
    expect((await b.listBuckets('o')).map((x) => x.name)).toEqual(['photos']);
    await a.putObject('photos', 'k', entry(1));
    expect(await b.getObject('photos', 'k')).toEqual(entry(1));
    expect(await b.putObject('photos', 'k', entry(2))).toEqual(entry(1));
    expect(await a.getObject('photos', 'k')).toEqual(entry(2));
    expect(await b.deleteObject('photos', 'k')).toEqual(entry(2));
    expect(await a.getObject('photos', 'k')).toBeUndefined();
    // Replaced snapshots are freed: only the current one is left.
    expect(blobs.blobs.size).toBe(1);
    expect(await a.currentRoot()).toBe([...blobs.blobs.keys()][0]);
  });

  it('concurrent puts of different keys through several gateways all survive', async () => {
    const network = new FakeNetwork(5);
    const blobs = new MemoryBlobs(5);
    const gateways = [0, 1, 2].map(() => gateway(network.view(), blobs));
    await gateways[0]!.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => gateways[i % 3]!.putObject('b', `key-${i}`, entry(i))),
    );
    expect((await gateways[1]!.listObjects('b', all)).length).toBe(60);
    for (let i = 0; i < 60; i++) expect(await gateways[2]!.getObject('b', `key-${i}`)).toEqual(entry(i));
  });

  it('a writer whose base snapshot is replaced and freed while it reads it starts over (no 503)', async () => {
    const network = new FakeNetwork(3);
    const blobs = new MemoryBlobs();
    const a = gateway(network.view(), blobs);
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    await a.putObject('b', 'k1', entry(1));
    // Gateway b's first snapshot read waits until a has replaced (and freed) that snapshot.
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let gated = false;
    let reading!: () => void;
    const startedReading = new Promise<void>((resolve) => {
      reading = resolve;
    });
    const slow: IndexBlobs = {
      put: (bytes) => blobs.put(bytes),
      delete: (id) => blobs.delete(id),
      get: async (id) => {
        if (!gated) {
          gated = true;
          reading();
          await released;
        }
        return blobs.get(id);
      },
    };
    const b = gateway(network.view(), slow);
    const put = b.putObject('b', 'k2', entry(2));
    await startedReading;
    await a.putObject('b', 'k3', entry(3));
    release();
    await put;
    expect((await a.listObjects('b', all)).map(([key]) => key)).toEqual(['k1', 'k2', 'k3']);
  });

  it('a write a minority accepted (a higher ballot came) is settled once: not lost, not applied twice', async () => {
    const network = new FakeNetwork(3);
    const blobs = new MemoryBlobs();
    const a = gateway(network.view(), blobs);
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    // b's first accept: node-1 and node-2 have just promised a higher ballot to a proposer that
    // never goes on, so only node-0 accepts it.
    const inner = network.view();
    let interfered = false;
    const transport: HeadTransport = {
      nodes: () => inner.nodes(),
      call: async (node, request) => {
        if (request.op === 'accept' && !interfered) {
          interfered = true;
          for (const other of ['node-1', 'node-2']) {
            await inner.call(other, { op: 'prepare', owner: request.owner, ballot: { n: 1000, by: 'ff' } });
          }
        }
        return inner.call(node, request);
      },
    };
    const b = gateway(transport, blobs);
    expect(await b.putObject('b', 'k', entry(7))).toBeUndefined();
    expect(interfered).toBe(true);
    expect(await a.getObject('b', 'k')).toEqual(entry(7));
    expect(await b.putObject('b', 'k', entry(8))).toEqual(entry(7));
    await new Promise((resolve) => setTimeout(resolve, 10)); // frees are not awaited
    expect(blobs.blobs.size).toBe(1);
  });

  it('a dead half-done head of a higher seq on one replica does not block reads or writes', async () => {
    const network = new FakeNetwork(3);
    const blobs = new MemoryBlobs();
    const a = gateway(network.view(), blobs);
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    await a.putObject('b', 'k1', entry(1));
    const { state } = await network.replicas.get('node-0')!.handle({ op: 'get', owner: owner.publicKey });
    const seq = state.accepted!.head.seq;
    // node-0 accepts, at ballot 500, a head two seqs ahead that no majority will ever take…
    const dead = signHead(owner, seq + 2, 'never-stored', state.accepted!.head.group);
    expect(
      (
        await network.replicas
          .get('node-0')!
          .handle({ op: 'accept', owner: owner.publicKey, ballot: { n: 500, by: '00' }, head: dead })
      ).ok,
    ).toBe(true);
    // …then, with node-0 cut off, a write is chosen on node-1 and node-2 at a higher ballot.
    network.down.add('node-0');
    await network.replicas
      .get('node-1')!
      .handle({ op: 'prepare', owner: owner.publicKey, ballot: { n: 600, by: '00' } });
    await a.putObject('b', 'k2', entry(2));
    // node-0 back, node-2 down: reads and writes need node-0, which holds the higher seq.
    network.down.delete('node-0');
    network.down.add('node-2');
    const fresh = gateway(network.view(), blobs);
    expect(await fresh.getObject('b', 'k2')).toEqual(entry(2));
    await fresh.putObject('b', 'k3', entry(3));
    expect((await a.listObjects('b', all)).map(([key]) => key)).toEqual(['k1', 'k2', 'k3']);
  });

  it('conditional puts racing from two gateways: exactly one If-None-Match wins', async () => {
    const network = new FakeNetwork(3);
    const blobs = new MemoryBlobs();
    const a = gateway(network.view(), blobs);
    const b = gateway(network.view(), blobs);
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    const results = await Promise.allSettled([
      a.putObject('b', 'once', entry(1), { ifNoneMatch: true }),
      b.putObject('b', 'once', entry(2), { ifNoneMatch: true }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as { s3Code?: string }).s3Code).toBe('PreconditionFailed');
  });

  it('works with one replica of the group down; fails closed (503) with two', async () => {
    const network = new FakeNetwork(5);
    const blobs = new MemoryBlobs();
    const a = gateway(network.view(), blobs);
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    await a.putObject('b', 'k', entry(1));
    const group = await headsGroup(network);
    network.down.add(group[0]!);
    await a.putObject('b', 'k2', entry(2));
    const fresh = gateway(network.view(), blobs);
    expect(await fresh.getObject('b', 'k2')).toEqual(entry(2));
    network.down.add(group[1]!);
    // Two nodes outside the group are live, but the group is fixed: no majority of it, no answer.
    await expect(a.getObject('b', 'k')).rejects.toMatchObject({ s3Code: 'ServiceUnavailable' });
    await expect(a.putObject('b', 'k3', entry(3))).rejects.toMatchObject({ s3Code: 'ServiceUnavailable' });
    network.down.delete(group[0]!);
    expect(await a.getObject('b', 'k2')).toEqual(entry(2));
  });

  it('a partition: the side without a majority of the group fails closed, even a gateway new there', async () => {
    const network = new FakeNetwork(6);
    const blobs = new MemoryBlobs();
    const a = gateway(network.view(), blobs);
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    await a.putObject('b', 'k', entry(1));
    const group = await headsGroup(network);
    const others = [...network.replicas.keys()].filter((node) => !group.includes(node));
    // The minority side: one group member and every node outside the group.
    const minority = [group[0]!, ...others];
    const majority = [group[1]!, group[2]!];
    const cut = gateway(network.view(minority), blobs);
    const newOnMinority = gateway(network.view(others), blobs);
    const onMajority = gateway(network.view(majority), blobs);
    await onMajority.putObject('b', 'k', entry(2));
    await expect(cut.putObject('b', 'k', entry(3))).rejects.toMatchObject({ s3Code: 'ServiceUnavailable' });
    await expect(cut.getObject('b', 'k')).rejects.toMatchObject({ s3Code: 'ServiceUnavailable' });
    await expect(newOnMinority.getObject('b', 'k')).rejects.toMatchObject({ s3Code: 'ServiceUnavailable' });
    await expect(newOnMinority.createBucket({ name: 'c', owner: 'o', createdMs: 2 })).rejects.toMatchObject({
      s3Code: 'ServiceUnavailable',
    });
    // Healed: everyone sees the majority side's write, nothing else.
    expect(await gateway(network.view(), blobs).getObject('b', 'k')).toEqual(entry(2));
    expect(await a.getObject('b', 'k')).toEqual(entry(2));
  });

  it('a gateway refuses a head that went back (replicas that lost state)', async () => {
    const network = new FakeNetwork(1);
    const blobs = new MemoryBlobs();
    const a = gateway(network.view(), blobs);
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    network.replicas.set('node-0', new HeadReplica(new MemoryHeadStore()));
    await expect(a.listBuckets('o')).rejects.toMatchObject({ s3Code: 'ServiceUnavailable' });
  });
});

/** The group recorded in the head (any replica that accepted it tells). */
async function headsGroup(network: FakeNetwork): Promise<readonly string[]> {
  for (const replica of network.replicas.values()) {
    const { state } = await replica.handle({ op: 'get', owner: owner.publicKey });
    if (state.learned !== undefined) return state.learned.group;
  }
  throw new Error('no head');
}

describe('HeadReplica', () => {
  const o = owner.publicKey;
  const head = (seq: number) => signHead(owner, seq, `root-${seq}`, ['n1', 'n2', 'n3']);

  it('promises only rising ballots, accepts only valid heads at its promise, never a lower seq', async () => {
    const replica = new HeadReplica(new MemoryHeadStore());
    expect((await replica.handle({ op: 'prepare', owner: o, ballot: { n: 2, by: 'aa' } })).ok).toBe(true);
    expect((await replica.handle({ op: 'prepare', owner: o, ballot: { n: 1, by: 'bb' } })).ok).toBe(false);
    expect(
      (await replica.handle({ op: 'accept', owner: o, ballot: { n: 1, by: 'bb' }, head: head(1) })).ok,
    ).toBe(false);
    const forged = { ...head(1), root: 'elsewhere' };
    expect(validHead(forged)).toBe(false);
    expect(
      (await replica.handle({ op: 'accept', owner: o, ballot: { n: 2, by: 'aa' }, head: forged })).ok,
    ).toBe(false);
    const accepted = await replica.handle({
      op: 'accept',
      owner: o,
      ballot: { n: 2, by: 'aa' },
      head: head(2),
    });
    expect(accepted.ok).toBe(true);
    expect(accepted.state.learned).toEqual(head(2));
    // A replay of an older signed head at a higher ballot is refused.
    expect((await replica.handle({ op: 'prepare', owner: o, ballot: { n: 3, by: 'cc' } })).ok).toBe(true);
    expect(
      (await replica.handle({ op: 'accept', owner: o, ballot: { n: 3, by: 'cc' }, head: head(1) })).ok,
    ).toBe(false);
    const prepared = await replica.handle({ op: 'prepare', owner: o, ballot: { n: 4, by: 'cc' } });
    expect(prepared.state.accepted).toEqual({ ballot: { n: 2, by: 'aa' }, head: head(2) });
    // Learning keeps the highest head only.
    await replica.handle({ op: 'learn', owner: o, head: head(5) });
    await replica.handle({ op: 'learn', owner: o, head: head(3) });
    expect((await replica.handle({ op: 'get', owner: o })).state.learned).toEqual(head(5));
  });

  it('an accept may also promise the next ballot of the same proposer', async () => {
    const replica = new HeadReplica(new MemoryHeadStore());
    expect((await replica.handle({ op: 'prepare', owner: o, ballot: { n: 2, by: 'aa' } })).ok).toBe(true);
    const accepted = await replica.handle({
      op: 'accept',
      owner: o,
      ballot: { n: 2, by: 'aa' },
      head: head(1),
      next: { n: 5, by: 'aa' },
    });
    expect(accepted.state.promised).toEqual({ n: 5, by: 'aa' });
    expect((await replica.handle({ op: 'prepare', owner: o, ballot: { n: 4, by: 'zz' } })).ok).toBe(false);
    expect(
      (await replica.handle({ op: 'accept', owner: o, ballot: { n: 5, by: 'aa' }, head: head(2) })).ok,
    ).toBe(true);
    // A `next` not above the ballot promises only the ballot.
    await replica.handle({
      op: 'accept',
      owner: o,
      ballot: { n: 6, by: 'aa' },
      head: head(3),
      next: { n: 1, by: 'aa' },
    });
    expect((await replica.handle({ op: 'get', owner: o })).state.promised).toEqual({ n: 6, by: 'aa' });
  });
});

describe('index heads', () => {
  const group = ['n1', 'n2', 'n3'];
  it('sign their log: an altered, dropped or oversized log is refused; a head without one keeps the old form', () => {
    const logged = signHead(owner, 3, 'root', group, '{"b":"01","r":[]}');
    expect(validHead(logged)).toBe(true);
    expect(validHead({ ...logged, log: '{"b":"02","r":[]}' })).toBe(false);
    const { log: _log, ...dropped } = logged;
    expect(validHead(dropped)).toBe(false);
    const plain = signHead(owner, 3, 'root', group, '');
    expect(plain).not.toHaveProperty('log');
    expect(validHead(plain)).toBe(true);
    expect(validHead({ ...plain, log: '' })).toBe(false);
    expect(validHead(signHead(owner, 3, 'root', group, 'x'.repeat(headLogBytesMax)))).toBe(false);
    expect(validHead(signHead(owner, 3, 'root', group, 'x'.repeat(headLogBytesMax - 2)))).toBe(true);
  });
});
