import { sha256, toHex, utf8ToBytes } from '@trinity/core';
import type { TxEffect, TxMessage } from '../src/index.js';

/** A deterministic shard hash for tests. */
export const shardOf = (name: string) => toHex(sha256(utf8ToBytes(name)));

export function sends(effects: readonly TxEffect[]): { to: string; message: TxMessage }[] {
  return effects.flatMap((e) => (e.kind === 'send' ? [{ to: e.to, message: e.message }] : []));
}

export function ofKind<K extends TxEffect['kind']>(effects: readonly TxEffect[], kind: K) {
  return effects.filter((e): e is Extract<TxEffect, { kind: K }> => e.kind === kind);
}
