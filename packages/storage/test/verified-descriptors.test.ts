import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { sameJson, VerifiedDescriptors } from '../src/_verified-descriptors.js';
import {
  checkSignedDescriptor,
  clearVerifiedDescriptors,
  decodeSignedDescriptor,
  descriptorId,
  encodeSignedDescriptor,
  type SignedDescriptor,
  signDescriptor,
  verifySignedDescriptor,
} from '../src/index.js';
import { descriptorInput, holderASecretKey, ownerSecretKey } from './trust-fixtures.js';
import { expectEveryBitFlipRefused, mutateAt, mutationArb } from './trust-helpers.js';

const signed = signDescriptor(descriptorInput, ownerSecretKey);
const id = descriptorId(signed);
/** What a peer's record carries: the descriptor as JSON.parse makes it. */
const fromWire = (): unknown => JSON.parse(JSON.stringify(signed));

describe('verified descriptors (checked once per process)', () => {
  beforeEach(() => clearVerifiedDescriptors());

  it('a value identical to a checked one gets the checked result, frozen and shared', () => {
    const first = checkSignedDescriptor(fromWire(), id);
    expect(first.ok).toBe(true);
    const again = checkSignedDescriptor(fromWire(), id);
    expect(again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.value.descriptor).toBe(first.value.descriptor);
    expect(again.value.id).toBe(id);
    expect(Object.isFrozen(again.value.descriptor.stripes[0]!.shards[0])).toBe(true);
    // A caller cannot change what the next caller gets.
    expect(() => {
      (again.value.descriptor as { size: number }).size = 1;
    }).toThrow(TypeError);
    expect(checkSignedDescriptor(fromWire()).ok).toBe(true);
  });

  it('with a warm cache, any changed leaf is still checked in full and refused', () => {
    expect(checkSignedDescriptor(fromWire()).ok).toBe(true);
    fc.assert(
      fc.property(mutationArb(signed), ({ path, salt }) => {
        const changed = mutateAt(signed, path, salt);
        const result = checkSignedDescriptor(changed);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
    const sig = signed.signature;
    const otherSignature = `${sig[0] === 'a' ? 'b' : 'a'}${sig.slice(1)}`;
    expect(checkSignedDescriptor({ ...signed, signature: otherSignature }).ok).toBe(false);
    // Changes JSON.stringify would hide or that a lax comparison would let through.
    expect(checkSignedDescriptor({ ...signed, extra: undefined }).ok).toBe(false);
    expect(checkSignedDescriptor({ ...signed, size: `${signed.size}` }).ok).toBe(false);
    expect(checkSignedDescriptor({ ...signed, size: Number.POSITIVE_INFINITY }).ok).toBe(false);
    expect(checkSignedDescriptor({ ...signed, stripes: [...signed.stripes, signed.stripes[0]] }).ok).toBe(
      false,
    );
    const holed = structuredClone(signed) as { stripes: unknown[] };
    holed.stripes.length += 1;
    expect(checkSignedDescriptor(holed).ok).toBe(false);
    // The cache still answers for the genuine one.
    expect(checkSignedDescriptor(fromWire(), id).ok).toBe(true);
  });

  it('keeps the id check: a cached descriptor under another expected id fails as before', () => {
    expect(checkSignedDescriptor(fromWire(), id).ok).toBe(true);
    const wrong = '0'.repeat(64);
    expect(checkSignedDescriptor(fromWire(), wrong)).toMatchObject({ ok: false, reason: 'id-mismatch' });
    expect(() => verifySignedDescriptor(fromWire(), wrong)).toThrow(/expected object/);
    expect(() => decodeSignedDescriptor(encodeSignedDescriptor(signed), wrong)).toThrow(/expected object/);
  });

  it('a signature taken from a cached descriptor onto other content is refused', () => {
    expect(checkSignedDescriptor(fromWire()).ok).toBe(true);
    const other = signDescriptor({ ...descriptorInput, name: 'other.bin' }, ownerSecretKey);
    expect(checkSignedDescriptor({ ...other, signature: signed.signature })).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    const forged = signDescriptor(descriptorInput, holderASecretKey);
    expect(checkSignedDescriptor({ ...signed, owner: forged.owner })).toMatchObject({ ok: false });
  });

  it('bytes: identical bytes decode from the cache; any flipped bit is decoded in full and refused', () => {
    const bytes = encodeSignedDescriptor(signed);
    const first = decodeSignedDescriptor(bytes, id);
    const again = decodeSignedDescriptor(bytes.slice(), id);
    expect(again.descriptor).toBe(first.descriptor);
    expect(encodeSignedDescriptor(again.descriptor)).toEqual(bytes);
    expectEveryBitFlipRefused(bytes, id);
    // The size bound applies to a cached one too.
    expect(() => decodeSignedDescriptor(bytes, id, { maxBytes: bytes.length - 1 })).toThrow(/over the limit/);
    // Bytes the decoder handed out cannot change the cached copy.
    const out = encodeSignedDescriptor(again.descriptor);
    out[10] = 0;
    expect(decodeSignedDescriptor(bytes, id).id).toBe(id);
    expect(encodeSignedDescriptor(again.descriptor)).toEqual(bytes);
  });

  it('is bounded in descriptors and stripes, least recently used out first', () => {
    type Fake = { signature: string; stripes: unknown[] };
    const fake = (signature: string, stripes: number): Fake => ({
      signature,
      stripes: Array.from({ length: stripes }, (_, i) => i),
    });
    const cache = new VerifiedDescriptors<Fake>(3, 10);
    for (const name of ['a', 'b', 'c']) {
      const value = fake(name, 2);
      expect(cache.remember(structuredClone(value), value, name)).toBeDefined();
    }
    expect(cache.lookup(fake('a', 2))).toBeDefined(); // a is now the most recent
    cache.remember(fake('d', 2), fake('d', 2), 'd');
    expect(cache.size).toBe(3);
    expect(cache.lookup(fake('b', 2))).toBeUndefined();
    expect(cache.lookup(fake('a', 2))).toBeDefined();
    // Too many stripes for the bound: never kept.
    expect(cache.remember(fake('e', 11), fake('e', 11), 'e')).toBeUndefined();
    // Stripes evict too: c, d and a (in that order of use) hold 6; with f's 8 the least recently
    // used go until 10 or fewer are left.
    cache.remember(fake('f', 8), fake('f', 8), 'f');
    expect(cache.size).toBe(2);
    expect(cache.lookup(fake('c', 2))).toBeUndefined();
    expect(cache.lookup(fake('d', 2))).toBeUndefined();
    expect(cache.lookup(fake('a', 2))).toBeDefined();
    expect(cache.lookup(fake('f', 8))).toBeDefined();
    // What the check returned differs from its input: not kept.
    expect(cache.remember(fake('g', 1), fake('g', 2), 'g')).toBeUndefined();
    expect(cache.lookup(fake('g', 2))).toBeUndefined();
  });

  it('compares values strictly as JSON', () => {
    expect(sameJson({ a: [1, 'x', null, true] }, { a: [1, 'x', null, true] })).toBe(true);
    expect(sameJson({ a: 0 }, { a: -0 })).toBe(false);
    expect(sameJson({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false);
    expect(sameJson({ a: '1' }, { a: 1 })).toBe(false);
    expect(sameJson({ a: undefined }, {})).toBe(false);
    const holey: unknown[] = [1];
    holey[2] = 3;
    expect(sameJson(holey, [1, undefined, 3])).toBe(false);
    expect(sameJson(new Date(0), new Date(0))).toBe(false);
    expect(sameJson(new Uint8Array(1), new Uint8Array(1))).toBe(false);
    expect(sameJson(Object.assign([1], { extra: 1 }), [1])).toBe(false);
    const d = structuredClone(signed) as SignedDescriptor;
    expect(sameJson(d, signed)).toBe(true);
  });
});
