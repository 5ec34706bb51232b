// Put and get throughput of a 6-node devnet of real processes, beside two raw streams between two
// processes measured in the same run: one node:tls 1.3 connection (the floor of the data channel)
// and one js-libp2p stream of the node's own stack (`op` tls-floor and libp2p-stream).
//   pnpm --filter @trinity/node bench [-- --json] [--mib 256] [--nodes 6] [--rounds 3] [--no-ceiling]
//     [--cpu-prof DIR] [--cli dist/cli.js of another build] [--config '{"limits":{...}}'] [--per-node]
//     [--transports channel,libp2p] [--stream-runs 3] [--shard-mib 4] [--warmup-mib 256] [--client curl]
// Besides MiB/s it reports the CPU milliseconds all node processes spent per MiB put or got (from
// /proc/<pid>/stat), and those of both ends of the raw stream: steadier than MiB/s when other work
// shares the machine (though not immune to it: caches and context switches are shared too).
import '../src/polyfill.js';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { Devnet } from '../src/cli/devnet.js';
import { freeBasePort, sha256Hex, tempDir } from '../test/helpers.js';
import { benchNode, sinkProtocol } from './libp2p-peer.js';
import { sendOverTls } from './tls-peer.js';

const { values } = parseArgs({
  // pnpm passes the `--` of `pnpm bench -- --json` through.
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    json: { type: 'boolean' },
    mib: { type: 'string' },
    nodes: { type: 'string' },
    'no-ceiling': { type: 'boolean' },
    'cpu-prof': { type: 'string' },
    /** Another build of the CLI to run the devnet with (to compare two builds in one sitting). */
    cli: { type: 'string' },
    /** JSON merged into every node's config, e.g. '{"limits":{"maxStripesInFlight":12}}'. */
    config: { type: 'string' },
    'per-node': { type: 'boolean' },
    /** Put/get rounds per mode (encrypted and public, interleaved); medians are reported. */
    rounds: { type: 'string' },
    /** Which of encrypted,public to run (default both). */
    modes: { type: 'string' },
    /** Devnets to run: shards over the data channel, or over libp2p (dataChannel.enabled false). */
    transports: { type: 'string' },
    /** Runs of each raw stream (interleaved tls, libp2p, tls, …); medians are reported. */
    'stream-runs': { type: 'string' },
    /** Shard size in MiB (erasure.shardBytes of every node; the same as --config's erasure.shardBytes). */
    'shard-mib': { type: 'string' },
    /** MiB put, got and deleted once per mode before the measured rounds (default --mib; 0: none). */
    'warmup-mib': { type: 'string' },
    /** The measured puts' and gets' HTTP client: curl (default) or fetch (this process's own). */
    client: { type: 'string' },
  },
  strict: true,
});
const MiB = 1024 * 1024;
const sizeBytes = Number(values.mib ?? 256) * MiB;
const nodeCount = Number(values.nodes ?? 6);
const rounds = Number(values.rounds ?? 3);
const warmupBytes = Number(values['warmup-mib'] ?? values.mib ?? 256) * MiB;
if (!Number.isInteger(warmupBytes) || warmupBytes < 0)
  throw new RangeError(`--warmup-mib must be a whole number of MiB, got ${values['warmup-mib']}`);
const client = values.client ?? 'curl';
if (client !== 'curl' && client !== 'fetch')
  throw new RangeError(`--client must be curl or fetch, got ${client}`);
/** What --config and --shard-mib merge into every node's config. */
const extraConfig = JSON.parse(values.config ?? '{}') as { erasure?: { shardBytes?: number } };
if (values['shard-mib'] !== undefined) {
  const requested = Number(values['shard-mib']);
  if (!Number.isInteger(requested) || requested < 1 || requested > 64)
    throw new RangeError(
      `--shard-mib must be a whole number of MiB from 1 to 64, got ${values['shard-mib']}`,
    );
  extraConfig.erasure = { ...extraConfig.erasure, shardBytes: requested * MiB };
}
const rows: { bench: string; impl: string; params: Record<string, unknown>; value: number; unit: string }[] =
  [];
