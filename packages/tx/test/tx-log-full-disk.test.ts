import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TxLog, type TxLogRecord } from '../src/index.js';

const prepared = (i: number): TxLogRecord => ({
  type: 'part-prepared',
  txId: `tx${i}`,
  coordinator: 'node-c',
  deadlineMs: 1_000 + i,
  shards: [i.toString(16).padStart(64, '0')],
});

/** A real small disk: a 1 MiB tmpfs (mounting needs root, as CI has; elsewhere this is skipped). */
describe.runIf(process.getuid?.() === 0 || process.env.CI === 'true')('TxLog on a small disk', () => {
  let mount = '';
  let mounted = false;
  beforeAll(async () => {
    mount = await mkdtemp(join(tmpdir(), 'trinity-tx-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount]);
    mounted = true;
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', [mount]);
    if (mount !== '') await rm(mount, { recursive: true, force: true });
  });

  it('appends when the preallocation does not fit, taking at most a quarter of the disk', async () => {
    const path = join(mount, 'tx.log');
    const log = await TxLog.open(path, { preallocateBytes: 16 * 1024 * 1024 });
    try {
      for (let i = 0; i < 10; i++) await log.append(prepared(i));
    } finally {
      await log.close();
    }
    // The 16 MiB zero tail does not fit in 1 MiB: the log took at most a quarter of the disk.
    expect((await stat(path)).size).toBeLessThanOrEqual(256 * 1024 + 64 * 1024);
    const reopened = await TxLog.open(path, { preallocateBytes: 0 });
    try {
      expect(reopened.replay()).toEqual(Array.from({ length: 10 }, (_, i) => prepared(i)));
    } finally {
      await reopened.close();
    }
  });

  it('preallocates at most a quarter of the free space, never filling the disk for a moment', async () => {
    const path = join(mount, 'quarter.log');
    const free = async () => {
      const { bavail, bsize } = await statfs(mount);
      return Number(bavail) * Number(bsize);
    };
    const before = await free();
    const log = await TxLog.open(path, { preallocateBytes: 16 * 1024 * 1024 });
    try {
      // While the log appends (and preallocates), a neighbour writes half of what was free: with a
      // zero tail that filled the disk until ENOSPC gave it back, this write could fail.
      await Promise.all([
        (async () => {
          for (let i = 0; i < 10; i++) await log.append(prepared(i));
        })(),
        writeFile(join(mount, 'neighbour'), new Uint8Array(Math.floor(before / 2))),
      ]);
      const size = (await stat(path)).size;
      expect(size).toBeGreaterThan(64 * 1024); // it did preallocate, within the room it had
      expect(size).toBeLessThanOrEqual(Math.ceil(before / 4) + 64 * 1024);
    } finally {
      await log.close();
      await rm(join(mount, 'neighbour'), { force: true });
      await rm(path, { force: true });
    }
  });
});
