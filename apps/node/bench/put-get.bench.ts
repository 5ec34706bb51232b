// Put and get throughput of a 6-node devnet of real processes, beside the raw single-stream
// throughput of js-libp2p between two processes measured in the same run (the ceiling).
//   pnpm --filter @trinity/node bench [-- --json] [--mib 256] [--nodes 6]
import '../src/polyfill.js';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { Devnet } from '../src/devnet.js';
import { freeBasePort, sha256Hex, tempDir } from '../test/helpers.js';
import { benchNode, sinkProtocol } from './libp2p-peer.js';

const { values } = parseArgs({
  options: { json: { type: 'boolean' }, mib: { type: 'string' }, nodes: { type: 'string' } },
  strict: true,
});
const MiB = 1024 * 1024;
const sizeBytes = Number(values.mib ?? 256) * MiB;
const nodeCount = Number(values.nodes ?? 6);
const rows: { bench: string; impl: string; params: Record<string, unknown>; value: number; unit: string }[] =
  [];
const log = (line: string) => {
  if (!values.json) console.log(line);
};

async function rawLibp2p(bytes: number): Promise<number> {
  const peerScript = fileURLToPath(new URL('./libp2p-peer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', peerScript, 'sink'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const address = await new Promise<string>((resolve) =>
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  const node = await benchNode();
  try {
    const stream = await node.dialProtocol(multiaddr(address), sinkProtocol);
    const lp = lpStream(stream, { maxDataLength: 4 * 1024 * 1024 });
    const chunk = randomBytes(MiB);
    const started = performance.now();
    for (let sent = 0; sent < bytes; sent += chunk.length) await lp.write(chunk);
    await lp.write(new Uint8Array(1));
    const received = Number(new TextDecoder().decode((await lp.read()).subarray()));
    const seconds = (performance.now() - started) / 1000;
    if (received !== bytes) throw new Error(`sink counted ${received} of ${bytes} bytes`);
    await stream.close();
    return bytes / MiB / seconds;
  } finally {
    await node.stop();
    child.stdin.end();
  }
}

async function devnetPutGet(bytes: number): Promise<{ put: number; get: number }> {
  const dir = await tempDir('trinity-bench-');
  const devnet = new Devnet({
    nodes: nodeCount,
    dataDir: dir.path,
    basePort: await freeBasePort(nodeCount),
    cliPath: fileURLToPath(new URL('../dist/cli.js', import.meta.url)),
    nodeConfig: { logLevel: 'warn' },
  });
  try {
    await devnet.start();
    const data = randomBytes(bytes);
    const digest = sha256Hex(data);
    let started = performance.now();
    const put = await fetch(`${devnet.apiUrl(0)}/v1/objects?name=bench.bin`, { method: 'PUT', body: data });
    if (!put.ok) throw new Error(`put failed: ${await put.text()}`);
    const putSeconds = (performance.now() - started) / 1000;
    const { id } = (await put.json()) as { id: string };
    started = performance.now();
    const back = Buffer.from(
      await (await fetch(`${devnet.apiUrl(nodeCount - 1)}/v1/objects/${id}`)).arrayBuffer(),
    );
    const getSeconds = (performance.now() - started) / 1000;
    if (sha256Hex(back) !== digest) throw new Error('get returned different bytes');
    return { put: bytes / MiB / putSeconds, get: bytes / MiB / getSeconds };
  } finally {
    await devnet.stop();
    await dir.remove();
  }
}

log(`machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, Node ${process.version}`);
log(
  `object: ${sizeBytes / MiB} MiB of random bytes; devnet: ${nodeCount} node processes, RS(4,2), fsync on\n`,
);
const ceiling = await rawLibp2p(sizeBytes);
rows.push({
  bench: 'stream',
  impl: 'libp2p',
  params: { mib: sizeBytes / MiB, streams: 1 },
  value: ceiling,
  unit: 'MB/s',
});
const { put, get } = await devnetPutGet(sizeBytes);
rows.push({
  bench: 'put',
  impl: '@trinity/node',
  params: { mib: sizeBytes / MiB, nodes: nodeCount },
  value: put,
  unit: 'MB/s',
});
rows.push({
  bench: 'get',
  impl: '@trinity/node',
  params: { mib: sizeBytes / MiB, nodes: nodeCount },
  value: get,
  unit: 'MB/s',
});
if (values.json) {
  for (const row of rows) console.log(JSON.stringify({ ...row, value: Math.round(row.value * 10) / 10 }));
} else {
  console.log('| bench | impl | MiB/s | of ceiling |');
  console.log('|---|---|---:|---:|');
  for (const row of rows) {
    console.log(
      `| ${row.bench} | ${row.impl} | ${row.value.toFixed(1)} | ${((row.value / ceiling) * 100).toFixed(0)} % |`,
    );
  }
}
