import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TrinityNode } from '../src/node/trinity-node.js';
import { shardBytesFor } from '../src/services/objects/object-service.js';
import { apiFetch, putObject, startNodes } from './helpers.js';

/** Node start-up, and each request, on a loaded 2-core machine: minutes, never seconds. */
const startTimeoutMs = 300_000;
const testTimeoutMs = 180_000;

/**
 * HTTP semantics of the API (issue 18): HEAD, 405 with Allow, single byte ranges, case-insensitive
 * ids, ETag / Last-Modified and conditional requests. Three in-process nodes with RS(2,1) and 64 KiB
 * shards, so a stripe holds 128 KiB and the 300 000-byte object below has three stripes.
 */
describe('HTTP semantics on a 3-node network', () => {
  let nodes: TrinityNode[];
  let close: (() => Promise<void>) | undefined;
  // The object's 300,000 bytes in three stripes of shards as small as they can be (shardBytesFor).
  const stripeBytes = 2 * shardBytesFor(300_000, 2, 64 * 1024);
  const data = randomBytes(300_000);
  let id = '';

  beforeAll(async () => {
    ({ nodes, close } = await startNodes('trinity-http-semantics-', 3, () => ({
      erasure: { dataShards: 2, parityShards: 1, shardBytes: 64 * 1024 },
      limits: { maxObjectBytes: 4 * 1024 * 1024 },
    })));
    // Public, so that object offsets are stored offsets and the stripes a range needs are plain to see
    // (an encrypted object's ranges are checked in object-range.test.ts).
    id = await putObject(nodes[0]!.apiUrl, data, 'semantics.bin', { public: true });
  }, startTimeoutMs);

  afterAll(async () => {
    vi.restoreAllMocks();
    await close?.();
  }, startTimeoutMs);

  const api = (i: number) => nodes[i]!.apiUrl;
  const objectUrl = (i = 1) => `${api(i)}/v1/objects/${id}`;

  /** The stripes node `i` fetches while `run` runs. */
  async function stripesFetched(i: number, run: () => Promise<void>): Promise<number[]> {
    const spy = vi.spyOn(nodes[i]!.objects, 'fetchStripeParts');
    try {
      await run();
      return spy.mock.calls.map(([, stripe]) => stripe).sort((a, b) => a - b);
    } finally {
      spy.mockRestore();
    }
  }

  /** A 4xx with a JSON `{ error: { code, message } }` body whose message is one line. */
  async function expectJsonError(response: Response, status: number, code: string): Promise<string> {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(/^[^\n]+$/);
    return body.error.message;
  }

  it(
    'answers HEAD of an object from its manifest alone: headers of the GET, no body, no shard fetched',
    async () => {
      let head: Response | undefined;
      const fetched = await stripesFetched(1, async () => {
        head = await apiFetch(objectUrl(), { method: 'HEAD' });
        expect(new Uint8Array(await head.arrayBuffer()).length).toBe(0);
      });
      expect(fetched).toEqual([]);
      expect(head!.status).toBe(200);
      expect(head!.headers.get('content-length')).toBe('300000');
      expect(head!.headers.get('etag')).toBe(`"${id}"`);
      expect(head!.headers.get('accept-ranges')).toBe('bytes');
      expect(head!.headers.get('x-trinity-name')).toBe('semantics.bin');
      const lastModified = head!.headers.get('last-modified')!;
      expect(lastModified).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
      const list = (await (await apiFetch(`${api(1)}/v1/objects`)).json()) as {
        objects: { id: string; createdAtMs: number }[];
      };
      const createdAtMs = list.objects.find((o) => o.id === id)!.createdAtMs;
      expect(Date.parse(lastModified)).toBe(Math.floor(createdAtMs / 1000) * 1000);

      const get = await apiFetch(objectUrl());
      expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
      for (const name of ['content-length', 'etag', 'last-modified', 'accept-ranges', 'content-type']) {
        expect(get.headers.get(name), name).toBe(head!.headers.get(name));
      }
    },
    testTimeoutMs,
  );

  it(
    'answers HEAD on every GET route with the GET status and headers, and 404 for an unknown object',
    async () => {
      for (const path of ['/health', `/v1/objects/${id}/manifest`, '/v1/objects']) {
        const get = await apiFetch(`${api(0)}${path}`);
        const getBody = await get.text();
        const head = await apiFetch(`${api(0)}${path}`, { method: 'HEAD' });
        expect(head.status, path).toBe(200);
        expect(await head.text(), path).toBe('');
        expect(head.headers.get('content-type'), path).toBe('application/json');
        expect(head.headers.get('content-length'), path).toBe(String(Buffer.byteLength(getBody)));
      }
      for (const path of ['/v1/status', `/v1/objects/${id}/health`]) {
        const head = await apiFetch(`${api(0)}${path}`, { method: 'HEAD' });
        expect(head.status, path).toBe(200);
        expect(await head.text(), path).toBe('');
      }
      const missing = await apiFetch(`${api(0)}/v1/objects/${'0'.repeat(64)}`, { method: 'HEAD' });
      expect(missing.status).toBe(404);
      expect(await missing.text()).toBe('');
    },
    testTimeoutMs,
  );

  it(
    'answers a wrong method on a known path with 405 and Allow, an unknown path with 404',
    async () => {
      const cases: [string, string, string][] = [
        ['PUT', `/v1/objects/${id}`, 'DELETE, GET, HEAD'],
        ['POST', `/v1/objects/${id}`, 'DELETE, GET, HEAD'],
        ['DELETE', '/v1/objects', 'GET, HEAD, PUT'],
        ['POST', '/health', 'GET, HEAD'],
        ['DELETE', '/v1/status', 'GET, HEAD'],
        ['GET', '/v1/batches', 'POST'],
        ['GET', '/v1/search', 'POST'],
        ['PUT', `/v1/objects/${id}/manifest`, 'GET, HEAD'],
        ['PATCH', `/v1/objects/${id}/health`, 'GET, HEAD'],
      ];
      for (const [method, path, allow] of cases) {
        const response = await apiFetch(`${api(2)}${path}`, {
          method,
          ...(method === 'PUT' || method === 'POST' ? { body: 'ignored' } : {}),
        });
        expect(response.headers.get('allow'), `${method} ${path}`).toBe(allow);
        const message = await expectJsonError(response, 405, 'METHOD_NOT_ALLOWED');
        expect(message).toBe(`${method} is not allowed on ${path} (allowed: ${allow})`);
      }
      // A 405 is answered before anything else: the object is still there.
      expect((await apiFetch(objectUrl(), { method: 'HEAD' })).status).toBe(200);
      for (const [method, path] of [
        ['GET', '/v2/nothing'],
        ['PUT', '/v1/nothing'],
        ['GET', `/v1/objects/${id}/other`],
      ] as const) {
        const response = await apiFetch(`${api(2)}${path}`, { method });
        expect(response.headers.get('allow')).toBeNull();
        await expectJsonError(response, 404, 'NOT_FOUND');
      }
    },
    testTimeoutMs,
  );

  it(
    'serves a single byte range with 206 and Content-Range, fetching only the stripes it covers',
    async () => {
      const cases: [string, number, number, number[]][] = [
        ['bytes=0-99', 0, 99, [0]],
        [`bytes=${stripeBytes - 10}-${stripeBytes + 9}`, stripeBytes - 10, stripeBytes + 9, [0, 1]],
        [`bytes=${stripeBytes}-${2 * stripeBytes - 1}`, stripeBytes, 2 * stripeBytes - 1, [1]],
        ['bytes=-1000', 299_000, 299_999, [2]],
        ['bytes=299990-', 299_990, 299_999, [2]],
        ['bytes=100-99999999', 100, 299_999, [0, 1, 2]],
        ['bytes=-400000', 0, 299_999, [0, 1, 2]],
        ['bytes=299999-299999', 299_999, 299_999, [2]],
      ];
      for (const [range, start, end, stripes] of cases) {
        let response: Response | undefined;
        let body: Buffer | undefined;
        const fetched = await stripesFetched(1, async () => {
          response = await apiFetch(objectUrl(), { headers: { range } });
          body = Buffer.from(await response.arrayBuffer());
        });
        expect(response!.status, range).toBe(206);
        expect(response!.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/300000`);
        expect(response!.headers.get('content-length'), range).toBe(String(end - start + 1));
        expect(response!.headers.get('etag')).toBe(`"${id}"`);
        expect(body!.equals(data.subarray(start, end + 1)), range).toBe(true);
        expect(fetched, range).toEqual(stripes);
      }
    },
    testTimeoutMs,
  );

  it(
    'serves seeded random ranges byte-exact',
    async () => {
      const seed = Number(process.env.HTTP_RANGE_SEED ?? Date.now() % 1_000_000);
      console.log(`http range seed ${seed} (HTTP_RANGE_SEED=${seed} to replay)`);
      let state = seed;
      const next = (max: number) => {
        state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
        return state % max;
      };
      for (let i = 0; i < 12; i++) {
        const start = next(300_000);
        const end = start + next(300_000 - start);
        const response = await apiFetch(objectUrl(i % 3), { headers: { range: `bytes=${start}-${end}` } });
        expect(response.status, `seed ${seed}: ${start}-${end}`).toBe(206);
        const body = Buffer.from(await response.arrayBuffer());
        expect(body.equals(data.subarray(start, end + 1)), `seed ${seed}: ${start}-${end}`).toBe(true);
      }
    },
    testTimeoutMs,
  );

  it(
    'answers an unsatisfiable range with 416 and bytes */size, and ignores multiple or malformed ranges',
    async () => {
      for (const range of ['bytes=300000-', 'bytes=300000-300010', 'bytes=-0']) {
        const fetched = await stripesFetched(1, async () => {
          const response = await apiFetch(objectUrl(), { headers: { range } });
          expect(response.headers.get('content-range'), range).toBe('bytes */300000');
          await expectJsonError(response, 416, 'RANGE_NOT_SATISFIABLE');
        });
        expect(fetched, range).toEqual([]);
      }
      for (const range of ['bytes=0-1,5-6', 'bytes=5-3', 'bytes=abc', 'items=0-5', 'bytes=-']) {
        const response = await apiFetch(objectUrl(), { headers: { range } });
        expect(response.status, range).toBe(200);
        expect(response.headers.get('content-range'), range).toBeNull();
        expect(Buffer.from(await response.arrayBuffer()).equals(data), range).toBe(true);
      }
      // HEAD describes the whole object whatever the Range.
      const head = await apiFetch(objectUrl(), { method: 'HEAD', headers: { range: 'bytes=0-9' } });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('300000');
    },
    testTimeoutMs,
  );

  it(
    'takes object ids in either case, answering in lower case',
    async () => {
      const upper = id.toUpperCase();
      const mixed = [...id].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c)).join('');
      for (const variant of [upper, mixed]) {
        const get = await apiFetch(`${api(2)}/v1/objects/${variant}`);
        expect(get.status, variant).toBe(200);
        expect(get.headers.get('etag')).toBe(`"${id}"`);
        expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
        const manifest = await apiFetch(`${api(2)}/v1/objects/${variant}/manifest`);
        expect(manifest.status).toBe(200);
        const health = (await (await apiFetch(`${api(2)}/v1/objects/${variant}/health`)).json()) as {
          id: string;
        };
        expect(health.id).toBe(id);
      }
      const message = await expectJsonError(
        await apiFetch(`${api(2)}/v1/objects/${'G'.repeat(64)}`),
        400,
        'BAD_REQUEST',
      );
      expect(message).toBe('object id must be 64 hex characters');

      // Deleting by an upper-case id deletes the object and answers its lower-case id.
      const other = await putObject(api(0), randomBytes(1000), 'to-delete.bin');
      const deleted = await apiFetch(`${api(1)}/v1/objects/${other.toUpperCase()}`, { method: 'DELETE' });
      expect(deleted.status).toBe(200);
      expect(await deleted.json()).toEqual({ id: other, deleted: true });
      expect((await apiFetch(`${api(1)}/v1/objects/${other}`, { method: 'HEAD' })).status).toBe(404);
    },
    testTimeoutMs,
  );

  it(
    'answers conditional GET and HEAD: 304 for If-None-Match / If-Modified-Since, 412 for If-Match / If-Unmodified-Since',
    async () => {
      const head = await apiFetch(objectUrl(), { method: 'HEAD' });
      const etag = head.headers.get('etag')!;
      const lastModified = head.headers.get('last-modified')!;
      const modifiedMs = Date.parse(lastModified);
      const before = new Date(modifiedMs - 3_600_000).toUTCString();
      const after = new Date(modifiedMs + 3_600_000).toUTCString();

      const notModified: Record<string, string>[] = [
        { 'if-none-match': etag },
        { 'if-none-match': `W/${etag}` },
        { 'if-none-match': `"nope", ${etag}` },
        { 'if-none-match': '*' },
        { 'if-modified-since': lastModified },
        { 'if-modified-since': after },
      ];
      for (const headers of notModified) {
        for (const method of ['GET', 'HEAD']) {
          const fetched = await stripesFetched(1, async () => {
            const response = await apiFetch(objectUrl(), { method, headers });
            expect(response.status, `${method} ${JSON.stringify(headers)}`).toBe(304);
            expect(response.headers.get('etag')).toBe(etag);
            expect(response.headers.get('last-modified')).toBe(lastModified);
            expect(await response.text()).toBe('');
          });
          expect(fetched).toEqual([]);
        }
      }

      const full: Record<string, string>[] = [
        { 'if-none-match': '"nope"' },
        { 'if-modified-since': before },
        { 'if-modified-since': 'not a date' },
        { 'if-match': etag },
        { 'if-match': '*' },
        { 'if-unmodified-since': lastModified },
        { 'if-unmodified-since': after },
        // If-None-Match wins over If-Modified-Since.
        { 'if-none-match': '"nope"', 'if-modified-since': after },
      ];
      for (const headers of full) {
        const response = await apiFetch(objectUrl(), { headers });
        expect(response.status, JSON.stringify(headers)).toBe(200);
        expect(Buffer.from(await response.arrayBuffer()).equals(data)).toBe(true);
      }

      const failed: Record<string, string>[] = [
        { 'if-match': '"nope"' },
        { 'if-match': `W/${etag}` },
        { 'if-unmodified-since': before },
        { 'if-match': '"nope"', 'if-none-match': etag },
      ];
      for (const headers of failed) {
        for (const method of ['GET', 'HEAD']) {
          const response = await apiFetch(objectUrl(), { method, headers });
          if (method === 'HEAD') {
            expect(response.status, JSON.stringify(headers)).toBe(412);
            expect(await response.text()).toBe('');
          } else await expectJsonError(response, 412, 'PRECONDITION_FAILED');
        }
      }
    },
    testTimeoutMs,
  );

  it(
    'honours Range only when If-Range matches the ETag or Last-Modified',
    async () => {
      const head = await apiFetch(objectUrl(), { method: 'HEAD' });
      const etag = head.headers.get('etag')!;
      const lastModified = head.headers.get('last-modified')!;
      const later = new Date(Date.parse(lastModified) + 1000).toUTCString();
      for (const ifRange of [etag, lastModified]) {
        const response = await apiFetch(objectUrl(), {
          headers: { range: 'bytes=10-19', 'if-range': ifRange },
        });
        expect(response.status, ifRange).toBe(206);
        expect(Buffer.from(await response.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);
      }
      for (const ifRange of ['"nope"', `W/${etag}`, later]) {
        const response = await apiFetch(objectUrl(), {
          headers: { range: 'bytes=10-19', 'if-range': ifRange },
        });
        expect(response.status, ifRange).toBe(200);
        expect(Buffer.from(await response.arrayBuffer()).equals(data)).toBe(true);
      }
      // A failed If-Range turns an unsatisfiable range into the whole object, not a 416.
      const whole = await apiFetch(objectUrl(), {
        headers: { range: 'bytes=999999-', 'if-range': '"nope"' },
      });
      expect(whole.status).toBe(200);
      await whole.arrayBuffer();
    },
    testTimeoutMs,
  );

  it(
    'answers every malformed request here with a 4xx and a one-line JSON message, never a 5xx',
    async () => {
      const requests: [string, string, Record<string, string>][] = [
        ['GET', `/v1/objects/${'z'.repeat(64)}`, {}],
        ['HEAD', `/v1/objects/${'z'.repeat(64)}`, {}],
        ['GET', `/v1/objects/${id.slice(1)}`, {}],
        ['GET', '/v1/objects/%E0%A4%A', {}],
        ['GET', `/v1/objects/${'0'.repeat(64)}`, { range: 'bytes=0-1' }],
        ['GET', `/v1/objects/${id}`, { range: 'bytes=400000-' }],
        ['GET', `/v1/objects/${id}`, { 'if-match': '"x"' }],
        ['GET', `/v1/objects/${id}`, { 'if-unmodified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' }],
        ['PUT', `/v1/objects/${id}`, {}],
        ['GET', '/nothing', {}],
      ];
      for (const [method, path, headers] of requests) {
        const response = await apiFetch(`${api(0)}${path}`, { method, headers });
        const what = `${method} ${path} ${JSON.stringify(headers)}`;
        expect(response.status, what).toBeGreaterThanOrEqual(400);
        expect(response.status, what).toBeLessThan(500);
        if (method === 'HEAD') {
          expect(await response.text()).toBe('');
          continue;
        }
        expect(response.headers.get('content-type'), what).toBe('application/json');
        const text = await response.text();
        expect(text, what).not.toContain('\n');
        const body = JSON.parse(text) as { error: { code: string; message: string } };
        expect(Object.keys(body.error).sort(), what).toEqual(['code', 'message']);
        expect(body.error.message, what).toMatch(/^[^\n]+$/);
      }
    },
    testTimeoutMs,
  );
});
