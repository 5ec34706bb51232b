import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '@trinity/core';
import { CapacityExceededError } from './errors.js';

/** True when a file system error says the path does not exist. */
export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}

/** True when a file system error says the path already exists. */
export function isExists(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EEXIST' || code === 'ENOTEMPTY';
}

/**
 * A write that failed because the disk (or the user's quota) is full becomes CapacityExceededError,
 * so callers can answer "insufficient storage" and try elsewhere; any other error is returned as is.
 */
export function diskFullAsCapacity(error: unknown, path: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return error;
  return new CapacityExceededError(`the disk is full (${code} writing ${path})`, {
    reason: 'disk-full',
    code,
  });
}

/** A fresh, unguessable temp file name inside `tmpDir`. */
export function tempPath(tmpDir: string, label: string): string {
  return join(tmpDir, `${label}-${toHex(nodeRandomBytes(12))}.tmp`);
}

/** What readFileBounded found. */
export type BoundedRead = { kind: 'ok'; data: Uint8Array } | { kind: 'too-large'; sizeBytes: number };

/** Reads a whole file, but never more than `maxBytes`: a larger file is reported, not read. */
export async function readFileBounded(
  path: string,
  maxBytes: number,
  buffer: (size: number) => Uint8Array = (size) => new Uint8Array(size),
): Promise<BoundedRead> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) return { kind: 'too-large', sizeBytes: size };
    const data = buffer(size);
    if (data.length !== size) throw new RangeError(`buffer of ${data.length} bytes for a ${size}-byte file`);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(data, offset, size - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    // A file that shrank while being read is returned short; its hash then fails verification.
    return { kind: 'ok', data: offset === size ? data : data.subarray(0, offset) };
  } finally {
    await handle.close();
  }
}

/** Removes a path and everything under it; a missing path is fine. */
export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 2 });
}

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight. After the first failure no new
 * item starts, and it rethrows only once every call already running has finished: nothing of the
 * batch is still touching files then.
 */
export async function forEachSettled<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        if (!failed) {
          failed = true;
          failure = error;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failed) throw failure;
}
