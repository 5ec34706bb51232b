import '../src/polyfill.js';
import { request } from 'node:http';
import { MemoryLogger, SystemClock } from '@trinity/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectNotFoundError } from '../src/errors.js';
import { batchHeader } from '../src/http/batch-body.js';
import { type ApiServices, nodeRoutes } from '../src/http/routes.js';
import { type ApiServer, apiServer } from '../src/http/server.js';
import { tempDir } from './helpers.js';

const knownId = 'ab'.repeat(32);
const objectBytes = Buffer.from('0123456789');

/**
 * The services behind the API, stubbed: one known object (stored under a name with a lone
 * surrogate, as nodes before names were checked could hold), every other id unknown.
 */
function stubServices(): ApiServices {
  const drain = async (source: AsyncIterable<Uint8Array>) => {
    let size = 0;
    for await (const chunk of source) size += chunk.length;
    return size;
  };
  const manifest = async (id: string) => {
    if (id !== knownId) throw new ObjectNotFoundError(id);
    return { id, name: 'old\ud800name', size: objectBytes.length, createdAtMs: 1_700_000_000_000 };
  };
  return {
    maxObjectBytes: 1024 * 1024,
    objects: {
      put: async (source: AsyncIterable<Uint8Array>) => ({
        id: knownId,
        size: await drain(source),
        stripes: 1,
      }),
      putBatch: async (items: AsyncIterable<{ source: AsyncIterable<Uint8Array> }>) => {
        const out = [];
        for await (const item of items) out.push({ id: knownId, size: await drain(item.source), stripes: 1 });
        return out;
      },
      open: manifest,
      describe: async (id: string) => ({
        record: { descriptor: {}, receipts: [] },
        manifest: await manifest(id),
      }),
      readCap: async (id: string) => {
        await manifest(id);
        return 'trinity-read1-stub';
      },
      owner: '00'.repeat(32),
      read: async function* (_m: unknown, range?: { start: number; end: number }) {
        yield range === undefined ? objectBytes : objectBytes.subarray(range.start, range.end + 1);
      },
      delete: async (id: string) => {
        await manifest(id);
      },
      health: async (id: string) => {
        await manifest(id);
        return { id, minHealthy: 1, stripes: [] };
      },
    } as unknown as ApiServices['objects'],
    manifests: { list: async () => [] },
    status: { status: async () => ({ ok: true }) } as unknown as ApiServices['status'],
    semantic: { search: async () => [] } as unknown as ApiServices['semantic'],
  };
}

