import { readFileSync } from 'node:fs';
import { ed25519, fromHex } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkReceipt,
  countedHolders,
  descriptorId,
  type SignedReceipt,
  signDescriptor,
  signReceipt,
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

const vectors = JSON.parse(readFileSync(new URL('./vectors/trust.json', import.meta.url), 'utf8'));
const descriptor = signDescriptor(descriptorInput, ownerSecretKey);
const objectId = descriptorId(descriptor);
const nowMs = 1_700_000_100_000;
const context = { objectId, descriptor, nowMs };

function receiptFor(shard: number, secretKey = holderASecretKey, storedAtMs = nowMs): SignedReceipt {
  return signReceipt(
    { objectId, stripe: 0, shard, shardHash: descriptor.stripes[0]!.shards[shard]!.hash, storedAtMs },
    secretKey,
  );
}

describe('storage receipts', () => {
  it('matches the known-answer vector', () => {
    expect(receiptFor(1)).toEqual(vectors.receipt);
    expect(checkReceipt(vectors.receipt, { ...context, holder: holderAKey })).toMatchObject({ ok: true });
  });

  it('a node cannot claim that another holds data: a receipt must be signed by the holder it names', () => {
    // Node A signs a receipt naming B as the holder.
    const { signature: _, ...body } = receiptFor(1, holderASecretKey);
    const forgedForB = {
      ...body,
      holder: holderBKey,
      signature: receiptFor(1, holderASecretKey).signature,
    };
    expect(checkReceipt(forgedForB, { ...context, holder: holderBKey })).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    // Node A's own honest receipt does not vouch for B.
    expect(checkReceipt(receiptFor(1, holderASecretKey), { ...context, holder: holderBKey })).toMatchObject({
      ok: false,
      reason: 'wrong-holder',
    });
    // Holder keys given as bytes work the same.
    expect(
      checkReceipt(receiptFor(1, holderBSecretKey), { ...context, holder: fromHex(holderBKey) }).ok,
    ).toBe(true);
  });

  it('checks the object, the shard position, the owner-signed shard hash and the time', () => {
    const good = receiptFor(2);
    expect(checkReceipt(good, { ...context, objectId: 'ab'.repeat(32) })).toMatchObject({
      reason: 'wrong-object',
    });
    expect(checkReceipt(good, { ...context, shard: 1 })).toMatchObject({ reason: 'no-such-shard' });
    const elsewhere = signReceipt(
      { objectId, stripe: 3, shard: 0, shardHash: good.shardHash, storedAtMs: nowMs },
      holderASecretKey,
    );
    expect(checkReceipt(elsewhere, context)).toMatchObject({ reason: 'no-such-shard' });
    const wrongHash = signReceipt(
      { objectId, stripe: 0, shard: 0, shardHash: good.shardHash, storedAtMs: nowMs },
      holderASecretKey,
    );
    expect(checkReceipt(wrongHash, context)).toMatchObject({ reason: 'wrong-shard-hash' });
    const future = receiptFor(2, holderASecretKey, nowMs + 10 * 60_000);
    expect(checkReceipt(future, context)).toMatchObject({ reason: 'from-the-future' });
    expect(checkReceipt({ ...good, stripe: -1 }, context)).toMatchObject({ reason: 'malformed' });
    expect(checkReceipt({ ...good, holder: ed25519.publicKey(holderASecretKey) }, context)).toMatchObject({
      reason: 'malformed',
    });
  });

  it('any change of any signed field makes the receipt fail', () => {
    const good = receiptFor(0);
    fc.assert(
      fc.property(mutationArb(good), ({ path, salt }) => {
        expect(checkReceipt(mutateAt(good, path, salt), context).ok).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('countedHolders keeps only holders with a valid receipt for that shard', () => {
    const receipts: unknown[] = [
      receiptFor(1, holderASecretKey),
      receiptFor(1, holderASecretKey), // duplicate
      receiptFor(1, holderBSecretKey),
      receiptFor(2, holderBSecretKey), // another shard
      { ...receiptFor(1, holderASecretKey), holder: holderBKey }, // claim for B
      'junk',
    ];
    expect(countedHolders(receipts, { ...context, stripe: 0, shard: 1 })).toEqual(
      [holderAKey, holderBKey].sort(),
    );
    expect(countedHolders(receipts.slice(4), { ...context, stripe: 0, shard: 1 })).toEqual([]);
  });
});
