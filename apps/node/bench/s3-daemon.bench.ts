// The S3 gateway of a real node against the same node's own HTTP API, in the same run: PutObject and
// GetObject of one large object (SigV4 header auth, UNSIGNED-PAYLOAD) through node 0's gateway, and
// PUT /v1/objects and GET /v1/objects/<id> through node 0's API, on a devnet of separate node
// processes. Rounds are interleaved (API first in even rounds, S3 first in odd ones); medians are
// reported, and the median of the per-round S3/API ratios (steadier on a shared machine), with the S3/API ratio.
// Also reports node 0's peak RSS growth during the S3 PUT (streaming keeps it flat).
//   pnpm --filter @trinity/node bench:s3:daemon [-- --json] [--mib 256] [--nodes 3] [--rounds 3]
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
    mib: { type: 'string' },
    nodes: { type: 'string' },
    rounds: { type: 'string' },
  },
  strict: true,
});
const MiB = 1024 * 1024;
const sizeBytes = Number(values.mib ?? 256) * MiB;
const nodeCount = Number(values.nodes ?? 3);
const rounds = Number(values.rounds ?? 3);
const block = randomBytes(MiB);
const log = (line: string) => {
  if (!values.json) console.log(line);
};

/** Sends `bodyBytes` of the random block (0: no body); resolves with the status and the answer. */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  bodyBytes: number,
): Promise<{ status: number; body: string; received: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let received = 0;
      const head: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        received += c.length;
        if (received <= 64 * 1024) head.push(c);
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(head).toString(), received }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await tempDir('trinity-bench-s3-daemon-');
const devnet = new Devnet({
  nodes: nodeCount,
  dataDir: dir.path,
  basePort: await freeBasePort(nodeCount),
  cliPath: fileURLToPath(new URL('../dist/cli.js', import.meta.url)),
  nodeConfig: { fsync: false },
  startTimeoutMs: 120_000,
  s3: true,
});
const results: Record<string, number[]> = { 'api put': [], 's3 put': [], 'api get': [], 's3 get': [] };
let rssGrowth = 0;
try {
  await devnet.start();
  const key = await devnet.s3AccessKey();
  const apiPort = devnet.nodes[0]!.apiPort;
  const s3Port = Number(new URL(devnet.s3Url).port);
  const token = devnet.apiToken(0);
  const pid = devnet.nodes[0]!.ready!.pid;
  const bucket = await send(s3Port, 'PUT', '/bench', s3Headers('PUT', '/bench', s3Port, key, {}), 0);
  if (bucket.status !== 200) throw new Error(`CreateBucket: ${bucket.status} ${bucket.body}`);
  const mibps = (ms: number) => sizeBytes / MiB / (ms / 1000);
  for (let round = 0; round < rounds; round++) {
    const apiPut = async () => {
      const started = performance.now();
      const put = await send(
        apiPort,
        'PUT',
        `/v1/objects?name=bench-${round}`,
        { authorization: `Bearer ${token}`, 'content-length': String(sizeBytes) },
        sizeBytes,
      );
      results['api put']!.push(mibps(performance.now() - started));
      if (put.status !== 200 && put.status !== 201) throw new Error(`API put: ${put.status} ${put.body}`);
      return (JSON.parse(put.body) as { id: string }).id;
    };
    const path = `/bench/object-${round}`;
    const s3Put = async () => {
      const rssBefore = rssBytes(pid);
      let rssPeak = rssBefore;
      const sampler = setInterval(() => {
        rssPeak = Math.max(rssPeak, rssBytes(pid));
      }, 50);
      const started = performance.now();
      const s3put = await send(
        s3Port,
        'PUT',
        path,
        s3Headers('PUT', path, s3Port, key, { 'content-length': String(sizeBytes) }),
        sizeBytes,
      );
      results['s3 put']!.push(mibps(performance.now() - started));
      clearInterval(sampler);
      rssGrowth = Math.max(rssGrowth, rssPeak - rssBefore);
      if (s3put.status !== 200) throw new Error(`S3 put: ${s3put.status} ${s3put.body}`);
    };
    // Alternate which goes first, so neither always follows the other's background work.
    let id: string;
    if (round % 2 === 0) {
      id = await apiPut();
      await s3Put();
    } else {
      await s3Put();
      id = await apiPut();
    }

    const apiGet = async () => {
      const started = performance.now();
      const get = await send(apiPort, 'GET', `/v1/objects/${id}`, { authorization: `Bearer ${token}` }, 0);
      results['api get']!.push(mibps(performance.now() - started));
      if (get.received !== sizeBytes) throw new Error(`API get: ${get.status} ${get.received} bytes`);
    };
    const s3Get = async () => {
      const started = performance.now();
      const s3get = await send(s3Port, 'GET', path, s3Headers('GET', path, s3Port, key, {}), 0);
      results['s3 get']!.push(mibps(performance.now() - started));
      if (s3get.received !== sizeBytes) throw new Error(`S3 get: ${s3get.status} ${s3get.received} bytes`);
    };
    if (round % 2 === 0) {
      await apiGet();
      await s3Get();
    } else {
      await s3Get();
      await apiGet();
    }

    // Free the space for the next round.
    await send(apiPort, 'DELETE', `/v1/objects/${id}`, { authorization: `Bearer ${token}` }, 0);
    await send(s3Port, 'DELETE', path, s3Headers('DELETE', path, s3Port, key, {}), 0);
    log(
      `round ${round + 1}: api put ${results['api put']!.at(-1)!.toFixed(1)}, s3 put ${results['s3 put']!.at(-1)!.toFixed(1)}, api get ${results['api get']!.at(-1)!.toFixed(1)}, s3 get ${results['s3 get']!.at(-1)!.toFixed(1)} MiB/s`,
    );
  }
} finally {
  await devnet.stop();
  await dir.remove();
}

const rows = Object.entries(results).map(([bench, xs]) => ({
  bench,
  params: { mib: sizeBytes / MiB, nodes: nodeCount, rounds },
  value: Math.round(median(xs) * 10) / 10,
  unit: 'MiB/s',
}));
const ratio = (what: 'put' | 'get') =>
  median(results[`s3 ${what}`]!.map((s3, i) => s3 / results[`api ${what}`]![i]!));
if (values.json) {
  console.log(
    JSON.stringify({
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
      rows,
      ratio: { put: ratio('put'), get: ratio('get') },
      s3PutRssGrowthMiB: rssGrowth / MiB,
    }),
  );
} else {
  log(
    `\n${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; ${nodeCount} nodes; ${sizeBytes / MiB} MiB; medians of ${rounds}`,
  );
  for (const row of rows) log(`  ${row.bench.padEnd(8)} ${row.value} MiB/s`);
  log(
    `  S3 / API (median of per-round ratios): put ${(ratio('put') * 100).toFixed(0)} %, get ${(ratio('get') * 100).toFixed(0)} %`,
  );
  log(`  node 0 RSS growth during the S3 put: ${(rssGrowth / MiB).toFixed(1)} MiB`);
}
