import { toHex } from '@trinity/core';
import { z } from 'zod';
import {
  type CheckResult,
  checkFields,
  fail,
  hash32Hex,
  publicKeyHex,
  signatureHex,
  signatureVerifies,
  signingDomains,
  signObject,
  timeMs,
} from './_signed.js';
import type { Descriptor } from './descriptor.js';
import { descriptorLimits } from './descriptor.js';

/**
 * A storage receipt: the holder's own signed statement that it stored shard (stripe, shard) of an
 * object, whose bytes hash to `shardHash`. Holder lists are not owner-signed (nodes repair without
 * the owner), so a holder entry counts only when a receipt signed by that holder's node key backs
 * it: no node can claim that another holds data. Repair and rebalancing produce new receipts.
 */
export const receiptSchema = z
  .object({
    objectId: hash32Hex,
    stripe: z
      .number()
      .int()
      .min(0)
      .max(descriptorLimits.maxStripes - 1),
    shard: z
      .number()
      .int()
      .min(0)
      .max(descriptorLimits.maxShardsPerStripe - 1),
    shardHash: hash32Hex,
    /** The holder's node key: a 32-byte ed25519 public key (the daemon maps it to its peer id). */
    holder: publicKeyHex,
    storedAtMs: timeMs,
  })
  .strict();

export const signedReceiptSchema = receiptSchema.extend({ signature: signatureHex }).strict();

export type Receipt = z.output<typeof receiptSchema>;
export type SignedReceipt = z.output<typeof signedReceiptSchema>;

/** How far in the future a receipt's storedAtMs may be (clock skew between nodes). */
export const receiptClockSkewMsMax = 5 * 60_000;

/** Signs a receipt with the holder's node secret key; `holder` is filled in from the key. */
export function signReceipt(input: Omit<Receipt, 'holder'>, holderSecretKey: Uint8Array): SignedReceipt {
  return signObject(
    'receipt',
    signingDomains.receipt,
    receiptSchema,
    input,
    holderSecretKey,
    (fields, holder) => ({
      ...fields,
      holder,
    }),
  );
}

export type ReceiptCheckFailure =
  | 'malformed'
  | 'bad-signature'
  | 'wrong-object'
  | 'no-such-shard'
  | 'wrong-shard-hash'
  | 'wrong-holder'
  | 'from-the-future';

/** What a receipt is checked against: the object (verified descriptor and its id) and, optionally, who should hold. */
export interface ReceiptContext {
  readonly objectId: string;
  readonly descriptor: Descriptor;
  /** The holder the caller's holder list names (hex or 32 bytes); the receipt must be that node's. */
  readonly holder?: string | Uint8Array | undefined;
  /** Only (stripe, shard) this receipt must be for, when the caller asks about one shard. */
  readonly stripe?: number | undefined;
  readonly shard?: number | undefined;
  readonly nowMs: number;
}

/**
 * Checks a receipt: its fields, the object and shard it names (the shard hash must be the one the
 * owner signed for that position), the holder (when given), its time, and last its signature under
 * the holder key it names. Only a receipt that passes makes a holder entry count.
 */
export function checkReceipt(
  value: unknown,
  context: ReceiptContext,
): CheckResult<SignedReceipt, ReceiptCheckFailure> {
  const parsed = checkFields(signedReceiptSchema, value);
  if (!parsed.ok) return parsed;
  const receipt = parsed.value;
  if (receipt.objectId !== context.objectId)
    return fail('wrong-object', `receipt is for object ${receipt.objectId}`);
  if (
    (context.stripe !== undefined && receipt.stripe !== context.stripe) ||
    (context.shard !== undefined && receipt.shard !== context.shard)
  ) {
    return fail('no-such-shard', `receipt is for stripe ${receipt.stripe} shard ${receipt.shard}`);
  }
  const committed = context.descriptor.stripes[receipt.stripe]?.shards[receipt.shard];
  if (committed === undefined)
    return fail('no-such-shard', `the object has no shard ${receipt.shard} in stripe ${receipt.stripe}`);
  if (committed.hash !== receipt.shardHash)
    return fail('wrong-shard-hash', 'receipt names a shard hash the owner did not sign');
  const expectedHolder =
    typeof context.holder === 'string' || context.holder === undefined
      ? context.holder
      : toHex(context.holder);
  if (expectedHolder !== undefined && receipt.holder !== expectedHolder) {
    return fail('wrong-holder', `receipt is signed for holder ${receipt.holder}, not ${expectedHolder}`);
  }
  if (receipt.storedAtMs > context.nowMs + receiptClockSkewMsMax) {
    return fail('from-the-future', `storedAtMs ${receipt.storedAtMs} is ahead of now ${context.nowMs}`);
  }
  if (!signatureVerifies(signingDomains.receipt, receipt, receipt.holder)) {
    return fail('bad-signature', 'the signature does not verify under the holder key');
  }
  return { ok: true, value: receipt };
}

/**
 * The holders of shard (stripe, shard) that count: the distinct holder keys (hex, sorted) of the
 * receipts that pass checkReceipt for that shard. Everything else, a holder list included, is a hint.
 */
export function countedHolders(
  receipts: readonly unknown[],
  context: Omit<ReceiptContext, 'holder'> & { stripe: number; shard: number },
): string[] {
  const holders = new Set<string>();
  for (const receipt of receipts.slice(0, maxReceiptsChecked)) {
    const result = checkReceipt(receipt, context);
    if (result.ok) holders.add(result.value.holder);
  }
  return [...holders].sort();
}

/** countedHolders looks at no more receipts than this per shard (a peer cannot make it verify forever). */
export const maxReceiptsChecked = 64;

/**
 * The receipts that say who holds each (stripe, shard) position now: per position, those of the
 * newest `storedAtMs` (the holder's own signed time). An older receipt of the position was
 * superseded by a repair or a move, whose old holder released the copy: a proof-of-storage
 * challenger asks only these. Receipts of a move within the nodes' clock skew of the previous store
 * may be ordered wrongly, which only skips a challenge.
 */
export function currentReceipts<R extends Pick<Receipt, 'stripe' | 'shard' | 'storedAtMs'>>(
  receipts: readonly R[],
): R[] {
  const newest = new Map<string, number>();
  for (const { stripe, shard, storedAtMs } of receipts) {
    const key = `${stripe}/${shard}`;
    if (storedAtMs > (newest.get(key) ?? Number.NEGATIVE_INFINITY)) newest.set(key, storedAtMs);
  }
  return receipts.filter((r) => r.storedAtMs === newest.get(`${r.stripe}/${r.shard}`));
}
