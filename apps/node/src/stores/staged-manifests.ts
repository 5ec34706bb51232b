import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isHashHex, isTxIdHex } from '@trinity/core';
import { writeFileAtomic } from '@trinity/core/fs';
import { assertTxId } from '@trinity/storage';

/**
 * Object records staged by a transaction, kept beside the ManifestStore until the transaction ends:
 * `<dir>/<txId>/<object id>`. Only a commit moves them into the ManifestStore; an abort drops them.
 * The one place that touches those files: the manifest service stages into it, the tx service
 * commits, aborts and collects orphans from it.
 */
export class StagedManifests {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * Writes an object record (checked by the caller) staged for `txId`: visible only if the
   * transaction commits, and checked again then.
   */
  async stage(txId: string, id: string, bytes: Uint8Array): Promise<void> {
    assertTxId(txId);
    if (!isHashHex(id)) throw new TypeError('object id must be 64 lower-case hex characters');
    const dir = join(this.#dir, txId);
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, id), bytes);
  }

  /** Ids of the manifests staged for `txId`. */
  async ids(txId: string): Promise<string[]> {
    assertTxId(txId);
    const names = await readdir(join(this.#dir, txId)).catch(() => [] as string[]);
    return names.filter((name) => isHashHex(name));
  }

  /** The bytes of a staged manifest (checked against its id by the caller's decode). */
  async read(txId: string, id: string): Promise<Uint8Array> {
    assertTxId(txId);
    return readFile(join(this.#dir, txId, id));
  }

  /** Drops everything staged for `txId`. */
  async drop(txId: string): Promise<void> {
    assertTxId(txId);
    await rm(join(this.#dir, txId), { recursive: true, force: true });
  }

  /** Transactions that have manifests staged here. */
  async transactions(): Promise<string[]> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    return names.filter((name) => isTxIdHex(name));
  }
}
