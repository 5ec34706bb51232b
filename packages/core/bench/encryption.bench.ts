/**
 * AES-256-GCM throughput of @trinity/core's segmented encryption and its peers, side by side in one
 * run: node:crypto called the plain way (one createCipheriv and one update per segment) and
 * `openssl speed -evp aes-256-gcm` (the same CPU's ceiling, in-place on one warm buffer). MB/s of
 * plaintext per second of process CPU time (all threads, so WebCrypto's thread pool counts), median
 * of interleaved rounds, on random data; each MB/s row has a "CPU ms/MiB" twin.
 *
 *   pnpm --filter @trinity/core bench            table
 *   pnpm --filter @trinity/core bench -- --json  one JSON object per line
 *   options: --quick (fewer, shorter rounds), --markdown (compact table)
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import {
  type AesGcmBackendName,
  createDecryptor,
  createEncryptor,
  encrypt,
  generateObjectKey,
} from '../src/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const markdown = args.includes('--markdown');

const segmentSizes = [16, 64, 256, 1024, 4096].map((kib) => kib * 1024);
const objectBytes = 8 * 1024 * 1024;
/** The daemon reads files in pieces of about this size. */
const inputChunkBytes = 1024 * 1024;
const rounds = quick ? 3 : 7;
const batchMs = quick ? 80 : 250;

type Op = 'encrypt' | 'decrypt';

interface Runner {
  readonly impl: string;
  readonly op: Op;
  readonly params: Record<string, string | number>;
  /** Processes objectBytes of plaintext once. */
  run(): Promise<void> | void;
}

interface Row {
  bench: Op;
  impl: string;
  params: Record<string, string | number>;
  value: number;
  unit: 'MB/s' | 'CPU ms/MiB';
}

const plain = randomBytes(objectBytes);
const key = generateObjectKey();

function chunks(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < data.length; offset += size) out.push(data.subarray(offset, offset + size));
  return out;
}

async function trinityRunners(segmentBytes: number, backend: AesGcmBackendName): Promise<Runner[]> {
  const params = { segmentBytes, backend };
  const sealed = await encrypt(plain, { key, segmentBytes, backend });
  const plainChunks = chunks(plain, inputChunkBytes);
  const sealedChunks = chunks(sealed, inputChunkBytes);
  return [
    {
      impl: '@trinity/core',
      op: 'encrypt',
      params,
      async run() {
        const encryptor = await createEncryptor({ key, segmentBytes, backend });
        for (const chunk of plainChunks) await encryptor.update(chunk);
        await encryptor.final();
      },
    },
    {
      impl: '@trinity/core',
      op: 'decrypt',
      params,
      async run() {
        const decryptor = await createDecryptor({ key, backend });
        for (const chunk of sealedChunks) await decryptor.update(chunk);
        await decryptor.final();
      },
    },
  ];
}

/** node:crypto the obvious way: one cipher and one update per segment, tag kept apart (no copy). */
function rawRunners(segmentBytes: number): Runner[] {
  const nonce = randomBytes(12);
  const segments = chunks(plain, segmentBytes);
  const sealed = segments.map((segment) => {
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    const body = Buffer.concat([cipher.update(segment), cipher.final()]);
    return { body, tag: cipher.getAuthTag() };
  });
  const params = { segmentBytes, backend: 'node:crypto' };
  return [
    {
      impl: 'node:crypto raw',
      op: 'encrypt',
      params,
      run() {
        for (const segment of segments) {
          const cipher = createCipheriv('aes-256-gcm', key, nonce);
          cipher.update(segment);
          cipher.final();
          cipher.getAuthTag();
        }
      },
    },
    {
      impl: 'node:crypto raw',
      op: 'decrypt',
      params,
      run() {
        for (const { body, tag } of sealed) {
          const decipher = createDecipheriv('aes-256-gcm', key, nonce);
          decipher.setAuthTag(tag);
          decipher.update(body);
          decipher.final();
        }
      },
    },
  ];
}

