import type * as NodeFsPromises from 'node:fs/promises';
import { assert, createSha256, equalBytes, parseConfig, toHex } from '@trinity/core';
import { tailMask, wordsFor } from './_bits.js';
import { type IndexStore, readEntry } from './_index-store.js';
import { type SemanticIndexConfigInput, semanticIndexConfigSchema } from './config.js';
import { IndexFileError, IndexFileUnavailableError } from './errors.js';
import { hypervectorDimsMax, hypervectorDimsMin } from './hypervector.js';

/**
 * The semantic index file, version 1. All integers little-endian.
 *
 *   offset  bytes       field
 *   0       8           magic "TRVSAIDX"
 *   8       2           format version (1)
 *   10      2           flags (0)
 *   12      2           dims (16..10000)
 *   14      2           fingerprint encoding (1: positional bundle of the sparse byte codebook)
 *   16      4           codebook seed
 *   20      4           reserved (0)
 *   24      8           entry count n (at most 2^32 - 1)
 *   32      32          reserved (0)
 *   64      n × 32      shard hashes
 *   ...     n × 8W      vectors, W = ceil(dims / 32): W sign words, then W nonzero words
 *   end-32  32          SHA-256 of every byte before it
 *
 * A reader rejects anything else: wrong magic, an unknown version, flags or encoding, a size that is not
 * exactly the one the header implies, a checksum mismatch, a non-canonical vector, a repeated hash.
 */
export const indexFileVersion = 1;
export const indexFileMagic = 'TRVSAIDX';
/** The fingerprint encoding this build writes and reads. */
export const fingerprintEncodingVersion = 1;
const headerBytes = 64;
const checksumBytes = 32;
const chunkBytes = 4 * 1024 * 1024;

/**
 * Checks `path`, then finds node:fs/promises with process.getBuiltinModule (Node >= 20.16), so that
 * the package never imports a node: module; IndexFileUnavailableError on a host without it.
 */
function nodeFsFor(operation: 'save' | 'load', path: string): typeof NodeFsPromises {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fsp = proc?.getBuiltinModule?.('node:fs/promises') as typeof NodeFsPromises | undefined;
  if (fsp === undefined) throw new IndexFileUnavailableError(operation);
  return fsp;
}

/** What `saveIndexFile` needs of an index. */
export interface IndexSnapshotSource {
  readonly dims: number;
  readonly codebookSeed: number;
  readonly store: IndexStore;
}

function header(dims: number, codebookSeed: number, count: number): Uint8Array {
  const out = new Uint8Array(headerBytes);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(indexFileMagic), 0);
  view.setUint16(8, indexFileVersion, true);
  view.setUint16(10, 0, true);
  view.setUint16(12, dims, true);
  view.setUint16(14, fingerprintEncodingVersion, true);
  view.setUint32(16, codebookSeed, true);
  view.setBigUint64(24, BigInt(count), true);
  return out;
}

/**
 * Writes the index to `path` atomically: a temp file beside it, written synchronously from the live
 * index (so the snapshot is consistent), then fsync, rename over `path` and fsync of the directory.
 */
export async function saveIndexFile(path: string, source: IndexSnapshotSource): Promise<void> {
  nodeFsFor('save', path); // fails before loading @trinity/core/fs, with a clear message
  // Loaded on first save, so that the rest of the package never pulls in node: modules.
  const { writeFileAtomic } = await import('@trinity/core/fs');
  await writeFileAtomic(path, (write) => writeBody(write, source), { dirSyncBestEffort: true });
}

