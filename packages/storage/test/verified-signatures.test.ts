import { ed25519 } from '@trinity/core';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  checkReceipt,
  clearVerifiedSignatures,
  descriptorId,
  type SignedReceipt,
  signDescriptor,
  signReceipt,
} from '../src/index.js';
import { descriptorInput, holderASecretKey, holderBKey, ownerSecretKey } from './trust-fixtures.js';
import { mutateAt, mutationArb } from './trust-helpers.js';

const descriptor = signDescriptor(descriptorInput, ownerSecretKey);
const objectId = descriptorId(descriptor);
const nowMs = 1_700_000_100_000;
const context = { objectId, descriptor, nowMs };
const receipt: SignedReceipt = signReceipt(
  { objectId, stripe: 0, shard: 1, shardHash: descriptor.stripes[0]!.shards[1]!.hash, storedAtMs: nowMs },
  holderASecretKey,
);

describe('verified signatures (each verified once per process)', () => {
  beforeEach(() => clearVerifiedSignatures());
  afterEach(() => vi.restoreAllMocks());

  it('verifies the same signature, key and message once; a copy of the object hits', () => {
    const verify = vi.spyOn(ed25519, 'verify');
    expect(checkReceipt(receipt, context).ok).toBe(true);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(checkReceipt(structuredClone(receipt), context).ok).toBe(true);
    expect(checkReceipt(JSON.parse(JSON.stringify(receipt)), context).ok).toBe(true);
    expect(verify).toHaveBeenCalledTimes(1);
    clearVerifiedSignatures();
    expect(checkReceipt(receipt, context).ok).toBe(true);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('with the signature known, any changed field or another key is verified in full and refused', () => {
    expect(checkReceipt(receipt, context).ok).toBe(true);
    const verify = vi.spyOn(ed25519, 'verify');
    fc.assert(
      fc.property(mutationArb(receipt), ({ path, salt }) => {
        const changed = mutateAt(receipt, path, salt);
        expect(checkReceipt(changed, { ...context, nowMs: nowMs + 1000 }).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
    // The same signature claimed for another holder's key: checked, refused.
    expect(checkReceipt({ ...receipt, holder: holderBKey }, context).ok).toBe(false);
    expect(verify).toHaveBeenCalled();
    // A failure is not remembered as a success.
    const calls = verify.mock.calls.length;
    expect(checkReceipt({ ...receipt, holder: holderBKey }, context).ok).toBe(false);
    expect(verify.mock.calls.length).toBe(calls + 1);
    expect(checkReceipt(receipt, context).ok).toBe(true);
  });

  it('a signature this process made checks without verifying; a changed copy is verified and refused', () => {
    const verify = vi.spyOn(ed25519, 'verify');
    const own = signReceipt(
      { objectId, stripe: 0, shard: 1, shardHash: descriptor.stripes[0]!.shards[1]!.hash, storedAtMs: nowMs },
      holderASecretKey,
    );
    expect(checkReceipt(JSON.parse(JSON.stringify(own)), context).ok).toBe(true);
    expect(verify).not.toHaveBeenCalled();
    expect(checkReceipt({ ...own, storedAtMs: nowMs - 1 }, context).ok).toBe(false);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('keeps at most 4,096 signatures', () => {
    const verify = vi.spyOn(ed25519, 'verify');
    const receipts = Array.from({ length: 4097 }, (_, i) =>
      signReceipt(
        {
          objectId,
          stripe: 0,
          shard: 1,
          shardHash: descriptor.stripes[0]!.shards[1]!.hash,
          storedAtMs: nowMs - i,
        },
        holderASecretKey,
      ),
    );
    for (const r of receipts) expect(checkReceipt(r, context).ok).toBe(true);
    expect(verify).toHaveBeenCalledTimes(4097);
    // The newest is still known; the oldest was dropped and is verified again.
    expect(checkReceipt(receipts[4096]!, context).ok).toBe(true);
    expect(verify).toHaveBeenCalledTimes(4097);
    expect(checkReceipt(receipts[0]!, context).ok).toBe(true);
    expect(verify).toHaveBeenCalledTimes(4098);
  });
});
