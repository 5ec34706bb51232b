import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { NodeError } from '../errors.js';

/** Another live process has the data directory. */
export class DataDirLockedError extends NodeError {
  constructor(dir: string, pid: number) {
    super(
      'DATA_DIR_LOCKED',
      `data directory ${dir} is in use by process ${pid}; stop it or pick another --data-dir`,
      409,
    );
  }
}

const heldHere = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<dir>/LOCK` (created exclusively, holding our pid) so that two nodes never share a data
 * directory. A lock left by a process that is gone (kill -9) is taken over. Returns the release.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const key = resolve(dir);
  // Several nodes of one process (tests, embedding) share a pid: remember our own locks too.
  if (heldHere.has(key)) throw new DataDirLockedError(dir, process.pid);
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(String(process.pid));
      await handle.close();
      heldHere.add(key);
      return async () => {
        heldHere.delete(key);
        await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new DataDirLockedError(dir, pid);
    }
    await rm(path, { force: true }); // stale: its process is gone
  }
  throw new NodeError('DATA_DIR_LOCKED', `could not lock data directory ${dir}`, 409);
}
