import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { assert } from '@trinity/core';
import { syncDir } from '@trinity/core/fs';
import { isExists, isNotFound } from './_fs.js';
import { isShardHashHex, isTxId } from './ids.js';

/** The name of the commit marker inside a staged transaction's folder. */
export const commitMarkerName = 'COMMIT';

/** Folders remembered as existing: the first two fan-out levels (65,792) and the staged transactions fit. */
const knownDirsMax = 100_000;

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
  /** Folders being made now, so a second caller waits for the first one's parent sync. */
  readonly #creating = new Map<string, Promise<void>>();

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
   * Creates `dir` and any missing parents up to the store root, fsyncing the parent of each one
   * made, so a shard renamed into a new folder is reachable after a power cut. One `mkdir` per
   * missing level (a recursive mkdir probes from the leaf up: an ENOENT for every missing parent).
   * A folder found already there gets its parent synced too, as a crashed process may have made it
   * without; once known, a folder costs nothing. Concurrent calls for one folder share one creation,
   * so none returns before the folder's entry is durable.
   */
  ensureDir(dir: string, sync: boolean): Promise<void> {
    if (this.#knownDirs.has(dir)) return Promise.resolve();
    let pending = this.#creating.get(dir);
    if (pending === undefined) {
      pending = this.#create(dir, sync).finally(() => this.#creating.delete(dir));
      this.#creating.set(dir, pending);
    }
    return pending;
  }

  async #create(dir: string, sync: boolean): Promise<void> {
    if (dir === this.root) {
      await mkdir(dir, { recursive: true }); // the store's own folder: its parents are the caller's
    } else {
      assert(dir.startsWith(`${this.root}${sep}`), 'ensureDir: a folder outside the store');
      await mkdirIfMissing(dir).catch(async (error: unknown) => {
        if (!isNotFound(error)) throw error;
        // A missing parent (even a known one, removed behind our back) is made and synced first.
        this.#knownDirs.delete(dirname(dir));
        await this.ensureDir(dirname(dir), sync);
        await mkdirIfMissing(dir);
      });
      await syncDir(dirname(dir), { fsync: sync });
    }
    // Known only now: a caller that finds it known does not wait for its parent's sync.
    this.#remember(dir);
  }

  /**
   * Makes the store's folders that are missing (the root must exist): shards/, staging/, tmp/,
   * quarantine/ and the first fan-out level (`shards/00` … `shards/ff`), then fsyncs the root and
   * `shards/` once each. At every open, so no put or commit ever creates a first-level folder (nor
   * syncs `shards/` for one), and a folder a crashed process made without syncing is durable too.
   */
  async makeFolders(sync: boolean): Promise<void> {
    for (const dir of [this.shardsDir, this.stagingDir, this.tmpDir, this.quarantineDir])
      await this.#makeOne(dir);
    await syncDir(this.root, { fsync: sync });
    if (this.fanOutLevels === 0) return;
    const present = new Set(await readdir(this.shardsDir));
    for (let byte = 0; byte < 256; byte++) {
      const name = byte.toString(16).padStart(2, '0');
      if (present.has(name)) this.#remember(join(this.shardsDir, name));
      else await this.#makeOne(join(this.shardsDir, name));
    }
    await syncDir(this.shardsDir, { fsync: sync });
  }

  /** mkdirIfMissing, then known (at open, before any writer); the caller syncs the parent. */
  async #makeOne(dir: string): Promise<void> {
    await mkdirIfMissing(dir);
    this.#remember(dir);
  }

  #remember(dir: string): void {
    if (this.#knownDirs.size < knownDirsMax) this.#knownDirs.add(dir);
  }

  forgetDir(dir: string): void {
    this.#knownDirs.delete(dir);
  }
}

/** mkdir of one folder whose parent exists; one already there is fine. */
async function mkdirIfMissing(dir: string): Promise<void> {
  await mkdir(dir).catch((error: unknown) => {
    if (!isExists(error)) throw error;
  });
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
