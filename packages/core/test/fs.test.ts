import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { syncDir, writeAll, writeFileAtomic, writeNewFile } from '../src/fs.js';
import { hashHexPattern, isHashHex, isTxIdHex, txIdPattern } from '../src/index.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trinity-core-fs-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes bytes, text and streamed bodies, replacing the old file and leaving no temp file', async () => {
    const path = join(dir, 'a.bin');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect([...(await readFile(path))]).toEqual([1, 2, 3]);
    await writeFileAtomic(path, 'héllo');
    expect(await readFile(path, 'utf8')).toBe('héllo');
    await writeFileAtomic(path, (write) => {
      write(new Uint8Array([9]));
      write(new Uint8Array(0));
      write(new Uint8Array([8, 7]));
    });
    expect([...(await readFile(path))]).toEqual([9, 8, 7]);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps the old file whole and removes the temp file when the body fails', async () => {
    const path = join(dir, 'keep.txt');
    await writeFile(path, 'old');
    await expect(
      writeFileAtomic(path, (write) => {
        write(new Uint8Array([1]));
        throw new Error('snapshot failed');
      }),
    ).rejects.toThrow('snapshot failed');
    expect(await readFile(path, 'utf8')).toBe('old');
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('uses the given temp path and file mode', async () => {
    const path = join(dir, 'key');
    await writeFile(`${path}.checkpoint`, 'leftover of a crash');
    await writeFileAtomic(path, 'secret', { mode: 0o600, tempPath: `${path}.checkpoint` });
    expect(await readFile(path, 'utf8')).toBe('secret');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await expect(stat(`${path}.checkpoint`)).rejects.toThrow(/ENOENT/);
  });

  it('fails when the folder does not exist, creating nothing', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'x'), 'x')).rejects.toThrow(/ENOENT/);
  });
});

describe('writeNewFile, writeAll and syncDir', () => {
  it('writes a new file and refuses to overwrite one', async () => {
    const path = join(dir, 'new.bin');
    await writeNewFile(path, new Uint8Array([5, 6]), { fsync: false });
    expect([...(await readFile(path))]).toEqual([5, 6]);
    await expect(writeNewFile(path, new Uint8Array([1]))).rejects.toThrow(/EEXIST/);
  });

  it('writes large and empty bodies whole with fsync, and leaves no descriptor open', async () => {
    const openFds = async () => (await readdir('/proc/self/fd').catch(() => [])).length;
    const before = await openFds();
    const big = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => (i * 31 + 7) & 0xff);
    await writeNewFile(join(dir, 'big.bin'), big);
    expect(Buffer.compare(await readFile(join(dir, 'big.bin')), big)).toBe(0);
    await writeNewFile(join(dir, 'empty.bin'), new Uint8Array(0));
    expect((await stat(join(dir, 'empty.bin'))).size).toBe(0);
    await expect(writeNewFile(join(dir, 'big.bin'), big)).rejects.toThrow(/EEXIST/);
    await expect(writeNewFile(join(dir, 'missing', 'x'), big)).rejects.toThrow(/ENOENT/);
    for (let i = 0; i < 20; i++) await syncDir(dir);
    await syncDir(join(dir, 'nope'), { bestEffort: true });
    expect(await openFds()).toBe(before);
  });

  it('closes the file exactly once and passes the error on when a write or the fsync fails', async () => {
    const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
    const eio = () => Object.assign(new Error('EIO: i/o error (injected)'), { code: 'EIO' });
    const closeSync = vi.spyOn(fs, 'closeSync');
    try {
      const write = vi.spyOn(fs, 'write').mockImplementation(((...args: unknown[]) => {
        (args.at(-1) as (error: Error) => void)(eio());
      }) as typeof fs.write);
      await expect(writeNewFile(join(dir, 'eio-write.bin'), new Uint8Array(10))).rejects.toThrow(/EIO/);
      expect(closeSync).toHaveBeenCalledTimes(1);
      write.mockRestore();
      vi.spyOn(fs, 'fsync').mockImplementation(((_fd: number, done: (error: Error) => void) =>
        done(eio())) as typeof fs.fsync);
      await expect(writeNewFile(join(dir, 'eio-fsync.bin'), new Uint8Array(10))).rejects.toThrow(/EIO/);
      expect(closeSync).toHaveBeenCalledTimes(2);
      await expect(syncDir(dir)).rejects.toThrow(/EIO/);
      expect(closeSync).toHaveBeenCalledTimes(3);
      await syncDir(dir, { bestEffort: true });
      expect(closeSync).toHaveBeenCalledTimes(4);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('syncs a folder, fails on a missing one unless best effort, and does nothing when off', async () => {
    await syncDir(dir);
    await syncDir(join(dir, 'nope'), { fsync: false });
    await syncDir(join(dir, 'nope'), { bestEffort: true });
    await expect(syncDir(join(dir, 'nope'))).rejects.toThrow(/ENOENT/);
  });

  it('writeAll writes every byte at the given position', async () => {
    const { open } = await import('node:fs/promises');
    const path = join(dir, 'positioned.bin');
    const handle = await open(path, 'w+');
    try {
      await writeAll(handle, new Uint8Array([1, 2, 3, 4]));
      await writeAll(handle, new Uint8Array([9, 9]), 1);
    } finally {
      await handle.close();
    }
    expect([...(await readFile(path))]).toEqual([1, 9, 9, 4]);
  });
});

describe('hex ids', () => {
  it('accepts exactly the lower-case hex of the right length (known answers)', () => {
    const hash = 'ab'.repeat(32);
    expect(isHashHex(hash)).toBe(true);
    expect(isHashHex(hash.toUpperCase())).toBe(false);
    expect(isHashHex(`${hash}0`)).toBe(false);
    expect(isHashHex(hash.slice(2))).toBe(false);
    expect(isHashHex('../'.padEnd(64, '0'))).toBe(false);
    expect(isHashHex(42)).toBe(false);
    expect(isTxIdHex('0123abcd')).toBe(true);
    expect(isTxIdHex('0123abc')).toBe(false);
    expect(isTxIdHex('a'.repeat(64))).toBe(true);
    expect(isTxIdHex('a'.repeat(65))).toBe(false);
    expect(isTxIdHex(undefined)).toBe(false);
  });

  it('agrees with a character-by-character model (property)', () => {
    const model = (value: string, min: number, max: number) =>
      value.length >= min && value.length <= max && [...value].every((c) => '0123456789abcdef'.includes(c));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: fc.constantFrom(...'0123456789abcdefABG/.'), maxLength: 70 }),
          // Mostly valid: every length around the bounds, an occasional bad character.
          fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 6, maxLength: 66 }),
        ),
        (value) => {
          expect(isHashHex(value)).toBe(model(value, 64, 64));
          expect(hashHexPattern.test(value)).toBe(model(value, 64, 64));
          expect(isTxIdHex(value)).toBe(model(value, 8, 64));
          expect(txIdPattern.test(value)).toBe(model(value, 8, 64));
        },
      ),
      { numRuns: 500 },
    );
  });
});