function writeBody(out: (bytes: Uint8Array) => void, source: IndexSnapshotSource): void {
  const { store, dims, codebookSeed } = source;
  const hasher = createSha256();
  const write = (bytes: Uint8Array, hash = true): void => {
    if (hash) hasher.update(bytes);
    out(bytes);
  };
  write(header(dims, codebookSeed, store.count));
  for (let slot = 0; slot < store.count; slot += chunkBytes / 32) {
    write(store.hashes.subarray(slot * 32, Math.min(store.count, slot + chunkBytes / 32) * 32));
  }
  const words = wordsFor(dims);
  const perChunk = Math.max(1, Math.floor(chunkBytes / (8 * words)));
  const buffer = new Uint8Array(perChunk * 8 * words);
  const view = new DataView(buffer.buffer);
  const sign = new Uint32Array(words);
  const nonzero = new Uint32Array(words);
  for (let slot = 0; slot < store.count; slot += perChunk) {
    const end = Math.min(store.count, slot + perChunk);
    for (let s = slot; s < end; s++) {
      readEntry(store.memory.u32, store.entryAt(s) / 4, sign, nonzero);
      const base = (s - slot) * 8 * words;
      for (let w = 0; w < words; w++) {
        view.setUint32(base + 4 * w, sign[w]!, true);
        view.setUint32(base + 4 * (words + w), nonzero[w]!, true);
      }
    }
    write(buffer.subarray(0, (end - slot) * 8 * words));
  }
  write(hasher.digest(), false);
}

interface FileHeader {
  readonly dims: number;
  readonly codebookSeed: number;
  readonly count: number;
}

