import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const cliPath = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port P such that P+i, P+100+i and P+200+i (i < count) are all free on 127.0.0.1. */
export async function freeBasePort(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = [...Array(count).keys()].flatMap((i) => [base + i, base + 100 + i, base + 200 + i]);
    const free = await Promise.all(ports.map(portFree));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free port range found');
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file under `dir` whose name is a 64-hex shard hash. */
export async function shardFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isFile() && /^[0-9a-f]{64}$/.test(entry.name)) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function getObject(api: string, id: string): Promise<Buffer> {
  const response = await fetch(`${api}/v1/objects/${id}`);
  if (!response.ok) throw new Error(`GET ${id} from ${api}: ${response.status} ${await response.text()}`);
  return Buffer.from(await response.arrayBuffer());
}

export async function putObject(api: string, data: Uint8Array, name = 'test.bin'): Promise<string> {
  const response = await fetch(`${api}/v1/objects?name=${name}`, { method: 'PUT', body: data });
  if (!response.ok) throw new Error(`PUT to ${api}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}
