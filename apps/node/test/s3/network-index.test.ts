import { randomBytes } from 'node:crypto';
import { ed25519, ManualClock, noopLogger, SystemClock, toHex } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import type { ObjectEntry } from '../../src/s3/backend.js';
import {
  HeadReplica,
  type HeadReply,
  type HeadRequest,
  type HeadTransport,
  headGroup,
  MemoryHeadStore,
  ReplicatedHeads,
  signHead,
  validHead,
} from '../../src/s3/index-heads.js';
import { type IndexBlobs, NetworkS3Index } from '../../src/s3/network-index.js';
import { s3IndexContract } from './index-contract.js';

const ownerSecret = randomBytes(32);
const owner = { publicKey: toHex(ed25519.publicKey(ownerSecret)), secretKey: new Uint8Array(ownerSecret) };

class MemoryBlobs implements IndexBlobs {
  readonly blobs = new Map<string, Uint8Array>();
  async put(bytes: Uint8Array): Promise<string> {
    const id = randomBytes(32).toString('hex');
    this.blobs.set(id, bytes.slice());
    return id;
  }
  async get(id: string): Promise<Uint8Array> {
    const bytes = this.blobs.get(id);
    if (bytes === undefined) throw new Error(`no blob ${id}`);
    return bytes;
  }
  async delete(id: string): Promise<void> {
    this.blobs.delete(id);
  }
}

/** A network of head replicas in this process; `down` nodes do not answer. */
class FakeNetwork implements HeadTransport {
  readonly replicas = new Map<string, HeadReplica>();
  readonly down = new Set<string>();
  constructor(count: number, clock = new SystemClock()) {
    for (let i = 0; i < count; i++)
      this.replicas.set(`node-${i}`, new HeadReplica(new MemoryHeadStore(), clock));
  }
  nodes(): string[] {
    return [...this.replicas.keys()].filter((node) => !this.down.has(node));
  }
  async call(node: string, request: HeadRequest): Promise<HeadReply> {
    await new Promise((resolve) => setImmediate(resolve)); // interleave like a real network
    if (this.down.has(node)) throw new Error(`${node} is down`);
    // A copy both ways, as a wire would make.
    return structuredClone(await this.replicas.get(node)!.handle(structuredClone(request)));
  }
}

function gateway(
  network: HeadTransport,
  blobs: IndexBlobs,
  options: { batchMax?: number } = {},
): NetworkS3Index {
  return new NetworkS3Index(
    {
      heads: new ReplicatedHeads(owner.publicKey, network, { txId: () => randomBytes(8).toString('hex') }),
      blobs,
      sign: (seq, root) => signHead(owner, seq, root),
      logger: noopLogger,
      backoff: (attempt) => new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * attempt)),
    },
    options,
  );
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

s3IndexContract('network (in-process replicas and blobs)', async () =>
  gateway(new FakeNetwork(3), new MemoryBlobs()),
);

