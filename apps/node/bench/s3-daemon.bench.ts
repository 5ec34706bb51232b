// The S3 gateway of a real node against the same node's own HTTP API, in the same run: PutObject and
// GetObject of one large object (SigV4 header auth, UNSIGNED-PAYLOAD) through node 0's gateway, and
// PUT /v1/objects and GET /v1/objects/<id> through node 0's API, on a devnet of separate node
// processes. Rounds are interleaved (API first in even rounds, S3 first in odd ones); medians are
// reported, and the median of the per-round S3/API ratios (steadier on a shared machine), with the S3/API ratio.
// Also reports node 0's peak RSS growth during the S3 PUT (streaming keeps it flat).
// `--small <count>` runs the many-small-objects case instead (what `aws s3 sync` and `rclone sync` of
// a tree do): PutObject of <count> objects of 1 B to ~37 KiB, `--concurrency` at a time, then
// HeadObject and GetObject of each, then a full ListObjectsV2; per phase, objects per second and the
// CPU time of all node processes per object (utime + stime from /proc: wall time lies on a shared
// machine, CPU much less).
//   pnpm --filter @trinity/node bench:s3:daemon [-- --json] [--mib 256] [--nodes 3] [--rounds 3]
//   pnpm --filter @trinity/node bench:s3:daemon [-- --json] --small 300 [--concurrency 4] [--impl name] [--cli path/to/dist/cli.js] [--cpu-prof dir]
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
    small: { type: 'string' },
    concurrency: { type: 'string' },
    impl: { type: 'string' },
    cli: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
  strict: true,
});
const MiB = 1024 * 1024;
const sizeBytes = Number(values.mib ?? 256) * MiB;
const nodeCount = Number(values.nodes ?? 3);
let rounds = Number(values.rounds ?? 3);
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
        if (received <= MiB) head.push(c); // a listing page of 1,000 keys, not a large body
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

/** CPU milliseconds (user + system, all threads) `pid` has used so far. */
function cpuMs(pid: number): number {
  // Fields 14 and 15 of /proc/<pid>/stat (counted after the parenthesised command name), in clock
  // ticks of 1/100 s (USER_HZ, 100 on Linux).
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** The many-small-objects case (`--small`): JSON rows per phase. */
async function smallObjects(
  devnet: Devnet,
  key: { accessKeyId: string; secretKey: string },
  count: number,
  concurrency: number,
): Promise<{ bench: string; value: number; unit: string }[]> {
  const s3Port = Number(new URL(devnet.s3Url).port);
  const pids = devnet.nodes.map((node) => node.ready!.pid);
  const totalCpuMs = () => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const bucket = await send(s3Port, 'PUT', '/small', s3Headers('PUT', '/small', s3Port, key, {}), 0);
  if (bucket.status !== 200) throw new Error(`CreateBucket: ${bucket.status} ${bucket.body}`);
  // The sizes of the cli-clients test's tree (1 B to ~37 KiB), nested like it.
  const paths = Array.from({ length: count }, (_, i) => `/small/d${i % 4}/more${i % 10}/f${i}.bin`);
  const sizes = paths.map((_, i) => (37 * i + 1) % (37 * 1024));
  const rows: { bench: string; value: number; unit: string }[] = [];
  const phase = async (name: string, each: (i: number) => Promise<void>, objects = count) => {
    const cpuBefore = totalCpuMs();
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < objects) await each(next++);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, objects) }, worker));
    const seconds = (performance.now() - started) / 1000;
    const cpu = (totalCpuMs() - cpuBefore) / count;
    rows.push({ bench: `small ${name}`, value: Math.round((count / seconds) * 10) / 10, unit: 'objects/s' });
    rows.push({ bench: `small ${name} cpu`, value: Math.round(cpu * 100) / 100, unit: 'cpu ms/object' });
    log(
      `  ${name.padEnd(5)} ${(count / seconds).toFixed(1)} objects/s, ${cpu.toFixed(2)} cpu ms/object (all nodes)`,
    );
  };
  const expectStatus = (what: string, status: number, body: string) => {
    if (status !== 200) throw new Error(`${what}: ${status} ${body}`);
  };
  await phase('put', async (i) => {
    const headers = s3Headers('PUT', paths[i]!, s3Port, key, { 'content-length': String(sizes[i]) });
    const put = await send(s3Port, 'PUT', paths[i]!, headers, sizes[i]!);
    expectStatus(`PUT ${paths[i]}`, put.status, put.body);
  });
  await phase('head', async (i) => {
    const head = await send(s3Port, 'HEAD', paths[i]!, s3Headers('HEAD', paths[i]!, s3Port, key, {}), 0);
    expectStatus(`HEAD ${paths[i]}`, head.status, head.body);
  });
  await phase('get', async (i) => {
    const get = await send(s3Port, 'GET', paths[i]!, s3Headers('GET', paths[i]!, s3Port, key, {}), 0);
    if (get.status !== 200 || get.received !== sizes[i]) throw new Error(`GET ${paths[i]}: ${get.status}`);
  });
  // Per object listed: ListObjectsV2 pages of 1,000 keys, one request at a time, as sync clients do.
  await phase(
    'list',
    async () => {
      let token: string | undefined;
      let listed = 0;
      do {
        const query = `list-type=2${token === undefined ? '' : `&continuation-token=${encodeURIComponent(token)}`}`;
        const headers = s3Headers('GET', '/small', s3Port, key, {}, query);
        const list = await send(s3Port, 'GET', `/small?${query}`, headers, 0);
        expectStatus('ListObjectsV2', list.status, list.body);
        listed += (list.body.match(/<Key>/g) ?? []).length;
        token = /<NextContinuationToken>([^<]*)</.exec(list.body)?.[1];
      } while (token !== undefined);
      if (listed !== count) throw new Error(`ListObjectsV2 listed ${listed} of ${count}`);
    },
    1,
  );
  return rows;
}

