import { sha256, toHex } from '@trinity/core';
import { z } from 'zod';
import {
  checkFields,
  hash32Hex,
  publicKeyHex,
  signatureHex,
  signatureVerifies,
  signingDomains,
  signObject,
} from './_signed.js';
import { type CanonicalValue, canonicalJson } from './canonical-json.js';
import { type SignedReceipt, signedReceiptSchema } from './receipt.js';

/**
 * A receipt seal: one holder's single signature over all the receipts it made for one object at
 * once (`receiptsHash`: see receiptsDigest), so a node that gets them all checks one signature, not
 * one per shard. The receipts stay as they are (each signed, each checked on its own by whoever gets
 * it without the seal); the seal travels beside them and only saves work.
 */
export const receiptSealSchema = z
  .object({
    objectId: hash32Hex,
    /** The holder's node key, the one every sealed receipt names. */
    holder: publicKeyHex,
    receiptsHash: hash32Hex,
  })
  .strict();

export const signedReceiptSealSchema = receiptSealSchema.extend({ signature: signatureHex }).strict();

export type ReceiptSeal = z.output<typeof receiptSealSchema>;
export type SignedReceiptSeal = z.output<typeof signedReceiptSealSchema>;

/** Seals looked at per call (a peer cannot make a node verify forever). */
export const receiptSealsCheckedMax = 256;

/**
 * SHA-256 (hex) of a set of receipts, whatever their order: of the canonical JSON of each (its
 * signature included), sorted, joined by newlines. Two lists digest alike only when they hold the same
 * receipts byte for byte, as many times each.
 */
export function receiptsDigest(receipts: readonly SignedReceipt[]): string {
  const texts = receipts.map((receipt) => canonicalJson(receipt as unknown as CanonicalValue)).sort();
  return toHex(sha256(new TextEncoder().encode(texts.join('\n'))));
}

/** Seals `receipts` (all the holder's own, all for `objectId`) with the holder's node secret key. */
export function signReceiptSeal(
  objectId: string,
  receipts: readonly SignedReceipt[],
  holderSecretKey: Uint8Array,
): SignedReceiptSeal {
  return signObject(
    'receipt-seal',
    signingDomains.receiptSeal,
    receiptSealSchema,
    { objectId, receiptsHash: receiptsDigest(receipts) },
    holderSecretKey,
    (fields, holder) => ({ ...fields, holder }),
  );
}

/**
 * The holders (hex keys) whose receipts among `receipts` a seal vouches for, as a group: every
 * well-formed receipt of `objectId` in the list that names that holder, and no other, digests to a
 * seal's `receiptsHash`, and that seal's signature verifies under the holder's key. For those
 * receipts the seal's signature stands for their own: the holder signed exactly their bytes. A seal
 * whose hash matches no group costs no signature check; the first that verifies per holder ends
 * its search.
 */
export function sealedHolders(
  seals: readonly unknown[],
  receipts: readonly unknown[],
  objectId: string,
): Set<string> {
  const sealed = new Set<string>();
  if (seals.length === 0) return sealed;
  const groups = new Map<string, SignedReceipt[]>();
  for (const value of receipts) {
    const parsed = checkFields(signedReceiptSchema, value);
    if (!parsed.ok || parsed.value.objectId !== objectId) continue;
    const group = groups.get(parsed.value.holder) ?? [];
    group.push(parsed.value);
    groups.set(parsed.value.holder, group);
  }
  const digests = new Map<string, string>();
  for (const value of seals.slice(0, receiptSealsCheckedMax)) {
    const parsed = checkFields(signedReceiptSealSchema, value);
    if (!parsed.ok) continue;
    const seal = parsed.value;
    const group = groups.get(seal.holder);
    if (seal.objectId !== objectId || group === undefined || sealed.has(seal.holder)) continue;
    const digest = digests.get(seal.holder) ?? receiptsDigest(group);
    digests.set(seal.holder, digest);
    if (digest !== seal.receiptsHash) continue;
    if (signatureVerifies(signingDomains.receiptSeal, seal, seal.holder)) sealed.add(seal.holder);
  }
  return sealed;
}
