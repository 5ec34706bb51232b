import { open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ed25519, fromHex, isHex, randomBytes, toHex } from '@trinity/core';
import { NodeError } from '../errors.js';

/**
 * An owner: the Ed25519 key pair that signs descriptors, put intents and tombstones, and wraps
 * object keys. Kept in a file of mode 0600:
 *
 *   {"kind":"trinity-owner-key","version":1,"secretKey":"<64 hex>"}
 */
export interface OwnerKey {
  /** Hex public key: the `owner` of every descriptor this key signs. */
  readonly publicKey: string;
  readonly secretKey: Uint8Array;
}

/** An owner key file that is missing, unreadable, malformed or readable by others. */
export class OwnerKeyError extends NodeError {
  constructor(message: string) {
    super('OWNER_KEY_INVALID', message, 500);
  }
}

export function ownerKeyFromSecret(secretKey: Uint8Array): OwnerKey {
  return { publicKey: toHex(ed25519.publicKey(secretKey)), secretKey };
}

function encodeOwnerKey(secretKey: Uint8Array): string {
  return `${JSON.stringify({ kind: 'trinity-owner-key', version: 1, secretKey: toHex(secretKey) })}\n`;
}

/** Reads an owner key file, refusing one that others may read. */
export async function readOwnerKey(path: string): Promise<OwnerKey> {
  let mode: number;
  let text: string;
  try {
    mode = (await stat(path)).mode;
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new OwnerKeyError(`owner key ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new OwnerKeyError(
      `owner key ${path} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new OwnerKeyError(`owner key ${path} is not a Trinity owner key file`);
  }
  const fields = parsed as { kind?: unknown; version?: unknown; secretKey?: unknown };
  if (fields.kind !== 'trinity-owner-key' || fields.version !== 1 || !isHex(fields.secretKey, 32)) {
    throw new OwnerKeyError(`owner key ${path} is not a Trinity owner key file (version 1)`);
  }
  return ownerKeyFromSecret(fromHex(fields.secretKey));
}

/** Writes a fresh owner key to `path` (mode 0600); refuses to replace an existing file. */
export async function createOwnerKey(path: string): Promise<OwnerKey> {
  const secretKey = randomBytes(32);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_EXCL with mode 0600: never readable by others, never overwriting a key someone relies on.
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new OwnerKeyError(`owner key ${path} already exists; not replaced`);
    throw new OwnerKeyError(`owner key ${path}: cannot create (${code ?? 'error'}) in ${dirname(path)}`);
  }
  try {
    await handle.writeFile(encodeOwnerKey(secretKey));
    await handle.sync();
  } finally {
    await handle.close();
  }
  return ownerKeyFromSecret(secretKey);
}

/** The owner key at `path`, created on first use. */
export async function loadOrCreateOwnerKey(path: string): Promise<OwnerKey> {
  try {
    return await createOwnerKey(path);
  } catch (error) {
    if (error instanceof OwnerKeyError && /already exists/.test(error.message)) return readOwnerKey(path);
    throw error;
  }
}
