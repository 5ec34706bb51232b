import { createCipheriv, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AeadStateError,
  aeadFormat,
  createDecryptor,
  createEncryptor,
  DecryptionError,
  decrypt,
  decryptedSize,
  encrypt,
  encryptedSize,
  generateObjectKey,
  isTrinityError,
  pipeThrough,
} from '../src/index.js';

const segmentBytes = 256; // the smallest allowed: many segments from small inputs
const sealedSegmentBytes = segmentBytes + aeadFormat.tagBytes;

function randomData(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

async function expectDecryptionError(promise: Promise<unknown>, code: string): Promise<DecryptionError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DecryptionError);
  expect(isTrinityError(error, code), `${(error as Error).message}`).toBe(true);
  return error as DecryptionError;
}

/** Splits `data` at the given cut points (sorted, deduplicated, clamped). */
function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => Math.min(cut, data.length)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, data.length]) {
    pieces.push(data.subarray(start, point));
    start = point;
  }
  return pieces;
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of source) pieces.push(piece);
  return Buffer.concat(pieces);
}

describe('the segment format', () => {
  it('is header | AES-256-GCM segments with nonce prefix | index | final and the header as AAD (rebuilt independently)', async () => {
    const key = randomData(32, 1);
    const prefix = randomData(7, 2);
    const plain = randomData(2 * segmentBytes + 100, 3);
    const sealed = await encrypt(plain, { key, segmentBytes, noncePrefix: prefix });

    const header = Buffer.alloc(32);
    header.write('TRE', 0, 'latin1');
    header[3] = 1;
    header[4] = 1;
    header.writeUInt32BE(segmentBytes, 5);
    header.set(prefix, 9);
    const commitInput = Buffer.concat([Buffer.from('trinity/aead/v1 commit'), header.subarray(0, 16)]);
    header.set(createHmac('sha256', key).update(commitInput).digest().subarray(0, 16), 16);

    const expected: Buffer[] = [header];
    for (let index = 0; index < 3; index++) {
      const nonce = Buffer.alloc(12);
      nonce.set(prefix);
      nonce.writeUInt32BE(index, 7);
      nonce[11] = index === 2 ? 1 : 0;
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(header);
      const part = plain.subarray(index * segmentBytes, (index + 1) * segmentBytes);
      expected.push(cipher.update(part), cipher.final(), cipher.getAuthTag());
    }
    expect(Buffer.from(sealed).equals(Buffer.concat(expected))).toBe(true);
  });

  it('encryptedSize and decryptedSize agree with the bytes produced, at and around segment boundaries', async () => {
    const key = generateObjectKey();
    const sizes = [
      0,
      1,
      segmentBytes - 1,
      segmentBytes,
      segmentBytes + 1,
      3 * segmentBytes,
      3 * segmentBytes + 7,
    ];
    for (const size of sizes) {
      const sealed = await encrypt(randomData(size, size + 1), { key, segmentBytes });
      expect(sealed.length, `size ${size}`).toBe(encryptedSize(size, segmentBytes));
      expect(decryptedSize(sealed.length, segmentBytes), `size ${size}`).toBe(size);
    }
    expect(encryptedSize(0)).toBe(32 + 16);
    expect(encryptedSize(2 ** 40)).toBe(32 + 2 ** 40 + 16 * 2 ** 22); // 1 TiB in 256 KiB segments
    expect(decryptedSize(31, segmentBytes)).toBe(-1);
    expect(decryptedSize(32 + sealedSegmentBytes + 5, segmentBytes)).toBe(-1);
    expect(() => encryptedSize(-1)).toThrow(RangeError);
    expect(() => encryptedSize(10, 255)).toThrow(RangeError);
    expect(() => encryptedSize(10, 16 * 1024 * 1024 + 1)).toThrow(RangeError);
  });

  it('property: size formulas are inverse and monotone', () => {
    fc.assert(
      fc.property(fc.nat(10_000_000), fc.integer({ min: 256, max: 4 * 1024 * 1024 }), (size, segment) => {
        const sealed = encryptedSize(size, segment);
        expect(decryptedSize(sealed, segment)).toBe(size);
        expect(encryptedSize(size + 1, segment)).toBeGreaterThan(sealed);
      }),
      { numRuns: 500 },
    );
  });
});

