import { mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, isHashHex, isHex, type Logger, noopLogger, parseConfig } from '@trinity/core';
import { syncDir, writeNewFile } from '@trinity/core/fs';
import { isNotFound, readFileBounded, removeTree, tempPath } from './_fs.js';
import { KeyedMutex } from './_keyed-mutex.js';
import {
  type ManifestStoreConfig,
  type ManifestStoreConfigInput,
  manifestStoreConfigSchema,
} from './config.js';
import {
  CapacityExceededError,
  ManifestInvalidError,
  ManifestNotFoundError,
  StoreClosedError,
} from './errors.js';
import { decodeManifest, encodeManifest, type Manifest, objectId, parseManifest } from './manifest.js';

function checkId(id: unknown): asserts id is string {
  if (!isHex(id, 32))
    throw new ManifestInvalidError(`manifest id must be 64 lower-case hex characters, got ${describe(id)}`);
}

/**
 * Manifests on disk under `dir/manifests/ab/<id>`, with the shard store's durability rules (temp
 * file, fsync, rename, fsync folder). Per object id it keeps the highest `version`; every read is
 * decoded, validated and checked against its id, and a file that fails is reported, never returned.
 */
export class ManifestStore {
  readonly config: ManifestStoreConfig;
  readonly #root: string;
  readonly #dir: string;
  readonly #tmpDir: string;
  readonly #logger: Logger;
  readonly #locks = new KeyedMutex();
  #count = 0;
  #closed = false;

  private constructor(root: string, config: ManifestStoreConfig, logger: Logger) {
    this.config = config;
    this.#root = root;
    this.#dir = join(root, 'manifests');
    this.#tmpDir = join(root, 'tmp');
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
    for (const path of [store.#root, store.#dir, store.#tmpDir]) {
      await mkdir(path, { recursive: true });
    }
    await syncDir(store.#root, { fsync: parsed.fsync });
    store.#count = (await store.list()).length;
    return store;
  }

  #path(id: string): string {
    return join(this.#dir, id.slice(0, 2), id);
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

  async #write(id: string, bytes: Uint8Array): Promise<void> {
    const { fsync } = this.config;
    const tmp = tempPath(this.#tmpDir, 'manifest');
    const dir = join(this.#dir, id.slice(0, 2));
    try {
      await writeNewFile(tmp, bytes, { fsync: fsync });
      if ((await mkdir(dir, { recursive: true })) !== undefined) await syncDir(this.#dir, { fsync: fsync });
      await rename(tmp, this.#path(id));
      await syncDir(dir, { fsync: fsync });
    } catch (error) {
      await unlink(tmp).catch(() => {});
      throw error;
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
    const ids: string[] = [];
    let fanOut: string[];
    try {
      fanOut = await readdir(this.#dir);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    for (const prefix of fanOut) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const name of await readdir(join(this.#dir, prefix))) {
        if (isHashHex(name) && name.startsWith(prefix)) ids.push(name);
      }
    }
    return ids.sort();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreClosedError('manifest store');
  }
}
