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

/**
 * A base port P such that P+i, P+100+i and P+200+i (i < count) are all free on 127.0.0.1. The range
 * stays below Linux's ephemeral ports (32768 and up): there an outgoing connection of any process
 * can take a port between this check and a node's bind (seen in CI as "port … is in use").
 */
export async function freeBasePort(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const ports = [...Array(count).keys()].flatMap((i) => [base + i, base + 100 + i, base + 200 + i]);
    ports.push(base + 300); // a devnet's S3 gateway (node 0)
    const free = await Promise.all(ports.map(portFree));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free port range found');
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** The sample of metric `name` (with `labels`, e.g. '{result="granted"}') on a /metrics page, if any. */
export async function metricSample(
  metricsUrl: string,
  name: string,
  labels = '',
): Promise<number | undefined> {
  const page = await (await fetch(metricsUrl)).text();
  const line = page.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
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

/** The API token of each node a test started, by the origin of its API. */
const apiTokens = new Map<string, string>();

/** Makes `apiFetch` (and the helpers below) send `token` to the API at `apiUrl`. */
export function registerApiToken(apiUrl: string, token: string): void {
  apiTokens.set(new URL(apiUrl).origin, token);
}

/** `Authorization: Bearer …` for the API at `apiUrl` (its node's token), or nothing for an unknown one. */
export function authHeaders(apiUrl: string): Record<string, string> {
  const token = apiTokens.get(new URL(apiUrl).origin);
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** fetch, with the bearer token of the node whose API `url` is on (registered when it started). */
export function apiFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(authHeaders(url)))
    if (!headers.has(name)) headers.set(name, value);
  return fetch(url, { ...init, headers });
}

export async function getObject(api: string, id: string): Promise<Buffer> {
  const response = await apiFetch(`${api}/v1/objects/${id}`);
  if (!response.ok) throw new Error(`GET ${id} from ${api}: ${response.status} ${await response.text()}`);
  return Buffer.from(await response.arrayBuffer());
}

/** Stores `data` through the node at `api` (encrypted unless `public`); returns its id. */
export async function putObject(
  api: string,
  data: Uint8Array,
  name = 'test.bin',
  options: { public?: boolean } = {},
): Promise<string> {
  const query = `name=${name}${options.public === true ? '&public=1' : ''}`;
  const response = await apiFetch(`${api}/v1/objects?${query}`, { method: 'PUT', body: data });
  if (!response.ok) throw new Error(`PUT to ${api}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** A 6-node devnet of real processes in a temp dir, started; `close` stops it and removes the dir. */
export async function startDevnet(
  prefix: string,
  nodeConfig: Record<string, unknown>,
  options: Partial<import('../src/cli/devnet.js').DevnetOptions> = {},
): Promise<{ devnet: import('../src/cli/devnet.js').Devnet; close: () => Promise<void> }> {
  const { Devnet } = await import('../src/cli/devnet.js');
  const dir = await tempDir(prefix);
  const devnet = new Devnet({
    nodes: 6,
    dataDir: dir.path,
    basePort: await freeBasePort(6),
    cliPath,
    nodeConfig,
    // Generous: on a loaded shared machine a node process can take tens of seconds to come up.
    startTimeoutMs: 120_000,
    ...options,
  });
  try {
    await devnet.start();
    for (const node of devnet.nodes) registerApiToken(devnet.apiUrl(node.index), devnet.apiToken(node.index));
  } catch (error) {
    // A devnet that failed to start still has processes and files: remove them before failing.
    await devnet.stop().catch(() => {});
    await dir.remove();
    throw error;
  }
  return {
    devnet,
    close: async () => {
      await devnet.stop();
      await dir.remove();
    },
  };
}

/** `count` nodes in this process, region us-east, joined to each other, with `config(i)` laid over. */
export async function startNodes(
  prefix: string,
  count: number,
  /** Node `index`'s config; `dataDirOf(j)` names node j's data directory (e.g. to make its key ahead). */
  config: (
    index: number,
    dataDirOf: (index: number) => string,
  ) => Record<string, unknown> | Promise<Record<string, unknown>> = () => ({}),
): Promise<{ nodes: import('../src/node/trinity-node.js').TrinityNode[]; close: () => Promise<void> }> {
  await import('../src/polyfill.js');
  const [{ TrinityNode }, { parseNodeConfig, deepMerge: deepMergeConfig }, { MemoryLogger }] =
    await Promise.all([
      import('../src/node/trinity-node.js'),
      import('../src/config/config.js'),
      import('@trinity/core'),
    ]);
  const dir = await tempDir(prefix);
  const nodes: import('../src/node/trinity-node.js').TrinityNode[] = [];
  const close = async () => {
    for (const node of [...nodes].reverse()) await node.stop();
    await dir.remove();
  };
  try {
    await startEach();
  } catch (error) {
    // Nodes that did start, and the temp dir, must not outlive a failed start.
    await close().catch(() => {});
    throw error;
  }
  return { nodes, close };

  async function startEach(): Promise<void> {
    for (let i = 0; i < count; i++) {
      const bootstrap = nodes.map((node) => node.libp2p.getMultiaddrs()[0]!.toString());
      const base = {
        dataDir: `${dir.path}/n${i}`,
        listen: { port: 0 },
        bootstrap,
        region: 'us-east',
        // A loaded shared machine can take longer than the 30 s default to prepare a put.
        tx: { prepareTimeoutMs: 120_000 },
        // One operator owns every node, as in devnet: any node reads what another stored.
        trust: { ownerKeyFile: `${dir.path}/owner.key` },
        // …and a request (a delete's transaction, a health check) longer than the 2 min default.
        api: { port: 0, requestTimeoutMs: 600_000 },
        // No background proof-of-storage challenges (a failure re-places a shard) unless a test
        // asks for them: the tests of other features keep their shard layout to themselves.
        pos: { enabled: false },
      };
      const node = await TrinityNode.create(
        parseNodeConfig(deepMergeConfig(base, await config(i, (j) => `${dir.path}/n${j}`))),
        new MemoryLogger(),
        { decryptWorkerUrl: new URL('../dist/decrypt-worker.js', import.meta.url) },
      );
      await node.start();
      nodes.push(node);
      registerApiToken(node.apiUrl, node.api.token);
    }
    await until(
      'every node to see the others',
      async () => (nodes.every((n) => n.membership.peers().length >= count - 1) ? true : undefined),
      120_000,
    );
  }
}
