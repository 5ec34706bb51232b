import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { TxEngine, TxLog } from '@trinity/tx';
import { ShardLockManager } from '@trinity/vsa';

// Three nodes in one process: a coordinator and two shard holders, each with its own log on disk.
const dir = await mkdtemp(join(tmpdir(), 'trinity-tx-quick-start-'));
const engines = new Map();
const transport = {
  send: (to, message) => setImmediate(() => engines.get(to)?.receive(message)),
};
// The storage side of a participant: here a map; in the daemon, the shard store's staging area.
const committed = new Map();
const staging = (node) => ({
  stage: async () => {},
  commitStaged: async (txId, shards) => {
    for (const { shardHash } of shards) committed.set(shardHash, `${node}:${txId}`);
  },
  abortStaged: async () => {},
  purgeStaged: async () => {},
});
const logs = [];
for (const nodeId of ['coordinator', 'holder-1', 'holder-2']) {
  const log = await TxLog.open(join(dir, `${nodeId}.txlog`));
  logs.push(log);
  const engine = await TxEngine.open({
    nodeId,
    log,
    transport,
    clock: new SystemClock(),
    locks: new ShardLockManager(),
    staging: staging(nodeId),
  });
  engines.set(nodeId, engine);
}

// An atomic write of two shards on two nodes: both commit, or neither does.
const shard = (name) => toHex(sha256(utf8ToBytes(name)));
const coordinator = engines.get('coordinator');
const result = await coordinator.execute([
  { shardHash: shard('stripe-0/shard-0'), node: 'holder-1' },
  { shardHash: shard('stripe-0/shard-1'), node: 'holder-2' },
]);
console.log(`transaction ${result.outcome}`);
console.log(`shards committed: ${committed.size}`);
console.log(coordinator.stats.snapshot());

for (const engine of engines.values()) await engine.close();
for (const log of logs) await log.close();
await rm(dir, { recursive: true, force: true });
