import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { fingerprint, SemanticIndex, ShardLockManager, similarity } from '@trinity/vsa';

// Fingerprints: bytes → one 1024-trit hypervector; similar content gives similar vectors.
const hello = fingerprint(utf8ToBytes('Hello, World!'));
console.log('Hello/Earth', similarity(hello, fingerprint(utf8ToBytes('Hello, Earth!'))).toFixed(2));
console.log('Hello/XXXX ', similarity(hello, fingerprint(utf8ToBytes('XXXXXXXXXXX'))).toFixed(2));

// A semantic index: shard hash → fingerprint, searched by content (exact top-k).
const random = seededRandom(7);
const index = new SemanticIndex();
const shards = Array.from({ length: 100 }, () => random.bytes(64 * 1024));
for (const shard of shards) index.add(sha256(shard), shard);
const edited = shards[42].slice();
for (let i = 0; i < edited.length; i += 10) edited[i] = random.int(0, 255); // change 10 % of it
const [best] = index.search(edited, { topK: 3 });
console.log('best match is shard 42:', toHex(best.shardHash) === toHex(sha256(shards[42])));
console.log('similarity', best.similarity.toFixed(2));

// Save and load (versioned, checksummed; a corrupt file is refused).
const dir = mkdtempSync(join(tmpdir(), 'vsa-quick-start-'));
await index.save(join(dir, 'shards.idx'));
const loaded = await SemanticIndex.load(join(dir, 'shards.idx'));
console.log('loaded entries', loaded.size);
rmSync(dir, { recursive: true });

// Shard locks for two-phase commit: time is an argument (sans-IO).
const locks = new ShardLockManager(); // 60 s expiry, 64 locks per holder
const shard = sha256(shards[0]);
const alice = sha256(utf8ToBytes('alice'));
const bob = sha256(utf8ToBytes('bob'));
const nowMs = 1_000_000;
const grant = locks.acquire(shard, alice, 'tx-1', nowMs);
try {
  locks.acquire(shard, bob, 'tx-2', nowMs + 1);
} catch (error) {
  console.log('bob:', error.code);
}
console.log('alice holds it:', locks.verify(shard, alice, nowMs + 2));
locks.releaseTransaction('tx-1', nowMs + 3);
const next = locks.acquire(shard, bob, 'tx-2', nowMs + 4);
console.log('fencing token grew:', next.fencingToken > grant.fencingToken);
