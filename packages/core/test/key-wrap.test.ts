import { createDecipheriv, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeReadCap,
  ed25519,
  encodeReadCap,
  generateObjectKey,
  isTrinityError,
  KeyUnwrapError,
  keyWrapFormat,
  ReadCapError,
  readCapLength,
  readCapPrefix,
  toHex,
  unwrapObjectKey,
  utf8ToBytes,
  wrapObjectKey,
} from '../src/index.js';

describe('wrapObjectKey / unwrapObjectKey', () => {
  const owner = ed25519.randomSecretKey();

  it('is version | nonce | AES-256-GCM under HKDF-SHA256(owner secret) with version | context as AAD', async () => {
    const objectKey = generateObjectKey();
    const context = ed25519.publicKey(owner);
    const wrapped = await wrapObjectKey(objectKey, { ownerSecretKey: owner, context });
    expect(wrapped.length).toBe(keyWrapFormat.wrappedBytes);
    expect(wrapped[0]).toBe(1);
    // Rebuilt with node:crypto alone.
    const wrapping = Buffer.from(hkdfSync('sha256', owner, 'trinity/key-wrap/v1', 'object-key', 32));
    const decipher = createDecipheriv('aes-256-gcm', wrapping, wrapped.subarray(1, 13));
    decipher.setAAD(Buffer.concat([Buffer.from([1]), context]));
    decipher.setAuthTag(wrapped.subarray(45));
    const opened = Buffer.concat([decipher.update(wrapped.subarray(13, 45)), decipher.final()]);
    expect(opened.equals(Buffer.from(objectKey))).toBe(true);
  });

  it('property: round-trips on either backend, and only for the same owner and context', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom('node:crypto', 'webcrypto'),
        fc.constantFrom('node:crypto', 'webcrypto'),
        async (objectKey, context, wrapWith, unwrapWith) => {
          const wrapped = await wrapObjectKey(objectKey, {
            ownerSecretKey: owner,
            context,
            backend: wrapWith,
          });
          const back = await unwrapObjectKey(wrapped, {
            ownerSecretKey: owner,
            context,
            backend: unwrapWith,
          });
          expect(toHex(back)).toBe(toHex(objectKey));
          const stranger = ed25519.randomSecretKey();
          await expect(
            unwrapObjectKey(wrapped, { ownerSecretKey: stranger, context }),
          ).rejects.toBeInstanceOf(KeyUnwrapError);
          const otherContext = Uint8Array.from([...context, 0]);
          await expect(
            unwrapObjectKey(wrapped, { ownerSecretKey: owner, context: otherContext }),
          ).rejects.toBeInstanceOf(KeyUnwrapError);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses a damaged, shortened or unknown-version wrapped key', async () => {
    const wrapped = await wrapObjectKey(generateObjectKey(), { ownerSecretKey: owner });
    for (let at = 0; at < wrapped.length; at += 5) {
      const damaged = wrapped.slice();
      damaged[at]! ^= 4;
      const error = await unwrapObjectKey(damaged, { ownerSecretKey: owner }).catch(
        (caught: unknown) => caught,
      );
      expect(isTrinityError(error, 'KEY_UNWRAP_FAILED'), `byte ${at}`).toBe(true);
    }
    await expect(unwrapObjectKey(wrapped.subarray(1), { ownerSecretKey: owner })).rejects.toThrow(/61 bytes/);
  });

  it('wraps the same key differently each time (random nonce)', async () => {
    const objectKey = generateObjectKey();
    const a = await wrapObjectKey(objectKey, { ownerSecretKey: owner });
    const b = await wrapObjectKey(objectKey, { ownerSecretKey: owner });
    expect(toHex(a)).not.toBe(toHex(b));
  });

  it('checks its arguments', async () => {
    await expect(wrapObjectKey(new Uint8Array(16), { ownerSecretKey: owner })).rejects.toThrow(RangeError);
    await expect(wrapObjectKey(generateObjectKey(), { ownerSecretKey: new Uint8Array(31) })).rejects.toThrow(
      RangeError,
    );
    await expect(
      wrapObjectKey(generateObjectKey(), { ownerSecretKey: owner, context: new Uint8Array(1025) }),
    ).rejects.toThrow(RangeError);
  });
});

describe('read capabilities', () => {
  const objectId = toHex(utf8ToBytes('an object id of 32 bytes, really'));
  const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);

  it('encodes to a fixed-length string with a fixed prefix (known answer)', () => {
    const text = encodeReadCap({ objectId, key });
    expect(text.startsWith(readCapPrefix)).toBe(true);
    expect(text.length).toBe(readCapLength);
    expect(readCapLength).toBe(14 + 92);
    expect(text).toMatch(/^trinity-read1-[A-Za-z0-9_-]{92}$/);
    // Stable within format version 1.
    expect(text.slice(readCapPrefix.length, readCapPrefix.length + 43)).toBe(
      Buffer.from(utf8ToBytes('an object id of 32 bytes, really')).toString('base64url'),
    );
  });

  it('property: decode(encode(cap)) is cap', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (id, capKey) => {
          const text = encodeReadCap({ objectId: toHex(id), key: capKey });
          expect(text).toHaveLength(readCapLength);
          const back = decodeReadCap(text);
          expect(back.objectId).toBe(toHex(id));
          expect(toHex(back.key)).toBe(toHex(capKey));
          expect(decodeReadCap(`  ${text}\n`).objectId).toBe(toHex(id)); // pasted with whitespace
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: any single changed character is refused with READ_CAP_MALFORMED', () => {
    const text = encodeReadCap({ objectId, key });
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.constantFrom(...'Aa0-_+/=.é '), (at, char) => {
        fc.pre(text[at] !== char);
        const changed = text.slice(0, at) + char + text.slice(at + 1);
        expect(() => decodeReadCap(changed)).toThrow(ReadCapError);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses malformed strings with a reason', () => {
    const text = encodeReadCap({ objectId, key });
    const reasons = (input: unknown) => {
      try {
        decodeReadCap(input as string);
      } catch (error) {
        expect(isTrinityError(error, 'READ_CAP_MALFORMED')).toBe(true);
        return (error as ReadCapError).reason;
      }
      throw new Error('accepted');
    };
    expect(reasons('')).toMatch(/does not start/);
    expect(reasons(text.replace('read1', 'read2'))).toMatch(/does not start/);
    expect(reasons(text.slice(0, -1))).toMatch(/106 characters/);
    expect(reasons(`${text}A`)).toMatch(/106 characters/);
    expect(reasons(`${text.slice(0, -1)}*`)).toMatch(/base64url/);
    expect(reasons(`${text.slice(0, -1)}${text.endsWith('A') ? 'B' : 'A'}`)).toMatch(/checksum/);
    expect(reasons(42)).toMatch(/expected a string/);
  });

  it('refuses to encode a bad id or key', () => {
    expect(() => encodeReadCap({ objectId: 'ab', key })).toThrow(TypeError);
    expect(() => encodeReadCap({ objectId: objectId.toUpperCase(), key })).toThrow(TypeError);
    expect(() => encodeReadCap({ objectId, key: key.subarray(1) })).toThrow(RangeError);
  });
});
