import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat } from 'node:fs/promises';
import { z } from 'zod';
import type { AccessKeyStore } from './backend.js';

/**
 * S3 access keys: generation, and a file-backed store for `trinity s3 keys create`. SigV4 needs the
 * secret itself on the server (an HMAC key, not a password hash), so the file holds secrets: it is
 * written with mode 0600, atomically (temp file, fsync, rename). Each key is bound to one owner
 * public key; the gateway acts as that owner for every request the key signs.
 */

export interface AccessKeyRecord {
  /** 20 characters, `TRN` then 17 of base32 (like AWS's `AKIA…` ids). */
  readonly accessKeyId: string;
  /** 40 characters of base64 (240 bits). */
  readonly secretKey: string;
  /** The owner public key (hex) the key acts for. */
  readonly owner: string;
  readonly createdMs: number;
}

export const accessKeysMax = 10_000;

const base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ownerPattern = /^[0-9a-f]{64}$/;

/** A fresh key pair for `owner`. `random` is injectable for tests; keys need a CSPRNG. */
export function generateAccessKey(
  owner: string,
  nowMs: number,
  random: (length: number) => Uint8Array = randomBytes,
): AccessKeyRecord {
  if (!ownerPattern.test(owner)) throw new RangeError('owner must be a 64-hex-digit public key');
  const idBytes = random(17);
  const accessKeyId = `TRN${Array.from(idBytes, (b) => base32[b & 31]).join('')}`;
  const secretKey = Buffer.from(random(30)).toString('base64');
  return { accessKeyId, secretKey, owner, createdMs: nowMs };
}

const fileSchema = z.object({
  version: z.literal(1),
  keys: z
    .array(
      z.object({
        accessKeyId: z.string().regex(/^TRN[A-Z2-7]{17}$/),
        secretKey: z.string().regex(/^[A-Za-z0-9+/]{40}$/),
        owner: z.string().regex(ownerPattern),
        createdMs: z.number().int().nonnegative(),
      }),
    )
    .max(accessKeysMax),
});

/** Access keys in one JSON file. Mutations are serialised and each rewrites the file atomically. */
export class FileAccessKeyStore implements AccessKeyStore {
  readonly #path: string;
  readonly #keys: Map<string, AccessKeyRecord>;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, keys: Map<string, AccessKeyRecord>) {
    this.#path = path;
    this.#keys = keys;
  }

  /** Opens the store; a missing file is an empty store, a malformed one an error naming the file. */
  static async open(path: string): Promise<FileAccessKeyStore> {
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
    }
    const keys = new Map<string, AccessKeyRecord>();
    if (text !== undefined) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new Error(`the S3 access key file ${path} is malformed: not JSON`);
      }
      const parsed = fileSchema.safeParse(json);
      if (!parsed.success)
        throw new Error(`the S3 access key file ${path} is malformed: ${parsed.error.message}`);
      for (const key of parsed.data.keys) keys.set(key.accessKeyId, key);
    }
    return new FileAccessKeyStore(path, keys);
  }

  async lookup(accessKeyId: string): Promise<{ secretKey: string; owner: string } | undefined> {
    return this.#keys.get(accessKeyId);
  }

  /** The keys, without their secrets, optionally of one owner. */
  list(owner?: string): Array<Omit<AccessKeyRecord, 'secretKey'>> {
    return [...this.#keys.values()]
      .filter((k) => owner === undefined || k.owner === owner)
      .map(({ secretKey: _secret, ...rest }) => rest);
  }

  /** Creates and stores a key for `owner`; the secret is shown once, by the caller. */
  create(owner: string, nowMs: number): Promise<AccessKeyRecord> {
    return this.#mutate(() => {
      if (this.#keys.size >= accessKeysMax) throw new RangeError(`at most ${accessKeysMax} access keys`);
      let record = generateAccessKey(owner, nowMs);
      while (this.#keys.has(record.accessKeyId)) record = generateAccessKey(owner, nowMs);
      this.#keys.set(record.accessKeyId, record);
      return record;
    });
  }

  /** Revokes a key; true if it existed. Requests it signed are refused from then on. */
  revoke(accessKeyId: string): Promise<boolean> {
    return this.#mutate(() => this.#keys.delete(accessKeyId));
  }

  #mutate<T>(change: () => T): Promise<T> {
    const run = async (): Promise<T> => {
      const before = new Map(this.#keys);
      const result = change();
      try {
        await this.#write();
      } catch (error) {
        // Not on disk, so not done: the in-memory keys go back to what the file holds.
        this.#keys.clear();
        for (const [id, key] of before) this.#keys.set(id, key);
        throw error;
      }
      return result;
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
    return next;
  }

  async #write(): Promise<void> {
    const tmp = `${this.#path}.tmp`;
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(`${JSON.stringify({ version: 1, keys: [...this.#keys.values()] }, null, 2)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, this.#path);
  }
}

/**
 * The daemon's view of the access key file that `trinity s3 keys create | revoke` edits while the
 * node runs: each lookup checks the file's identity (inode, size, mtime) and rereads it when it
 * changed, so a new key works and a revoked one stops working at once. A file others can read is
 * refused (it holds the secrets).
 */
export class ReloadingAccessKeyStore implements AccessKeyStore {
  readonly #path: string;
  #stamp = '';
  #store: FileAccessKeyStore | undefined;
  #loading: Promise<FileAccessKeyStore | undefined> | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  async lookup(accessKeyId: string): Promise<{ secretKey: string; owner: string } | undefined> {
    const store = await this.current();
    return store?.lookup(accessKeyId);
  }

  /** The file as it is now (undefined while it does not exist). */
  current(): Promise<FileAccessKeyStore | undefined> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<FileAccessKeyStore | undefined> {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(this.#path);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
      this.#stamp = '';
      this.#store = undefined;
      return undefined;
    }
    const stamp = `${info.ino} ${info.size} ${info.mtimeMs}`;
    if (stamp === this.#stamp && this.#store !== undefined) return this.#store;
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      throw new Error(
        `the S3 access key file ${this.#path} is readable by others (mode ${(info.mode & 0o777).toString(8)}): run chmod 600 on it`,
      );
    }
    this.#store = await FileAccessKeyStore.open(this.#path);
    this.#stamp = stamp;
    return this.#store;
  }
}