const log = (line: string) => {
  if (!values.json) console.log(line);
};

interface StreamRun {
  mibPerSecond: number;
  cpuMsPerMiB: number;
}

/** One node:tls 1.3 connection of `bytes` to a sink process: the floor of the data channel. */
async function rawTls(bytes: number): Promise<StreamRun> {
  const peerScript = fileURLToPath(new URL('./tls-peer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', peerScript, 'sink'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const address = await new Promise<string>((resolve) =>
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
    );
    const chunk = randomBytes(MiB);
    const ownCpu = process.cpuUsage();
    const childCpu = cpuSeconds(child.pid);
    const started = performance.now();
    const received = await sendOverTls(address, chunk, bytes);
    const seconds = (performance.now() - started) / 1000;
    const own = process.cpuUsage(ownCpu);
    const cpu = (own.user + own.system) / 1e6 + cpuSeconds(child.pid) - childCpu;
    if (received !== bytes) throw new Error(`tls sink counted ${received} of ${bytes} bytes`);
    return { mibPerSecond: bytes / MiB / seconds, cpuMsPerMiB: (cpu * 1000) / (bytes / MiB) };
  } finally {
    child.stdin.end();
  }
}

let streamCpu = Number.NaN;

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
    const ownCpu = process.cpuUsage();
    const childCpu = cpuSeconds(child.pid);
    const started = performance.now();
    for (let sent = 0; sent < bytes; sent += chunk.length) await lp.write(chunk);
    await lp.write(new Uint8Array(1));
    const received = Number(new TextDecoder().decode((await lp.read()).subarray()));
    const seconds = (performance.now() - started) / 1000;
    const own = process.cpuUsage(ownCpu);
    streamCpu = ((own.user + own.system) / 1e6 + cpuSeconds(child.pid) - childCpu) / (bytes / MiB);
    if (received !== bytes) throw new Error(`sink counted ${received} of ${bytes} bytes`);
    await stream.close();
    return bytes / MiB / seconds;
  } finally {
    await node.stop();
    child.stdin.end();
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (0 where there is none). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/** System CPU seconds of a process so far (the kernel's share: socket and disk work, fsync). */
function systemSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) / 100;
  } catch {
    return 0;
  }
}

/** The peak resident set (VmHWM) of a process in MiB, from /proc; 0 when unknown. */
function peakRssMiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) / 1024;
  } catch {
    return 0;
  }
}

let peakRss = 0;

interface Measured {
  put: number;
  get: number;
  putCpu: number;
  getCpu: number;
  /** CPU of node 0 alone (the put's coordinator, which also holds shards), per MiB put. */
  coordinatorCpu: number;
}

type Mode = 'encrypted' | 'public';

const execFileAsync = promisify(execFile);

/**
 * The measured puts and gets go through curl, a client in a process of its own that costs the two
 * cores little: Node's `fetch` in this process spent 1.6-2.4 CPU ms per MiB uploaded and 3.4-6.8 per
 * MiB downloaded (about what the reading node itself spends on a get), so on two cores it held a
 * get's MiB/s down to what the client could take (README, "The bench's own client"). `--client
 * fetch` keeps the old client. A get's body lands in a file and is checked after the timing.
 */
