// CPU per MiB of the pieces of a put and a get, each alone in this process (user + system CPU of
// the process, threadpool included), to set against the end-to-end bench (put-get.bench.ts):
//   pnpm --filter @trinity/node bench:components [-- --mib 64] [--json] [--no-fsync]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createDecryptor, createEncryptor, generateObjectKey, sha256 } from '@trinity/core';
import { encodeStripes, ShardPool } from '@trinity/erasure';
import { merkleRoot, merkleRootInPlace, ShardStore } from '@trinity/storage';
import { tempDir } from '../test/helpers.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: { mib: { type: 'string' }, json: { type: 'boolean' }, 'no-fsync': { type: 'boolean' } },
  strict: true,
});
const MiB = 1024 * 1024;
const mib = Number(values.mib ?? 64);
const shardBytes = MiB;
const data = randomBytes(mib * MiB);
const shards = Array.from({ length: mib }, (_, i) => data.subarray(i * MiB, (i + 1) * MiB));

async function measure(name: string, fn: () => Promise<void> | void): Promise<void> {
  await fn(); // warm-up
  const runs: number[] = [];
  for (let run = 0; run < 3; run++) {
    const before = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(before);
    runs.push((used.user + used.system) / 1000 / mib);
  }
  const value = [...runs].sort((a, b) => a - b)[1]!;
  if (values.json) console.log(JSON.stringify({ bench: 'component', name, value, unit: 'cpu-ms/MiB' }));
  else console.log(`${name.padEnd(44)} ${value.toFixed(2)} CPU ms per MiB`);
}

await measure('SHA-256, 1 MiB one-shot calls', () => {
  for (const shard of shards) sha256(shard);
});
await measure('Merkle root, 4 KiB leaves', () => {
  for (const shard of shards) merkleRoot(shard);
});
await measure("Merkle root in place (the coordinator's)", () => {
  for (const shard of shards) merkleRootInPlace(shard);
});
const key = generateObjectKey();
await measure('AES-256-GCM seal, 1 MiB chunks in', async () => {
  const encryptor = await createEncryptor({ key });
  for (const shard of shards) await encryptor.update(shard);
  await encryptor.final();
});
// The reading node opens what it fetched: whole data shards (1 MiB here), not the sealing pieces.
const sealed: Uint8Array[] = [];
{
  const encryptor = await createEncryptor({ key });
  const pieces = [...(await encryptor.update(data)), ...(await encryptor.final())];
  const joined = Buffer.concat(pieces);
  for (let offset = 0; offset < joined.length; offset += MiB)
    sealed.push(joined.subarray(offset, offset + MiB));
}
await measure('AES-256-GCM open, 1 MiB chunks in', async () => {
  const decryptor = await createDecryptor({ key });
  for (const piece of sealed) await decryptor.update(piece);
  await decryptor.final();
});
const pool = new ShardPool(12);
await measure('RS(4,2) encode + SHA-256 of 6 shards', async () => {
  for await (const stripe of encodeStripes(shards, { dataShards: 4, parityShards: 2, shardBytes }, pool)) {
    pool.give(stripe.shards);
  }
});
const dir = await tempDir('trinity-components-');
try {
  const store = await ShardStore.open(dir.path, { fsync: values['no-fsync'] !== true });
  let tx = 0;
  const staged: string[] = [];
  await measure(`stage 1 MiB shards (SHA-256, write${values['no-fsync'] ? '' : ', fsync'})`, async () => {
    const txId = (++tx).toString(16).padStart(16, '0');
    staged.push(txId);
    // Distinct bytes per shard and run: a shard staged before would not be written again.
    for (const shard of shards) {
      shard[0] = tx;
      await store.stage(txId, shard);
    }
  });
  await measure('commit staged shards', async () => {
    await store.commitStaged(staged.shift()!);
  });
  await store.close();
} finally {
  await dir.remove();
}
