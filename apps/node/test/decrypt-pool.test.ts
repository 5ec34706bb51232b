import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cipherRange, createDecryptor, type DecryptorInit, encrypt, seededRandom } from '@trinity/core';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DecryptPool,
  DecryptWorkerError,
  decryptStreamsPerWorker,
} from '../src/services/objects/decrypt-pool.js';

// The built worker (apps/node tests run against dist: `pnpm build` first).
const workerUrl = new URL('../dist/decrypt-worker.js', import.meta.url);
const pools: DecryptPool[] = [];
let scratch: string;

function pool(
  init: {
    workers?: number;
    inFlightBytesMax?: number;
    workerUrl?: URL;
    onBroken?: (why: string) => void;
  } = {},
): DecryptPool {
  const made = new DecryptPool({ workers: 1, inFlightBytesMax: 64 * 1024, workerUrl, ...init });
  pools.push(made);
  return made;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'decrypt-pool-'));
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** `bytes` cut into chunks of the given sizes (cycled), as a caller-owned stream. */
async function* chunked(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

async function collect(pieces: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const piece of pieces) out.push(piece);
  return Buffer.concat(out);
}

/** The main-thread decryptor's plaintext, or its error. */
async function mainThread(input: Uint8Array, init: DecryptorInit): Promise<Buffer | Error> {
  try {
    const decryptor = await createDecryptor(init);
    return Buffer.concat([...(await decryptor.update(input)), ...(await decryptor.final())]);
  } catch (error) {
    return error as Error;
  }
}

async function settle(work: Promise<Buffer>): Promise<Buffer | Error> {
  return work.catch((error: Error) => error);
}

/** The ranged ciphertext a read feeds: the header, then the sealed segments of the range. */
function rangedInput(sealed: Uint8Array, size: number, segmentBytes: number, a: number, b: number) {
  if (size === 0) return { input: sealed, init: {} };
  const start = a % size;
  const end = start + (b % (size - start));
  const span = cipherRange(start, end, size, segmentBytes);
  const input = Buffer.concat([
    sealed.subarray(0, 32),
    sealed.subarray(span.cipherStart, span.cipherEnd + 1),
  ]);
  return { input, init: { firstSegment: span.firstSegment, endsAtFinal: span.endsAtFinal } };
}