const dir = await tempDir('trinity-bench-s3-daemon-');
const devnet = new Devnet({
  nodes: nodeCount,
  dataDir: dir.path,
  basePort: await freeBasePort(nodeCount),
  // `--cli` runs another build's daemon (a baseline checkout) under this bench.
  cliPath: values.cli ?? fileURLToPath(new URL('../dist/cli.js', import.meta.url)),
  // The small case runs the cli-clients test's devnet: RS(2,1), 256 KiB shards.
  nodeConfig:
    values.small === undefined
      ? { fsync: false }
      : { erasure: { dataShards: 2, parityShards: 1, shardBytes: 256 * 1024 }, fsync: false },
  startTimeoutMs: 120_000,
  s3: true,
  // `--cpu-prof <dir>`: every node writes a V8 CPU profile there when it stops.
  ...(values['cpu-prof'] === undefined
    ? {}
    : { launcher: () => ['sh', '-c', `exec "$0" --cpu-prof --cpu-prof-dir=${values['cpu-prof']} "$@"`] }),
});
const results: Record<string, number[]> = { 'api put': [], 's3 put': [], 'api get': [], 's3 get': [] };
let rssGrowth = 0;
const small = values.small === undefined ? undefined : Number(values.small);
let smallRows: { bench: string; value: number; unit: string }[] = [];
try {
  await devnet.start();
  const key = await devnet.s3AccessKey();
  if (small !== undefined) {
    smallRows = await smallObjects(devnet, key, small, Number(values.concurrency ?? 4));
    rounds = 0;
  }
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

if (small !== undefined) {
  const params = { objects: small, concurrency: Number(values.concurrency ?? 4), nodes: nodeCount };
  const impl = values.impl ?? 'this';
  for (const row of smallRows) {
    if (values.json)
      console.log(JSON.stringify({ bench: row.bench, impl, params, value: row.value, unit: row.unit }));
  }
  process.exit(0);
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
