import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AesGcmBackendName,
  aesGcmBackends,
  aesGcmKey,
  concatBytes,
  fromHex,
  nodeUpdateChunkBytes,
  toHex,
} from '../src/index.js';
import vectors from './vectors/aes-256-gcm.json' with { type: 'json' };

const backends: AesGcmBackendName[] = ['node:crypto', 'webcrypto'];

describe('AES-256-GCM backends', () => {
  it('this host (Node) has both backends, node:crypto first', () => {
    expect(aesGcmBackends()).toEqual(['node:crypto', 'webcrypto']);
  });

  for (const backend of backends) {
    describe(backend, () => {
      for (const vector of vectors.vectors) {
        it(`matches the known answer of ${vector.name}`, async () => {
          const key = await aesGcmKey(fromHex(vector.key), backend);
          expect(key.backend).toBe(backend);
          const pieces = await key.seal(
            fromHex(vector.nonce),
            fromHex(vector.aad),
            fromHex(vector.plaintext),
          );
          const sealed = concatBytes(...pieces);
          expect(toHex(sealed)).toBe(vector.ciphertext + vector.tag);
          const opened = await key.open(fromHex(vector.nonce), fromHex(vector.aad), sealed);
          expect(opened).not.toBeNull();
          expect(toHex(concatBytes(...opened!))).toBe(vector.plaintext);
        });
      }

      it('refuses a flipped bit in ciphertext, tag, nonce or aad', async () => {
        const vector = vectors.vectors[3]!;
        const key = await aesGcmKey(fromHex(vector.key), backend);
        const nonce = fromHex(vector.nonce);
        const aad = fromHex(vector.aad);
        const sealed = fromHex(vector.ciphertext + vector.tag);
        for (const [which, bytes] of [
          ['ciphertext', sealed],
          ['tag', sealed],
          ['nonce', nonce],
          ['aad', aad],
        ] as const) {
          const at = which === 'tag' ? sealed.length - 1 : 3;
          bytes[at]! ^= 0x10;
          expect(await key.open(nonce, aad, sealed), which).toBeNull();
          bytes[at]! ^= 0x10;
        }
        expect(await key.open(nonce, aad, sealed.subarray(0, 15))).toBeNull();
        expect(await key.open(nonce, aad, sealed)).not.toBeNull();
      });

      it('checks its arguments', async () => {
        await expect(aesGcmKey(new Uint8Array(16), backend)).rejects.toThrow(RangeError);
        const key = await aesGcmKey(new Uint8Array(32), backend);
        const call = async () => key.seal(new Uint8Array(8), new Uint8Array(0), new Uint8Array(1));
        await expect(call()).rejects.toThrow(RangeError);
      });
    });
  }

  it('both backends and a single node:crypto call agree on random inputs, across update pieces', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.integer({ min: 0, max: 3 * nodeUpdateChunkBytes + 17 }),
        async (rawKey, nonce, aad, length) => {
          const plain = new Uint8Array(length).map((_, i) => (i * 31 + rawKey[0]!) & 255);
          const reference = createCipheriv('aes-256-gcm', rawKey, nonce);
          reference.setAAD(aad);
          const expected = Buffer.concat([
            reference.update(plain),
            reference.final(),
            reference.getAuthTag(),
          ]);
          for (const backend of backends) {
            const key = await aesGcmKey(rawKey, backend);
            const pieces = await key.seal(nonce, aad, plain);
            const sealed = Buffer.concat(pieces);
            expect(sealed.equals(expected), backend).toBe(true);
            const opened = await key.open(nonce, aad, sealed);
            expect(opened !== null && Buffer.concat(opened).equals(plain), backend).toBe(true);
            // Pieces are plain Uint8Arrays (not Buffers); node:crypto's at most one update chunk each.
            for (const piece of pieces) {
              expect(Object.getPrototypeOf(piece)).toBe(Uint8Array.prototype);
              if (backend === 'node:crypto') expect(piece.length).toBeLessThanOrEqual(nodeUpdateChunkBytes);
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
