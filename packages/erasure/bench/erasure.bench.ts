/**
 * Encode and reconstruct throughput of @trinity/erasure and its peers, side by side in one run:
 * @ronomon/reed-solomon (native addon, Cauchy code: a speed peer, not a compatible one) and
 * @digitaldefiance/reed-solomon-erasure.wasm (Rust reed-solomon-erasure compiled to wasm: same code).
 * MB/s of data bytes (k x shardBytes) per second on random data, median of interleaved rounds.
 *
 *   pnpm --filter @trinity/erasure bench            table
 *   pnpm --filter @trinity/erasure bench -- --json  one JSON object per line
 *   options: --quick (fewer, shorter rounds), --shape=10x4 (one shape), --markdown (compact table)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ReedSolomonErasure } from '@digitaldefiance/reed-solomon-erasure.wasm';
import { randomBytes } from '@trinity/core';
import { type Backend, createEncoder } from '../src/index.js';
import { createWasmKernel } from '../src/kernel-wasm.js';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
/** Also print a compact table, one column per implementation (the README's). */
const markdown = args.includes('--markdown');

const onlyShape = args.find((arg) => arg.startsWith('--shape='))?.slice('--shape='.length);
const shapes = [
  { k: 10, m: 4 },
  { k: 4, m: 2 },
  { k: 29, m: 51 },
].filter(({ k, m }) => onlyShape === undefined || onlyShape === `${k}x${m}`);
const sizes = [64 * 1024, 1024 * 1024];
const rounds = quick ? 2 : 5;
const batchMs = quick ? 60 : 200;
const warmUpMs = quick ? 100 : 300;

type Op = 'encode' | 'reconstruct';

interface Runner {
  readonly impl: string;
  readonly params: Record<string, string>;
  run(op: Op): void | Promise<void>;
  /** Throws unless the last reconstruct restored the lost shards. */
  check(): void;
  dispose?(): void;
}

