import { randomBytes } from 'node:crypto';
import { encrypt, encryptedSize, SystemClock } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RemoteError } from '../src/errors.js';
import { peerIdOfNodeKey } from '../src/p2p/node-keys.js';
import { DecryptPool } from '../src/services/objects/decrypt-pool.js';
import { handleOf, readingService, stripedObject } from './object-fixture.js';

type Behaviour = 'good' | 'liar' | 'down' | 'slow';

/** One stripe of RS(k, m) whose shard i lives on node `n<i>`, and a transfer where each node behaves as told. */
function setup(k: number, m: number, behaviours: Behaviour[]) {
  const data = randomBytes(k * 1000 - 7);
  const { manifest, byHash } = stripedObject(data, k, m, 1000);
  const asked: string[] = [];
  const transfer = {
    fetch: async (node: string, hash: Uint8Array) => {
      asked.push(node);
      const behaviour = behaviours[Number(node.slice(1))]!;
      if (behaviour === 'down') throw new Error('connection refused');
      if (behaviour === 'slow') await new Promise((resolve) => setTimeout(resolve, 600));
      const shard = byHash.get(Buffer.from(hash).toString('hex'))!;
      return behaviour === 'liar' ? randomBytes(shard.length) : shard;
    },
  };
  // Real time: the 'slow' holders sleep on the host's timers and reads hedge after 100 ms.
  const service = readingService({ dataShards: k, parityShards: m, shardBytes: 1000 }, transfer, {
    clock: new SystemClock(),
    hedgeAfterMs: 100,
  });
  return { service, manifest, data, asked };
}

describe('reading a stripe', () => {
  it('rebuilds from the honest holders when up to m lie, are down or are slow (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.constantFrom<Behaviour>('liar', 'down', 'slow'), { maxLength: 3 }),
        fc.nat(),
        async (k, m, bad, offset) => {
          const behaviours: Behaviour[] = Array.from({ length: k + m }, () => 'good');
          for (const [i, b] of bad.slice(0, m).entries()) behaviours[(offset + i) % (k + m)] = b;
          const { service, manifest, data } = setup(k, m, behaviours);
          const bytes = await service.fetchStripe(manifest, 0);
          expect(Buffer.from(bytes).equals(data)).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  }, 300_000);

  it('asks only the first k holders when all are good (data shards first)', async () => {
    const { service, manifest, asked } = setup(4, 2, ['good', 'good', 'good', 'good', 'good', 'good']);
    await service.fetchStripe(manifest, 0);
    expect(asked.sort()).toEqual(['n0', 'n1', 'n2', 'n3']);
  });

  it('fails with a clear error when more than m holders are bad', async () => {
    const { service, manifest } = setup(2, 1, ['liar', 'down', 'good']);
    await expect(service.fetchStripe(manifest, 0)).rejects.toThrow(
      /stripe 0: only 1 of 2 needed shards could be read/,
    );
  });

  it('finds shards by hash on live nodes when the holders it was told of do not have them', async () => {
    const data = randomBytes(2 * 1000 - 7);
    const { manifest, byHash } = stripedObject(data, 2, 1, 1000);
    // The view names n0..n2, which are gone; m0 and m1 hold every shard but no receipt says so.
    const asked: string[] = [];
    const transfer = {
      fetch: async (node: string, hash: Uint8Array) => {
        asked.push(node);
        if (!node.startsWith('m')) throw new Error('connection refused');
        return byHash.get(Buffer.from(hash).toString('hex'))!;
      },
      has: async (node: string, hashes: readonly Uint8Array[]) => hashes.map(() => node.startsWith('m')),
    };
    const service = readingService({ dataShards: 2, parityShards: 1, shardBytes: 1000 }, transfer, {
      clock: new SystemClock(),
      hedgeAfterMs: 60_000,
      liveNodes: ['m0', 'm1', 'x9'],
    });
    expect(Buffer.from(await service.fetchStripe(manifest, 0)).equals(data)).toBe(true);
    expect(asked.some((node) => node.startsWith('m'))).toBe(true);
    expect(asked).not.toContain('x9');
  });

  it('reads whole objects in order with stripes fetched ahead', async () => {
    const { service, manifest, data } = setup(3, 2, ['good', 'down', 'good', 'liar', 'good']);
    const parts: Uint8Array[] = [];
    for await (const part of service.read(handleOf(manifest))) parts.push(part);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });
});

/**
 * A transfer whose every fetch returns a new copy of the shard, and whose recycle overwrites the
 * buffer given back at once (as a reused reply body would be by the next fetch): a chunk still read
 * after its shard was given back shows the poison.
 */
