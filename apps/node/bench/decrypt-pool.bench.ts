// The encrypted read's decryption stage alone: 256 MiB of ciphertext in 1 MiB chunks (shards), each
// SHA-256-verified on the main thread as the read path does, decrypted on the main thread or by a
// DecryptPool worker. Reports MiB/s (wall) and CPU ms per MiB of the whole process (all threads).
// Usage: pnpm build && npx tsx bench/decrypt-pool.bench.ts [--mib 256] [--rounds 5]
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createDecryptor, encrypt } from '@trinity/core';
import { DecryptPool } from '../src/services/objects/decrypt-pool.js';

const { values } = parseArgs({ options: { mib: { type: 'string' }, rounds: { type: 'string' } } });
const MiB = 1024 * 1024;
const sizeBytes = Number(values.mib ?? 256) * MiB;
const rounds = Number(values.rounds ?? 5);
const key = randomBytes(32);
const sealed = await encrypt(randomBytes(sizeBytes), { key });

async function* shards(): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < sealed.length; offset += MiB) {
    const shard = sealed.subarray(offset, offset + MiB);
    createHash('sha256').update(shard).digest(); // the fetch path's verification
    yield shard;
  }
}

async function mainThread(): Promise<number> {
  const decryptor = await createDecryptor({ key });
  let bytes = 0;
  for await (const chunk of shards())
    for (const piece of await decryptor.update(chunk)) bytes += piece.length;
  for (const piece of await decryptor.final()) bytes += piece.length;
  return bytes;
}

const pool = new DecryptPool({
  workers: 1,
  inFlightBytesMax: 8 * MiB,
  workerUrl: new URL('../dist/decrypt-worker.js', import.meta.url),
});
async function worker(): Promise<number> {
  let bytes = 0;
  for await (const piece of pool.decrypt(shards(), { key })) bytes += piece.length;
  return bytes;
}

const results = new Map<string, { mibPerSecond: number; cpuMsPerMiB: number }[]>();
try {
  for (let round = 0; round < rounds + 1; round++) {
    for (const [name, run] of [
      ['main thread', mainThread],
      ['worker', worker],
    ] as const) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const bytes = await run();
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      if (bytes !== sizeBytes) throw new Error(`${name} decrypted ${bytes} bytes, not ${sizeBytes}`);
      if (round === 0) continue; // warm-up
      const list = results.get(name) ?? [];
      list.push({
        mibPerSecond: sizeBytes / MiB / seconds,
        cpuMsPerMiB: (used.user + used.system) / 1000 / (sizeBytes / MiB),
      });
      results.set(name, list);
    }
  }
} finally {
  await pool.stop();
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, list] of results) {
  const mibPerSecond = median(list.map((r) => r.mibPerSecond)).toFixed(0);
  const cpu = median(list.map((r) => r.cpuMsPerMiB)).toFixed(2);
  console.log(
    `decrypt ${sizeBytes / MiB} MiB in 1 MiB shards, ${name}: ${mibPerSecond} MiB/s, ${cpu} CPU ms/MiB`,
  );
}
