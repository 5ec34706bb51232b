import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@trinity/core';
import { forEachSettled, isNotFound, removeTree } from './_fs.js';
import { commitMarkerName, parseRecordName, parseStagedName, type StoreLayout } from './_layout.js';
import { isShardHashHex, isTxId } from './ids.js';

const fanOutPattern = /^[0-9a-f]{2}$/;

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

/** Every committed shard on disk with its size. Foreign names are logged and left alone. */
export async function scanShards(
  layout: StoreLayout,
  concurrency: number,
  logger: Logger,
): Promise<Map<string, number>> {
  let dirs: { path: string; prefix: string }[] = [{ path: layout.shardsDir, prefix: '' }];
  for (let level = 0; level < layout.fanOutLevels; level++) {
    const next: { path: string; prefix: string }[] = [];
    await forEachSettled(dirs, concurrency, async ({ path, prefix }) => {
      for (const name of await listDir(path)) {
        if (fanOutPattern.test(name)) next.push({ path: join(path, name), prefix: prefix + name });
        else logger.warn({ path: join(path, name) }, 'unexpected entry in the shard store, ignored');
      }
    });
    dirs = next;
  }
  const files: { path: string; hashHex: string }[] = [];
  await forEachSettled(dirs, concurrency, async ({ path, prefix }) => {
    for (const name of await listDir(path)) {
      if (isShardHashHex(name) && name.startsWith(prefix))
        files.push({ path: join(path, name), hashHex: name });
      else logger.warn({ path: join(path, name) }, 'unexpected entry in the shard store, ignored');
    }
  });
  const index = new Map<string, number>();
  await forEachSettled(files, concurrency, async ({ path, hashHex }) => {
    try {
      const info = await stat(path);
      if (info.isFile()) index.set(hashHex, info.size);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  });
  return index;
}

/** One staged shard as found on disk. */
export interface StagedShard {
  readonly sizeBytes: number;
  readonly token: number | undefined;
}

/** One staged transaction: its shards, and the full hash list once its commit has begun. */
export interface StagedTx {
  readonly shards: Map<string, StagedShard>;
  /** Records (e.g. object manifests) staged beside the shards: id → size in bytes. */
  readonly records: Map<string, number>;
  committing: string[] | undefined;
}

async function readMarker(path: string): Promise<string[] | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const hashes = text.split('\n').filter((line) => line !== '');
  // The marker is written whole (temp file + rename), so a bad one was tampered with: trust none of it.
  return hashes.every(isShardHashHex) ? hashes : undefined;
}

async function scanTx(layout: StoreLayout, txId: string, logger: Logger): Promise<StagedTx | undefined> {
  const dir = layout.txDir(txId);
  const shards = new Map<string, StagedShard>();
  const records = new Map<string, number>();
  for (const name of await listDir(dir)) {
    if (name === commitMarkerName) continue;
    const recordId = parseRecordName(name);
    if (recordId !== undefined) {
      records.set(recordId, (await stat(join(dir, name))).size);
      continue;
    }
    const parsed = parseStagedName(name);
    if (parsed === undefined) {
      logger.warn({ path: join(dir, name) }, 'unexpected entry in a staged transaction, ignored');
      continue;
    }
    const info = await stat(join(dir, name));
    shards.set(parsed.hashHex, { sizeBytes: info.size, token: parsed.token });
  }
  const committing = await readMarker(join(dir, commitMarkerName));
  if (shards.size === 0 && records.size === 0 && committing === undefined) {
    await removeTree(dir); // a folder made for a stage that never landed
    return undefined;
  }
  return { shards, records, committing };
}

/** Every staged transaction on disk. Empty transaction folders (a stage cut short) are removed. */
export async function scanStaging(layout: StoreLayout, logger: Logger): Promise<Map<string, StagedTx>> {
  const staged = new Map<string, StagedTx>();
  for (const txId of await listDir(layout.stagingDir)) {
    if (!isTxId(txId)) {
      logger.warn({ path: join(layout.stagingDir, txId) }, 'unexpected entry in staging, ignored');
      continue;
    }
    const tx = await scanTx(layout, txId, logger);
    if (tx !== undefined) staged.set(txId, tx);
  }
  return staged;
}