describe('round trips', () => {
  it('property: any size (0, one segment, boundaries), any chunking, both backends, decrypts to the input', async () => {
    const size = fc.oneof(
      fc.constantFrom(
        0,
        1,
        segmentBytes - 1,
        segmentBytes,
        segmentBytes + 1,
        2 * segmentBytes,
        5 * segmentBytes,
      ),
      fc.nat(6 * segmentBytes),
    );
    await fc.assert(
      fc.asyncProperty(
        size,
        fc.array(fc.nat(6 * segmentBytes), { maxLength: 6 }),
        fc.array(fc.nat(7 * segmentBytes), { maxLength: 6 }),
        fc.constantFrom('node:crypto', 'webcrypto'),
        fc.constantFrom('node:crypto', 'webcrypto'),
        fc.integer(),
        async (length, plainCuts, sealedCuts, encryptWith, decryptWith, seed) => {
          const key = randomData(32, seed);
          const plain = randomData(length, seed ^ 0x5555);
          const encryptor = await createEncryptor({ key, segmentBytes, backend: encryptWith });
          const sealed = await collect(pipeThrough(encryptor, split(plain, plainCuts)));
          expect(sealed.length).toBe(encryptedSize(length, segmentBytes));
          const decryptor = await createDecryptor({ key, backend: decryptWith });
          const opened = await collect(pipeThrough(decryptor, split(sealed, sealedCuts)));
          expect(Buffer.from(opened).equals(Buffer.from(plain))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('both backends produce identical ciphertext for the same key and nonce prefix', async () => {
    const key = generateObjectKey();
    const noncePrefix = randomData(7, 9);
    for (const size of [0, 100, segmentBytes, 4 * segmentBytes + 3]) {
      const plain = randomData(size, size);
      const a = await encrypt(plain, { key, segmentBytes, noncePrefix, backend: 'node:crypto' });
      const b = await encrypt(plain, { key, segmentBytes, noncePrefix, backend: 'webcrypto' });
      expect(Buffer.from(a).equals(Buffer.from(b)), `size ${size}`).toBe(true);
    }
  });

  it('uses a fresh nonce prefix each time unless one is given', async () => {
    const key = generateObjectKey();
    const plain = randomData(10, 1);
    const a = await encrypt(plain, { key, segmentBytes });
    const b = await encrypt(plain, { key, segmentBytes });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('streams with bounded memory: a 1 MiB default-size object in 1 KiB chunks yields segments as it goes', async () => {
    const key = generateObjectKey();
    const plain = randomData(1024 * 1024 + 5, 77);
    const encryptor = await createEncryptor({ key });
    let outputBytes = 0;
    let largestPiece = 0;
    for (const chunk of split(
      plain,
      Array.from({ length: 1024 }, (_, i) => i * 1024),
    )) {
      for (const piece of await encryptor.update(chunk)) {
        outputBytes += piece.length;
        largestPiece = Math.max(largestPiece, piece.length);
      }
    }
    expect(outputBytes).toBe(32 + 4 * (256 * 1024 + 16)); // four segments out before the end was known
    const last = await encryptor.final();
    expect(last.reduce((sum, piece) => sum + piece.length, 0)).toBe(5 + 16);
    expect(largestPiece).toBe(64 * 1024);
  });
});

describe('tampering', () => {
  const key = randomData(32, 42);
  const plain = randomData(3 * segmentBytes + 50, 43); // segments 0, 1, 2 full, 3 final (50 bytes)

  async function sealedCopy(): Promise<Uint8Array> {
    return encrypt(plain, { key, segmentBytes, noncePrefix: randomData(7, 44) });
  }

  it('property: any flipped bit anywhere is refused, by either backend', async () => {
    const sealed = await sealedCopy();
    await fc.assert(
      fc.asyncProperty(
        fc.nat(sealed.length * 8 - 1),
        fc.constantFrom('node:crypto', 'webcrypto'),
        async (bit, backend) => {
          const damaged = sealed.slice();
          damaged[bit >> 3]! ^= 1 << (bit & 7);
          const error = await decrypt(damaged, { key, backend }).then(
            () => undefined,
            (caught: unknown) => caught,
          );
          expect(error).toBeInstanceOf(DecryptionError);
          const byte = bit >> 3;
          // Where a flip lands decides the code; every code is a refusal.
          const expected =
            byte < 9
              ? ['DECRYPT_HEADER_INVALID', 'DECRYPT_WRONG_KEY']
              : byte < 32
                ? ['DECRYPT_WRONG_KEY']
                : ['DECRYPT_AUTH_FAILED'];
          expect(expected).toContain((error as DecryptionError).code);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('property: any deleted or inserted run of bytes is refused with a DecryptionError', async () => {
    const sealed = await sealedCopy();
    await fc.assert(
      fc.asyncProperty(
        fc.nat(sealed.length),
        fc.integer({ min: 1, max: 600 }),
        fc.boolean(),
        fc.integer(),
        async (at, length, insert, seed) => {
          const damaged = insert
            ? Buffer.concat([sealed.subarray(0, at), randomData(length, seed), sealed.subarray(at)])
            : Buffer.concat([sealed.subarray(0, at), sealed.subarray(at + length)]);
          fc.pre(!damaged.equals(Buffer.from(sealed)));
          await expect(decrypt(damaged, { key })).rejects.toBeInstanceOf(DecryptionError);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a flipped byte in a segment releases no plaintext of that segment or later ones', async () => {
    const sealed = await sealedCopy();
    sealed[32 + sealedSegmentBytes + 10]! ^= 0xff; // in segment 1
    const decryptor = await createDecryptor({ key });
    const first = await decryptor.update(sealed.subarray(0, 32 + sealedSegmentBytes + 1));
    expect(Buffer.concat(first).equals(Buffer.from(plain.subarray(0, segmentBytes)))).toBe(true);
    const error = await expectDecryptionError(
      decryptor.update(sealed.subarray(32 + sealedSegmentBytes + 1)),
      'DECRYPT_AUTH_FAILED',
    );
    expect(error.details).toEqual({ segment: 1 });
    // Failed for good: the same error again, whatever comes next.
    await expect(decryptor.update(new Uint8Array(1))).rejects.toBe(error);
    await expect(decryptor.final()).rejects.toBe(error);
  });

  it('a stream cut at a segment boundary (final segment missing) is TRUNCATED', async () => {
    const sealed = await sealedCopy();
    for (const segments of [1, 2, 3]) {
      const cut = sealed.subarray(0, 32 + segments * sealedSegmentBytes);
      const error = await expectDecryptionError(decrypt(cut, { key }), 'DECRYPT_TRUNCATED');
      expect(error.details).toEqual({ segment: segments - 1 });
    }
  });

  it('a stream cut inside the header or before a final tag is TRUNCATED; inside a segment, AUTH_FAILED', async () => {
    const sealed = await sealedCopy();
    await expectDecryptionError(decrypt(sealed.subarray(0, 0), { key }), 'DECRYPT_TRUNCATED');
    await expectDecryptionError(decrypt(sealed.subarray(0, 31), { key }), 'DECRYPT_TRUNCATED');
    await expectDecryptionError(decrypt(sealed.subarray(0, 32), { key }), 'DECRYPT_TRUNCATED');
    await expectDecryptionError(decrypt(sealed.subarray(0, 32 + 15), { key }), 'DECRYPT_TRUNCATED');
    await expectDecryptionError(
      decrypt(sealed.subarray(0, sealed.length - 1), { key }),
      'DECRYPT_AUTH_FAILED',
    );
    await expectDecryptionError(decrypt(sealed.subarray(0, 32 + 100), { key }), 'DECRYPT_AUTH_FAILED');
  });

  it('extra bytes after the final segment are refused', async () => {
    const sealed = await sealedCopy();
    const longer = Buffer.concat([sealed, Buffer.from([0])]);
    await expectDecryptionError(decrypt(longer, { key }), 'DECRYPT_AUTH_FAILED');
  });

  it('reordered, duplicated or dropped middle segments are refused', async () => {
    const sealed = await sealedCopy();
    const header = sealed.subarray(0, 32);
    const segment = (i: number) =>
      sealed.subarray(32 + i * sealedSegmentBytes, 32 + (i + 1) * sealedSegmentBytes);
    const finalSegment = sealed.subarray(32 + 3 * sealedSegmentBytes);
    const cases = {
      swapped: [segment(1), segment(0), segment(2)],
      duplicated: [segment(0), segment(0), segment(2)],
      dropped: [segment(0), segment(2)],
    };
    for (const [name, middle] of Object.entries(cases)) {
      const error = await expectDecryptionError(
        decrypt(Buffer.concat([header, ...middle, finalSegment]), { key }),
        'DECRYPT_AUTH_FAILED',
      );
      expect(error.message, name).toMatch(/segment \d/);
    }
  });

  it('a segment of another object under the same key is refused (the header binds it)', async () => {
    const a = await sealedCopy();
    const b = await encrypt(plain, { key, segmentBytes, noncePrefix: randomData(7, 45) });
    const mixed = Buffer.concat([
      a.subarray(0, 32 + sealedSegmentBytes),
      b.subarray(32 + sealedSegmentBytes),
    ]);
    await expectDecryptionError(decrypt(mixed, { key }), 'DECRYPT_AUTH_FAILED');
  });

  it('a wrong key is WRONG_KEY before any segment is tried', async () => {
    const sealed = await sealedCopy();
    const other = key.slice();
    other[0]! ^= 1;
    await expectDecryptionError(decrypt(sealed, { key: other }), 'DECRYPT_WRONG_KEY');
    await expectDecryptionError(decrypt(sealed, { key: other, backend: 'webcrypto' }), 'DECRYPT_WRONG_KEY');
  });

  it('a header with another version, algorithm, or an out-of-bounds segment size is HEADER_INVALID', async () => {
    const sealed = await sealedCopy();
    for (const [at, value] of [
      [0, 0x55],
      [3, 2],
      [4, 9],
    ] as const) {
      const damaged = sealed.slice();
      damaged[at] = value;
      await expectDecryptionError(decrypt(damaged, { key }), 'DECRYPT_HEADER_INVALID');
    }
    const huge = sealed.slice();
    new DataView(huge.buffer).setUint32(5, 64 * 1024 * 1024);
    await expectDecryptionError(decrypt(huge, { key }), 'DECRYPT_HEADER_INVALID');
    // A decryptor can bound segments more tightly than the format does.
    const big = await encrypt(plain, { key, segmentBytes: 1024 * 1024 });
    await expectDecryptionError(decrypt(big, { key, segmentBytesMax: 1024 }), 'DECRYPT_HEADER_INVALID');
  });
});

describe('lifecycle', () => {
  it('refuses calls after final() and overlapping calls', async () => {
    const key = generateObjectKey();
    const encryptor = await createEncryptor({ key, segmentBytes });
    const pending = encryptor.update(randomData(5 * segmentBytes, 1));
    await expect(encryptor.update(new Uint8Array(1))).rejects.toBeInstanceOf(AeadStateError);
    await pending;
    await encryptor.final();
    await expect(encryptor.update(new Uint8Array(1))).rejects.toBeInstanceOf(AeadStateError);
    await expect(encryptor.final()).rejects.toBeInstanceOf(AeadStateError);
  });

  it('checks its options', async () => {
    await expect(createEncryptor({ key: new Uint8Array(16) })).rejects.toThrow(RangeError);
    await expect(createEncryptor({ key: generateObjectKey(), segmentBytes: 100 })).rejects.toThrow(
      RangeError,
    );
    await expect(
      createEncryptor({ key: generateObjectKey(), noncePrefix: new Uint8Array(8) }),
    ).rejects.toThrow(RangeError);
    await expect(createDecryptor({ key: generateObjectKey(), segmentBytesMax: 2 ** 30 })).rejects.toThrow(
      RangeError,
    );
  });
});
