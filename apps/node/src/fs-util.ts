import { open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Writes `data` to `path` atomically and durably: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const temp = join(
    dirname(path),
    `.${Date.now()}-${process.pid}-${Math.random().toString(16).slice(2)}.tmp`,
  );
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
