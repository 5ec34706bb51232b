import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CapacityExceededError,
  checkTombstone,
  decodeSignedTombstone,
  descriptorId,
  encodeSignedTombstone,
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

describe('TombstoneSet against a model', () => {
  // A few objects with tombstones of several retentions, and a model: per object the latest expiry.
  const objects = [0, 1, 2].map((n) => {
    const d = signDescriptor({ ...descriptorInput, name: `model-${n}` }, ownerSecretKey);
    return { objectId: descriptorId(d), ownerKey };
  });
  const tombstones = objects.flatMap((o) =>
    [1, 2, 5].map((hours) =>
      signTombstone({ objectId: o.objectId, deletedAtMs, retentionMs: hours * hourMs }, ownerSecretKey),
    ),
  );
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), which: fc.nat(tombstones.length - 1) }),
    fc.record({ kind: fc.constant('prune' as const) }),
    fc.record({ kind: fc.constant('check' as const), which: fc.nat(objects.length - 1) }),
  );

  it('remembers each object until the latest expiry it was given, and prune reports each expiry once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(op, fc.integer({ min: 0, max: 2 * hourMs })), { maxLength: 40 }),
        (steps) => {
          const set = new TombstoneSet({ maxEntries: 3 });
          const model = new Map<string, number>();
          let nowMs = deletedAtMs;
          for (const [step, advanceMs] of steps) {
            nowMs += advanceMs;
            if (step.kind === 'add') {
              const t = tombstones[step.which]!;
              set.add(t, { objectId: t.objectId, ownerKey }, nowMs);
              const expires = tombstoneExpiresAtMs(t);
              if (expires > nowMs) model.set(t.objectId, Math.max(model.get(t.objectId) ?? 0, expires));
            } else if (step.kind === 'prune') {
              const expected = [...model].filter(([, e]) => e <= nowMs).map(([id]) => id);
              for (const id of expected) model.delete(id);
              expect(set.prune(nowMs).sort()).toEqual(expected.sort());
            } else {
              const id = objects[step.which]!.objectId;
              const expires = model.get(id);
              const live = expires !== undefined && expires > nowMs;
              expect(set.get(id, nowMs) === undefined).toBe(!live);
              if (live) expect(tombstoneExpiresAtMs(set.get(id, nowMs)!)).toBe(expires);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stored bytes round-trip, and a tampered file does not decode', () => {
    const bytes = encodeSignedTombstone(tombstone);
    expect(decodeSignedTombstone(bytes)).toEqual(tombstone);
    const tampered = encodeSignedTombstone({ ...tombstone, retentionMs: tombstone.retentionMs + 1 });
    expect(() => decodeSignedTombstone(tampered)).toThrow(SignatureInvalidError);
    expect(() => decodeSignedTombstone(new Uint8Array(5000))).toThrow(SignedObjectInvalidError);
  });
});
