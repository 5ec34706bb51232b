import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bytesToUtf8, ed25519Portable, fromHex, utf8ToBytes } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  checkSignedDescriptor,
  decodeSignedDescriptor,
  descriptorId,
  encodeSignedDescriptor,
  SignatureInvalidError,
  type SignedDescriptor,
  SignedObjectInvalidError,
  shardCommitment,
  signDescriptor,
  signingBytes,
  verifySignedDescriptor,
} from '../src/index.js';
import { descriptorInput, holderASecretKey, ownerKey, ownerSecretKey } from './trust-fixtures.js';
import { expectEveryBitFlipRefused, mutateAt, mutationArb } from './trust-helpers.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/trust.json', import.meta.url), 'utf8'));

describe('signed descriptors', () => {
  const signed = signDescriptor(descriptorInput, ownerSecretKey);

  it('matches the known-answer vector: fixed key and input give a fixed signature and id', () => {
    expect(vectors.ownerKey).toBe(ownerKey);
    expect(signed).toEqual(vectors.descriptor);
    expect(descriptorId(signed)).toBe(vectors.objectId);
    expect(bytesToUtf8(encodeSignedDescriptor(signed))).toBe(vectors.descriptorEncoded);
    expect(verifySignedDescriptor(vectors.descriptor, vectors.objectId).id).toBe(vectors.objectId);
    // Cross-checked with the portable backend and node:crypto's hash, from the documented byte layout.
    const { signature, ...body } = vectors.descriptor;
    const text = canonicalJson(body);
    const message = utf8ToBytes(`trinity/descriptor/v1\u0000${text}`);
    expect(ed25519Portable.verify(fromHex(signature), message, fromHex(ownerKey))).toBe(true);
    const id = createHash('sha256').update(`trinity/object-id/v1\u0000${text}`).digest('hex');
    expect(id).toBe(vectors.objectId);
  });

  it('signs under its own domain: the same fields signed for another purpose do not verify', () => {
    const { signature: _, ...body } = signed;
    expect(signingBytes('trinity/descriptor/v1', body).subarray(0, 22)).toEqual(
      utf8ToBytes('trinity/descriptor/v1\0'),
    );
    expect(descriptorId(body)).toBe(descriptorId(signed));
  });

  it('round-trips through canonical bytes and refuses non-canonical or oversized bytes', () => {
    const bytes = encodeSignedDescriptor(signed);
    expect(decodeSignedDescriptor(bytes, descriptorId(signed)).descriptor).toEqual(signed);
    const spaced = utf8ToBytes(JSON.stringify(signed, null, 1));
    expect(() => decodeSignedDescriptor(spaced)).toThrow(SignedObjectInvalidError);
    expect(() => decodeSignedDescriptor(bytes, undefined, { maxBytes: 100 })).toThrow(/over the limit/);
    expect(() => decodeSignedDescriptor(bytes, '0'.repeat(64))).toThrow(SignedObjectInvalidError);
    expect(() => decodeSignedDescriptor(bytes, '../etc')).toThrow(SignedObjectInvalidError);
  });

  it('any change of any signed field breaks the signature and changes the id', () => {
    fc.assert(
      fc.property(mutationArb(signed), ({ path, salt }) => {
        const changed = mutateAt(signed, path, salt);
        const result = checkSignedDescriptor(changed);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(['malformed', 'bad-signature']).toContain(result.reason);
        if (!result.ok && result.reason === 'bad-signature') {
          expect(() => verifySignedDescriptor(changed)).toThrow(SignatureInvalidError);
          expect(descriptorId(changed)).not.toBe(descriptorId(signed));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('any flipped bit of the stored bytes is refused, never decoded as another valid descriptor', () => {
    const bytes = encodeSignedDescriptor(signed);
    const id = descriptorId(signed);
    expectEveryBitFlipRefused(bytes, id);
  });

  it('a re-signed descriptor by someone else is another object (the owner key is in the id)', () => {
    const forged = signDescriptor(descriptorInput, holderASecretKey);
    expect(checkSignedDescriptor(forged).ok).toBe(true);
    expect(descriptorId(forged)).not.toBe(descriptorId(signed));
    const swapped: SignedDescriptor = { ...signed, signature: forged.signature };
    expect(checkSignedDescriptor(swapped)).toMatchObject({ ok: false, reason: 'bad-signature' });
    const claimed: SignedDescriptor = { ...forged, owner: ownerKey };
    expect(checkSignedDescriptor(claimed)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('checks every bound and cross-field rule', () => {
    const bad: unknown[] = [
      { ...signed, size: 9001 },
      { ...signed, name: '' },
      { ...signed, name: 'x'.repeat(1025) },
      { ...signed, merkleLeafBytes: 3000 },
      { ...signed, encryption: { ...signed.encryption, wrappedKey: 'ab'.repeat(1025) } },
      { ...signed, encryption: { ...signed.encryption, algorithm: 'AES GCM' } },
      { ...signed, encryption: { ...signed.encryption, extra: 1 } },
      { ...signed, owner: 'zz'.repeat(32) },
      { ...signed, signature: 'ab' },
      { ...signed, stripes: [{ ...signed.stripes[0]!, shards: signed.stripes[0]!.shards.slice(0, 2) }] },
      { ...signed, format: 2 },
      { ...signed, extra: true },
      { ...signed, fingerprints: [] },
      { ...signed, fingerprints: ['AB'] },
      { ...signed, fingerprints: Array.from({ length: 65 }, () => 'ab') },
      { ...signed, fingerprints: ['ab'.repeat(4097)] },
      null,
      'descriptor',
    ];
    for (const value of bad) {
      expect(checkSignedDescriptor(value)).toMatchObject({ ok: false, reason: 'malformed' });
      expect(() => verifySignedDescriptor(value)).toThrow(SignedObjectInvalidError);
    }
    expect(() => signDescriptor({ ...descriptorInput, size: -1 }, ownerSecretKey)).toThrow(
      SignedObjectInvalidError,
    );
  });

  it('gives each shard commitment for proof-of-storage', () => {
    const commitment = shardCommitment(signed, 0, 2);
    expect(commitment).toEqual({
      shardHash: signed.stripes[0]!.shards[2]!.hash,
      merkleRoot: signed.stripes[0]!.shards[2]!.merkleRoot,
      sizeBytes: 5000,
      leafBytes: 4096,
    });
    expect(() => shardCommitment(signed, 0, 3)).toThrow(RangeError);
  });

  it('carries the owner-made fingerprints of a searchable encrypted object, signed with the rest', () => {
    const searchable = signDescriptor({ ...descriptorInput, fingerprints: ['0a0b', 'ff'] }, ownerSecretKey);
    expect(verifySignedDescriptor(searchable).descriptor.fingerprints).toEqual(['0a0b', 'ff']);
    expect(descriptorId(searchable)).not.toBe(descriptorId(signed));
    // A holder cannot add, drop or change them: they are under the owner's signature.
    for (const fingerprints of [['0a0c', 'ff'], ['0a0b']])
      expect(checkSignedDescriptor({ ...searchable, fingerprints }).ok).toBe(false);
    const { fingerprints: _, ...stripped } = searchable;
    expect(checkSignedDescriptor(stripped).ok).toBe(false);
  });

  it('public objects carry no encryption parameters', () => {
    const { encryption: _, ...plain } = descriptorInput;
    const signedPlain = signDescriptor(plain, ownerSecretKey);
    expect(signedPlain.encryption).toBeUndefined();
    expect(checkSignedDescriptor(signedPlain).ok).toBe(true);
    expect(descriptorId(signedPlain)).not.toBe(descriptorId(signed));
  });
});
