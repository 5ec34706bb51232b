// @trinity/vsa benchmarks: fingerprint encoding (MB/s), bundling, and exact top-10 search (ms/query) at 10k,
// 100k and 1M entries, single queries and 16 per pass, beside native C popcount scans built here with
// `cc -O3 -march=native` (skipped with a note when no compiler is found): over the index's own layout
// and over plain planes, 16-query passes also with the queries transposed; ratios are against the
// fastest. `--json` prints one JSON object per line; `--quick` runs small sizes only (a smoke test).
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Random, randomSeed, seededRandom, sha256 } from '@trinity/core';
import {
  bundle,
  dot,
  FingerprintEncoder,
  type Hypervector,
  nonzeroCount,
  randomHypervector,
  SemanticIndex,
  wasmKernelAvailable,
} from '../src/index.js';

interface Row {
  bench: string;
  impl: string;
  params: Record<string, number | string>;
  value: number;
  unit: string;
}

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const seed = randomSeed();
const rows: Row[] = [];
const notes: string[] = [];
const ours = '@trinity/vsa';
const oursTs = '@trinity/vsa (TS fallback)';
const anchorPlanar = 'C anchor, planar (cc -O3 -march=native)';
const anchorBlocked = 'C anchor, index layout (cc -O3 -march=native)';
const anchorTransposed = 'C anchor, planar, queries transposed (cc -O3 -march=native)';
const anchorImpls = [anchorPlanar, anchorBlocked, anchorTransposed];
const top = 10;
const batch = 16;

function emit(row: Row): void {
  rows.push(row);
  if (json) console.log(JSON.stringify(row));
}

function note(text: string): void {
  notes.push(text);
  if (!json) console.error(text);
}

/** Best of several runs: on a shared machine the slower ones measure the neighbours, not the code. */
function best(values: number[]): number {
  return Math.min(...values);
}

