import { bytesToUtf8, utf8ToBytes } from '@trinity/core';
import {
  checkReceipt,
  checkSignedDescriptor,
  checkTombstone,
  type Manifest,
  manifestLimits,
  type SignedDescriptor,
  type SignedReceipt,
  type SignedTombstone,
} from '@trinity/storage';
import { ProtocolError } from '../../errors.js';
import { peerIdOfNodeKey } from '../../p2p/node-keys.js';

/**
 * What the network knows of an object: its owner-signed descriptor (name, size, erasure, every
 * shard's hash and Merkle root, encryption, owner key; its hash is the object id) and the holder
 * receipts, each signed by the node that stored that shard. Only a receipt that checks makes a
 * holder count; anything unsigned is at most a hint.
 */
export interface ObjectRecord {
  readonly descriptor: SignedDescriptor;
  readonly receipts: readonly SignedReceipt[];
}

/** An owner's delete as it travels: the tombstone and the descriptor that proves who the owner is. */
export interface DeleteRecord {
  readonly tombstone: SignedTombstone;
  readonly descriptor: SignedDescriptor;
}

/** Most receipts a record may carry: 16 holders for each shard of a large object is plenty. */
export const recordReceiptsMax = 65_536;
/** Encoded record bytes accepted from anywhere. */
export const recordBytesMax = 64 * 1024 * 1024;

export function encodeRecord(record: ObjectRecord): Uint8Array {
  return utf8ToBytes(JSON.stringify({ descriptor: record.descriptor, receipts: record.receipts }));
}

export function encodeDeleteRecord(record: DeleteRecord): Uint8Array {
  return utf8ToBytes(JSON.stringify({ tombstone: record.tombstone, descriptor: record.descriptor }));
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  if (bytes.length > recordBytesMax)
    throw new ProtocolError(`${what} is ${bytes.length} bytes, over the limit`);
  let value: unknown;
  try {
    value = JSON.parse(bytesToUtf8(bytes));
  } catch {
    throw new ProtocolError(`${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ProtocolError(`${what} is not an object`);
  return value as Record<string, unknown>;
}

/**
 * Decodes a record from anywhere: the descriptor must verify under its owner's key (and have
 * `expectedId`, when given); receipts that do not check against it are dropped, not trusted.
 */
export function decodeRecord(
  bytes: Uint8Array,
  nowMs: number,
  expectedId?: string,
  options: { receipts: 'check' | 'unchecked' } = { receipts: 'check' },
): { id: string; record: ObjectRecord } {
  const value = parseJson(bytes, 'object record');
  const checked = checkSignedDescriptor(value.descriptor, expectedId);
  if (!checked.ok) throw new ProtocolError(`object record: ${checked.reason}: ${checked.message}`);
  const { descriptor, id } = checked.value;
  const raw = Array.isArray(value.receipts) ? value.receipts.slice(0, recordReceiptsMax) : [];
  // Unchecked only for a caller that checks each receipt itself (ManifestStore.addReceipts does).
  const receipts =
    options.receipts === 'check' ? validReceipts(id, descriptor, raw, nowMs) : (raw as SignedReceipt[]);
  return { id, record: { descriptor, receipts } };
}

/** The receipts among `raw` that check against the descriptor, one per (stripe, shard, holder). */
export function validReceipts(
  id: string,
  descriptor: SignedDescriptor,
  raw: readonly unknown[],
  nowMs: number,
): SignedReceipt[] {
  const seen = new Set<string>();
  const out: SignedReceipt[] = [];
  for (const value of raw) {
    const result = checkReceipt(value, { objectId: id, descriptor, nowMs });
    if (!result.ok) continue;
    const r = result.value;
    const key = `${r.stripe}/${r.shard}/${r.holder}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
  }
  return out;
}

/** Decodes an owner's delete: the descriptor verifies (with `expectedId`) and the tombstone is its owner's. */
export function decodeDeleteRecord(
  bytes: Uint8Array,
  nowMs: number,
  expectedId?: string,
): DeleteRecord & { id: string } {
  const value = parseJson(bytes, 'delete record');
  const checked = checkSignedDescriptor(value.descriptor, expectedId);
  if (!checked.ok) throw new ProtocolError(`delete record: ${checked.reason}: ${checked.message}`);
  const { descriptor, id } = checked.value;
  const tombstone = checkTombstone(value.tombstone, { objectId: id, ownerKey: descriptor.owner }, nowMs);
  if (!tombstone.ok) throw new ProtocolError(`delete record: ${tombstone.reason}: ${tombstone.message}`);
  return { id, descriptor, tombstone: tombstone.value };
}

/** True for bytes that look like a delete record (they carry a tombstone). */
export function isDeleteRecord(bytes: Uint8Array): boolean {
  try {
    return 'tombstone' in parseJson(bytes, 'record');
  } catch {
    return false;
  }
}

/**
 * The working view the read, repair and health paths use: the descriptor's stripes with, for each
 * shard, the holders its receipts prove (peer ids), newest receipt first. A shard without a receipt
 * has no holders here; readers then look for it by its hash.
 */
export function manifestView(
  record: ObjectRecord,
  regionOf: (nodeId: string) => string | undefined,
): Manifest {
  const { descriptor } = record;
  const holders = new Map<string, { nodeId: string; region: string; at: number }[]>();
  for (const r of record.receipts) {
    const nodeId = peerIdOfNodeKey(r.holder);
    if (nodeId === undefined) continue;
    const key = `${r.stripe}/${r.shard}`;
    const list = holders.get(key) ?? [];
    if (list.length >= manifestLimits.maxHoldersPerShard || list.some((h) => h.nodeId === nodeId)) continue;
    list.push({ nodeId, region: regionOf(nodeId) ?? 'unknown', at: r.storedAtMs });
    holders.set(key, list);
  }
  return {
    format: 1,
    version: 1,
    ...(descriptor.name === undefined ? {} : { name: descriptor.name }),
    size: descriptor.size,
    createdAtMs: descriptor.createdAtMs,
    erasure: descriptor.erasure,
    stripes: descriptor.stripes.map((stripe, s) => ({
      dataBytes: stripe.dataBytes,
      shards: stripe.shards.map((shard, i) => ({
        hash: shard.hash,
        holders: (holders.get(`${s}/${i}`) ?? [])
          .sort((a, b) => b.at - a.at)
          .map(({ nodeId, region }) => ({ nodeId, region })),
      })),
    })),
  };
}
