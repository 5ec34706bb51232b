import type * as NodeFs from 'node:fs';
import type * as NodeFsPromises from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type * as NodePath from 'node:path';
import { nodeBuiltin } from './_builtin.js';
import { assert } from './assert.js';
import { randomBytes, toHex } from './bytes.js';

/**
 * Durable file writes for Node.js, in one place: `@trinity/core/fs` (a separate entry, so the main
 * entry stays free of `node:` imports). Every Trinity package that writes a file that must survive
 * a power cut goes through these.
 */

/**
 * Node's modules, found with process.getBuiltinModule when first used: this entry has no static
 * `node:` import, so a browser bundle that reaches it (e.g. through a package's optional save/load)
 * still builds, and only a call fails.
 */
function builtin<T>(id: string): T {
  const found = nodeBuiltin(id);
  if (found === undefined) throw new TypeError(`@trinity/core/fs needs ${id}: Node.js >= 20.16`);
  return found as T;
}
const nodeFs = () => builtin<typeof NodeFs>('node:fs');
const nodeFsPromises = () => builtin<typeof NodeFsPromises>('node:fs/promises');
const nodePath = () => builtin<typeof NodePath>('node:path');

/** What `writeFileAtomic` writes: bytes, text, or a synchronous writer that streams the body. */
export type FileBody = Uint8Array | string | ((write: (bytes: Uint8Array) => void) => void);

export interface AtomicWriteOptions {
  /** fsync the file before the rename and its folder after (default true). Off only for throwaway data. */
  readonly fsync?: boolean;
  /** Permission bits of the new file (default 0o644). */
  readonly mode?: number;
  /** The temp file (default: a fresh random name beside `path`); it must be in the same folder. */
  readonly tempPath?: string;
  /** Ignore a platform that cannot fsync a folder (the rename is still atomic); default false. */
  readonly dirSyncBestEffort?: boolean;
}

/**
 * Replaces `path` with `body` atomically and durably: a temp file beside it is written, fsynced,
 * renamed over `path`, then the folder is fsynced. A reader sees the old file or the new one, never
 * a mix; after a crash the temp file may be left behind, `path` is never torn. A writer body runs in
 * one synchronous pass, so a snapshot of live data it takes is consistent.
 */
export async function writeFileAtomic(
  path: string,
  body: FileBody,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const fsync = options.fsync ?? true;
  const { dirname, join } = nodePath();
  const { rename, rm } = nodeFsPromises();
  const temp = options.tempPath ?? join(dirname(path), `.${toHex(randomBytes(8))}.tmp`);
  try {
    // A temp file a crash left behind is replaced, never written into (its mode would stay).
    await rm(temp, { force: true });
    if (typeof body === 'function') writeStreamed(temp, body, fsync, options.mode ?? 0o644);
    else await writeWhole(temp, body, fsync, options.mode ?? 0o644);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDir(dirname(path), { fsync, bestEffort: options.dirSyncBestEffort ?? false });
}

async function writeWhole(
  temp: string,
  data: Uint8Array | string,
  fsync: boolean,
  mode: number,
): Promise<void> {
  const handle = await nodeFsPromises().open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    if (fsync) await handle.sync();
  } finally {
    await handle.close();
  }
}

function writeStreamed(
  temp: string,
  body: (write: (bytes: Uint8Array) => void) => void,
  fsync: boolean,
  mode: number,
): void {
  const { closeSync, fsyncSync, openSync, writeSync } = nodeFs();
  const fd = openSync(temp, 'wx', mode);
  try {
    body((bytes) => {
      for (let offset = 0; offset < bytes.length; ) {
        const written = writeSync(fd, bytes, offset);
        assert(written > 0, 'writeFileAtomic: a write made no progress');
        offset += written;
      }
    });
    if (fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `data` to a new file at `path` (which must not exist) and, when `fsync`, fsyncs it before closing.
 * Through the callback API, not a FileHandle, and closed synchronously (on a local file system,
 * closing a file whose data is already written and synced does no I/O; on a network or FUSE file
 * system a close is a round trip, here on the event loop): every asynchronous file call is a trip to
 * libuv's threads and back, about 50 µs of CPU on a loaded 2-core VM, so a shard store's write makes
 * three, not four.
 */
export async function writeNewFile(
  path: string,
  data: Uint8Array,
  options: { fsync?: boolean } = {},
): Promise<void> {
  const fs = nodeFs();
  const fd = await new Promise<number>((resolve, reject) =>
    fs.open(path, 'wx', 0o644, (error, opened) => (error ? reject(error) : resolve(opened))),
  );
  try {
    for (let offset = 0; offset < data.length; ) {
      const written = await new Promise<number>((resolve, reject) =>
        fs.write(fd, data, offset, data.length - offset, offset, (error, bytes) =>
          error ? reject(error) : resolve(bytes),
        ),
      );
      assert(written > 0, 'writeNewFile: a write made no progress');
      offset += written;
    }
    if (options.fsync ?? true) await fsyncFd(fs, fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync of an open file descriptor, on libuv's threads. */
function fsyncFd(fs: typeof NodeFs, fd: number): Promise<void> {
  return new Promise<void>((resolve, reject) => fs.fsync(fd, (error) => (error ? reject(error) : resolve())));
}

/** Writes all of `data` at `position` of the file, however many writes that takes. */
export async function writeAll(handle: FileHandle, data: Uint8Array, position = 0): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, position + offset);
    assert(bytesWritten > 0, 'writeAll: a write made no progress');
    offset += bytesWritten;
  }
}

export interface SyncDirOptions {
  /** false: do nothing (default true). */
  readonly fsync?: boolean;
  /** Ignore a platform that cannot fsync a folder (the rename before it is still atomic). */
  readonly bestEffort?: boolean;
}

/**
 * fsyncs a folder, so entries created, renamed or removed in it survive a power cut. The folder is
 * opened and closed synchronously (on a local file system a lookup of a cached path and the release
 * of a descriptor: no I/O, microseconds; on a network or FUSE file system round trips, here on the
 * event loop) and only the fsync runs on libuv's threads: one trip there and back instead of three
 * (open, fsync, close), about 100 µs of CPU less per call on a loaded 2-core VM.
 */
export async function syncDir(dir: string, options: SyncDirOptions = {}): Promise<void> {
  if (!(options.fsync ?? true)) return;
  const fs = nodeFs();
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch (error) {
    if (options.bestEffort) return;
    throw error;
  }
  try {
    await fsyncFd(fs, fd);
  } catch (error) {
    if (!options.bestEffort) throw error;
  } finally {
    fs.closeSync(fd);
  }
}