function timeMs(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function benchEncoder(random: Random): void {
  const shapes = quick
    ? [{ dims: 1024, shardBytes: 1 << 20 }]
    : [
        { dims: 256, shardBytes: 1 << 20 },
        { dims: 1024, shardBytes: 1 << 20 },
        { dims: 1024, shardBytes: 64 << 10 },
        { dims: 10_000, shardBytes: 1 << 20 },
      ];
  for (const { dims, shardBytes } of shapes) {
    const shard = random.bytes(shardBytes);
    for (const kernel of wasmKernelAvailable() ? (['wasm', 'js'] as const) : (['js'] as const)) {
      const encoder = new FingerprintEncoder({ dims, kernel });
      encoder.encode(shard);
      const runs = Math.max(3, Math.min(15, Math.round((8 << 20) / shardBytes)));
      const ms = best(Array.from({ length: runs }, () => timeMs(() => encoder.encode(shard))));
      const impl = kernel === 'wasm' ? ours : oursTs;
      emit({
        bench: 'encode',
        impl,
        params: { dims, shardBytes },
        value: round(shardBytes / 1e6 / (ms / 1e3)),
        unit: 'MB/s',
      });
    }
  }
}

function benchBundle(random: Random): void {
  const vectors = Array.from({ length: 1000 }, () => randomHypervector(random, 1024, 0.9));
  for (const kernel of wasmKernelAvailable() ? (['wasm', 'js'] as const) : (['js'] as const)) {
    bundle(vectors, { kernel });
    const ms = best(Array.from({ length: 15 }, () => timeMs(() => bundle(vectors, { kernel }))));
    const impl = kernel === 'wasm' ? ours : oursTs;
    emit({ bench: 'bundle', impl, params: { vectors: 1000, dims: 1024 }, value: round(ms), unit: 'ms' });
  }
}

// ---------------------------------------------------------------------------------------------
// Search

/** Padded planes of `count` random fingerprint-like vectors (about 1 trit in 8 zero), in the index layout. */
function randomPlanes(random: Random, count: number, dims: number): Uint32Array {
  const planeWords = Math.ceil(dims / 256) * 8;
  const words = Math.ceil(dims / 32);
  const tail = dims % 32 === 0 ? 0xffffffff : (1 << (dims % 32)) - 1;
  const out = new Uint32Array(count * 2 * planeWords);
  for (let e = 0; e < count; e++) {
    const at = e * 2 * planeWords;
    for (let w = 0; w < words; w++) {
      let nonzero = random.nextU32() | random.nextU32() | random.nextU32();
      if (w === words - 1) nonzero &= tail;
      out[at + planeWords + w] = nonzero >>> 0;
      out[at + w] = (random.nextU32() & nonzero) >>> 0;
    }
  }
  return out;
}

function vectorAt(planes: Uint32Array, slot: number, dims: number): Hypervector {
  const planeWords = Math.ceil(dims / 256) * 8;
  const words = Math.ceil(dims / 32);
  const at = slot * 2 * planeWords;
  return {
    dims,
    sign: planes.subarray(at, at + words),
    nonzero: planes.subarray(at + planeWords, at + planeWords + words),
  };
}

/** The exact top-10 slots by brute force (integer comparison of cosines, ties by slot). */
function truth(planes: Uint32Array, count: number, query: Hypervector): number[] {
  const hits: Array<[number, number, number]> = [];
  for (let slot = 0; slot < count; slot++) {
    const v = vectorAt(planes, slot, query.dims);
    hits.push([slot, dot(v, query), Math.max(1, nonzeroCount(v))]);
    if (hits.length > 4 * top) hits.sort(byCosine).splice(top);
  }
  return hits
    .sort(byCosine)
    .slice(0, top)
    .map((h) => h[0]);
}

function byCosine(a: [number, number, number], b: [number, number, number]): number {
  const x = a[1] * Math.abs(a[1]) * b[2];
  const y = b[1] * Math.abs(b[1]) * a[2];
  return x === y ? a[0] - b[0] : y - x;
}

function benchSearch(random: Random, entries: number, dims: number, anchorDir: string | undefined): void {
  const planes = randomPlanes(random, entries, dims);
  const queries = randomPlanes(random, 32, dims);
  const queryVectors = Array.from({ length: 32 }, (_, q) => vectorAt(queries, q, dims));
  const slotOf = new Map<string, number>();
  const indexes: Array<[string, SemanticIndex]> = [];
  for (const kernel of wasmKernelAvailable() ? (['wasm', 'js'] as const) : (['js'] as const)) {
    if (kernel === 'js' && entries > 100_000) continue;
    const index = new SemanticIndex({ dims, kernel, initialCapacity: entries });
    for (let slot = 0; slot < entries; slot++) {
      const hash = sha256(new Uint8Array(new Uint32Array([slot, entries]).buffer));
      if (indexes.length === 0) slotOf.set(String.fromCharCode(...hash.subarray(0, 12)), slot);
      index.addVector(hash, vectorAt(planes, slot, dims));
    }
    indexes.push([kernel === 'wasm' ? ours : oursTs, index]);
  }
  const slotsOf = (results: Array<{ shardHash: Uint8Array }>) =>
    results.map((r) => slotOf.get(String.fromCharCode(...r.shardHash.subarray(0, 12)))!);
  // Many runs, the best reported (the C anchor does the same): the machine is shared.
  const singleRuns = entries * dims >= 1e9 ? 9 : entries * dims >= 1e8 ? 21 : 41;
  const batchRuns = entries * dims >= 1e9 ? 5 : entries * dims >= 1e8 ? 9 : 21;
  const truthQueries = [0, 1];
  const expected = truthQueries.map((q) => truth(planes, entries, queryVectors[q]!));
  for (const [impl, index] of indexes) {
    // Warm-up: V8 first runs WebAssembly and hot JS through baseline compilers, then optimizes.
    for (let i = 0; i < 6; i++) index.search(queryVectors[31 - i]!, { topK: top });
    for (let i = 0; i < 3; i++) index.searchBatch(queryVectors.slice(16, 32), { topK: top });
    const single = Array.from({ length: singleRuns }, (_, r) =>
      timeMs(() => index.search(queryVectors[r % 32]!, { topK: top })),
    );
    const batched = Array.from(
      { length: batchRuns },
      () => timeMs(() => index.searchBatch(queryVectors.slice(0, batch), { topK: top })) / batch,
    );
    emit({
      bench: 'search',
      impl,
      params: { entries, dims, batch: 1 },
      value: round(best(single)),
      unit: 'ms/query',
    });
    emit({
      bench: 'search',
      impl,
      params: { entries, dims, batch },
      value: round(best(batched)),
      unit: 'ms/query',
    });
    const found = truthQueries.map((q) => slotsOf(index.search(queryVectors[q]!, { topK: top })));
    const foundBatch = slotsOf(index.searchBatch(queryVectors.slice(0, batch), { topK: top })[0]!);
    let hit = 0;
    for (const [i, q] of truthQueries.entries())
      hit += found[i]!.filter((slot) => expected[q]!.includes(slot)).length;
    hit += foundBatch.filter((slot) => expected[0]!.includes(slot)).length;
    emit({
      bench: 'recall',
      impl,
      params: { entries, dims, topK: top },
      value: hit / (3 * top),
      unit: 'recall',
    });
  }
  if (anchorDir !== undefined)
    runAnchor(anchorDir, planes, queries, entries, dims, Math.max(singleRuns, batchRuns), expected[0]!);
}

function compileAnchor(dir: string, dims: number, blocked: boolean): string | undefined {
  const binary = join(dir, `anchor-${dims}-${blocked ? 'blocked' : 'planar'}`);
  const source = fileURLToPath(new URL('./anchor.c', import.meta.url));
  const planeWords64 = Math.ceil(dims / 256) * 4;
  const layout = blocked ? ['-DBLOCKED'] : [];
  try {
    execFileSync(
      'cc',
      ['-O3', '-march=native', `-DPLANE_WORDS=${planeWords64}`, ...layout, '-o', binary, source, '-lm'],
      {
        stdio: 'pipe',
      },
    );
    return binary;
  } catch (error) {
    note(
      `C anchor skipped for ${dims} dims: cc -O3 -march=native failed (${(error as Error).message.split('\n')[0]})`,
    );
    return undefined;
  }
}

/** Writes planar planes to `path`, converted to the index's 32-byte blocks when `blocked`. */
function writePlanes(path: string, planes: Uint32Array, dims: number, blocked: boolean): void {
  const planeWords = Math.ceil(dims / 256) * 8;
  const entryWords = 2 * planeWords;
  const out = new Uint32Array(Math.min(planes.length, Math.floor((4 << 20) / entryWords) * entryWords));
  const fd = openSync(path, 'w');
  try {
    for (let start = 0; start < planes.length; start += out.length) {
      const piece = planes.subarray(start, start + out.length);
      if (!blocked) out.set(piece);
      else {
        for (let e = 0; e < piece.length; e += 2 * planeWords) {
          for (let w = 0; w < planeWords; w++) {
            const at = e + ((w >>> 3) << 4) + (w & 7);
            out[at] = piece[e + w]!;
            out[at + 8] = piece[e + planeWords + w]!;
          }
        }
      }
      writeSync(fd, new Uint8Array(out.buffer, 0, piece.length * 4));
    }
  } finally {
    closeSync(fd);
  }
}

function runAnchor(
  dir: string,
  planes: Uint32Array,
  queries: Uint32Array,
  entries: number,
  dims: number,
  runs: number,
  expected: number[],
): void {
  for (const blocked of [false, true]) {
    const binary = compileAnchor(dir, dims, blocked);
    if (binary === undefined) return;
    const entriesFile = join(dir, 'entries.bin');
    const queriesFile = join(dir, 'queries.bin');
    writePlanes(entriesFile, planes, dims, blocked);
    writePlanes(queriesFile, queries, dims, blocked);
    const output = execFileSync(binary, [entriesFile, queriesFile, String(entries), '32', String(runs)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    rmSync(entriesFile);
    for (const line of output.trim().split('\n')) {
      const result = JSON.parse(line) as { batch: number; loop: string; msPerQuery: number; top: number[] };
      if (result.loop === 'transposed' && blocked) continue;
      const impl = result.loop === 'transposed' ? anchorTransposed : blocked ? anchorBlocked : anchorPlanar;
      emit({
        bench: 'search',
        impl,
        params: { entries, dims, batch: result.batch },
        value: round(result.msPerQuery),
        unit: 'ms/query',
      });
      if (result.batch === 1) {
        const agree = result.top.filter((slot) => expected.includes(slot)).length;
        if (agree < top)
          note(`${impl} top-10 at ${entries}×${dims} agrees on ${agree}/10 (float scores, ties)`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

function round(value: number): number {
  return value >= 100 ? Math.round(value) : Math.round(value * 100) / 100;
}

/** The faster C anchor (of the two layouts) for the same search shape. */
function anchorFor(r: Row): Row | undefined {
  const same = rows.filter(
    (a) =>
      anchorImpls.includes(a.impl) &&
      a.bench === r.bench &&
      JSON.stringify(a.params) === JSON.stringify(r.params),
  );
  return same.sort((x, y) => x.value - y.value)[0];
}

function printTable(): void {
  const lines = rows.map((r) => {
    const a = anchorImpls.includes(r.impl) ? undefined : anchorFor(r);
    const ratio = a === undefined ? '' : `${(r.value / a.value).toFixed(2)}× anchor`;
    const params = Object.entries(r.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return [r.bench, r.impl, params, `${r.value} ${r.unit}`, ratio];
  });
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...lines.map((l) => l[i]!.length), 4));
  for (const line of lines)
    console.log(
      line
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

const random = seededRandom(seed);
if (!json)
  console.error(
    `@trinity/vsa bench, seed ${seed}, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`,
  );
if (!wasmKernelAvailable()) note('WebAssembly SIMD is not available here: only the TS fallback runs');
benchEncoder(random);
if (!quick) benchBundle(random);
const anchorDir = mkdtempSync(join(tmpdir(), 'trinity-vsa-bench-'));
try {
  const sizes = quick
    ? [[10_000, 1024]]
    : [
        [10_000, 1024],
        [100_000, 1024],
        [1_000_000, 1024],
        [10_000, 10_000],
        [100_000, 10_000],
      ];
  for (const [entries, dims] of sizes) benchSearch(random, entries!, dims!, anchorDir);
} finally {
  rmSync(anchorDir, { recursive: true, force: true });
}
if (!json) printTable();
for (const text of notes) if (json) console.error(text);
