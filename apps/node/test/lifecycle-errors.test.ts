import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFetch, getObject, putObject, startNodes, tempDir } from './helpers.js';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

/**
 * The lifecycle issue's user-error cases on a real 6-node network. Node 0's disk is a real 6 MiB
 * tmpfs (mounting needs root, as CI has; elsewhere the suite says so and is skipped).
 */
const isRoot = process.getuid?.() === 0;
describe.runIf(isRoot || process.env.CI === 'true')('errors a user can cause', () => {
  let mount: { path: string; remove: () => Promise<void> } | undefined;
  let mounted = false;
  let close: (() => Promise<void>) | undefined;
  let nodes: Awaited<ReturnType<typeof startNodes>>['nodes'] = [];
  beforeAll(async () => {
    mount = await tempDir('trinity-full-disk-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mount.path]);
    mounted = true;
    await mkdir(join(mount.path, 'n0'));
    const disk = join(mount.path, 'n0');
    ({ nodes, close } = await startNodes('trinity-errors-', 6, (i) => (i === 0 ? { dataDir: disk } : {})));
  }, 300_000);
  afterAll(async () => {
    await close?.();
    if (mounted) execFileSync('umount', [mount!.path]);
    await mount?.remove();
  }, 120_000);

  it('a full disk answers 507, leaves no temp or staged files, and loses nothing stored', async () => {
    const small = randomBytes(100_000);
    const id = await putObject(nodes[0]!.apiUrl, small, 'small');
    const response = await apiFetch(`${nodes[0]!.apiUrl}/v1/objects?name=big`, {
      method: 'PUT',
      body: randomBytes(24 * 1024 * 1024),
    });
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(response.status).toBe(507);
    expect(body.error.code).toBe('INSUFFICIENT_STORAGE');
    expect(body.error.message).toMatch(/the disk is full/);
    expect((await filesUnder(mount!.path)).filter((file) => file.endsWith('.tmp'))).toEqual([]);
    // The failed put's shards were unstaged everywhere.
    for (const node of nodes) expect(node.store.stagedTransactions()).toEqual([]);
    for (const node of nodes) expect(Buffer.from(await getObject(node.apiUrl, id)).equals(small)).toBe(true);
  }, 300_000);

  it('a null (or non-object) batch header is a 400', async () => {
    for (const text of ['null', '3', '[]']) {
      const json = new TextEncoder().encode(text);
      const head = new Uint8Array(4 + json.length);
      new DataView(head.buffer).setUint32(0, json.length);
      head.set(json, 4);
      const response = await apiFetch(`${nodes[1]!.apiUrl}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-trinity-batch' },
        body: head,
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
        'batch object 0: header must be a JSON object',
      );
    }
  }, 60_000);

  it('an unknown id answers 404 within 0.5 s on a healthy network', async () => {
    // The bound is the issue's; a miss takes ~0.15 s here. The best of three keeps one scheduling
    // hiccup on a loaded machine from failing it, while a miss that waits on a timeout still fails.
    const elapsed: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = performance.now();
      const response = await apiFetch(
        `${nodes[1 + attempt]!.apiUrl}/v1/objects/${'ab'.repeat(31)}0${attempt}`,
      );
      elapsed.push(performance.now() - started);
      expect(response.status).toBe(404);
    }
    expect(Math.min(...elapsed)).toBeLessThan(500);
  }, 60_000);
});
