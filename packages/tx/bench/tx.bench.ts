/**
 * Committed transactions per second: one coordinator and 4 participant nodes in one process, each
 * with its own transaction log on disk (real fdatasync), messages over an in-process loopback
 * transport; at 1, 16 and 256 concurrent transactions. Beside it, the fdatasync rate of this disk
 * measured in the same run: the bound that group commit works around.
 *
 *   pnpm --filter @trinity/tx bench [-- --json] [-- --seconds 3]
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, SystemClock, seededRandom, toHex } from '@trinity/core';
import { ShardLockManager } from '@trinity/vsa';
import {
  Coordinator,
  type TxEngine as Engine,
  isCoordinatorMessage,
  Participant,
  parseTxMessage,
  type ShardLocks,
  type TxEffect,
  TxEngine,
  TxLog,
  type TxMessage,
  type TxStagingHost,
} from '../src/index.js';

const json = process.argv.includes('--json');
const secondsArg = process.argv.indexOf('--seconds');
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 3;
const participantsCount = 4;
const onlyArg = process.argv.indexOf('--concurrent');
const concurrencies = onlyArg > 0 ? [Number(process.argv[onlyArg + 1])] : [1, 16, 256];
/** `plain`: messages passed as objects; `validated`: through JSON and the schema, as the daemon does; `stub-locks`: plain with a trivial lock table, to show what the lock table costs. */
type Variant = 'plain' | 'validated' | 'stub-locks';
const variants: [Variant, number[]][] = process.argv.includes('--plain')
  ? [['plain', concurrencies]]
  : [
      ['plain', concurrencies],
      ['validated', concurrencies],
      ['stub-locks', [256]],
    ];
const implOf: Record<Variant, string> = {
  plain: '@trinity/tx',
  validated: '@trinity/tx (JSON + schema)',
  'stub-locks': '@trinity/tx (stub lock table)',
};

interface Row {
  bench: string;
  impl: string;
  params: Record<string, number | string>;
  value: number;
  unit: string;
}
const rows: Row[] = [];
/** Shard ids for the transactions: a random 48-hex prefix per run and a counter, all distinct. */
const shardPrefix = toHex(seededRandom(Date.now()).bytes(24));
let shardCounter = 0;
const nextShard = () => shardPrefix + (shardCounter++).toString(16).padStart(16, '0');
function report(row: Row): void {
  rows.push(row);
  if (json) console.log(JSON.stringify(row));
}

/** fdatasync after a small append, as the log does: ops/s and p50 latency. */
async function measureFdatasync(dir: string): Promise<void> {
  const handle = await open(join(dir, 'fsync-probe'), 'w');
  const latencies: number[] = [];
  const payload = randomBytes(256);
  let position = 0;
  const until = performance.now() + 1_000 * Math.min(seconds, 2);
  while (performance.now() < until) {
    const start = performance.now();
    await handle.write(payload, 0, payload.length, position);
    await handle.datasync();
    latencies.push(performance.now() - start);
    position += payload.length;
  }
  await handle.close();
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(latencies.length / 2)]!;
  const totalMs = latencies.reduce((sum, x) => sum + x, 0);
  report({
    bench: 'fdatasync',
    impl: 'node:fs',
    params: { bytes: 256 },
    value: round((latencies.length * 1000) / totalMs),
    unit: 'ops/s',
  });
  report({
    bench: 'fdatasync',
    impl: 'node:fs',
    params: { bytes: 256, quantile: 'p50' },
    value: round(p50, 3),
    unit: 'ms',
  });
}

/**
 * A staging host that keeps payload references in memory while they are staged: the benchmark
 * measures the protocol and its log. (Committed shards are counted, not kept: a map of every shard
 * ever committed would grow through the run and bill its own garbage collection to the protocol.)
 */
function memoryStaging(): TxStagingHost {
  const staged = new Map<string, readonly unknown[]>();
  return {
    stage: async (txId, shards) => void staged.set(txId, shards),
    commitStaged: async (txId) => void staged.delete(txId),
    abortStaged: async (txId) => void staged.delete(txId),
    purgeStaged: async () => staged.clear(),
  };
}

/**
 * Loopback delivery, asynchronous as a network is: messages sent in one turn are delivered together
 * on one later microtask (Node's queueMicrotask costs an AsyncResource per call, more than a message).
 * With `validate`, each goes through JSON and the message schema.
 */
