import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
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

  it('appends when the preallocation does not fit, and gives the space back', async () => {
    const path = join(mount, 'tx.log');
    const log = await TxLog.open(path, { preallocateBytes: 16 * 1024 * 1024 });
    try {
      for (let i = 0; i < 10; i++) await log.append(prepared(i));
    } finally {
      await log.close();
    }
    // The 16 MiB zero tail did not fit in 1 MiB and was not left half-written to fill the disk.
    expect((await stat(path)).size).toBeLessThan(64 * 1024);
    const reopened = await TxLog.open(path, { preallocateBytes: 0 });
    try {
      expect(reopened.replay()).toEqual(Array.from({ length: 10 }, (_, i) => prepared(i)));
    } finally {
      await reopened.close();
    }
  });
});
