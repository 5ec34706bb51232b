import { checkReceipt, signedReceiptSchema } from '@trinity/storage';
import type { ReceiptCheck, TombstoneAcceptor } from '../../src/index.js';

/**
 * A node that checks everything of a receipt but its signature: a receipt whose fields name a
 * real shard of the object counts, whoever signed it (so anyone can claim that any node holds data).
 */
export const unsignedReceiptCheck: ReceiptCheck = (value, context) => {
  const result = checkReceipt(value, context);
  if (result.ok || result.reason !== 'bad-signature') return result;
  return { ok: true, value: signedReceiptSchema.parse(value) };
};

/**
 * A node that takes a tombstone's word for who the owner is: it checks the signature against the
 * key the tombstone names, not against the owner key of the object's descriptor.
 */
export const selfNamedOwnerTombstone: TombstoneAcceptor = (tombstones, tombstone, object, nowMs) => {
  const named = (tombstone as { owner?: unknown }).owner;
  tombstones.add(tombstone, { objectId: object.objectId, ownerKey: String(named) }, nowMs);
};