function measuredClient(devnet: Devnet, dir: string) {
  const bodyFile = join(dir, 'bench-body.bin');
  const gotFile = join(existsSync('/dev/shm') ? '/dev/shm' : dir, `trinity-bench-${process.pid}.bin`);
  const curl = async (index: number, args: string[]) => {
    const auth = `authorization: Bearer ${devnet.apiToken(index)}`;
    const common = ['--silent', '--show-error', '--fail-with-body', '--header', 'Expect:', '--header', auth];
    return (await execFileAsync('curl', [...common, ...args], { maxBuffer: MiB })).stdout;
  };
  return {
    /** Writes the next put's body where curl reads it (before the timing). */
    prepare: async (data: Buffer) => {
      if (client === 'curl') await writeFile(bodyFile, data);
    },
    /** Puts `data` through node 0; returns the object's id. */
    put: async (path: string, data: Buffer): Promise<string> => {
      if (client === 'curl') {
        const reply = await curl(0, ['--upload-file', bodyFile, `${devnet.apiUrl(0)}${path}`]);
        return (JSON.parse(reply) as { id: string }).id;
      }
      const put = await devnet.fetch(0, path, { method: 'PUT', body: data });
      if (!put.ok) throw new Error(`put failed: ${await put.text()}`);
      return ((await put.json()) as { id: string }).id;
    },
    /** Gets `path` from node `index`; the returned function reads the body back (untimed). */
    get: async (index: number, path: string): Promise<() => Promise<Buffer>> => {
      if (client === 'curl') {
        await curl(index, ['--output', gotFile, `${devnet.apiUrl(index)}${path}`]);
        return async () => {
          const body = await readFile(gotFile);
          await rm(gotFile, { force: true });
          return body;
        };
      }
      const got = await devnet.fetch(index, path);
      if (!got.ok) throw new Error(`get failed: ${await got.text()}`);
      const body = Buffer.from(await got.arrayBuffer());
      return async () => body;
    },
    /** Removes a get's body left behind by a failure. */
    remove: () => rm(gotFile, { force: true }),
  };
}

/**
 * Puts and gets an object of `bytes` on one devnet, `rounds` times for each mode, interleaved
 * (encrypted, public, encrypted, …) so that a change in the machine's speed hits both alike.
 * Returns per mode the median of the rounds.
 */
