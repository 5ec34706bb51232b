import '../src/polyfill.js';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { MemoryLogger } from '@trinity/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNodeConfig } from '../src/config/config.js';
import { batchHeader } from '../src/http/batch-body.js';
import { type TrinityNode, TrinityNode as TrinityNodeClass } from '../src/node/trinity-node.js';
import { apiFetch, authHeaders, getObject, putObject, sha256Hex, startNodes, until } from './helpers.js';

/** Three in-process nodes with RS(2,1) so one process can exercise the whole HTTP API. */
describe('HTTP API on a 3-node network', () => {
  let nodes: TrinityNode[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ nodes, close } = await startNodes('trinity-http-', 3, () => ({
      erasure: { dataShards: 2, parityShards: 1, shardBytes: 64 * 1024 },
      // Encrypted reads of 1 MiB or more are decrypted on the worker (8 MiB by default).
      limits: { maxObjectBytes: 4 * 1024 * 1024, decryptWorkers: 1, decryptWorkerMinBytes: 1024 * 1024 },
      // A body idle for 2 s is aborted (the stalled-upload tests); no other request is cut short.
      api: { port: 0, bodyIdleTimeoutMs: 2_000, requestTimeoutMs: 600_000 },
    })));
  }, 300_000);

  afterAll(async () => {
    await close?.();
  });

  const api = (i: number) => nodes[i]!.apiUrl;

  it('puts, lists, reads from another node, and deletes', async () => {
    const data = randomBytes(300_000);
    const id = await putObject(api(0), data, 'hello.bin');
    expect(sha256Hex(await getObject(api(2), id))).toBe(sha256Hex(data));
    const list = (await (await apiFetch(`${api(0)}/v1/objects`)).json()) as {
      objects: { id: string; name: string; size: number }[];
    };
    expect(list.objects).toContainEqual(expect.objectContaining({ id, name: 'hello.bin', size: 300_000 }));
    expect((await apiFetch(`${api(1)}/v1/objects/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await apiFetch(`${api(0)}/v1/objects/${id}`)).status).toBe(404);
    // A retried delete succeeds (the owner's tombstone is held), on the same node and on another.
    for (const node of [1, 0]) {
      const retry = await apiFetch(`${api(node)}/v1/objects/${id}`, { method: 'DELETE' });
      expect(retry.status, `node ${node}`).toBe(200);
    }
    for (const node of nodes) expect(node.store.stats().shardCount).toBe(0);
  });

  it('stores an empty object', async () => {
    const id = await putObject(api(0), new Uint8Array(0), 'empty');
    expect((await getObject(api(1), id)).length).toBe(0);
  });

  it('reads a large encrypted object (decrypted on the worker) whole and by range', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 12_345);
    const id = await putObject(api(0), data, 'large.bin');
    expect(sha256Hex(await getObject(api(1), id))).toBe(sha256Hex(data));
    const [start, end] = [1_000_001, 2_900_000];
    const ranged = await apiFetch(`${api(2)}/v1/objects/${id}`, {
      headers: { range: `bytes=${start}-${end}` },
    });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(start, end + 1))).toBe(true);
  });

  it('answers an unknown id with 404 and a JSON error', async () => {
    const response = await apiFetch(`${api(0)}/v1/objects/${'0'.repeat(64)}`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { code: 'OBJECT_NOT_FOUND', message: `object ${'0'.repeat(64)} not found` },
    });
  });

  it('refuses path-like and malformed ids with 400', async () => {
    // `%2e%2e` is resolved to `..` by the URL parser itself, so it reaches no object route at all.
    expect((await apiFetch(`${api(0)}/v1/objects/%2e%2e/x`)).status).toBe(404);
    for (const id of ['..%2F..%2Fetc%2Fpasswd', 'ABC', 'x'.repeat(64)]) {
      const response = await apiFetch(`${api(0)}/v1/objects/${id}`);
      expect(response.status, id).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    }
    expect(
      (
        await apiFetch(`${api(0)}/v1/objects?name=${encodeURIComponent('../../x')}`, {
          method: 'PUT',
          body: 'x',
        })
      ).status,
    ).toBe(400);
  });

  it('answers unknown routes with 404 and oversized uploads with 413, storing nothing', async () => {
    expect((await apiFetch(`${api(0)}/v2/nothing`)).status).toBe(404);
    const before = nodes.map((node) => node.store.stats().shardCount);
    const response = await apiFetch(`${api(0)}/v1/objects`, {
      method: 'PUT',
      body: randomBytes(5 * 1024 * 1024),
    });
    expect(response.status).toBe(413);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(nodes.map((node) => node.store.stats().shardCount)).toEqual(before);
  });

  it('a truncated upload leaves no object and no shards behind', async () => {
    const before = nodes.map((node) => node.store.stats().shardCount);
    const objectsBefore = (await nodes[0]!.directory.list()).length;
    await new Promise<void>((resolve) => {
      const url = new URL(`${api(0)}/v1/objects`);
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'PUT',
        headers: { 'content-length': 1_000_000, ...authHeaders(api(0)) },
      });
      req.on('error', () => resolve());
      req.write(randomBytes(400_000));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 300);
    });
    await until(
      'the aborted put to clean up',
      async () => (nodes.every((node, i) => node.store.stats().shardCount === before[i]) ? true : undefined),
      90_000,
    );
    expect((await nodes[0]!.directory.list()).length).toBe(objectsBefore);
  });

  it('stores a batch atomically: all objects or none', async () => {
    const parts = [randomBytes(200_000), randomBytes(0), randomBytes(70_000)];
    const body = Buffer.concat(parts.flatMap((data, i) => [batchHeader(`part-${i}`, data.length), data]));
    const response = await apiFetch(`${api(1)}/v1/batches`, { method: 'POST', body });
    expect(response.status).toBe(201);
    const { objects } = (await response.json()) as { objects: { id: string; size: number }[] };
    expect(objects.map((o) => o.size)).toEqual([200_000, 0, 70_000]);
    for (const [i, object] of objects.entries())
      expect(sha256Hex(await getObject(api(2), object.id))).toBe(sha256Hex(parts[i]!));

    // A batch whose second object is cut short stores nothing at all, not even the first.
    const manifestsBefore = (await nodes[1]!.directory.list()).length;
    const good = randomBytes(50_000);
    const broken = Buffer.concat([
      batchHeader('good', good.length),
      good,
      batchHeader('short', 1000),
      randomBytes(10),
    ]);
    const failed = await apiFetch(`${api(1)}/v1/batches`, { method: 'POST', body: broken });
    expect(failed.status).toBe(400);
    expect(((await failed.json()) as { error: { message: string } }).error.message).toMatch(
      /ended 990 bytes early/,
    );
    expect((await nodes[1]!.directory.list()).length).toBe(manifestsBefore);
    for (const node of nodes) expect(node.store.stagedTransactions()).toEqual([]);
  });

  it('deleting an object never takes shards another object still uses', async () => {
    const data = randomBytes(150_000);
    const a = await putObject(api(0), data, 'a.bin');
    const b = await putObject(api(1), data, 'b.bin'); // same bytes, another name: same shards
    const small = await putObject(api(0), Buffer.from('tiny'), 'small.txt'); // mostly zero padding shards
    const tiny = await putObject(api(2), Buffer.from('also tiny'), 'tiny.txt'); // the same padding shards
    expect(new Set([a, b, small, tiny]).size).toBe(4);
    expect((await apiFetch(`${api(2)}/v1/objects/${b}`, { method: 'DELETE' })).status).toBe(200);
    expect((await apiFetch(`${api(1)}/v1/objects/${tiny}`, { method: 'DELETE' })).status).toBe(200);
    expect(sha256Hex(await getObject(api(2), a))).toBe(sha256Hex(data));
    expect((await getObject(api(1), small)).toString()).toBe('tiny');
    const health = (await (await apiFetch(`${api(0)}/v1/objects/${small}/health`)).json()) as {
      minHealthy: number;
    };
    expect(health.minHealthy).toBe(3);
  });

  it('refuses an announced size over the limit at once, and takes any printable name', async () => {
    const response = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${api(0)}/v1/objects`);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'PUT',
          headers: { 'content-length': 107_374_182_400, ...authHeaders(api(0)) },
        },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      req.write('x');
    });
    expect(response).toBe(413);
    const id = await putObject(api(0), Buffer.from('bonjour'), encodeURIComponent("café it's [1] #2.txt"));
    const list = (await (await apiFetch(`${api(0)}/v1/objects`)).json()) as {
      objects: { id: string; name: string }[];
    };
    expect(list.objects.find((o) => o.id === id)?.name).toBe("café it's [1] #2.txt");
  });

  it('a data directory serves one node at a time', async () => {
    const again = TrinityNodeClass.create(
      parseNodeConfig({ dataDir: nodes[0]!.config.dataDir }),
      new MemoryLogger(),
    );
    await expect(again).rejects.toThrow(/is in use by process/);
  });

  it('reports status with peers and store figures', async () => {
    const status = (await (await apiFetch(`${api(0)}/v1/status`)).json()) as {
      peers: unknown[];
      store: { capacityBytes: number };
    };
    expect(status.peers).toHaveLength(2);
    expect(status.store.capacityBytes).toBeGreaterThan(0);
    expect(await (await apiFetch(`${api(0)}/health`)).json()).toEqual({ ok: true });
  });

  /**
   * Sends `head` of a body announced as `announced` bytes, then nothing: resolves when the node
   * closes the connection, with the status it answered, if the answer made it through.
   */
  function stall(
    path: string,
    method: string,
    head: Uint8Array,
    announced: number,
  ): Promise<number | undefined> {
    return new Promise((resolve) => {
      const url = new URL(`${api(0)}${path}`);
      const req = request({
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method,
        headers: { 'content-length': announced, ...authHeaders(api(0)) },
        agent: false,
      });
      req.on('response', (res) => {
        res.resume();
        res.on('close', () => resolve(res.statusCode));
      });
      req.on('error', () => resolve(undefined));
      req.write(head);
    });
  }

  it('aborts a stalled upload and a stalled batch, releasing their staged shards', async () => {
    const before = nodes.map((node) => node.store.stats().shardCount);
    const objectsBefore = (await nodes[0]!.directory.list()).length;
    // Three stripes sent (they are staged on their holders), then the body stops.
    const put = await stall('/v1/objects?name=stalled.bin', 'PUT', randomBytes(400_000), 1_000_000);
    if (put !== undefined) expect(put).toBe(408);
    const first = randomBytes(300_000);
    const batch = Buffer.concat([
      batchHeader('whole', first.length),
      first,
      batchHeader('cut', 500_000),
      randomBytes(200_000),
    ]);
    const batched = await stall('/v1/batches', 'POST', batch, batch.length + 300_000);
    if (batched !== undefined) expect(batched).toBe(408);
    await until(
      'the aborted uploads to clean up',
      async () =>
        nodes.every(
          (node, i) =>
            node.store.stats().shardCount === before[i] && node.store.stagedTransactions().length === 0,
        )
          ? true
          : undefined,
      120_000,
    );
    expect((await nodes[0]!.directory.list()).length).toBe(objectsBefore);
  });

  it('refuses a name with a lone surrogate with 400 INVALID_NAME, storing nothing', async () => {
    const objectsBefore = (await nodes[1]!.directory.list()).length;
    const body = Buffer.concat([batchHeader('x\ud800y', 3), Buffer.from('abc')]);
    const response = await apiFetch(`${api(1)}/v1/batches`, { method: 'POST', body });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INVALID_NAME');
    // In a query the percent-encoded surrogate decodes to U+FFFD: a well-formed name, stored as such.
    const id = await putObject(api(1), Buffer.from('abc'), 'x%ED%A0%80y');
    const head = await apiFetch(`${api(2)}/v1/objects/${id}`, { method: 'HEAD' });
    expect(decodeURIComponent(head.headers.get('x-trinity-name')!)).toBe('x\ufffd\ufffd\ufffdy');
    expect((await nodes[1]!.directory.list()).length).toBe(objectsBefore + 1);
  });

  it("refuses requests without the node's token, and objects stay readable through every node", async () => {
    const data = randomBytes(100_000);
    const id = await putObject(api(0), data, 'guarded.bin');
    for (const init of [
      {},
      { headers: { authorization: 'Bearer 00' } },
      { headers: { authorization: `Bearer ${nodes[1]!.api.token}` } },
    ]) {
      for (const [method, path] of [
        ['GET', `/v1/objects/${id}`],
        ['DELETE', `/v1/objects/${id}`],
        ['GET', '/v1/objects'],
        ['PUT', '/v1/objects?name=evil'],
      ] as const) {
        const response = await fetch(`${api(0)}${path}`, {
          method,
          ...init,
          ...(method === 'PUT' ? { body: 'evil' } : {}),
        });
        expect(response.status, `${method} ${path}`).toBe(401);
      }
    }
    for (let i = 0; i < nodes.length; i++)
      expect(sha256Hex(await getObject(api(i), id))).toBe(sha256Hex(data));
  });
});
