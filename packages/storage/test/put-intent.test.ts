import { readFileSync } from 'node:fs';
import { fromHex } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  authorizeStore,
  checkPutIntent,
  SignedObjectInvalidError,
  type SignedPutIntent,
  signDescriptor,
  signPutIntent,
} from '../src/index.js';
import {
  descriptorInput,
  holderAKey,
  holderASecretKey,
  holderBKey,
  ownerKey,
  ownerSecretKey,
} from './trust-fixtures.js';
import { mutateAt, mutationArb } from './trust-helpers.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/trust.json', import.meta.url), 'utf8'));
const descriptor = signDescriptor(descriptorInput, ownerSecretKey);
const hashes = descriptor.stripes[0]!.shards.map((s) => s.hash);
const createdAtMs = 1_700_000_000_000;
const expiresAtMs = createdAtMs + 10 * 60_000;

function intentFor(secretKey = ownerSecretKey): SignedPutIntent {
  return signPutIntent(
    {
      txId: '00112233445566778899aabbccddeeff',
      createdAtMs,
      expiresAtMs,
      shards: [
        { shardHash: hashes[0]!, holders: [holderAKey] },
        { shardHash: hashes[1]!, holders: [holderBKey, holderAKey] },
      ],
    },
    secretKey,
  );
}

describe('put intents', () => {
  const intent = intentFor();

  it('matches the known-answer vector', () => {
    expect(intent).toEqual(vectors.putIntent);
    expect(intent.owner).toBe(ownerKey);
  });

  it('authorizes exactly the named shards on the named holders, until expiry', () => {
    const now = createdAtMs + 1000;
    const ok = authorizeStore(intent, fromHex(hashes[1]!), fromHex(holderBKey), now);
    expect(ok).toMatchObject({ ok: true, value: { shard: { shardHash: hashes[1] } } });
    expect(authorizeStore(intent, hashes[0]!, holderAKey, now).ok).toBe(true);
    expect(authorizeStore(intent, hashes[0]!, holderBKey, now)).toMatchObject({
      reason: 'holder-not-intended',
    });
    expect(authorizeStore(intent, hashes[2]!, holderAKey, now)).toMatchObject({
      reason: 'shard-not-in-intent',
    });
    expect(authorizeStore(intent, hashes[0]!, holderAKey, expiresAtMs)).toMatchObject({ reason: 'expired' });
    expect(authorizeStore(intent, hashes[0]!, holderAKey, expiresAtMs - 1).ok).toBe(true);
    expect(authorizeStore(intent, hashes[0]!, holderAKey, createdAtMs - 10 * 60_000)).toMatchObject({
      reason: 'not-yet-valid',
    });
    expect(authorizeStore({ ...intent, owner: holderAKey }, hashes[0]!, holderAKey, now)).toMatchObject({
      reason: 'bad-signature',
    });
    expect(authorizeStore({ junk: true }, hashes[0]!, holderAKey, now)).toMatchObject({
      reason: 'malformed',
    });
  });

  it('any change of any signed field makes the intent fail', () => {
    fc.assert(
      fc.property(mutationArb(intent), ({ path, salt }) => {
        expect(checkPutIntent(mutateAt(intent, path, salt)).ok).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('bounds the lifetime, the shards and the holders', () => {
    const base = {
      txId: '00112233445566778899aabbccddeeff',
      createdAtMs,
      expiresAtMs,
      shards: [{ shardHash: hashes[0]!, holders: [holderAKey] }],
    };
    const bad = [
      { ...base, expiresAtMs: createdAtMs },
      { ...base, expiresAtMs: createdAtMs + 25 * 60 * 60_000 },
      { ...base, shards: [] },
      { ...base, shards: [{ shardHash: hashes[0]!, holders: [holderAKey, holderAKey] }] },
      {
        ...base,
        shards: [
          {
            shardHash: hashes[0]!,
            holders: Array.from({ length: 17 }, (_, i) => i.toString(16).padStart(64, '0')),
          },
        ],
      },
      { ...base, shards: [base.shards[0]!, base.shards[0]!] },
    ];
    for (const input of bad)
      expect(() => signPutIntent(input, holderASecretKey)).toThrow(SignedObjectInvalidError);
  });
});