/** MB/s of one batch: as many runs as fit in batchMs, over the process's CPU time. */
async function batch(runner: Runner): Promise<number> {
  let runs = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  do {
    await runner.run();
    runs++;
  } while (performance.now() - start < batchMs);
  const used = process.cpuUsage(cpu);
  return (objectBytes * runs) / ((used.user + used.system) / 1e6) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** openssl speed's figure for one buffer size (user CPU time, in-place), or undefined without openssl. */
function opensslSpeed(bytes: number): number | undefined {
  try {
    const output = execFileSync(
      'openssl',
      ['speed', '-seconds', quick ? '1' : '2', '-bytes', String(bytes), '-evp', 'aes-256-gcm'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const line = output.split('\n').find((text) => /^AES-256-GCM\s/i.test(text));
    const kilobytes = line?.trim().split(/\s+/).pop()?.replace(/k$/, '');
    return kilobytes === undefined ? undefined : (Number(kilobytes) * 1000) / 1e6;
  } catch {
    return undefined;
  }
}

function rowsOf(bench: Op, impl: string, params: Row['params'], mbPerS: number): Row[] {
  const value = Math.round(mbPerS);
  const msPerMiB = Math.round((1.048576 / mbPerS) * 1000 * 1000) / 1000;
  return [
    { bench, impl, params, value, unit: 'MB/s' },
    { bench, impl, params, value: msPerMiB, unit: 'CPU ms/MiB' },
  ];
}

async function main(): Promise<void> {
  const runners: Runner[] = [];
  for (const segmentBytes of segmentSizes) {
    runners.push(...(await trinityRunners(segmentBytes, 'node:crypto')), ...rawRunners(segmentBytes));
  }
  for (const segmentBytes of [64 * 1024, 1024 * 1024]) {
    runners.push(...(await trinityRunners(segmentBytes, 'webcrypto')));
  }
  for (const runner of runners) await runner.run(); // warm up
  const samples = new Map<Runner, number[]>(runners.map((runner) => [runner, []]));
  for (let round = 0; round < rounds; round++) {
    for (const runner of runners) samples.get(runner)!.push(await batch(runner));
  }
  const rows: Row[] = [];
  for (const runner of runners)
    rows.push(...rowsOf(runner.op, runner.impl, runner.params, median(samples.get(runner)!)));
  for (const segmentBytes of segmentSizes) {
    const speed = opensslSpeed(segmentBytes);
    if (speed !== undefined)
      rows.push(...rowsOf('encrypt', 'openssl speed', { segmentBytes, backend: 'openssl' }, speed));
  }
  print(rows);
}

function print(rows: Row[]): void {
  if (json) {
    for (const row of rows) console.log(JSON.stringify(row));
    return;
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `${cpu}, ${cpus().length} cores, Node ${process.versions.node}, OpenSSL ${process.versions.openssl}`,
  );
  console.log(
    `object ${objectBytes / 1048576} MiB in ${inputChunkBytes / 1024} KiB chunks, median of ${rounds} rounds`,
  );
  const mbRows = rows.filter((row) => row.unit === 'MB/s');
  if (markdown) {
    console.log('| op | impl | backend | segment | MB/s | CPU ms/MiB |');
    console.log('|---|---|---|---:|---:|---:|');
  }
  for (const row of mbRows) {
    const ms = rows.find(
      (other) =>
        other !== row &&
        other.unit === 'CPU ms/MiB' &&
        other.bench === row.bench &&
        other.impl === row.impl &&
        other.params === row.params,
    );
    const segment = `${Number(row.params.segmentBytes) / 1024} KiB`;
    const cells = [
      row.bench,
      row.impl,
      String(row.params.backend),
      segment,
      String(row.value),
      String(ms?.value),
    ];
    console.log(
      markdown
        ? `| ${cells.join(' | ')} |`
        : cells.map((cell, i) => cell.padEnd([8, 16, 12, 10, 7, 8][i]!)).join(' '),
    );
  }
}

await main();
