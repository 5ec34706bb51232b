import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CapacityExceededError,
  checkTombstone,
  descriptorId,
  ObjectDeletedError,
  SignatureInvalidError,
  SignedObjectInvalidError,
  signDescriptor,
  signTombstone,
  TombstoneSet,
  tombstoneExpiresAtMs,
} from '../src/index.js';
import { descriptorInput, holderASecretKey, ownerKey, ownerSecretKey } from './trust-fixtures.js';
import { mutateAt, mutationArb } from './trust-helpers.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/trust.json', import.meta.url), 'utf8'));
const descriptor = signDescriptor(descriptorInput, ownerSecretKey);
const objectId = descriptorId(descriptor);
const object = { objectId, ownerKey };
const hourMs = 60 * 60_000;
const deletedAtMs = 1_700_000_500_000;

const tombstone = signTombstone({ objectId, deletedAtMs, retentionMs: 24 * hourMs }, ownerSecretKey);

describe('tombstones', () => {
  it('matches the known-answer vector', () => {
    expect(tombstone).toEqual(vectors.tombstone);
    expect(checkTombstone(vectors.tombstone, object, deletedAtMs)).toMatchObject({ ok: true });
  });

  it('only the owner deletes: a tombstone by another key is refused', () => {
    const byOther = signTombstone({ objectId, deletedAtMs, retentionMs: hourMs }, holderASecretKey);
    expect(checkTombstone(byOther, object, deletedAtMs)).toMatchObject({ ok: false, reason: 'not-owner' });
    expect(checkTombstone({ ...byOther, owner: ownerKey }, object, deletedAtMs)).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    expect(checkTombstone(tombstone, { objectId: 'cd'.repeat(32), ownerKey }, deletedAtMs)).toMatchObject({
      reason: 'wrong-object',
    });
    expect(checkTombstone(tombstone, object, deletedAtMs - 60 * 60_000)).toMatchObject({
      reason: 'from-the-future',
    });
  });

  it('bounds the retention', () => {
    expect(() => signTombstone({ objectId, deletedAtMs, retentionMs: 1000 }, ownerSecretKey)).toThrow(
      SignedObjectInvalidError,
    );
    expect(() =>
      signTombstone({ objectId, deletedAtMs, retentionMs: 400 * 24 * hourMs }, ownerSecretKey),
    ).toThrow(SignedObjectInvalidError);
  });

  it('any change of any signed field makes the tombstone fail', () => {
    fc.assert(
      fc.property(mutationArb(tombstone), ({ path, salt }) => {
        expect(checkTombstone(mutateAt(tombstone, path, salt), object, deletedAtMs).ok).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});

describe('TombstoneSet', () => {
  it('refuses the object while the tombstone is kept, forgets it after its retention', () => {
    const set = new TombstoneSet();
    expect(() => set.add(tombstone, object, deletedAtMs)).not.toThrow();
    expect(() => set.assertNotDeleted(objectId, deletedAtMs + hourMs)).toThrow(ObjectDeletedError);
    const expiresAtMs = tombstoneExpiresAtMs(tombstone);
    expect(() => set.assertNotDeleted(objectId, expiresAtMs - 1)).toThrow(ObjectDeletedError);
    expect(set.prune(expiresAtMs - 1)).toEqual([]);
    // Expired but not yet pruned: not deleted any more, still reported by prune (a store deletes its file then).
    expect(set.get(objectId, expiresAtMs)).toBeUndefined();
    expect(set.prune(expiresAtMs)).toEqual([objectId]);
    expect(() => set.assertNotDeleted(objectId, expiresAtMs)).not.toThrow();
  });

  it('throws typed errors for bad tombstones, keeps the longer retention, and is bounded', () => {
    const set = new TombstoneSet({ maxEntries: 1 });
    expect(() =>
      set.add({ ...tombstone, retentionMs: tombstone.retentionMs + 1 }, object, deletedAtMs),
    ).toThrow(SignatureInvalidError);
    expect(() => set.add(tombstone, { objectId, ownerKey: 'ab'.repeat(32) }, deletedAtMs)).toThrow(
      SignedObjectInvalidError,
    );
    const short = signTombstone({ objectId, deletedAtMs, retentionMs: hourMs }, ownerSecretKey);
    set.add(tombstone, object, deletedAtMs);
    set.add(short, object, deletedAtMs);
    expect(set.get(objectId, deletedAtMs)).toEqual(tombstone);
    const other = signDescriptor({ ...descriptorInput, name: 'other' }, ownerSecretKey);
    const otherId = descriptorId(other);
    const otherTombstone = signTombstone(
      { objectId: otherId, deletedAtMs, retentionMs: hourMs },
      ownerSecretKey,
    );
    expect(() => set.add(otherTombstone, { objectId: otherId, ownerKey }, deletedAtMs)).toThrow(
      CapacityExceededError,
    );
    // Once the first has expired, there is room again.
    set.add(otherTombstone, { objectId: otherId, ownerKey }, tombstoneExpiresAtMs(tombstone));
    expect(set.size).toBe(1);
  });

  it('restores what it handed out, skipping expired tombstones', () => {
    const set = new TombstoneSet();
    set.add(tombstone, object, deletedAtMs);
    const again = new TombstoneSet();
    for (const entry of set.entries()) again.restore(entry, deletedAtMs + 1);
    expect(again.get(objectId, deletedAtMs + 1)).toEqual(tombstone);
    const late = new TombstoneSet();
    late.restore(tombstone, tombstoneExpiresAtMs(tombstone));
    expect(late.size).toBe(0);
    expect(() => late.restore({ ...tombstone, retentionMs: 1 }, deletedAtMs)).toThrow(
      SignedObjectInvalidError,
    );
  });
});
