import { checkReceipt, signedReceiptSchema } from '@trinity/storage';
import type { ReceiptCheck } from '../../src/index.js';

/**
 * A node that checks everything of a receipt but its signature: a receipt whose fields name a
 * real shard of the object counts, whoever signed it (so anyone can claim that any node holds data).
 */
export const unsignedReceiptCheck: ReceiptCheck = (value, context) => {
  const result = checkReceipt(value, context);
  if (result.ok || result.reason !== 'bad-signature') return result;
  return { ok: true, value: signedReceiptSchema.parse(value) };
};