describe('DecryptPool', () => {
  it('yields what the main-thread decryptor yields, for any size, range and chunking (property)', async () => {
    const decryptPool = pool();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 40_000 }),
        fc.constantFrom(256, 1000, 4096),
        fc.nat(),
        fc.nat(),
        fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        async (size, segmentBytes, a, b, sizes, seed) => {
          const key = seededRandom(seed).bytes(32);
          const sealed = await encrypt(seededRandom(seed + 1).bytes(size), { key, segmentBytes });
          const { input, init } = rangedInput(sealed, size, segmentBytes, a, b);
          const expected = await mainThread(input, { key, ...init });
          const got = await collect(decryptPool.decrypt(chunked(input, sizes), { key, ...init }));
          expect(got.equals(expected as Buffer)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('fails a tampered, truncated or wrongly keyed ciphertext with the main thread’s DecryptionError', async () => {
    const decryptPool = pool();
    const key = seededRandom(1).bytes(32);
    const sealed = await encrypt(seededRandom(2).bytes(10_000), { key, segmentBytes: 1000 });
    const tampered = sealed.slice();
    tampered[32 + 3 * 1016 + 5]! ^= 1;
    const cases: [Uint8Array, Uint8Array][] = [
      [tampered, key],
      [sealed.subarray(0, 32 + 5 * 1016), key], // cut after a middle segment
      [sealed.subarray(0, 20), key], // inside the header
      [sealed, seededRandom(3).bytes(32)],
    ];
    for (const [input, k] of cases) {
      const expected = await mainThread(input, { key: k });
      const got = await settle(collect(decryptPool.decrypt(chunked(input, [777]), { key: k })));
      expect(expected).toBeInstanceOf(Error);
      expect(got).toMatchObject({
        name: 'DecryptionError',
        code: (expected as Error & { code: string }).code,
      });
      expect((got as Error).message).toBe((expected as Error).message);
    }
    // The worker is still good for the next stream.
    const plain = await collect(decryptPool.decrypt(chunked(sealed, [4096]), { key }));
    expect(plain.equals(seededRandom(2).bytes(10_000))).toBe(true);
  });

  it('keeps no stream (nor its key) in the worker once a read ends, fails or stops early', async () => {
    const decryptPool = pool();
    const key = seededRandom(12).bytes(32);
    const sealed = await encrypt(seededRandom(13).bytes(300_000), { key, segmentBytes: 4096 });
    for (let i = 0; i < 5; i++) await collect(decryptPool.decrypt(chunked(sealed, [50_000]), { key }));
    await settle(
      collect(decryptPool.decrypt(chunked(sealed, [50_000]), { key: seededRandom(14).bytes(32) })),
    );
    for await (const _ of decryptPool.decrypt(chunked(sealed, [50_000]), { key })) break;
    expect(await decryptPool.openStreams()).toEqual([0]);
  });

  it('accepts at most decryptStreamsPerWorker reads per worker at once', async () => {
    const decryptPool = pool();
    const key = seededRandom(17).bytes(32);
    const sealed = await encrypt(seededRandom(18).bytes(300_000), { key });
    const reads = [];
    for (let i = 0; i < decryptStreamsPerWorker; i++) {
      expect(decryptPool.accepting).toBe(true);
      const read = decryptPool.decrypt(chunked(sealed, [10_000]), { key });
      await read.next();
      reads.push(read);
    }
    expect(decryptPool.accepting).toBe(false);
    await reads.pop()!.return(undefined);
    expect(decryptPool.accepting).toBe(true);
    for (const read of reads) await read.return(undefined);
    expect(await decryptPool.openStreams()).toEqual([0]);
  });

  it('turns itself off when its worker cannot start, so later reads stay on the main thread', async () => {
    const told: string[] = [];
    const decryptPool = pool({
      workerUrl: pathToFileURL(join(scratch, 'no-such-worker.mjs')),
      onBroken: (why) => told.push(why),
    });
    const key = seededRandom(15).bytes(32);
    const sealed = await encrypt(seededRandom(16).bytes(100_000), { key });
    expect(decryptPool.enabled).toBe(true);
    const got = await settle(collect(decryptPool.decrypt(chunked(sealed, [10_000]), { key })));
    expect(got).toBeInstanceOf(DecryptWorkerError);
    expect(decryptPool.enabled).toBe(false);
    expect(decryptPool.broken).toMatch(/before it started/);
    expect(told).toHaveLength(1);
    expect(told[0]).toContain(decryptPool.broken!);
  });

  it('start() finds a worker that cannot start before any read does', async () => {
    const told: string[] = [];
    const decryptPool = pool({
      workerUrl: pathToFileURL(join(scratch, 'no-such-worker.mjs')),
      onBroken: (why) => told.push(why),
    });
    await decryptPool.start();
    expect(decryptPool.enabled).toBe(false);
    expect(told).toHaveLength(1);
    // and a working one is up and takes reads
    const working = pool();
    await working.start();
    expect(working.accepting).toBe(true);
    expect(await working.openStreams()).toEqual([0]);
  });

  it('never has more than inFlightBytesMax ciphertext bytes outstanding', async () => {
    const decryptPool = pool({ inFlightBytesMax: 64 * 1024 });
    const key = seededRandom(4).bytes(32);
    const sealed = await encrypt(seededRandom(5).bytes(2 * 1024 * 1024), { key });
    let pulled = 0;
    let yielded = 0;
    let outstandingMax = 0;
    const source = async function* () {
      for await (const chunk of chunked(sealed, [16 * 1024])) {
        pulled += chunk.length;
        // Ciphertext taken minus plaintext given back (plus one tag per 256 KiB segment and the header).
        outstandingMax = Math.max(outstandingMax, pulled - yielded);
        yield chunk;
      }
    };
    for await (const piece of decryptPool.decrypt(source(), { key })) yielded += piece.length;
    expect(yielded).toBe(2 * 1024 * 1024);
    // A segment (256 KiB) is released only once a byte of the next arrived, plus the limit and a chunk.
    expect(outstandingMax).toBeLessThanOrEqual(256 * 1024 + 64 * 1024 + 2 * 16 * 1024 + 32 + 16);
  });

  it('drops a stream the consumer stops early, and stays usable', async () => {
    const decryptPool = pool();
    const key = seededRandom(6).bytes(32);
    const plain = seededRandom(7).bytes(4 * 1024 * 1024);
    const sealed = await encrypt(plain, { key });
    let pulled = 0;
    const source = async function* () {
      for await (const chunk of chunked(sealed, [65_536])) {
        pulled += chunk.length;
        yield chunk;
      }
    };
    for await (const piece of decryptPool.decrypt(source(), { key })) {
      expect(piece.length).toBeGreaterThan(0);
      break;
    }
    expect(pulled).toBeLessThan(sealed.length);
    expect((await collect(decryptPool.decrypt(chunked(sealed, [100_000]), { key }))).equals(plain)).toBe(
      true,
    );
  });

  it('fails its streams with DecryptWorkerError when the worker dies, then starts a new one', async () => {
    const dying = join(scratch, 'dying-worker.mjs');
    await writeFile(
      dying,
      "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage({ id: 0, ready: true });\nparentPort.on('message', () => process.exit(7));\n",
    );
    const decryptPool = pool({ workerUrl: pathToFileURL(dying) });
    const key = seededRandom(8).bytes(32);
    const sealed = await encrypt(seededRandom(9).bytes(300_000), { key });
    for (let attempt = 0; attempt < 2; attempt++) {
      const got = await settle(collect(decryptPool.decrypt(chunked(sealed, [10_000]), { key })));
      expect(got).toBeInstanceOf(DecryptWorkerError);
      expect((got as Error).message).toMatch(/exited with code 7/);
    }
  });

  it('stop() terminates the workers and fails a stream in progress', async () => {
    const decryptPool = pool();
    const key = seededRandom(10).bytes(32);
    const sealed = await encrypt(seededRandom(11).bytes(2 * 1024 * 1024), { key });
    const reading = decryptPool.decrypt(chunked(sealed, [65_536]), { key });
    await reading.next();
    await decryptPool.stop();
    await expect(collect(reading)).rejects.toBeInstanceOf(DecryptWorkerError);
    await expect(collect(decryptPool.decrypt(chunked(sealed, [65_536]), { key }))).rejects.toThrow(/stopped/);
  });

  it('refuses settings outside its bounds', () => {
    expect(() => new DecryptPool({ workers: 9, inFlightBytesMax: 1 << 20 })).toThrow(RangeError);
    expect(() => new DecryptPool({ workers: 1, inFlightBytesMax: 1 })).toThrow(RangeError);
  });
});