function loopback(engines: Map<string, Engine>, validate: boolean) {
  // Two queues used in turn (targets and messages side by side): no allocation per message.
  let targets: Engine[] = [];
  let messages: TxMessage[] = [];
  let spareTargets: Engine[] = [];
  let spareMessages: TxMessage[] = [];
  const deliver = () => {
    const batchTargets = targets;
    const batchMessages = messages;
    targets = spareTargets;
    messages = spareMessages;
    for (let i = 0; i < batchTargets.length; i++) batchTargets[i]!.receive(batchMessages[i]!);
    batchTargets.length = 0;
    batchMessages.length = 0;
    spareTargets = batchTargets;
    spareMessages = batchMessages;
  };
  return {
    send(to: string, message: TxMessage): void {
      const target = engines.get(to);
      if (target === undefined) return;
      const delivered = validate ? parseTxMessage(JSON.parse(JSON.stringify(message))) : message;
      if (targets.length === 0) void Promise.resolve().then(deliver);
      targets.push(target);
      messages.push(delivered);
    },
  };
}

/** A lock table that grants everything: what the protocol costs without @trinity/vsa's lock bookkeeping. */
const noBinding = new Uint8Array(32);
const stubLocks: ShardLocks = {
  acquire: (_shardHash, _holderId, _txId, nowMs) => ({
    binding: noBinding,
    fencingToken: 1,
    expiresAtMs: nowMs + 60_000,
  }),
  release: () => {},
  verify: () => false,
  releaseTransaction: () => 0,
  latestFencingToken: () => 1,
};

async function cluster(dir: string, variant: Variant) {
  const engines = new Map<string, Engine>();
  const logs: TxLog[] = [];
  const clock = new SystemClock();
  const transport = loopback(engines, variant === 'validated');
  const ids = ['coordinator', ...Array.from({ length: participantsCount }, (_, i) => `participant-${i}`)];
  for (const nodeId of ids) {
    // Default log settings, as a node runs them (16 MiB preallocated, written during the warm-up).
    const log = await TxLog.open(join(dir, `${nodeId}.txlog`));
    logs.push(log);
    const locks = variant === 'stub-locks' ? stubLocks : new ShardLockManager();
    const config = {
      maxConcurrentTransactions: 1024,
    };
    engines.set(
      nodeId,
      await TxEngine.open({ nodeId, log, transport, clock, locks, staging: memoryStaging(), config }),
    );
  }
  return { engines, logs, coordinator: engines.get('coordinator')!, participants: ids.slice(1) };
}

async function measureCommits(dir: string, concurrent: number, variant: Variant): Promise<void> {
  const { coordinator, participants, logs } = await cluster(dir, variant);
  let committed = 0;
  let aborted = 0;
  let counting = false;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      // Fresh random shards per transaction: no lock contention, so every transaction should commit.
      const specs = participants.map((node) => ({ shardHash: nextShard(), node }));
      const result = await coordinator.execute(specs);
      if (!counting) continue;
      if (result.outcome === 'committed') committed++;
      else aborted++;
    }
  };
  const workers = Array.from({ length: concurrent }, worker);
  // Warm-up: JIT, and the logs' first preallocation.
  await sleep(1_000);
  counting = true;
  const syncsBefore = logs.reduce((sum, log) => sum + log.syncCount, 0);
  const start = performance.now();
  const cpuBefore = process.cpuUsage();
  await sleep(seconds * 1000);
  const cpu = process.cpuUsage(cpuBefore);
  counting = false;
  const elapsedS = (performance.now() - start) / 1000;
  const syncs = logs.reduce((sum, log) => sum + log.syncCount, 0) - syncsBefore;
  stop = true;
  await Promise.all(workers);
  if (!json) {
    for (const log of logs) {
      const g = log.groupCommitStats;
      console.log(
        `    ${log.path.split('/').pop()}: ${g.syncs} syncs, ${round(g.records / g.syncs, 1)} records/sync, ${round(g.flushMs / g.syncs, 2)} ms/flush`,
      );
    }
  }
  for (const log of logs) await log.close();
  const impl = implOf[variant];
  report({
    bench: '2pc-commit',
    impl,
    // The variants also say so in their params: only the plain rows carry exactly {participants, concurrent}.
    params:
      variant === 'plain'
        ? { participants: participantsCount, concurrent }
        : { participants: participantsCount, concurrent, variant },
    value: round(committed / elapsedS),
    unit: 'tx/s',
  });
  if (!json) {
    const cpuUs = (cpu.user + cpu.system) / Math.max(1, committed);
    console.log(
      `  ${impl} concurrent=${concurrent}: ${round(cpuUs)} µs CPU per tx (user ${round(cpu.user / 1e3)} ms, system ${round(cpu.system / 1e3)} ms)`,
    );
    console.log(
      `  ${impl} concurrent=${concurrent}: ${aborted} aborted, ${round(syncs / elapsedS)} fdatasync/s over 5 logs, ${round(committed / Math.max(1, syncs), 2)} tx per fdatasync`,
    );
  }
}