async function devnetPutGet(
  bytes: number,
  rounds: number,
  transport: Transport,
): Promise<Map<Mode, Measured>> {
  const dir = await tempDir('trinity-bench-');
  const devnet = new Devnet({
    nodes: nodeCount,
    dataDir: dir.path,
    basePort: await freeBasePort(nodeCount),
    cliPath: values.cli ?? fileURLToPath(new URL('../dist/cli.js', import.meta.url)),
    nodeConfig: {
      logLevel: 'warn',
      ...extraConfig,
      dataChannel: { enabled: transport === 'channel' },
    },
    ...(values['cpu-prof'] === undefined
      ? {}
      : { execArgv: ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] }),
  });
  const nodesCpu = () => devnet.nodes.reduce((sum, node) => sum + cpuSeconds(node.process?.pid), 0);
  /**
   * Waits (at most 10 s) until the nodes are idle again, under 5 % of a core over 250 ms: each
   * operation's CPU is counted from a quiet network until the network is quiet again, so it includes
   * its own tail (holders applying commits, publications) and none of the one before.
   */
  const settle = async () => {
    for (let i = 0; i < 40; i++) {
      const before = nodesCpu();
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (nodesCpu() - before < 0.0125) return;
    }
  };
  const measured = measuredClient(devnet, dir.path);
  const runs = new Map<Mode, Measured[]>(
    (values.modes ?? 'encrypted,public').split(',').map((mode) => [mode as Mode, []]),
  );
  try {
    await devnet.start();
    // Unmeasured: fresh processes compile their hot paths on the first operations (the JIT), which
    // a long-running node does once. One put, get and delete per mode first, so the rounds measure
    // warm nodes (--warmup-mib 0 measures cold ones, as every run with --rounds 1 did before). Of the
    // measured size by default: a smaller one left the rest of that one-time cost (compiling, the
    // heap growing to a put of this size, the kernel handing out fresh pages for its shard files) to
    // whichever put came first, 0.1-0.2 CPU s more on each holder (README, 2026-12-07, 06:10).
    for (const mode of warmupBytes > 0 ? runs.keys() : []) {
      const data = randomBytes(warmupBytes);
      const query = `name=warmup.bin${mode === 'public' ? '&public=1' : ''}`;
      const put = await devnet.fetch(0, `/v1/objects?${query}`, { method: 'PUT', body: data });
      if (!put.ok) throw new Error(`warm-up put failed: ${await put.text()}`);
      const { id } = (await put.json()) as { id: string };
      const got = await devnet.fetch(nodeCount - 1, `/v1/objects/${id}`);
      if (sha256Hex(Buffer.from(await got.arrayBuffer())) !== sha256Hex(data))
        throw new Error('warm-up get returned different bytes');
      const deleted = await devnet.fetch(0, `/v1/objects/${id}`, { method: 'DELETE' });
      if (!deleted.ok) throw new Error(`warm-up delete failed: ${await deleted.text()}`);
    }
    for (let round = 0; round < rounds; round++) {
      for (const mode of runs.keys()) {
        const data = randomBytes(bytes);
        const digest = sha256Hex(data);
        await measured.prepare(data);
        await settle();
        let cpu = nodesCpu();
        let perNode = devnet.nodes.map((n) => cpuSeconds(n.process?.pid));
        let perNodeSys = devnet.nodes.map((n) => systemSeconds(n.process?.pid));
        let started = performance.now();
        const query = `name=bench.bin${mode === 'public' ? '&public=1' : ''}`;
        const id = await measured.put(`/v1/objects?${query}`, data);
        const putSeconds = (performance.now() - started) / 1000;
        await settle();
        const putCpu = nodesCpu() - cpu;
        const coordinatorCpu = cpuSeconds(devnet.nodes[0]!.process?.pid) - perNode[0]!;
        if (values['per-node'])
          console.error(
            `${mode} put per node`,
            devnet.nodes
              .map(
                (n, i) =>
                  `${(cpuSeconds(n.process?.pid) - perNode[i]!).toFixed(2)} (sys ${(systemSeconds(n.process?.pid) - perNodeSys[i]!).toFixed(2)})`,
              )
              .join(' '),
          );
        cpu = nodesCpu();
        perNode = devnet.nodes.map((n) => cpuSeconds(n.process?.pid));
        perNodeSys = devnet.nodes.map((n) => systemSeconds(n.process?.pid));
        started = performance.now();
        const got = await measured.get(nodeCount - 1, `/v1/objects/${id}`);
        const getSeconds = (performance.now() - started) / 1000;
        await settle();
        const getCpu = nodesCpu() - cpu;
        if (values['per-node'])
          console.error(
            `${mode} get per node`,
            devnet.nodes
              .map(
                (n, i) =>
                  `${(cpuSeconds(n.process?.pid) - perNode[i]!).toFixed(2)} (sys ${(systemSeconds(n.process?.pid) - perNodeSys[i]!).toFixed(2)})`,
              )
              .join(' '),
          );
        if (sha256Hex(await got()) !== digest) throw new Error('get returned different bytes');
        const mib = bytes / MiB;
        runs.get(mode)!.push({
          put: mib / putSeconds,
          get: mib / getSeconds,
          putCpu: putCpu / mib,
          getCpu: getCpu / mib,
          coordinatorCpu: coordinatorCpu / mib,
        });
        // Frees the space for the next round (and measures nothing).
        await devnet.fetch(0, `/v1/objects/${id}`, { method: 'DELETE' });
      }
    }
    peakRss = Math.max(peakRss, ...devnet.nodes.map((node) => peakRssMiB(node.process?.pid)));
  } catch (error) {
    // What the nodes logged (warn and up) says why: the devnet's directory goes away below.
    for (const node of devnet.nodes) {
      const lines = readFileSync(join(node.dataDir, 'node.log'), 'utf8').trim().split('\n');
      const failures = lines.filter((line) => /fail|error|abort|unavailable/i.test(line));
      console.error(`node ${node.index}:\n${failures.slice(-15).join('\n')}`);
    }
    throw error;
  } finally {
    await devnet.stop();
    await measured.remove();
    await dir.remove();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return new Map(
    [...runs].map(([mode, list]) => [
      mode,
      {
        put: median(list.map((m) => m.put)),
        get: median(list.map((m) => m.get)),
        putCpu: median(list.map((m) => m.putCpu)),
        getCpu: median(list.map((m) => m.getCpu)),
        coordinatorCpu: median(list.map((m) => m.coordinatorCpu)),
      },
    ]),
  );
}

type Transport = 'channel' | 'libp2p';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