interface Setup {
  readonly k: number;
  readonly m: number;
  readonly size: number;
  readonly data: Uint8Array[];
  /** Shards lost in the reconstruct benchmark: up to m, data shards first (the costliest). */
  readonly lost: number[];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function trinityRunner(setup: Setup, buffers: 'plain' | 'wasm-memory', backend: Backend): Runner {
  const { k, m, size, data, lost } = setup;
  const rs = createEncoder({ dataShards: k, parityShards: m, backend });
  const shards =
    buffers === 'wasm-memory'
      ? rs.allocateShards(size)
      : Array.from({ length: k + m }, () => new Uint8Array(size));
  for (let i = 0; i < k; i++) shards[i]!.set(data[i]!);
  rs.encode(shards);
  const present = shards.map((_, i) => !lost.includes(i));
  return {
    impl: '@trinity/erasure',
    params: { backend: rs.backend, buffers },
    run(op) {
      if (op === 'encode') rs.encode(shards);
      else {
        for (const i of lost) shards[i]!.fill(0, 0, 64);
        rs.reconstruct(shards, present);
      }
    },
    check() {
      for (let i = 0; i < k; i++) if (!sameBytes(shards[i]!, data[i]!)) throw new Error(`shard ${i} wrong`);
      if (!rs.verify(shards)) throw new Error('parity wrong');
    },
    dispose: () => rs.releaseShards(shards),
  };
}

interface RonomonModule {
  MAX_K: number;
  MAX_M: number;
  create(k: number, m: number): unknown;
  encode(
    context: unknown,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    callback: (error?: Error) => void,
  ): void;
}

function ronomonRunner(setup: Setup): Runner | undefined {
  const ronomon = require('@ronomon/reed-solomon') as RonomonModule;
  const { k, m, size, data, lost } = setup;
  if (k > ronomon.MAX_K || m > ronomon.MAX_M) return undefined;
  const context = ronomon.create(k, m);
  const buffer = Buffer.alloc(k * size);
  const parity = Buffer.alloc(m * size);
  data.forEach((shard, i) => {
    buffer.set(shard, i * size);
  });
  const all = (2 ** (k + m) - 1) >>> 0;
  const lostMask = lost.reduce((mask, i) => mask | (1 << i), 0) >>> 0;
  const call = (sources: number, targets: number) =>
    new Promise<void>((resolve, reject) =>
      ronomon.encode(context, sources, targets, buffer, 0, k * size, parity, 0, m * size, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  const dataMask = (2 ** k - 1) >>> 0;
  return {
    impl: '@ronomon/reed-solomon',
    params: { backend: 'native', buffers: 'plain' },
    run(op) {
      if (op === 'encode') return call(dataMask, (all & ~dataMask) >>> 0);
      for (const i of lost) (i < k ? buffer : parity).fill(0, (i % k) * size, (i % k) * size + 64);
      return call((all & ~lostMask) >>> 0, lostMask);
    },
    check() {
      for (let i = 0; i < k; i++) {
        if (!sameBytes(buffer.subarray(i * size, (i + 1) * size), data[i]!))
          throw new Error(`shard ${i} wrong`);
      }
    },
  };
}

let rustCodec: ReedSolomonErasure | undefined;

function rustRunner(setup: Setup): Runner {
  rustCodec ??= ReedSolomonErasure.fromBytes(
    readFileSync(require.resolve('@digitaldefiance/reed-solomon-erasure.wasm/wasm')),
  );
  const codec = rustCodec;
  const { k, m, size, data, lost } = setup;
  const block = new Uint8Array((k + m) * size);
  data.forEach((shard, i) => {
    block.set(shard, i * size);
  });
  const available = Array.from({ length: k + m }, (_, i) => !lost.includes(i));
  const ok = (result: number) => {
    if (result !== ReedSolomonErasure.RESULT_OK) throw new Error(ReedSolomonErasure.getResultMessage(result));
  };
  return {
    impl: '@digitaldefiance/reed-solomon-erasure.wasm',
    params: { backend: 'wasm (Rust)', buffers: 'plain' },
    run(op) {
      if (op === 'encode') ok(codec.encode(block, k, m));
      else {
        for (const i of lost) block.fill(0, i * size, i * size + 64);
        ok(codec.reconstruct(block, k, m, available));
      }
    },
    check() {
      for (let i = 0; i < k; i++) {
        if (!sameBytes(block.subarray(i * size, (i + 1) * size), data[i]!))
          throw new Error(`shard ${i} wrong`);
      }
    },
  };
}

/**
 * Data MB/s of one batch: as many runs as fit in batchMs (at least one), over the CPU time the
 * process spent (all threads, so the native addon's worker thread counts too). CPU time rather than
 * wall time keeps other engineers' processes on this shared machine out of the comparison.
 */
async function batch(runner: Runner, op: Op, dataBytes: number): Promise<number> {
  let runs = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  do {
    await runner.run(op);
    runs++;
  } while (performance.now() - start < batchMs);
  const used = process.cpuUsage(cpu);
  return (dataBytes * runs) / ((used.user + used.system) / 1e6) / 1e6;
}

/** Runs until warm (V8 tiers hot wasm and JS up in the background), then checks the result. */
async function warmUp(runner: Runner, op: Op): Promise<void> {
  const start = performance.now();
  let runs = 0;
  while (runs < 3 || (performance.now() - start < warmUpMs && runs < 50)) {
    await runner.run(op);
    runs++;
  }
  runner.check();
}

interface Row {
  bench: Op;
  impl: string;
  params: Record<string, string | number>;
  value: number;
  unit: 'MB/s';
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measureShape(k: number, m: number, size: number): Promise<Row[]> {
  const data = Array.from({ length: k }, () => randomBytes(size));
  const lost = [...Array(k + m).keys()].slice(0, Math.min(m, k + m)).map((i) => i);
  const setup: Setup = { k, m, size, data, lost };
  const runners: Runner[] = [];
  for (const backend of ['wasm-relaxed-simd', 'wasm-simd'] as const) {
    if (backend === 'wasm-relaxed-simd' && !relaxedAvailable) continue;
    runners.push(trinityRunner(setup, 'plain', backend), trinityRunner(setup, 'wasm-memory', backend));
  }
  runners.push(trinityRunner(setup, 'plain', 'js'));
  const ronomon = ronomonRunner(setup);
  if (ronomon !== undefined) runners.push(ronomon);
  runners.push(rustRunner(setup));
  const rows: Row[] = [];
  for (const op of ['encode', 'reconstruct'] as const) {
    const samples = runners.map(() => [] as number[]);
    for (const runner of runners) await warmUp(runner, op);
    for (let round = 0; round < rounds; round++) {
      for (const [i, runner] of runners.entries()) {
        // Slow peers (seconds per run) get one round: their order of magnitude is what matters.
        if (round > 0 && samples[i]!.length > 0 && samples[i]![0]! < ((k * size) / 1e6) * 2) continue;
        samples[i]!.push(await batch(runner, op, k * size));
      }
    }
    for (const [i, runner] of runners.entries()) {
      runner.check();
      rows.push({
        bench: op,
        impl: runner.impl,
        params: {
          k,
          m,
          shardBytes: size,
          ...(op === 'reconstruct' ? { lost: lost.length } : {}),
          ...runner.params,
        },
        value: Math.round(median(samples[i]!)),
        unit: 'MB/s',
      });
    }
  }
  for (const runner of runners) runner.dispose?.();
  return rows;
}

const relaxedFlag = '--experimental-wasm-relaxed-simd';
const relaxedAvailable = createWasmKernel({ relaxed: true }) !== undefined;

/** On Node 20 relaxed SIMD validates only under a flag: run this script again with it, once. */
function rerunWithRelaxedSimd(): boolean {
  if (relaxedAvailable || process.execArgv.includes(relaxedFlag) || !process.version.startsWith('v20.'))
    return false;
  const script = fileURLToPath(import.meta.url);
  execFileSync(process.execPath, [relaxedFlag, '--import', 'tsx', script, ...args], { stdio: 'inherit' });
  return true;
}

/** Table order: shape as listed, size, op, then ours (default, relaxed, portable) before the peers. */
function rowOrder(row: Row): number {
  const p = row.params;
  const shape = shapes.findIndex((s) => s.k === p.k && s.m === p.m);
  const implRank =
    row.impl !== '@trinity/erasure'
      ? 10 + row.impl.length
      : p.backend === 'js'
        ? 5
        : (p.backend === 'wasm-relaxed-simd' ? 0 : 2) + (p.buffers === 'plain' ? 0 : 1);
  return (
    ((shape * 10 + sizes.indexOf(Number(p.shardBytes))) * 2 + (row.bench === 'encode' ? 0 : 1)) * 100 +
    implRank
  );
}

function printTable(rows: Row[]): void {
  const header = ['shape', 'op', 'impl', 'backend', 'buffers', 'MB/s', 'vs ronomon'];
  const lines: string[][] = [];
  for (const row of rows) {
    const p = row.params;
    const ronomon = rows.find(
      (r) =>
        r.impl === '@ronomon/reed-solomon' &&
        r.bench === row.bench &&
        r.params.k === p.k &&
        r.params.m === p.m &&
        r.params.shardBytes === p.shardBytes,
    );
    const size =
      Number(p.shardBytes) >= 1 << 20
        ? `${Number(p.shardBytes) >> 20}MiB`
        : `${Number(p.shardBytes) >> 10}KiB`;
    lines.push([
      `${p.k}x${p.m}x${size}`,
      row.bench === 'reconstruct' ? `reconstruct (${p.lost} lost)` : 'encode',
      row.impl,
      String(p.backend),
      String(p.buffers),
      String(row.value),
      ronomon ? `${(row.value / ronomon.value).toFixed(2)}x` : '',
    ]);
  }
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const format = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  console.log(format(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const line of lines) console.log(format(line));
}

const columns: [string, (row: Row) => boolean][] = [
  ['relaxed SIMD, plain', (r) => r.params.backend === 'wasm-relaxed-simd' && r.params.buffers === 'plain'],
  [
    'relaxed SIMD, wasm memory',
    (r) => r.params.backend === 'wasm-relaxed-simd' && r.params.buffers !== 'plain',
  ],
  ['SIMD, plain', (r) => r.params.backend === 'wasm-simd' && r.params.buffers === 'plain'],
  ['SIMD, wasm memory', (r) => r.params.backend === 'wasm-simd' && r.params.buffers !== 'plain'],
  ['TypeScript', (r) => r.params.backend === 'js'],
  ['@ronomon/reed-solomon', (r) => r.impl === '@ronomon/reed-solomon'],
  ['reed-solomon-erasure.wasm', (r) => r.impl === '@digitaldefiance/reed-solomon-erasure.wasm'],
];

/** One line per shape and op, one column per implementation: the README's table. */
function printCompactTable(rows: Row[]): void {
  console.log(`\n| shape | op | ${columns.map(([name]) => name).join(' | ')} |`);
  console.log(`|---|---|${columns.map(() => '---:').join('|')}|`);
  const keys = [...new Set(rows.map((r) => `${r.params.k}x${r.params.m}x${r.params.shardBytes}/${r.bench}`))];
  for (const key of keys) {
    const group = rows.filter((r) => `${r.params.k}x${r.params.m}x${r.params.shardBytes}/${r.bench}` === key);
    const p = group[0]!.params;
    const size =
      Number(p.shardBytes) >= 1 << 20
        ? `${Number(p.shardBytes) >> 20} MiB`
        : `${Number(p.shardBytes) >> 10} KiB`;
    const op = group[0]!.bench === 'encode' ? 'encode' : `reconstruct, ${p.lost} lost`;
    const cells = columns.map(([, match]) => String(group.find(match)?.value ?? 'n/a'));
    console.log(`| ${p.k}+${p.m}, ${size} | ${op} | ${cells.join(' | ')} |`);
  }
}

async function main(): Promise<void> {
  if (rerunWithRelaxedSimd()) return;
  if (!json) {
    const flag = process.execArgv.includes(relaxedFlag) ? ` ${relaxedFlag}` : '';
    console.log(
      `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}${flag}`,
    );
    console.log('MB/s of data (k x shardBytes) per CPU-second, median of interleaved rounds; random data\n');
  }
  const rows: Row[] = [];
  for (const { k, m } of shapes) {
    for (const size of sizes) {
      const shapeRows = await measureShape(k, m, size);
      rows.push(...shapeRows);
      if (json) for (const row of shapeRows) console.log(JSON.stringify(row));
    }
  }
  rows.sort((a, b) => rowOrder(a) - rowOrder(b));
  if (!json) printTable(rows);
  if (markdown) printCompactTable(rows);
}

await main();