function parseHeader(path: string, bytes: Uint8Array, fileBytes: number): FileHeader {
  if (fileBytes < headerBytes + checksumBytes)
    throw new IndexFileError(path, `${fileBytes} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== indexFileMagic) {
    throw new IndexFileError(path, 'not a Trinity semantic index (bad magic)');
  }
  const version = view.getUint16(8, true);
  if (version !== indexFileVersion) {
    throw new IndexFileError(
      path,
      `unsupported format version ${version} (this build reads ${indexFileVersion})`,
    );
  }
  const flags = view.getUint16(10, true);
  const dims = view.getUint16(12, true);
  const encoding = view.getUint16(14, true);
  const count = Number(view.getBigUint64(24, true));
  if (flags !== 0) throw new IndexFileError(path, `unknown flags ${flags}`);
  if (encoding !== fingerprintEncodingVersion)
    throw new IndexFileError(path, `unknown fingerprint encoding ${encoding}`);
  if (dims < hypervectorDimsMin || dims > hypervectorDimsMax)
    throw new IndexFileError(path, `bad dims ${dims}`);
  if (!(count <= 2 ** 32 - 1)) throw new IndexFileError(path, `bad entry count ${count}`);
  const expected = headerBytes + count * (32 + 8 * wordsFor(dims)) + checksumBytes;
  if (fileBytes !== expected) {
    throw new IndexFileError(
      path,
      `${fileBytes} bytes, but the header implies ${expected} (truncated or padded)`,
    );
  }
  return { dims, codebookSeed: view.getUint32(16, true), count };
}

/** The entries of a file, streamed into an index built by `create` (which gets the file's dims and seed). */
export async function loadIndexFile<T extends { _append: AppendFn; has(hash: Uint8Array): boolean }>(
  path: string,
  config: SemanticIndexConfigInput,
  create: (config: SemanticIndexConfigInput) => T,
): Promise<T> {
  const handle = await nodeFsFor('load', path)
    .open(path, 'r')
    .catch((error: unknown) => {
      throw new IndexFileError(path, `cannot open: ${(error as Error).message}`, { cause: error });
    });
  try {
    const stats = await handle.stat();
    // A directory opens fine on POSIX and fails only at the first read, with a bare EISDIR.
    if (!stats.isFile()) throw new IndexFileError(path, 'is not a regular file');
    const fileBytes = stats.size;
    const reader = new ChunkReader(handle, path);
    const head = parseHeader(path, await reader.read(Math.min(headerBytes, fileBytes)), fileBytes);
    const parsed = parseConfig(semanticIndexConfigSchema, config, 'semantic index config');
    const given = config as { dims?: number; codebookSeed?: number };
    if (
      (given.dims !== undefined && given.dims !== head.dims) ||
      (given.codebookSeed ?? head.codebookSeed) !== head.codebookSeed
    ) {
      throw new IndexFileError(
        path,
        `holds dims ${head.dims} / codebook seed ${head.codebookSeed}, not those configured`,
      );
    }
    const index = create({
      ...parsed,
      dims: head.dims,
      codebookSeed: head.codebookSeed,
      initialCapacity: Math.max(1, Math.min(head.count, parsed.maxEntries)),
    });
    await readEntries(reader, head, index, path);
    return index;
  } finally {
    await handle.close();
  }
}

type AppendFn = (hash: Uint8Array, sign: Uint32Array, nonzero: Uint32Array) => void;

async function readEntries(
  reader: ChunkReader,
  head: FileHeader,
  index: { _append: AppendFn; has(hash: Uint8Array): boolean },
  path: string,
): Promise<void> {
  const hashes = new Uint8Array(head.count * 32);
  for (let offset = 0; offset < hashes.length; offset += chunkBytes) {
    hashes.set(await reader.read(Math.min(chunkBytes, hashes.length - offset)), offset);
  }
  const words = wordsFor(head.dims);
  const perChunk = Math.max(1, Math.floor(chunkBytes / (8 * words)));
  let problem: string | undefined;
  for (let slot = 0; slot < head.count; slot += perChunk) {
    const n = Math.min(perChunk, head.count - slot);
    const bytes = await reader.read(n * 8 * words);
    if (problem !== undefined) continue;
    problem = appendChunk(index, hashes, slot, n, bytes, head.dims);
  }
  const stored = await reader.read(checksumBytes, false);
  if (!equalBytes(stored, reader.digest()))
    throw new IndexFileError(path, 'checksum mismatch: the file is corrupt');
  if (problem !== undefined) throw new IndexFileError(path, problem);
}

/** Appends `n` entries from one chunk of vectors; returns what is wrong instead of throwing, or undefined. */
function appendChunk(
  index: { _append: AppendFn; has(hash: Uint8Array): boolean },
  hashes: Uint8Array,
  first: number,
  n: number,
  bytes: Uint8Array,
  dims: number,
): string | undefined {
  const words = wordsFor(dims);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sign = new Uint32Array(words);
  const nonzero = new Uint32Array(words);
  for (let i = 0; i < n; i++) {
    for (let w = 0; w < words; w++) {
      sign[w] = view.getUint32(i * 8 * words + 4 * w, true);
      nonzero[w] = view.getUint32(i * 8 * words + 4 * (words + w), true);
      if ((sign[w]! & ~nonzero[w]!) !== 0) return `entry ${first + i} is not a canonical hypervector`;
    }
    if ((nonzero[words - 1]! & ~tailMask(dims)) !== 0)
      return `entry ${first + i} has bits past its dimensions`;
    const hash = hashes.subarray((first + i) * 32, (first + i + 1) * 32);
    if (index.has(hash)) return `shard hash ${toHex(hash)} appears twice`;
    index._append(hash, sign, nonzero);
  }
  return undefined;
}

/** Sequential reads of a file handle through one reusable buffer, hashing what it reads. */
class ChunkReader {
  readonly #handle: NodeFsPromises.FileHandle;
  readonly #path: string;
  readonly #hasher = createSha256();
  #buffer = new Uint8Array(0);
  #position = 0;

  constructor(handle: NodeFsPromises.FileHandle, path: string) {
    this.#handle = handle;
    this.#path = path;
  }

  /** The next `length` bytes (valid until the next read). Hashed unless `hash` is false. */
  async read(length: number, hash = true): Promise<Uint8Array> {
    if (this.#buffer.length < length) this.#buffer = new Uint8Array(Math.max(length, 64 * 1024));
    const out = this.#buffer.subarray(0, length);
    for (let filled = 0; filled < length; ) {
      const { bytesRead } = await this.#handle.read(out, filled, length - filled, this.#position + filled);
      if (bytesRead === 0) throw new IndexFileError(this.#path, 'ended early (truncated while reading)');
      filled += bytesRead;
    }
    this.#position += length;
    if (hash) this.#hasher.update(out);
    return out;
  }

  digest(): Uint8Array {
    const digest = this.#hasher.digest();
    assert(digest.length === checksumBytes);
    return digest;
  }
}
