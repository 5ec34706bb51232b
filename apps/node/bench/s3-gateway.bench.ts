// S3 gateway overhead: PutObject and GetObject of one large object through the gateway (SigV4 header
// auth, UNSIGNED-PAYLOAD, MD5 for the ETag) over a backend that keeps nothing (PUT) or serves random
// bytes (GET), beside a bare node:http server that only drains or writes the same bytes, measured in
// the same run (the ceiling). Also reports the gateway's peak RSS growth during the PUT: streaming
// holds one network read at a time, so it stays flat whatever the object size.
//   pnpm --filter @trinity/node bench:s3 [-- --json] [--mib 256]
import { randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { noopLogger, SystemClock } from '@trinity/core';
import type { S3Backend, StoredPiece } from '../src/s3/backend.js';
import { S3Gateway } from '../src/s3/gateway.js';
import { InMemoryAccessKeyStore, InMemoryS3Index } from '../src/s3/memory.js';
import { s3Headers } from './s3-sign.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: { json: { type: 'boolean' }, mib: { type: 'string' } },
  strict: true,
});
const MiB = 1024 * 1024;
const sizeBytes = Number(values.mib ?? 256) * MiB;
const block = randomBytes(MiB);

/** Stores nothing; reads serve the same random MiB over and over. */
class DiscardBackend implements S3Backend {
  #next = 0;
  async putObject(_owner: string, bytes: AsyncIterable<Uint8Array>): Promise<StoredPiece> {
    let sizeBytes = 0;
    for await (const piece of bytes) sizeBytes += piece.length;
    return { id: String(this.#next++), sizeBytes };
  }
  async *getObject(_id: string, _offsetBytes: number, lengthBytes: number): AsyncIterable<Uint8Array> {
    for (let left = lengthBytes; left > 0; left -= block.length)
      yield block.subarray(0, Math.min(left, block.length));
  }
  async deleteObject(): Promise<void> {}
}

const benchKey = { accessKeyId: 'BENCHKEY', secretKey: 'bench-secret' };
const signedHeaders = (method: string, path: string, port: number, extra: Record<string, string>) =>
  s3Headers(method, path, port, benchKey, extra);

function createBucket(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: '/bench',
        headers: signedHeaders('PUT', '/bench', port, {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function put(port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path, headers }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve(200) : reject(new Error(`PUT ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    let sent = 0;
    const write = () => {
      while (sent < sizeBytes) {
        const piece = block.subarray(0, Math.min(block.length, sizeBytes - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

function get(port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'GET', path, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () =>
        bytes === sizeBytes ? resolve(bytes) : reject(new Error(`GET ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return sizeBytes / MiB / ((performance.now() - start) / 1000);
}

const rows: { bench: string; impl: string; params: Record<string, unknown>; value: number; unit: string }[] =
  [];
const record = (bench: string, impl: string, value: number, unit: string) =>
  rows.push({ bench, impl, params: { mib: sizeBytes / MiB }, value: Math.round(value * 10) / 10, unit });

// The ceiling: node:http draining and writing the same bytes, nothing else.
const bare = createServer((req, res) => {
  if (req.method === 'PUT') {
    req.resume();
    req.on('end', () => res.end());
    return;
  }
  res.writeHead(200, { 'content-length': sizeBytes });
  let left = sizeBytes;
  const write = () => {
    while (left > 0) {
      const piece = block.subarray(0, Math.min(left, block.length));
      left -= piece.length;
      if (!res.write(piece)) return void res.once('drain', write);
    }
    res.end();
  };
  write();
});
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
const barePort = (bare.address() as AddressInfo).port;
record(
  'put',
  'node:http',
  await timed(() => put(barePort, '/x', { 'content-length': String(sizeBytes) })),
  'MiB/s',
);
record('get', 'node:http', await timed(() => get(barePort, '/x', {})), 'MiB/s');
bare.close();

const keys = new InMemoryAccessKeyStore();
keys.add('BENCHKEY', 'bench-secret', 'o'.repeat(64));
const gateway = new S3Gateway(
  { port: 0 },
  {
    backend: new DiscardBackend(),
    index: new InMemoryS3Index(),
    accessKeys: keys,
    clock: new SystemClock(),
    logger: noopLogger,
  },
);
await gateway.start();
const port = gateway.port;
if ((await createBucket(port)) !== 200) throw new Error('CreateBucket failed');
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
record(
  'put',
  '@trinity/node s3',
  await timed(() =>
    put(
      port,
      '/bench/obj',
      signedHeaders('PUT', '/bench/obj', port, { 'content-length': String(sizeBytes) }),
    ),
  ),
  'MiB/s',
);
clearInterval(sampler);
record('put-rss-growth', '@trinity/node s3', (rssPeak - rssBefore) / MiB, 'MiB');
record(
  'get',
  '@trinity/node s3',
  await timed(() => get(port, '/bench/obj', signedHeaders('GET', '/bench/obj', port, {}))),
  'MiB/s',
);
await gateway.stop();

for (const row of rows) {
  console.log(
    values.json
      ? JSON.stringify(row)
      : `${row.bench.padEnd(16)} ${row.impl.padEnd(18)} ${row.value} ${row.unit}`,
  );
}