/**
 * The state machines alone, driven synchronously with instant durability: no I/O, no promises.
 * The protocol's CPU floor for one transaction over 4 participants.
 */
function measureStateMachines(): void {
  const coordinator = new Coordinator({
    nodeId: 'coordinator',
    random: seededRandom(7),
    config: { maxConcurrentTransactions: 4_096 },
  });
  const participants = new Map(
    Array.from({ length: participantsCount }, (_, i) => {
      const nodeId = `participant-${i}`;
      return [nodeId, new Participant({ nodeId, locks: new ShardLockManager() })] as const;
    }),
  );
  const queue: [string, TxEffect][] = [];
  let nowMs = Date.now();
  let finished = 0;
  const push = (node: string, effects: readonly TxEffect[]) => {
    for (const effect of effects) queue.push([node, effect]);
  };
  const drain = () => {
    for (let i = 0; i < queue.length; i++) {
      const [node, effect] = queue[i]!;
      const participant = participants.get(node);
      if (effect.kind === 'send') {
        const m = effect.message;
        push(
          effect.to,
          isCoordinatorMessage(m)
            ? coordinator.handle(m, nowMs)
            : participants.get(effect.to)!.handle(m, nowMs),
        );
      } else if (effect.kind === 'append') {
        JSON.stringify(effect.record);
        push(
          node,
          participant === undefined
            ? coordinator.logged(effect.record, nowMs)
            : participant.logged(effect.record, nowMs),
        );
      } else if (effect.kind === 'stage') push(node, participant!.staged(effect.txId, true, nowMs));
      else if (effect.kind === 'commitStaged') push(node, participant!.applied(effect.txId, nowMs));
      else if (effect.kind === 'finished') finished++;
    }
    queue.length = 0;
  };
  let count = 0;
  const batch = () => {
    for (let i = 0; i < 256; i++, count++) {
      const txId = coordinator.beginTransaction(nowMs);
      for (const node of participants.keys()) coordinator.addParticipant(txId, nextShard(), node);
      push('coordinator', coordinator.prepare(txId, nowMs));
    }
    drain();
    // Virtual time runs at 10k tx/s, so finished outcomes expire as they would.
    nowMs += 26;
    push('coordinator', coordinator.tick(nowMs));
    for (const [node, participant] of participants) push(node, participant.tick(nowMs));
    drain();
  };
  for (const warmUpUntil = performance.now() + 500; performance.now() < warmUpUntil; ) batch();
  const warmedUp = count;
  const start = performance.now();
  while (performance.now() - start < 1_000 * Math.min(seconds, 2)) batch();
  const elapsedS = (performance.now() - start) / 1000;
  if (finished !== count) throw new Error(`state machines finished ${finished} of ${count}`);
  report({
    bench: 'state-machines',
    impl: '@trinity/tx (no I/O)',
    params: { participants: participantsCount, concurrent: 256 },
    value: round((count - warmedUp) / elapsedS),
    unit: 'tx/s',
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

if (!json) {
  const cpu = (await import('node:os')).cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `${cpu}, ${(await import('node:os')).cpus().length} cores, Node ${process.version}; ${seconds} s per row`,
  );
}
const root = await mkdtemp(join(tmpdir(), 'trinity-tx-bench-'));
try {
  measureStateMachines();
  await measureFdatasync(root);
  for (const [variant, levels] of variants) {
    for (const concurrent of levels) {
      const dir = await mkdtemp(join(root, `${variant}-${concurrent}-`));
      await measureCommits(dir, concurrent, variant);
    }
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
if (!json) {
  console.log('\n| bench | impl | params | value | unit |\n|---|---|---|---:|---|');
  for (const row of rows) {
    const params = Object.entries(row.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    console.log(`| ${row.bench} | ${row.impl} | ${params} | ${row.value} | ${row.unit} |`);
  }
}
