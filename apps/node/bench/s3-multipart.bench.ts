// Memory of the S3 gateway's node during a large multipart upload, and during a one-byte ranged read
// of the result: the gateway streams both, so node 0's RSS must not grow with the object's size.
// Uploads --gib GiB in parts of --part-mib MiB (CreateMultipartUpload, UploadPart…, Complete) to
// node 0's gateway on a devnet of separate node processes, sampling node 0's RSS every 50 ms; then
// reads one byte from the middle of the object (Range: bytes=n-n).
//   pnpm --filter @trinity/node bench:s3:multipart [-- --json] [--gib 5] [--part-mib 64] [--nodes 3]
import '../src/polyfill.js';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Devnet } from '../src/cli/devnet.js';
import { freeBasePort, tempDir } from '../test/helpers.js';
import { s3Headers } from './s3-sign.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    json: { type: 'boolean' },
    gib: { type: 'string' },
    'part-mib': { type: 'string' },
    nodes: { type: 'string' },
  },
  strict: true,
});
const MiB = 1024 * 1024;
const totalBytes = Math.round(Number(values.gib ?? 1) * 1024 * MiB);
const partBytes = Number(values['part-mib'] ?? 64) * MiB;
const nodeCount = Number(values.nodes ?? 3);
if (!(totalBytes > 0 && partBytes >= 5 * MiB && totalBytes / partBytes <= 10_000)) {
  console.error('usage: --gib G (> 0) --part-mib M (≥ 5, at most 10,000 parts)');
  process.exit(2);
}
const block = randomBytes(MiB);
const log = (line: string) => {
  if (!values.json) console.log(line);
};

function send(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string>,
  bodyBytes: number,
  body?: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown>; received: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: target, headers }, (res) => {
      let received = 0;
      const head: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        received += c.length;
        if (received <= 64 * 1024) head.push(c);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(head).toString(),
          headers: res.headers,
          received,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) return void req.end(body);
    let sent = 0;
    const write = () => {
      while (sent < bodyBytes) {
        const piece = block.subarray(0, Math.min(block.length, bodyBytes - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

const dir = await tempDir('trinity-bench-s3-multipart-');
const devnet = new Devnet({
  nodes: nodeCount,
  dataDir: dir.path,
  basePort: await freeBasePort(nodeCount),
  cliPath: fileURLToPath(new URL('../dist/cli.js', import.meta.url)),
  nodeConfig: { fsync: false },
  startTimeoutMs: 120_000,
  s3: true,
});
let rssBefore = 0;
let uploadPeak = 0;
let rangePeak = 0;
let seconds = 0;
try {
  await devnet.start();
  const key = await devnet.s3AccessKey();
  const port = Number(new URL(devnet.s3Url).port);
  const pid = devnet.nodes[0]!.ready!.pid;
  const sign = (method: string, path: string, extra: Record<string, string>, query = '') =>
    s3Headers(method, path, port, key, extra, query);
  const bucket = await send(port, 'PUT', '/big', sign('PUT', '/big', {}), 0);
  if (bucket.status !== 200) throw new Error(`CreateBucket: ${bucket.status} ${bucket.body}`);
  const path = '/big/object';
  const created = await send(port, 'POST', `${path}?uploads`, sign('POST', path, {}, 'uploads'), 0);
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body)?.[1];
  if (created.status !== 200 || uploadId === undefined)
    throw new Error(`CreateMultipartUpload: ${created.status} ${created.body}`);
  rssBefore = rssBytes(pid);
  uploadPeak = rssBefore;
  let sampler = setInterval(() => {
    uploadPeak = Math.max(uploadPeak, rssBytes(pid));
  }, 50);
  const started = performance.now();
  const etags: string[] = [];
  for (let part = 1, sent = 0; sent < totalBytes; part++) {
    const bytes = Math.min(partBytes, totalBytes - sent);
    const query = `partNumber=${part}&uploadId=${encodeURIComponent(uploadId)}`;
    const put = await send(
      port,
      'PUT',
      `${path}?${query}`,
      sign('PUT', path, { 'content-length': String(bytes) }, query),
      bytes,
    );
    if (put.status !== 200) throw new Error(`UploadPart ${part}: ${put.status} ${put.body}`);
    etags.push(String(put.headers.etag));
    sent += bytes;
    log(
      `part ${part}: ${(sent / MiB).toFixed(0)} MiB sent, node 0 RSS ${(rssBytes(pid) / MiB).toFixed(0)} MiB`,
    );
  }
  const complete = `<CompleteMultipartUpload>${etags
    .map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`)
    .join('')}</CompleteMultipartUpload>`;
  const query = `uploadId=${encodeURIComponent(uploadId)}`;
  const done = await send(
    port,
    'POST',
    `${path}?${query}`,
    sign('POST', path, { 'content-length': String(Buffer.byteLength(complete)) }, query),
    0,
    complete,
  );
  if (done.status !== 200 || !done.body.includes('CompleteMultipartUploadResult'))
    throw new Error(`CompleteMultipartUpload: ${done.status} ${done.body}`);
  seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const middle = Math.floor(totalBytes / 2);
  rangePeak = rssBytes(pid);
  sampler = setInterval(() => {
    rangePeak = Math.max(rangePeak, rssBytes(pid));
  }, 20);
  const range = await send(port, 'GET', path, sign('GET', path, { range: `bytes=${middle}-${middle}` }), 0);
  clearInterval(sampler);
  if (range.status !== 206 || range.received !== 1)
    throw new Error(`ranged GET: ${range.status} ${range.received} bytes`);
} finally {
  await devnet.stop();
  await dir.remove();
}

const params = { gib: totalBytes / 1024 / MiB, partMiB: partBytes / MiB, nodes: nodeCount };
const rows = [
  {
    bench: 's3-multipart',
    impl: '@trinity/node',
    params: { ...params, op: 'upload-rss-growth' },
    value: Math.round((uploadPeak - rssBefore) / MiB),
    unit: 'MiB',
  },
  {
    bench: 's3-multipart',
    impl: '@trinity/node',
    params: { ...params, op: 'upload' },
    value: Math.round((totalBytes / MiB / seconds) * 10) / 10,
    unit: 'MiB/s',
  },
  {
    bench: 's3-multipart',
    impl: '@trinity/node',
    params: { ...params, op: 'range-1-byte-rss-growth' },
    value: Math.round((rangePeak - rssBefore) / MiB),
    unit: 'MiB',
  },
];
if (values.json) for (const row of rows) console.log(JSON.stringify(row));
else {
  log(
    `\n${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; ${nodeCount} nodes; ${params.gib} GiB in ${params.partMiB} MiB parts`,
  );
  log(
    `  node 0 RSS before ${(rssBefore / MiB).toFixed(0)} MiB; peak growth during the upload ${rows[0]!.value} MiB (${rows[1]!.value} MiB/s)`,
  );
  log(`  peak growth (from before the upload) around a 1-byte ranged GET: ${rows[2]!.value} MiB`);
}