function recyclingTransfer(byHash: Map<string, Uint8Array>, liars: ReadonlySet<string> = new Set()) {
  const lent = new Set<Uint8Array>();
  const recycled: Uint8Array[] = [];
  return {
    lent,
    recycled,
    transfer: {
      fetch: async (node: string, hash: Uint8Array) => {
        const shard = byHash.get(Buffer.from(hash).toString('hex'))!;
        const copy = liars.has(node) ? randomBytes(shard.length) : Uint8Array.from(shard);
        lent.add(copy);
        return copy;
      },
      recycle: (bytes: Uint8Array) => {
        // A buffer fetch did not return (a rebuilt shard) is ignored, as the data channel's pool does.
        expect(recycled).not.toContain(bytes); // each given back once
        if (!lent.delete(bytes)) return;
        recycled.push(bytes);
        bytes.fill(0xee);
      },
    },
  };
}

describe('giving fetched shards back', () => {
  const k = 3;
  const m = 2;
  const shardBytes = 1000;

  /** Reads like the HTTP route: each chunk is "written" a tick later, checked and copied only then. */
  async function readSlowly(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
    const out: Buffer[] = [];
    for await (const chunk of chunks) {
      await new Promise((resolve) => setImmediate(resolve));
      out.push(Buffer.from(chunk));
    }
    return Buffer.concat(out);
  }

  it("gives a public object's shards back only once the transient reader asked past them", async () => {
    const data = randomBytes(5 * k * shardBytes - 11);
    const { manifest, byHash } = stripedObject(data, k, m, shardBytes);
    // n1 lies: its bytes fail the hash and go back at once; the stripe is rebuilt from parity.
    const { transfer, recycled, lent } = recyclingTransfer(byHash, new Set(['n1']));
    const service = readingService({ dataShards: k, parityShards: m, shardBytes }, transfer, {
      clock: new SystemClock(),
      hedgeAfterMs: 60_000,
    });
    const got = await readSlowly(service.read(handleOf(manifest), undefined, { transient: true }));
    expect(got.equals(data)).toBe(true);
    // Every stripe: k shards used (two data, one parity) and the liar's refused one.
    expect(recycled).toHaveLength(5 * (k + 1));
    expect(lent.size).toBe(0);
  });

  it('keeps chunks valid (gives nothing back) for a reader that did not say transient', async () => {
    const data = randomBytes(3 * k * shardBytes);
    const { manifest, byHash } = stripedObject(data, k, m, shardBytes);
    const { transfer, recycled } = recyclingTransfer(byHash);
    const service = readingService({ dataShards: k, parityShards: m, shardBytes }, transfer, {
      clock: new SystemClock(),
      hedgeAfterMs: 60_000,
    });
    const kept: Uint8Array[] = [];
    for await (const chunk of service.read(handleOf(manifest))) kept.push(chunk);
    expect(Buffer.concat(kept).equals(data)).toBe(true);
    expect(recycled).toHaveLength(0);
  });

  // The read path gives each fetched shard back once decryption has it, on the main thread or a worker.
  it.each([
    ['on the main thread', false],
    ['once a decryption worker has them', true],
  ])("gives an encrypted object's shards back %s, the plaintext intact", async (_, onWorker) => {
    const pool = onWorker
      ? new DecryptPool({
          workers: 1,
          inFlightBytesMax: 64 * 1024,
          workerUrl: new URL('../dist/decrypt-worker.js', import.meta.url),
        })
      : undefined;
    try {
      const plain = randomBytes(7000);
      const key = randomBytes(32);
      const sealed = await encrypt(plain, { key, segmentBytes: 256 });
      const { manifest, byHash } = stripedObject(sealed, k, m, shardBytes);
      const { transfer, recycled, lent } = recyclingTransfer(byHash);
      const service = readingService({ dataShards: k, parityShards: m, shardBytes }, transfer, {
        clock: new SystemClock(),
        hedgeAfterMs: 60_000,
        ...(pool === undefined ? {} : { decryptPool: { pool, minBytes: 0 } }),
      });
      const handle = handleOf(manifest, { size: plain.length, key, segmentBytes: 256 });
      expect((await readSlowly(service.read(handle))).equals(plain)).toBe(true);
      expect(recycled).toHaveLength(manifest.stripes.length * k);
      expect(lent.size).toBe(0);
      // A range: the header's stripe and the range's stripes, each given back once.
      recycled.length = 0;
      const range = await readSlowly(service.read(handle, { start: 4000, end: 6999 }));
      expect(range.equals(plain.subarray(4000, 7000))).toBe(true);
      expect(recycled.length).toBeGreaterThan(0);
    } finally {
      await pool?.stop();
    }
  });

  it('gives nothing back when the reader stops early (its last chunk may still be in use)', async () => {
    const data = randomBytes(4 * k * shardBytes);
    const { manifest, byHash } = stripedObject(data, k, m, shardBytes);
    const { transfer, recycled } = recyclingTransfer(byHash);
    const service = readingService({ dataShards: k, parityShards: m, shardBytes }, transfer, {
      clock: new SystemClock(),
      hedgeAfterMs: 60_000,
    });
    const reader = service.read(handleOf(manifest), undefined, { transient: true });
    let first: Uint8Array | undefined;
    for await (const chunk of reader) {
      first = chunk;
      break;
    }
    expect(Buffer.from(first!).equals(data.subarray(0, shardBytes))).toBe(true);
    expect(recycled).toHaveLength(0);
  });
});

