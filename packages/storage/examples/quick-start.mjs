import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToUtf8, toHex, utf8ToBytes } from '@trinity/core';
import {
  createManifest,
  decodeManifest,
  encodeManifest,
  objectId,
  planRepair,
  ShardStore,
} from '@trinity/storage';

const dir = await mkdtemp(join(tmpdir(), 'trinity-quick-start-'));
const store = await ShardStore.open(dir, { capacityBytes: 1024 * 1024 * 1024 });

// Content-addressed, durable (temp file, fsync, rename, fsync folder), verified on every read.
const hash = await store.put(utf8ToBytes('hello, shard'));
console.log('stored', toHex(hash));
console.log('read back:', bytesToUtf8(await store.get(hash)));

// A transaction stages shards; they become visible only when it commits.
await store.stage('c0ffee01', utf8ToBytes('prepared shard'), { fencingToken: 7 });
const committed = await store.commitStaged('c0ffee01');
console.log('committed', committed.length, 'shard; stats:', store.stats().shardCount, 'shards');
await store.close();

// A manifest: the object id covers the content, not where the shards live.
const h = (n) => n.toString(16).padStart(2, '0').repeat(32);
const manifest = createManifest({
  name: 'notes.txt',
  size: 6,
  erasure: { dataShards: 2, parityShards: 1, shardBytes: 3 },
  stripes: [
    {
      dataBytes: 6,
      shards: [
        { hash: h(1), holders: [{ nodeId: 'node-a', region: 'us-east' }] },
        { hash: h(2), holders: [{ nodeId: 'node-b', region: 'eu-west' }] },
        { hash: h(3), holders: [{ nodeId: 'node-c', region: 'asia-east' }] },
      ],
    },
  ],
  createdAtMs: 0,
});
const id = objectId(manifest);
console.log('object id', id, 'round trip ok:', decodeManifest(encodeManifest(manifest), id).size === 6);

// node-b is gone: rebuild its shard somewhere that holds nothing of this stripe.
const plan = planRepair(manifest, (_stripe, shard) => (shard === 1 ? 'missing' : 'ok'), {
  candidates: [
    { nodeId: 'node-a', region: 'us-east' },
    { nodeId: 'node-d', region: 'oceania' },
  ],
});
console.log(
  'repair: rebuild shard',
  plan.tasks[0]?.rebuild[0]?.shardIndex,
  'on',
  plan.tasks[0]?.rebuild[0]?.target.nodeId,
);
await rm(dir, { recursive: true, force: true });
