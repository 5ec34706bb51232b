import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@trinity/core';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  checkReceipt,
  clearVerifiedSignatures,
  descriptorId,
  ManifestStore,
  receiptsDigest,
  type SignedReceipt,
  sealedHolders,
  signDescriptor,
  signReceipt,
  signReceiptSeal,
} from '../src/index.js';
import {
  descriptorInput,
  holderAKey,
  holderASecretKey,
  holderBKey,
  holderBSecretKey,
  ownerSecretKey,
} from './trust-fixtures.js';
import { mutateAt, mutationArb } from './trust-helpers.js';

const descriptor = signDescriptor(descriptorInput, ownerSecretKey);
const objectId = descriptorId(descriptor);
const nowMs = 1_700_000_100_000;
const context = { objectId, descriptor, nowMs };

function receiptFor(shard: number, secretKey: Uint8Array): SignedReceipt {
  return signReceipt(
    { objectId, stripe: 0, shard, shardHash: descriptor.stripes[0]!.shards[shard]!.hash, storedAtMs: nowMs },
    secretKey,
  );
}

const shardsOfA = [0, 1, 2].map((shard) => receiptFor(shard, holderASecretKey));
const shardsOfB = [0, 2].map((shard) => receiptFor(shard, holderBSecretKey));
const sealOfA = signReceiptSeal(objectId, shardsOfA, holderASecretKey);
const sealOfB = signReceiptSeal(objectId, shardsOfB, holderBSecretKey);

describe('receipt seals', () => {
  beforeEach(() => clearVerifiedSignatures());
  afterEach(() => vi.restoreAllMocks());

  it('vouch for exactly the group they sealed, in any order, with one signature check per holder', () => {
    const verify = vi.spyOn(ed25519, 'verify');
    const receipts = [...shardsOfB, ...shardsOfA].reverse();
    const sealed = sealedHolders([sealOfB, sealOfA], receipts, objectId);
    expect([...sealed].sort()).toEqual([holderAKey, holderBKey].sort());
    expect(verify).toHaveBeenCalledTimes(2);
    for (const receipt of receipts) expect(checkReceipt(receipt, { ...context, sealed }).ok).toBe(true);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('vouch for nothing when the group differs: a receipt more, less, twice or changed', () => {
    const extra = receiptFor(1, holderBSecretKey);
    expect(sealedHolders([sealOfB], [...shardsOfB, extra], objectId).size).toBe(0);
    expect(sealedHolders([sealOfA], shardsOfA.slice(1), objectId).size).toBe(0);
    expect(sealedHolders([sealOfA], [...shardsOfA, shardsOfA[0]], objectId).size).toBe(0);
    fc.assert(
      fc.property(mutationArb(shardsOfA[1]!), ({ path, salt }) => {
        const changed = mutateAt(shardsOfA[1]!, path, salt);
        const receipts = [shardsOfA[0], changed, shardsOfA[2]];
        const sealed = sealedHolders([sealOfA], receipts, objectId);
        // The group no longer digests to the seal, or the change moved the receipt out of A's group.
        expect(checkReceipt(changed, { ...context, sealed }).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('vouch for nothing when the seal is changed, another holder signed it, or it is for another object', () => {
    fc.assert(
      fc.property(mutationArb(sealOfA), ({ path, salt }) => {
        expect(sealedHolders([mutateAt(sealOfA, path, salt)], shardsOfA, objectId).size).toBe(0);
      }),
      { numRuns: 200 },
    );
    // B seals A's receipts: the seal names B, whose group (none here) is what it must match.
    const byB = signReceiptSeal(objectId, shardsOfA, holderBSecretKey);
    expect(sealedHolders([byB], shardsOfA, objectId).size).toBe(0);
    // B's seal relabelled as A's: the signature does not verify under A's key.
    expect(sealedHolders([{ ...byB, holder: holderAKey }], shardsOfA, objectId).size).toBe(0);
    expect(sealedHolders([{ ...sealOfA, objectId: 'ab'.repeat(32) }], shardsOfA, objectId).size).toBe(0);
    expect(sealedHolders(['junk', null, {}], shardsOfA, objectId).size).toBe(0);
  });

  it('a sealed receipt still passes every other check', () => {
    const wrongHash = signReceipt(
      { objectId, stripe: 0, shard: 0, shardHash: descriptor.stripes[0]!.shards[1]!.hash, storedAtMs: nowMs },
      holderASecretKey,
    );
    const future = signReceipt(
      {
        objectId,
        stripe: 0,
        shard: 1,
        shardHash: descriptor.stripes[0]!.shards[1]!.hash,
        storedAtMs: nowMs + 3_600_000,
      },
      holderASecretKey,
    );
    const group = [wrongHash, future];
    const sealed = sealedHolders([signReceiptSeal(objectId, group, holderASecretKey)], group, objectId);
    expect(sealed.has(holderAKey)).toBe(true);
    expect(checkReceipt(wrongHash, { ...context, sealed })).toMatchObject({ reason: 'wrong-shard-hash' });
    expect(checkReceipt(future, { ...context, sealed })).toMatchObject({ reason: 'from-the-future' });
  });

  it('digest the same set alike whatever its order', () => {
    expect(receiptsDigest([...shardsOfA].reverse())).toBe(receiptsDigest(shardsOfA));
    expect(receiptsDigest(shardsOfA.slice(1))).not.toBe(receiptsDigest(shardsOfA));
  });

  it('let ManifestStore.addReceipts skip the sealed signatures and check the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'receipt-seal-'));
    try {
      const store = await ManifestStore.open(dir, { fsync: false });
      await store.putDescriptor(descriptor, nowMs);
      clearVerifiedSignatures();
      const verify = vi.spyOn(ed25519, 'verify');
      const forged = { ...receiptFor(1, holderBSecretKey), signature: shardsOfB[0]!.signature };
      // A's group is sealed; B's is not (its seal covers two receipts, the list holds three).
      const added = await store.addReceipts(objectId, [...shardsOfA, ...shardsOfB, forged], nowMs, [
        sealOfA,
        sealOfB,
      ]);
      expect(added.map((r) => `${r.holder === holderAKey ? 'A' : 'B'}${r.shard}`).sort()).toEqual([
        'A0',
        'A1',
        'A2',
        'B0',
        'B2',
      ]);
      // A's seal, then B's two receipts and the forged one each on their own.
      expect(verify).toHaveBeenCalledTimes(4);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
