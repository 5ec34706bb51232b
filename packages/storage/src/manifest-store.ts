import { access, mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { assertInt, describe, isHashHex, isHex, type Logger, noopLogger, parseConfig } from '@trinity/core';
import { syncDir, writeNewFile } from '@trinity/core/fs';
import { z } from 'zod';
import { diskFullAsCapacity, isNotFound, readFileBounded, removeTree, tempPath } from './_fs.js';
import { KeyedMutex } from './_keyed-mutex.js';
import { ShardRefs } from './_shard-refs.js';
import { parseSigned } from './_signed.js';
import {
  type ManifestStoreConfig,
  type ManifestStoreConfigInput,
  manifestStoreConfigSchema,
} from './config.js';
import {
  decodeSignedDescriptor,
  encodeSignedDescriptor,
  type SignedDescriptor,
  verifySignedDescriptor,
} from './descriptor.js';
import {
  CapacityExceededError,
  ManifestInvalidError,
  ManifestNotFoundError,
  StoreClosedError,
} from './errors.js';
import {
  decodeManifest,
  encodeManifest,
  type Manifest,
  manifestLimits,
  objectId,
  parseManifest,
} from './manifest.js';
import { checkReceipt, type SignedReceipt, signedReceiptSchema } from './receipt.js';
import {
  decodeSignedTombstone,
  encodeSignedTombstone,
  type SignedTombstone,
  signedTombstoneSchema,
  TombstoneSet,
  tombstoneEncodedBytesMax,
} from './tombstone.js';

function checkId(id: unknown): asserts id is string {
  if (!isHex(id, 32))
    throw new ManifestInvalidError(`manifest id must be 64 lower-case hex characters, got ${describe(id)}`);
}

/**
 * Manifests on disk under `dir/manifests/ab/<id>`, with the shard store's durability rules (temp
 * file, fsync, rename, fsync folder). Per object id it keeps the highest `version`; every read is
 * decoded, validated and checked against its id, and a file that fails is reported, never returned.
 *
 * Beside them, owner-signed descriptors (`descriptors/ab/<id>`, verified on every write and read) and
 * owner-signed tombstones (`tombstones/ab/<id>`): a tombstone deletes its descriptor, and while it is
 * remembered (its retention) the store refuses that descriptor again, so a replay cannot revive it.
 */
export class ManifestStore {
  readonly config: ManifestStoreConfig;
  readonly #root: string;
  readonly #dir: string;
  readonly #tmpDir: string;
  readonly #logger: Logger;
  readonly #descriptorDir: string;
  readonly #tombstoneDir: string;
  readonly #receiptDir: string;
  readonly #locks = new KeyedMutex();
  readonly #tombstones: TombstoneSet;
  #count = 0;
  #descriptorCount = 0;
  #closed = false;
  /** Which stored descriptors name which shards; built on first use (`unreferencedShards`), then kept. */
  #shardRefs: ShardRefs | undefined;
  #shardRefsBuilt: Promise<ShardRefs> | undefined;
  /**
   * Descriptors listed but not readable when the references were built (a transient error, or a
   * damaged file): they may name any shard, so while one is left nothing is reported unreferenced.
   */
  readonly #unreadRefs = new Set<string>();

  private constructor(root: string, config: ManifestStoreConfig, logger: Logger) {
    this.config = config;
    this.#root = root;
    this.#dir = join(root, 'manifests');
    this.#tmpDir = join(root, 'tmp');
    this.#descriptorDir = join(root, 'descriptors');
    this.#tombstoneDir = join(root, 'tombstones');
    this.#receiptDir = join(root, 'receipts');
    this.#tombstones = new TombstoneSet({ maxEntries: config.maxTombstones });
    this.#logger = logger.child({ component: 'manifest-store' });
  }

  /** Opens (creating if needed) the manifest store in `dir`, emptying its tmp/ folder. */
  static async open(
    dir: string,
    config?: ManifestStoreConfigInput,
    deps: { logger?: Logger } = {},
  ): Promise<ManifestStore> {
    if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string');
    const parsed = parseConfig(manifestStoreConfigSchema, config ?? {}, 'manifest store config');
    const store = new ManifestStore(dir, parsed, deps.logger ?? noopLogger);
    await removeTree(store.#tmpDir);
    for (const path of [
      store.#root,
      store.#dir,
      store.#tmpDir,
      store.#descriptorDir,
      store.#tombstoneDir,
      store.#receiptDir,
    ]) {
      await mkdir(path, { recursive: true });
    }
    await syncDir(store.#root, { fsync: parsed.fsync });
    store.#count = (await store.list()).length;
    await store.#loadTombstones();
    store.#descriptorCount = (await store.listDescriptors()).length;
    return store;
  }

  #path(id: string, dir = this.#dir): string {
    return join(dir, id.slice(0, 2), id);
  }

  /** Loads every tombstone file and finishes deletes a crash interrupted (tombstone written, descriptor not yet removed). */
  async #loadTombstones(): Promise<void> {
    for (const id of await listIds(this.#tombstoneDir)) {
      try {
        const read = await readFileBounded(this.#path(id, this.#tombstoneDir), tombstoneEncodedBytesMax);
        if (read.kind === 'too-large')
          throw new ManifestInvalidError(`tombstone file is ${read.sizeBytes} bytes`);
        const tombstone = decodeSignedTombstone(read.data);
        if (tombstone.objectId !== id) throw new ManifestInvalidError('tombstone stored under another id');
        // Expired ones are kept until pruneTombstones(nowMs): the store has no clock of its own.
        this.#tombstones.restore(tombstone, 0);
        await this.#unlink(id, this.#descriptorDir);
        await this.#unlink(id, this.#receiptDir);
      } catch (error) {
        this.#logger.warn({ id, error: (error as Error).message }, 'damaged tombstone file ignored');
      }
    }
  }

  /** Stores a manifest and returns its object id; an older or equal version never replaces a newer one. */
  async put(manifest: Manifest): Promise<string> {
    this.#checkOpen();
    const checked = parseManifest(manifest);
    const id = objectId(checked);
    const bytes = encodeManifest(checked);
    if (bytes.length > this.config.maxManifestBytes) {
      throw new ManifestInvalidError(
        `manifest is ${bytes.length} bytes, over the limit of ${this.config.maxManifestBytes}`,
      );
    }
    await this.#locks.run(id, async () => {
      const current = await this.#read(id).catch(() => undefined);
      if (current !== undefined && current.version >= checked.version) return;
      if (current === undefined && this.#count >= this.config.maxManifests) {
        throw new CapacityExceededError(
          `the manifest store holds the maximum of ${this.config.maxManifests}`,
          {
            limit: this.config.maxManifests,
          },
        );
      }
      await this.#write(id, bytes);
      if (current === undefined) this.#count++;
    });
    return id;
  }

  async #write(id: string, bytes: Uint8Array, root = this.#dir): Promise<void> {
    const { fsync } = this.config;
    const tmp = tempPath(this.#tmpDir, 'manifest');
    const dir = join(root, id.slice(0, 2));
    try {
      await writeNewFile(tmp, bytes, { fsync });
      if ((await mkdir(dir, { recursive: true })) !== undefined) await syncDir(root, { fsync });
      await rename(tmp, this.#path(id, root));
      await syncDir(dir, { fsync });
    } catch (error) {
      await unlink(tmp).catch(() => {});
      throw diskFullAsCapacity(error, tmp);
    }
  }

  async #read(id: string): Promise<Manifest | undefined> {
    let read: Awaited<ReturnType<typeof readFileBounded>>;
    try {
      read = await readFileBounded(this.#path(id), this.config.maxManifestBytes);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    if (read.kind === 'too-large') {
      throw new ManifestInvalidError(`stored manifest ${id} is ${read.sizeBytes} bytes, over the limit`);
    }
    return decodeManifest(read.data, id, { maxBytes: this.config.maxManifestBytes });
  }

  /** The manifest with this id: ManifestNotFoundError, or ManifestInvalidError if the file is damaged. */
  async get(id: string): Promise<Manifest> {
    this.#checkOpen();
    checkId(id);
    try {
      const manifest = await this.#read(id);
      if (manifest === undefined) throw new ManifestNotFoundError(id);
      return manifest;
    } catch (error) {
      if (error instanceof ManifestInvalidError)
        this.#logger.warn({ id, error: error.message }, 'damaged manifest');
      throw error;
    }
  }

  async has(id: string): Promise<boolean> {
    this.#checkOpen();
    checkId(id);
    return (await this.#read(id).catch(() => undefined)) !== undefined;
  }

  /** Removes a manifest; false when there was none. */
  async delete(id: string): Promise<boolean> {
    this.#checkOpen();
    checkId(id);
    return this.#locks.run(id, async () => {
      try {
        await unlink(this.#path(id));
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
      await syncDir(join(this.#dir, id.slice(0, 2)), { fsync: this.config.fsync });
      this.#count--;
      return true;
    });
  }

  /** The ids of all stored manifests, sorted. */
  async list(): Promise<string[]> {
    this.#checkOpen();
    return listIds(this.#dir);
  }

  /**
   * Stores an owner-signed descriptor after checking it (fields, bounds, the owner's signature) and
   * returns its object id. Refused with ObjectDeletedError while a tombstone for that id is
   * remembered; SignedObjectInvalidError or SignatureInvalidError when it does not check. Storing the
   * same object again is a no-op (the id covers every signed field).
   */
  async putDescriptor(value: unknown, nowMs: number): Promise<string> {
    this.#checkOpen();
    const { descriptor, id } = verifySignedDescriptor(value);
    const bytes = encodeSignedDescriptor(descriptor);
    if (bytes.length > this.config.maxManifestBytes) {
      throw new ManifestInvalidError(
        `descriptor is ${bytes.length} bytes, over the limit of ${this.config.maxManifestBytes}`,
      );
    }
    await this.#locks.run(id, async () => {
      this.#tombstones.assertNotDeleted(id, nowMs);
      if (await this.#exists(id, this.#descriptorDir)) return;
      if (this.#descriptorCount >= this.config.maxManifests) {
        throw new CapacityExceededError(
          `the manifest store holds the maximum of ${this.config.maxManifests} descriptors`,
          {
            limit: this.config.maxManifests,
          },
        );
      }
      await this.#write(id, bytes, this.#descriptorDir);
      this.#descriptorCount++;
      this.#shardRefs?.add(id, descriptor);
    });
    return id;
  }

  /** The signed descriptor with this id, its signature and id checked again on the way out. */
  async getDescriptor(id: string): Promise<SignedDescriptor> {
    this.#checkOpen();
    checkId(id);
    let read: Awaited<ReturnType<typeof readFileBounded>>;
    try {
      read = await readFileBounded(this.#path(id, this.#descriptorDir), this.config.maxManifestBytes);
    } catch (error) {
      if (isNotFound(error)) throw new ManifestNotFoundError(id);
      throw error;
    }
    if (read.kind === 'too-large')
      throw new ManifestInvalidError(`stored descriptor ${id} is ${read.sizeBytes} bytes, over the limit`);
    try {
      return decodeSignedDescriptor(read.data, id, { maxBytes: this.config.maxManifestBytes }).descriptor;
    } catch (error) {
      this.#logger.warn({ id, error: (error as Error).message }, 'damaged descriptor');
      throw error;
    }
  }

  async hasDescriptor(id: string): Promise<boolean> {
    this.#checkOpen();
    checkId(id);
    return this.#exists(id, this.#descriptorDir);
  }

  /** The ids of all stored descriptors, sorted. */
  async listDescriptors(): Promise<string[]> {
    this.#checkOpen();
    return listIds(this.#descriptorDir);
  }

  /**
   * The shards among `hashes` that no stored descriptor names (shards are content-addressed: two
   * objects, or two padding shards of small objects, can share one). The first call reads every
   * descriptor once; from then on the store keeps which descriptors name which shards (about 130
   * bytes a shard of every descriptor held), so a delete costs its own shards, not a scan of all.
   * A descriptor deleted while that first read runs may still count (its shards then stay, for the
   * garbage collector); a descriptor stored is never missed. `except` leaves one descriptor out (a
   * node giving up its copy of a shard of an object it still describes: does another object use it?).
   */
  async unreferencedShards(hashes: readonly string[], options: { except?: string } = {}): Promise<string[]> {
    this.#checkOpen();
    const refs = await this.#builtShardRefs();
    // Retried each time: a descriptor read once it can be counts from then on; one deleted is gone.
    for (const id of [...this.#unreadRefs]) {
      try {
        refs.add(id, await this.getDescriptor(id));
        this.#unreadRefs.delete(id);
      } catch (error) {
        if (error instanceof ManifestNotFoundError) this.#unreadRefs.delete(id);
      }
    }
    // On a partial picture nothing is freed here: the garbage collector decides (as it does).
    if (this.#unreadRefs.size > 0) return [];
    return hashes.filter((hash) => !refs.names(hash, options.except));
  }

  #builtShardRefs(): Promise<ShardRefs> {
    if (this.#shardRefsBuilt === undefined) {
      // Live before the listing: a descriptor stored from now on is added by putDescriptor, one stored
      // before is in the listing (adding one twice is a no-op).
      const refs = new ShardRefs();
      this.#shardRefs = refs;
      this.#unreadRefs.clear();
      this.#shardRefsBuilt = (async () => {
        for (const id of await this.listDescriptors()) {
          try {
            refs.add(id, await this.getDescriptor(id));
          } catch (error) {
            // Deleted meanwhile: names nothing. Anything else: not known, so not assumed to name nothing.
            if (!(error instanceof ManifestNotFoundError)) this.#unreadRefs.add(id);
          }
        }
        return refs;
      })();
      this.#shardRefsBuilt.catch(() => {
        this.#shardRefs = undefined;
        this.#shardRefsBuilt = undefined;
        this.#unreadRefs.clear();
      });
    }
    return this.#shardRefsBuilt;
  }

  /**
   * Deletes an object on its owner's signed tombstone: checks it against the stored descriptor's
   * owner (or against `descriptor`, a signed descriptor the caller supplies when this store does not
   * hold the object), writes the tombstone durably, then removes the descriptor. Returns the checked
   * tombstone. SignedObjectInvalidError / SignatureInvalidError when it does not check,
   * ManifestNotFoundError when no descriptor proves who owns the object.
   */
  async deleteDescriptor(tombstone: unknown, nowMs: number, descriptor?: unknown): Promise<SignedTombstone> {
    this.#checkOpen();
    const { objectId: id } = parseSigned('tombstone', signedTombstoneSchema, tombstone);
    return this.#locks.run(id, async () => {
      // Who owns the object: from the descriptor given, a tombstone already checked, or the stored descriptor.
      const owner =
        descriptor !== undefined
          ? verifySignedDescriptor(descriptor, id).descriptor.owner
          : (this.#tombstones.get(id, nowMs)?.owner ?? (await this.getDescriptor(id)).owner);
      const object = { objectId: id, ownerKey: owner };
      // Remembered first: if the write fails the delete is refused, but replays are already refused.
      const checked = this.#tombstones.add(tombstone, object, nowMs);
      // The one remembered (the longest retention); none when this tombstone had already expired.
      const kept = this.#tombstones.get(id, nowMs);
      if (kept !== undefined) await this.#write(id, encodeSignedTombstone(kept), this.#tombstoneDir);
      if (await this.#unlink(id, this.#descriptorDir)) this.#descriptorCount--;
      this.#shardRefs?.remove(id);
      this.#unreadRefs.delete(id);
      await this.#unlink(id, this.#receiptDir);
      return checked;
    });
  }

  /**
   * Adds holder receipts for a stored descriptor: each is checked (fields, the shard hash the owner
   * signed for its position, its time, the holder's signature) and the ones that fail are skipped.
   * Per shard it keeps one receipt per holder (the newest) and at most `maxHoldersPerShard` holders
   * (the newest). Returns the receipts that were new. ManifestNotFoundError without the descriptor.
   */
  async addReceipts(id: string, receipts: readonly unknown[], nowMs: number): Promise<SignedReceipt[]> {
    this.#checkOpen();
    checkId(id);
    return this.#locks.run(id, async () => {
      const descriptor = await this.getDescriptor(id);
      const current = await this.#readReceipts(id);
      const byKey = new Map(current.map((r) => [receiptKey(r), r]));
      const added: SignedReceipt[] = [];
      for (const value of receipts.slice(0, receiptsPerCallMax)) {
        // A receipt already held as it is was checked when it was added: a record published again
        // (the 2PC commit, then the publication) does not pay a signature check per receipt twice.
        if (heldAlready(value, byKey)) continue;
        const checked = checkReceipt(value, { objectId: id, descriptor, nowMs });
        if (!checked.ok) continue;
        const receipt = checked.value;
        const key = receiptKey(receipt);
        const old = byKey.get(key);
        if (old !== undefined && old.storedAtMs >= receipt.storedAtMs) continue;
        byKey.set(key, receipt);
        added.push(receipt);
      }
      if (added.length === 0) return added;
      const kept = keepNewestPerShard([...byKey.values()], manifestLimits.maxHoldersPerShard);
      await this.#write(id, encodeReceipts(kept), this.#receiptDir);
      const keptSet = new Set(kept);
      return added.filter((r) => keptSet.has(r));
    });
  }

  /**
   * The receipts kept for `id` (checked when they were added; re-read here for their fields only),
   * sorted by stripe, shard and holder. Empty when there are none.
   */
  async receipts(id: string): Promise<SignedReceipt[]> {
    this.#checkOpen();
    checkId(id);
    return this.#readReceipts(id);
  }

  /**
   * Forgets the receipts of `holder` (hex node key) for `id`, e.g. once it is known to have lost them;
   * with `position`, only its receipt for that one shard (a shard moved elsewhere by rebalancing).
   * Returns how many were dropped.
   */
  async dropReceipts(
    id: string,
    holder: string,
    position?: { readonly stripe: number; readonly shard: number },
  ): Promise<number> {
    this.#checkOpen();
    checkId(id);
    if (position !== undefined) {
      assertInt(position.stripe, 'stripe', 0, manifestLimits.maxStripes);
      assertInt(position.shard, 'shard', 0, manifestLimits.maxShardsPerStripe);
    }
    const matches = (r: SignedReceipt) =>
      r.holder === holder &&
      (position === undefined || (r.stripe === position.stripe && r.shard === position.shard));
    return this.#locks.run(id, async () => {
      const current = await this.#readReceipts(id);
      const kept = current.filter((r) => !matches(r));
      if (kept.length === current.length) return 0;
      await this.#write(id, encodeReceipts(kept), this.#receiptDir);
      return current.length - kept.length;
    });
  }

  async #readReceipts(id: string): Promise<SignedReceipt[]> {
    let read: Awaited<ReturnType<typeof readFileBounded>>;
    try {
      read = await readFileBounded(this.#path(id, this.#receiptDir), this.config.maxManifestBytes);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    if (read.kind === 'too-large')
      throw new ManifestInvalidError(`stored receipts of ${id} are ${read.sizeBytes} bytes, over the limit`);
    try {
      const parsed = receiptFileSchema.safeParse(JSON.parse(new TextDecoder().decode(read.data)));
      if (!parsed.success) throw new ManifestInvalidError(`stored receipts of ${id} are malformed`);
      return parsed.data;
    } catch (error) {
      this.#logger.warn({ id, error: (error as Error).message }, 'damaged receipts file ignored');
      return [];
    }
  }

  /** The unexpired tombstone of `id`, if this store remembers one (to serve it to peers). */
  tombstone(id: string, nowMs: number): SignedTombstone | undefined {
    this.#checkOpen();
    checkId(id);
    return this.#tombstones.get(id, nowMs);
  }

  /** Forgets tombstones whose retention has ended (memory and disk); returns their object ids. */
  async pruneTombstones(nowMs: number): Promise<string[]> {
    this.#checkOpen();
    const forgotten = this.#tombstones.prune(nowMs);
    for (const id of forgotten) await this.#locks.run(id, () => this.#unlink(id, this.#tombstoneDir));
    return forgotten;
  }

  async #exists(id: string, root: string): Promise<boolean> {
    try {
      await access(this.#path(id, root));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Removes a file of this store; false when there was none. */
  async #unlink(id: string, root: string): Promise<boolean> {
    try {
      await unlink(this.#path(id, root));
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
    await syncDir(join(root, id.slice(0, 2)), { fsync: this.config.fsync });
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreClosedError('manifest store');
  }
}

/** Most receipts one addReceipts call looks at (a peer cannot make it verify forever). */
const receiptsPerCallMax = 4096;

const receiptFileSchema = z.array(signedReceiptSchema).max(manifestLimits.maxStripes);

function receiptKey(r: SignedReceipt): string {
  return `${r.stripe}/${r.shard}/${r.holder}`;
}

const signedReceiptFields = [
  'objectId',
  'stripe',
  'shard',
  'shardHash',
  'holder',
  'storedAtMs',
  'signature',
] as const;

/** Whether `value` is, field for field (and no field more), a receipt held in `byKey`. */
function heldAlready(value: unknown, byKey: ReadonlyMap<string, SignedReceipt>): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  const held = byKey.get(
    `${String(candidate.stripe)}/${String(candidate.shard)}/${String(candidate.holder)}`,
  );
  if (held === undefined || Object.keys(candidate).length !== signedReceiptFields.length) return false;
  return signedReceiptFields.every((field) => candidate[field] === held[field]);
}

function compareReceipts(a: SignedReceipt, b: SignedReceipt): number {
  return a.stripe - b.stripe || a.shard - b.shard || (a.holder < b.holder ? -1 : a.holder > b.holder ? 1 : 0);
}

/** At most `max` receipts per (stripe, shard): the newest by storedAtMs. Sorted. */
function keepNewestPerShard(receipts: SignedReceipt[], max: number): SignedReceipt[] {
  const byShard = new Map<string, SignedReceipt[]>();
  for (const r of receipts) {
    const key = `${r.stripe}/${r.shard}`;
    const list = byShard.get(key) ?? [];
    list.push(r);
    byShard.set(key, list);
  }
  const kept: SignedReceipt[] = [];
  for (const list of byShard.values()) {
    list.sort((a, b) => b.storedAtMs - a.storedAtMs);
    kept.push(...list.slice(0, max));
  }
  return kept.sort(compareReceipts);
}

function encodeReceipts(receipts: readonly SignedReceipt[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(receipts));
}

/** The ids of the files in a fan-out folder (`ab/<id>`), sorted; anything else there is ignored. */
async function listIds(root: string): Promise<string[]> {
  const ids: string[] = [];
  let fanOut: string[];
  try {
    fanOut = await readdir(root);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  for (const prefix of fanOut) {
    if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
    for (const name of await readdir(join(root, prefix))) {
      if (isHashHex(name) && name.startsWith(prefix)) ids.push(name);
    }
  }
  return ids.sort();
}