describe('NetworkS3Index across gateways', () => {
  it('a second gateway sees puts, overwrites and deletes of the first at once', async () => {
    const network = new FakeNetwork(4);
    const blobs = new MemoryBlobs();
    const a = gateway(network, blobs);
    const b = gateway(network, blobs);
    await a.createBucket({ name: 'photos', owner: 'o', createdMs: 1 });
    expect((await b.listBuckets('o')).map((x) => x.name)).toEqual(['photos']);
    await a.putObject('photos', 'k', entry(1));
    expect(await b.getObject('photos', 'k')).toEqual(entry(1));
    expect(await b.putObject('photos', 'k', entry(2))).toEqual(entry(1));
    expect(await a.getObject('photos', 'k')).toEqual(entry(2));
    expect(await b.deleteObject('photos', 'k')).toEqual(entry(2));
    expect(await a.getObject('photos', 'k')).toBeUndefined();
    // Old snapshots are freed: only the current one is left.
    expect(blobs.blobs.size).toBe(1);
  });

  it('concurrent puts of different keys through several gateways all survive', async () => {
    const network = new FakeNetwork(5);
    const blobs = new MemoryBlobs();
    const gateways = [gateway(network, blobs), gateway(network, blobs), gateway(network, blobs)];
    await gateways[0]!.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => gateways[i % 3]!.putObject('b', `key-${i}`, entry(i))),
    );
    const listed = await gateways[1]!.listObjects('b', {
      from: '',
      inclusive: true,
      prefix: '',
      limit: 1000,
    });
    expect(listed.length).toBe(60);
    for (let i = 0; i < 60; i++) expect(await gateways[2]!.getObject('b', `key-${i}`)).toEqual(entry(i));
  });

  it('conditional puts racing from two gateways: exactly one If-None-Match wins', async () => {
    const network = new FakeNetwork(3);
    const blobs = new MemoryBlobs();
    const a = gateway(network, blobs);
    const b = gateway(network, blobs);
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    const results = await Promise.allSettled([
      a.putObject('b', 'once', entry(1), { ifNoneMatch: true }),
      b.putObject('b', 'once', entry(2), { ifNoneMatch: true }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as { s3Code?: string }).s3Code).toBe('PreconditionFailed');
  });

  it('reads need a majority of the head group; writes need all of it (fail closed)', async () => {
    const network = new FakeNetwork(3);
    const blobs = new MemoryBlobs();
    const a = gateway(network, blobs);
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    await a.putObject('b', 'k', entry(1));
    const group = headGroup(owner.publicKey, network.nodes(), 3);
    network.down.add(group[0]!);
    // With 2 of 3 live the group is those 2 (the live view): still a majority of the old group.
    expect(await a.getObject('b', 'k')).toEqual(entry(1));
    network.down.add(group[1]!);
    // One node left: it alone is the group now and holds the head (every write reached all three).
    expect(await a.getObject('b', 'k')).toEqual(entry(1));
  });

  it('a gateway refuses a head that went back (replicas that lost state)', async () => {
    const network = new FakeNetwork(1);
    const blobs = new MemoryBlobs();
    const a = gateway(network, blobs);
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    network.replicas.set('node-0', new HeadReplica(new MemoryHeadStore(), new SystemClock()));
    await expect(a.listBuckets('o')).rejects.toMatchObject({ s3Code: 'ServiceUnavailable' });
  });
});

describe('HeadReplica', () => {
  const clock = new ManualClock(0);
  const head = (seq: number) => signHead(owner, seq, `root-${seq}`);
  const o = owner.publicKey;

  it('locks for one writer at a time, refuses forged or stale heads, frees a lapsed lock', async () => {
    const replica = new HeadReplica(new MemoryHeadStore(), clock, 1000);
    expect((await replica.handle({ op: 'lock', owner: o, txId: 'aa', expectSeq: 0 })).ok).toBe(true);
    expect(await replica.handle({ op: 'lock', owner: o, txId: 'bb', expectSeq: 0 })).toMatchObject({
      ok: false,
      reason: 'locked',
    });
    expect(await replica.handle({ op: 'commit', owner: o, txId: 'bb', head: head(1) })).toMatchObject({
      ok: false,
      reason: 'not-locked',
    });
    const forged = { ...head(1), root: 'elsewhere' };
    expect(validHead(forged)).toBe(false);
    expect(await replica.handle({ op: 'commit', owner: o, txId: 'aa', head: forged })).toMatchObject({
      ok: false,
      reason: 'invalid',
    });
    expect((await replica.handle({ op: 'commit', owner: o, txId: 'aa', head: head(1) })).ok).toBe(true);
    // A writer that read seq 0 is behind now.
    expect(await replica.handle({ op: 'lock', owner: o, txId: 'bb', expectSeq: 0 })).toMatchObject({
      ok: false,
      reason: 'ahead',
    });
    expect((await replica.handle({ op: 'lock', owner: o, txId: 'bb', expectSeq: 1 })).ok).toBe(true);
    expect((await replica.handle({ op: 'lock', owner: o, txId: 'cc', expectSeq: 1 })).ok).toBe(false);
    clock.advance(1001);
    expect((await replica.handle({ op: 'lock', owner: o, txId: 'cc', expectSeq: 1 })).ok).toBe(true);
    expect(await replica.handle({ op: 'commit', owner: o, txId: 'bb', head: head(2) })).toMatchObject({
      ok: false,
      reason: 'not-locked',
    });
    expect((await replica.handle({ op: 'get', owner: o })).head).toEqual(head(1));
  });
});
