import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { assert } from '@trinity/core';
import { syncDir } from '@trinity/core/fs';
import { isShardHashHex, isTxId } from './ids.js';

/** The name of the commit marker inside a staged transaction's folder. */
export const commitMarkerName = 'COMMIT';

/** A staged record's file name: its 64-hex id and this suffix. */
const recordSuffix = '.record';

/**
 * Where everything of a shard store lives under its data directory:
 *
 *   store.json            format and fan-out, written once
 *   shards/ab/cd/<hash>   committed shards, named by the hex SHA-256 of their bytes
 *   staging/<txId>/<hash>[.<token>]  prepared shards of a transaction (+ COMMIT while committing)
 *   staging/<txId>/<id>.record       records staged with them (object manifests), published at commit
 *   tmp/                  every write starts here; emptied at open
 *   quarantine/           corrupt files moved out of the way
 *   fencing.log, index    fencing tokens; the index snapshot of a clean close
 *
 * Every name joined here was checked first (hex hash or hex tx id), so no path can leave the store.
 */
export class StoreLayout {
  readonly root: string;
  readonly shardsDir: string;
  readonly stagingDir: string;
  readonly tmpDir: string;
  readonly quarantineDir: string;
  readonly formatFile: string;
  readonly indexFile: string;
  readonly fencingFile: string;
  readonly fanOutLevels: number;
  readonly #knownDirs = new Set<string>();

  constructor(root: string, fanOutLevels: number) {
    this.root = root;
    this.fanOutLevels = fanOutLevels;
    this.shardsDir = join(root, 'shards');
    this.stagingDir = join(root, 'staging');
    this.tmpDir = join(root, 'tmp');
    this.quarantineDir = join(root, 'quarantine');
    this.formatFile = join(root, 'store.json');
    this.indexFile = join(root, 'index');
    this.fencingFile = join(root, 'fencing.log');
  }

  shardDir(hashHex: string): string {
    assert(isShardHashHex(hashHex), 'shardDir: not a shard hash');
    const parts = [this.shardsDir];
    for (let level = 0; level < this.fanOutLevels; level++)
      parts.push(hashHex.slice(2 * level, 2 * level + 2));
    return join(...parts);
  }

  shardPath(hashHex: string): string {
    return join(this.shardDir(hashHex), hashHex);
  }

  txDir(txId: string): string {
    assert(isTxId(txId), 'txDir: not a transaction id');
    return join(this.stagingDir, txId);
  }

  stagedPath(txId: string, hashHex: string, token: number | undefined): string {
    assert(isShardHashHex(hashHex), 'stagedPath: not a shard hash');
    return join(this.txDir(txId), token === undefined ? hashHex : `${hashHex}.${token}`);
  }

  recordPath(txId: string, id: string): string {
    assert(isShardHashHex(id), 'recordPath: not a record id');
    return join(this.txDir(txId), `${id}${recordSuffix}`);
  }

  /**
   * Creates `dir` and any missing parents up to the store root, fsyncing each parent whose
   * listing changed, so a shard renamed into a new folder is reachable after a power cut.
   */
  async ensureDir(dir: string, sync: boolean): Promise<void> {
    if (this.#knownDirs.has(dir)) return;
    const created = await mkdir(dir, { recursive: true });
    if (created !== undefined) {
      for (let current = dir; current !== this.root && current.length > this.root.length; ) {
        const parent = dirname(current);
        await syncDir(parent, { fsync: sync });
        if (current === created) break;
        current = parent;
      }
    }
    if (this.#knownDirs.size < 100_000) this.#knownDirs.add(dir);
  }

  forgetDir(dir: string): void {
    this.#knownDirs.delete(dir);
  }
}

/** A staged file name split into its hash and fencing token, or undefined for anything else. */
export function parseStagedName(name: string): { hashHex: string; token: number | undefined } | undefined {
  const dot = name.indexOf('.');
  const hashHex = dot < 0 ? name : name.slice(0, dot);
  if (!isShardHashHex(hashHex)) return undefined;
  if (dot < 0) return { hashHex, token: undefined };
  const tokenText = name.slice(dot + 1);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(tokenText)) return undefined;
  const token = Number(tokenText);
  return Number.isSafeInteger(token) ? { hashHex, token } : undefined;
}

/** A staged record's id from its file name, or undefined for anything else. */
export function parseRecordName(name: string): string | undefined {
  if (!name.endsWith(recordSuffix)) return undefined;
  const id = name.slice(0, -recordSuffix.length);
  return isShardHashHex(id) ? id : undefined;
}
