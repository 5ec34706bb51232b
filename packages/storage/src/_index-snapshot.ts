import { readFile, rename, unlink } from 'node:fs/promises';
import { equalBytes, fromHex, sha256, toHex } from '@trinity/core';
import { syncDir, writeNewFile } from '@trinity/core/fs';
import { isNotFound, tempPath } from './_fs.js';

const magic = new TextEncoder().encode('TRIDX001');
const entryBytes = 36; // hash 32 + size u32 4

/**
 * The committed-shard index (hash → size) written at a clean close, so that the next open need not
 * stat every file. It is deleted as the store opens: after a crash there is none, and open scans.
 * Layout: magic, u32 count, entries, SHA-256 of everything before it.
 */
export async function writeIndexSnapshot(
  dir: string,
  path: string,
  tmpDir: string,
  index: ReadonlyMap<string, number>,
  sync: boolean,
): Promise<void> {
  const body = new Uint8Array(magic.length + 4 + index.size * entryBytes);
  const view = new DataView(body.buffer);
  body.set(magic, 0);
  view.setUint32(magic.length, index.size);
  let offset = magic.length + 4;
  for (const [hashHex, sizeBytes] of index) {
    body.set(fromHex(hashHex), offset);
    view.setUint32(offset + 32, sizeBytes);
    offset += entryBytes;
  }
  const out = new Uint8Array(body.length + 32);
  out.set(body, 0);
  out.set(sha256(body), body.length);
  const tmp = tempPath(tmpDir, 'index');
  await writeNewFile(tmp, out, { fsync: sync });
  await rename(tmp, path);
  await syncDir(dir, { fsync: sync });
}

/** Reads and deletes the snapshot; undefined when there is none or it does not check out. */
export async function takeIndexSnapshot(
  dir: string,
  path: string,
  sync: boolean,
  maxEntries: number,
): Promise<Map<string, number> | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  // Gone before the store accepts a single write, so a later crash can never leave a stale snapshot.
  await unlink(path);
  await syncDir(dir, { fsync: sync });
  return parseSnapshot(bytes, maxEntries);
}

function parseSnapshot(bytes: Uint8Array, maxEntries: number): Map<string, number> | undefined {
  if (bytes.length < magic.length + 4 + 32) return undefined;
  if (!equalBytes(bytes.subarray(0, magic.length), magic)) return undefined;
  const body = bytes.subarray(0, bytes.length - 32);
  if (!equalBytes(sha256(body), bytes.subarray(bytes.length - 32))) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(magic.length);
  if (count > maxEntries || body.length !== magic.length + 4 + count * entryBytes) return undefined;
  const index = new Map<string, number>();
  for (let offset = magic.length + 4; offset < body.length; offset += entryBytes) {
    index.set(toHex(bytes.subarray(offset, offset + 32)), view.getUint32(offset + 32));
  }
  return index;
}