/** A small seeded generator (LCG), so that a failure can be replayed from the printed seed. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = (max: number) => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state % max;
  };
  const pick = <T>(items: readonly T[]): T => items[next(items.length)]!;
  return { next, pick };
}

const pieces = [
  '%E0%A4%A',
  '%ED%A0%80',
  '%F0%9F%98%80',
  '%00',
  '%2F',
  '%2e%2e',
  '%',
  '%ZZ',
  '%C3%A9',
  '..',
  'x',
  '~',
  "'",
  '(',
  '*',
  '%FF',
  '%25',
  '+',
  knownId,
  knownId.toUpperCase(),
  '0'.repeat(64),
];

function randomText(g: ReturnType<typeof generator>, max: number): string {
  let out = '';
  for (let i = g.next(max); i > 0; i--) out += g.pick(pieces);
  return out;
}

function randomRequest(g: ReturnType<typeof generator>): {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
} {
  const base = g.pick([
    '/v1/objects',
    `/v1/objects/${randomText(g, 4)}`,
    `/v1/objects/${knownId}`,
    `/v1/objects/${randomText(g, 3)}/manifest`,
    `/v1/objects/${knownId}/health`,
    '/v1/batches',
    '/v1/search',
    '/v1/status',
    '/health',
    `/${randomText(g, 5)}`,
  ]);
  // Mostly a method the path has (so that handlers run), sometimes any.
  const methods: Record<string, readonly string[]> = {
    '/v1/objects': ['PUT', 'GET'],
    '/v1/batches': ['POST'],
    '/v1/search': ['POST'],
  };
  const method =
    g.next(4) === 0
      ? g.pick(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH'])
      : g.pick(methods[base] ?? ['GET', 'HEAD', 'DELETE']);
  const query = g.pick([
    '',
    `?name=${randomText(g, 6)}`,
    `?top=${randomText(g, 2)}&threshold=${g.pick(['x', '2', '-0.5', 'NaN', '1e999'])}`,
    `?name=${'%C3%A9'.repeat(200)}`,
  ]);
  const headers: Record<string, string> = {};
  if (g.next(2) === 0)
    headers.range = g.pick([
      'bytes=0-3',
      'bytes=-',
      'bytes=9-1',
      'bytes=5-',
      'bytes=0-1,2-3',
      `bytes=${randomText(g, 2)}`,
      'bytes=99999999999999999999-',
    ]);
  if (g.next(3) === 0) headers['if-match'] = g.pick(['*', `"${knownId}"`, 'W/"x"', '"', randomText(g, 2)]);
  if (g.next(3) === 0) headers['if-none-match'] = g.pick(['*', `"${knownId}"`, ',,,', randomText(g, 2)]);
  if (g.next(3) === 0)
    headers['if-modified-since'] = g.pick(['Thu, 01 Jan 2099 00:00:00 GMT', 'yesterday', '0']);
  if (g.next(4) === 0)
    headers['if-range'] = g.pick([`"${knownId}"`, 'Mon, 01 Jan 1990 00:00:00 GMT', 'garbage']);
  let body: Buffer | undefined;
  if (method === 'PUT' || method === 'POST') {
    body = g.pick([
      () => Buffer.from(randomText(g, 8)),
      () => Buffer.concat([batchHeader('x\ud800y', 3), Buffer.from('abc')]),
      () => Buffer.concat([batchHeader('fine', 3), Buffer.from('abc')]),
      () => Buffer.concat([batchHeader('big', 2 ** 40), Buffer.from('abc')]),
      () => Buffer.from([0, 0, 0, 5, 0x7b, 0x22, 0xff, 0xfe, 0x7d]),
      () => Buffer.from([0, 0, 0, 9, ...Buffer.from('{"size":1')]),
      () => Buffer.from([255, 255, 255, 255]),
      () => Buffer.alloc(0),
    ])();
  }
  return { method, path: `${base}${query}`, headers, ...(body === undefined ? {} : { body }) };
}

describe('every malformed input is a 4xx with a typed JSON error, never a 500', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ApiServer;

  beforeAll(async () => {
    dir = await tempDir('trinity-api-fuzz-');
    server = apiServer({
      host: '127.0.0.1',
      port: 0,
      tokenPath: `${dir.path}/api-token`,
      rateLimit: { requestsPerSecond: 1_000_000, burst: 1_000_000 },
    })({ routes: nodeRoutes(stubServices()), clock: new SystemClock(), logger: new MemoryLogger() });
    await server.start();
  });
  afterAll(async () => {
    await server?.stop();
    await dir?.remove();
  });

  function send(spec: ReturnType<typeof randomRequest>): Promise<{ status: number; body: string }> {
    const url = new URL(server.url);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          method: spec.method,
          path: spec.path,
          headers: { ...spec.headers, authorization: `Bearer ${server.token}` },
          agent: false,
        },
        (res) => {
          let body = '';
          res.on('data', (chunk) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(spec.body);
    });
  }

  it('answers the known cases', async () => {
    // The name of an object stored with a lone surrogate is served (U+FFFD in its place), not a 500.
    const head = await send({ method: 'HEAD', path: `/v1/objects/${knownId}`, headers: {} });
    expect(head.status).toBe(200);
    const batch = await send({
      method: 'POST',
      path: '/v1/batches',
      headers: {},
      body: Buffer.concat([batchHeader('x\ud800y', 3), Buffer.from('abc')]),
    });
    expect(batch.status).toBe(400);
    expect(JSON.parse(batch.body).error.code).toBe('INVALID_NAME');
    const huge = await send({
      method: 'POST',
      path: '/v1/batches',
      headers: {},
      body: Buffer.concat([batchHeader('big', 2 ** 40), Buffer.from('abc')]),
    });
    expect(huge.status).toBe(413);
    const path = await send({ method: 'GET', path: '/v1/objects/%E0%A4%A', headers: {} });
    expect(path.status).toBe(400);
    expect(JSON.parse(path.body).error.code).toBe('BAD_REQUEST');
  });

  it('seeded random requests', async () => {
    const seed = Number(process.env.HTTP_FUZZ_SEED ?? Date.now() % 1_000_000);
    console.log(`http fuzz seed ${seed} (HTTP_FUZZ_SEED=${seed} to replay)`);
    const g = generator(seed);
    for (let i = 0; i < 300; i++) {
      const spec = randomRequest(g);
      const what = `seed ${seed} #${i}: ${spec.method} ${spec.path} ${JSON.stringify(spec.headers)}`;
      const { status, body } = await send(spec);
      expect(status, what).toBeLessThan(500);
      if (status >= 400 && spec.method !== 'HEAD') {
        const error = (JSON.parse(body) as { error: { code: string; message: string } }).error;
        expect(error.code, what).toMatch(/^[A-Z][A-Z_]+$/);
        expect(error.message, what).toMatch(/^[^\n]+$/);
      }
    }
  });
});