describe('shardBytesFor', () => {
  it('keeps the configured size for big or unknown objects and shrinks it for small ones', async () => {
    const { shardBytesFor } = await import('../src/services/objects/object-service.js');
    const MiB = 1024 * 1024;
    expect(shardBytesFor(undefined, 4, MiB)).toBe(MiB);
    expect(shardBytesFor(64 * MiB, 4, MiB)).toBe(MiB);
    expect(shardBytesFor(6, 4, MiB)).toBe(4096);
    expect(shardBytesFor(0, 4, MiB)).toBe(4096);
    expect(shardBytesFor(100_000, 4, MiB)).toBe(28_672);
    expect(shardBytesFor(4 * MiB - 1, 4, MiB)).toBe(MiB);
  });

  it('spreads an object over as few stripes as the configured size, padded by under 4 KiB a data shard', async () => {
    const { shardBytesFor } = await import('../src/services/objects/object-service.js');
    const MiB = 1024 * 1024;
    // An encrypted 256 MiB object: 17 stripes either way; of 4 MiB shards, the 17th is all padding.
    const encrypted = encryptedSize(256 * MiB);
    const shardBytes = shardBytesFor(encrypted, 4, 4 * MiB);
    expect(shardBytes).toBeLessThan(4 * MiB);
    expect(17 * 4 * shardBytes - encrypted).toBeLessThan(17 * 4 * 4096);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 16 }),
        (size, dataShards) => {
          const bytes = shardBytesFor(size, dataShards, 4 * MiB);
          const stripes = Math.max(1, Math.ceil(size / (dataShards * bytes)));
          expect(bytes % 4096).toBe(0);
          expect(bytes).toBeLessThanOrEqual(4 * MiB);
          expect(stripes).toBe(Math.max(1, Math.ceil(size / (dataShards * 4 * MiB))));
          expect(stripes * dataShards * bytes - size).toBeLessThan(stripes * dataShards * 4096);
        },
      ),
    );
  });
});

describe('a put that fails', () => {
  it('unstages only once every stage of the failing stripe has ended (none lands after it)', async () => {
    // Holders are peer ids of Ed25519 keys (the put intent names their keys).
    const [n0, n1, n2] = [1, 2, 3].map((i) => peerIdOfNodeKey(i.toString(16).padStart(64, '0'))!) as [
      string,
      string,
      string,
    ];
    const name = new Map([
      [n0, 'n0'],
      [n1, 'n1'],
      [n2, 'n2'],
    ]);
    const events: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const transfer = {
      fetch: () => Promise.reject(new Error('no reads here')),
      renew: async () => {},
      unstage: async (id: string) => {
        events.push(`unstage ${name.get(id) ?? id}`);
      },
      stage: async (id: string) => {
        const node = name.get(id);
        // n0 is full at once; n1 answers later, with its shard staged.
        if (node === 'n0') throw new RemoteError(id, 'CAPACITY_EXCEEDED', 'the disk is full');
        if (node === 'n1') {
          setTimeout(release, 100);
          await slow;
        }
        events.push(`staged ${node}`);
      },
    };
    const service = readingService({ dataShards: 2, parityShards: 1, shardBytes: 1000 }, transfer as never, {
      clock: new SystemClock(),
      hedgeAfterMs: 1000,
      liveNodes: [n0, n1, n2],
      targets: [n0, n1, n2],
    });
    async function* source() {
      yield randomBytes(1500);
    }
    const failed = await service
      .putBatch([{ source: source(), public: true }])
      .catch((error: unknown) => error);
    expect((failed as Error).name).toBe('InsufficientStorageError');
    const firstUnstage = events.findIndex((event) => event.startsWith('unstage'));
    expect(events.slice(0, firstUnstage).sort()).toEqual(['staged n1', 'staged n2']);
    expect(events.filter((event) => event.startsWith('unstage')).sort()).toEqual([
      'unstage n0',
      'unstage n1',
      'unstage n2',
      'unstage self',
    ]);
  });
});