log(`machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, Node ${process.version}`);
log(
  `object: ${sizeBytes / MiB} MiB of random bytes; devnet: ${nodeCount} node processes, RS(4,2), fsync on\n`,
);
const mib = sizeBytes / MiB;
const shardMiB = extraConfig.erasure?.shardBytes;
const floor: StreamRun[] = [];
const libp2pRuns: StreamRun[] = [];
if (!values['no-ceiling']) {
  for (let run = 0; run < Number(values['stream-runs'] ?? 3); run++) {
    floor.push(await rawTls(sizeBytes));
    const mibPerSecond = await rawLibp2p(sizeBytes);
    libp2pRuns.push({ mibPerSecond, cpuMsPerMiB: streamCpu * 1000 });
  }
  for (const [op, runs] of [
    ['tls-floor', floor],
    ['libp2p-stream', libp2pRuns],
  ] as const) {
    const params = { op, mib, runs: runs.length };
    const impl = op === 'tls-floor' ? 'node:tls 1.3' : 'libp2p tcp+noise+yamux';
    rows.push({ bench: op, impl, params, value: median(runs.map((r) => r.mibPerSecond)), unit: 'MiB/s' });
    rows.push({ bench: op, impl, params, value: median(runs.map((r) => r.cpuMsPerMiB)), unit: 'cpu-ms/MiB' });
  }
}
const floorCpu = floor.length > 0 ? median(floor.map((r) => r.cpuMsPerMiB)) : Number.NaN;
const libp2pMiBps = libp2pRuns.length > 0 ? median(libp2pRuns.map((r) => r.mibPerSecond)) : Number.NaN;
for (const transport of (values.transports ?? 'channel').split(',') as Transport[]) {
  const measured = await devnetPutGet(sizeBytes, rounds, transport);
  for (const [mode, m] of measured) {
    const base = {
      mib,
      nodes: nodeCount,
      rounds,
      encryption: mode === 'encrypted',
      transport,
      warmupMiB: warmupBytes / MiB,
      client,
      ...(shardMiB === undefined ? {} : { shardMiB: shardMiB / MiB }),
    };
    const impl = `@trinity/node (${mode}, ${transport})`;
    const cpuMs = (seconds: number) => seconds * 1000;
    rows.push({ bench: 'put', impl, params: { op: 'put', ...base }, value: m.put, unit: 'MiB/s' });
    rows.push({
      bench: 'put',
      impl,
      params: { op: 'put', ...base },
      value: cpuMs(m.putCpu),
      unit: 'cpu-ms/MiB',
    });
    rows.push({
      bench: 'put',
      impl,
      params: { op: 'put', ...base, process: 'coordinator' },
      value: cpuMs(m.coordinatorCpu),
      unit: 'cpu-ms/MiB',
    });
    rows.push({ bench: 'get', impl, params: { op: 'get', ...base }, value: m.get, unit: 'MiB/s' });
    rows.push({
      bench: 'get',
      impl,
      params: { op: 'get', ...base },
      value: cpuMs(m.getCpu),
      unit: 'cpu-ms/MiB',
    });
  }
}
rows.push({
  bench: 'peak-rss',
  impl: '@trinity/node',
  params: { op: 'put-get', mib },
  value: peakRss,
  unit: 'MiB',
});
if (values.json) {
  for (const row of rows) console.log(JSON.stringify({ ...row, value: Math.round(row.value * 10) / 10 }));
} else {
  console.log('| op | impl | params | value | unit | × floor CPU | of libp2p stream |');
  console.log('|---|---|---|---:|---|---:|---:|');
  for (const row of rows) {
    const { op, mib: _mib, ...rest } = row.params as { op: string; mib: number };
    const ofFloor = row.unit === 'cpu-ms/MiB' ? `${(row.value / floorCpu).toFixed(1)}×` : '';
    const ofStream = row.unit === 'MiB/s' ? `${((row.value / libp2pMiBps) * 100).toFixed(0)} %` : '';
    console.log(
      `| ${op ?? row.bench} | ${row.impl} | ${JSON.stringify(rest)} | ${row.value.toFixed(1)} | ${row.unit} | ${ofFloor} | ${ofStream} |`,
    );
  }
}
