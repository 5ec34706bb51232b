import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { patternBytes } from './helpers.js';

/**
 * The directory tree the sync tests move there and back: `files` numbered files (1 B to ~37 KiB,
 * nested up to three levels, many per directory so listings page), plus a file with spaces and
 * URL-special characters in its name, one with non-ASCII, an empty one, and one of 9 MiB + 17 B
 * (above both shell clients' multipart thresholds as the tests configure them).
 */
export async function makeTree(root: string, files: number): Promise<void> {
  for (let i = 0; i < files; i++) {
    const sub = join(root, `d${i % 4}`, i % 3 === 0 ? 'deep' : '', i >= 100 ? `more${i % 10}` : '');
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `f${i}.bin`), patternBytes(37 * i + 1, i + 1));
  }
  await writeFile(join(root, 'space and+plus&amp.txt'), 'odd name\n');
  await writeFile(join(root, 'ünïcode-𝄞.txt'), 'unicode name\n');
  await writeFile(join(root, 'empty.txt'), '');
  await writeFile(join(root, 'big.bin'), patternBytes(9 * 1024 * 1024 + 17, 99));
}

/** Every file under `root` by its path relative to `root` (`/`-separated), with its bytes. */
export async function treeFiles(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(root, path).split('\\').join('/'), await readFile(path));
  }
  return out;
}

/** Both trees hold the same file names with the same bytes. */
export async function expectSameTree(a: string, b: string): Promise<void> {
  const [left, right] = [await treeFiles(a), await treeFiles(b)];
  expect([...right.keys()].sort()).toEqual([...left.keys()].sort());
  for (const [name, bytes] of left) expect(Buffer.compare(bytes, right.get(name)!), name).toBe(0);
}
