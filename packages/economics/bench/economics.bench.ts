/**
 * Events per second on one core (CPU time; verify+apply and the raw node:crypto verify interleaved):
 *  - replay: persisted, already-verified events (canonical bytes) decoded and applied to a fresh
 *    state, as a node does on restart;
 *  - verify+apply: fresh signed events from peers decoded, signature-verified and applied;
 *  - verify: the raw ed25519 verify rate of node:crypto and @noble/curves on the same events,
 *    measured in the same run (the bound verify+apply works against).
 * The events are a random mix (transfers, stakes, delegations, PoS results, uptime and bandwidth
 * reports, slashes, disputes, votes) from 1,000 actors, with times spread over several epochs.
 *
 *  - in-order+snapshots and late-insert: a 300-node state with a dense reputation table (see
 *    `lateHistory` below): what snapshots and late events cost.
 *
 *   pnpm --filter @trinity/economics bench [-- --json] [-- --runs 5] [-- --events 100000] [-- --verify-events 20000]
 *     [-- --late-nodes 300] [-- --late-reports 60000] [-- --only late]
 */
import { type Ed25519, ed25519, ed25519Portable, seededRandom } from '@trinity/core';
import {
  decodeEvent,
  EconomicsState,
  type EconomicsStateInit,
  type EventBody,
  EventSigner,
  encodeEvent,
  SIGNATURE_BYTES,
  signedPart,
} from '../src/index.js';

const json = process.argv.includes('--json');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const runs = arg('--runs', 5);
const eventCount = arg('--events', 100_000);
const verifyCount = Math.min(eventCount, arg('--verify-events', 20_000));
const nobleCount = Math.min(verifyCount, arg('--noble-events', 1_000));
const actorCount = 1_000;

interface Row {
  bench: string;
  impl: string;
  params: Record<string, number | string>;
  value: number;
  unit: string;
}
const rows: Row[] = [];
function report(row: Row): void {
  rows.push(row);
  if (json) console.log(JSON.stringify(row));
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A random but valid-looking history: every actor's events in sequence, times non-decreasing. */
function makeHistory(seed: number): { init: EconomicsStateInit; bytes: Uint8Array[]; arrivalMs: number[] } {
  const random = seededRandom(seed);
  const signers = Array.from({ length: actorCount }, () => new EventSigner(random.bytes(32)));
  const ids = signers.map((s) => s.nodeId);
  const init: EconomicsStateInit = {
    config: {
      genesis: {
        timeMs: 0,
        rewardPool: 10n ** 15n,
        accounts: ids.map((id, i) => ({ id, balance: 10n ** 12n, stake: i % 2 === 0 ? 10n ** 9n : 0n })),
      },
      epochMs: 60_000,
      appealWindowMs: 0,
    },
  };
  const hex = () => Buffer.from(random.bytes(32)).toString('hex');
  const escrows: string[] = [];
  const bytes: Uint8Array[] = [];
  const arrivalMs: number[] = [];
  let timeMs = 1;
  for (let n = 0; n < eventCount; n++) {
    timeMs += random.int(0, 3);
    const actor = random.int(0, actorCount - 1);
    const other = ids[(actor + 1 + random.int(0, actorCount - 2)) % actorCount]!;
    const operator = ids[random.int(0, actorCount / 2 - 1) * 2]!;
    const k = random.int(0, 99);
    let body: EventBody;
    if (k < 30) body = { type: 'pos-result', holder: other, shard: hex(), passed: random.chance(0.9) };
    else if (k < 45) body = { type: 'uptime', subject: other, up: random.chance(0.95) };
    else if (k < 55) body = { type: 'bandwidth', subject: other, bytes: random.int(1, 1 << 24) };
    else if (k < 75) body = { type: 'transfer', to: other, amount: BigInt(random.int(1, 1_000_000)) };
    else if (k < 82) body = { type: 'delegate', operator, amount: BigInt(random.int(1, 1_000_000)) };
    else if (k < 88) body = { type: 'stake', amount: BigInt(random.int(1, 1_000_000)) };
    else if (k < 92) body = { type: 'undelegate', operator, amount: BigInt(random.int(1, 1_000)) };
    else if (k < 94 && escrows.length < 5_000) {
      body = { type: 'slash', accused: other, reason: 'downtime', evidence: hex() };
    } else if (escrows.length > 0) {
      body = { type: 'vote', escrowId: random.pick(escrows), overturn: random.chance(0.5) };
    } else body = { type: 'uptime', subject: other, up: true };
    const event = signers[actor]!.sign(body, timeMs);
    if (body.type === 'slash') escrows.push(`${event.actor}:${event.seq}`);
    bytes.push(encodeEvent(event));
    // Received 5 to 200 ms after it was stamped: ties and small inversions, as from a real network.
    arrivalMs.push(timeMs + random.int(5, 200));
  }
  return { init, bytes, arrivalMs };
}

interface Measured {
  /** Median events per CPU second. */
  readonly rate: number;
  /** Each run's events per CPU second, in run order. */
  readonly runs: number[];
}

/** One bench: `fn` timed on what an untimed `setup` made (if any), `after` untimed too. */
interface Bench<T> {
  label: string;
  count: number;
  fn: (x: T) => void;
  setup?: () => T;
  after?: (x: T) => void;
}

/**
 * Rates over `runs` runs by CPU time (process.cpuUsage: user + system of this process): the VM is
 * shared with other work, and wall time would bill their load to us. The benches given together
 * are interleaved (a run of each in turn, after one warm-up of each), so that a change in the
 * machine's load weighs on all of them alike; each gets the median of its runs. Wall-clock rates
 * are printed beside them in the human table.
 */
function measure<T = void>(benches: Bench<T>[]): Measured[] {
  const cpuRates = benches.map((): number[] => []);
  const wallRates = benches.map((): number[] => []);
  const runOnce = (b: Bench<T>, i: number | undefined) => {
    const x = b.setup?.() as T;
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    b.fn(x);
    const cpu = process.cpuUsage(cpuStart);
    const wallMs = performance.now() - start;
    b.after?.(x);
    if (i === undefined) return;
    cpuRates[i]!.push((b.count * 1_000_000) / (cpu.user + cpu.system));
    wallRates[i]!.push((b.count * 1_000) / wallMs);
  };
  // Warm-up: let the JIT compile the hot paths before anything is timed.
  for (const b of benches) runOnce(b, undefined);
  for (let run = 0; run < runs; run++) benches.forEach(runOnce);
  return benches.map((b, i) => {
    const rate = median(cpuRates[i]!);
    if (!json) {
      const fmt = (x: number) => Math.round(x).toLocaleString('en-US').padStart(10);
      console.log(
        `${b.label.padEnd(44)} ${fmt(rate)} events/s (cpu)  ${fmt(median(wallRates[i]!))} events/s (wall)`,
      );
    }
    return { rate, runs: cpuRates[i]! };
  });
}

/** A restart: decode every persisted event afresh, sort into canonical order, apply without verifying. */
function replayBytes(init: EconomicsStateInit, bytes: Uint8Array[]): EconomicsState {
  const { state, skipped } = EconomicsState.replay(init, bytes);
  if (skipped.length > 0) throw new Error(`replay skipped ${skipped.length} events`);
  return state;
}

function verifyAll(impl: Ed25519, bytes: Uint8Array[]): void {
  for (const b of bytes) {
    const ok = impl.verify(b.subarray(b.length - SIGNATURE_BYTES), signedPart(b), b.subarray(4, 36));
    if (!ok) throw new Error('bench event failed to verify');
  }
}

const runsOf = (m: Measured) => m.runs.map((x) => Math.round(x)).join(',');
const onlyLate =
  process.argv.includes('--only') && process.argv[process.argv.indexOf('--only') + 1] === 'late';

if (!onlyLate) {
  const { init, bytes, arrivalMs } = makeHistory(0x5eed);
  const verifyBytes = bytes.slice(0, verifyCount);
  if (!json) {
    console.log(
      `@trinity/economics: ${eventCount} events, ${actorCount} actors, median of ${runs} runs, node ${process.version}`,
    );
  }

  const hashes = new Set<string>();
  const [replay] = measure([
    {
      label: 'replay (decode + applyVerified)',
      count: bytes.length,
      fn: () => {
        hashes.add(replayBytes(init, bytes).stateHash());
      },
    },
  ]);
  if (hashes.size !== 1) throw new Error('replay is not deterministic');
  report({
    bench: 'replay',
    impl: '@trinity/economics',
    params: { events: bytes.length, actors: actorCount, timing: 'cpu', runs: runsOf(replay!) },
    value: Math.round(replay!.rate),
    unit: 'events/s',
  });

  // verify+apply and the raw verify it is compared with, interleaved run by run.
  const [verifyApply, nodeVerify] = measure([
    {
      label: 'verify+apply (decode + verify + apply)',
      count: verifyBytes.length,
      fn: () => {
        const state = new EconomicsState(init);
        for (let i = 0; i < verifyBytes.length; i++)
          state.applyBytes(verifyBytes[i]!, { nowMs: arrivalMs[i]! });
        state.flush();
        if (state.eventCount !== verifyBytes.length) throw new Error('events lost');
      },
    },
    {
      label: `verify (${ed25519.backend})`,
      count: verifyBytes.length,
      fn: () => verifyAll(ed25519, verifyBytes),
    },
  ]);
  report({
    bench: 'verify+apply',
    impl: '@trinity/economics',
    params: { events: verifyBytes.length, actors: actorCount, timing: 'cpu', runs: runsOf(verifyApply!) },
    value: Math.round(verifyApply!.rate),
    unit: 'events/s',
  });
  report({
    bench: 'verify+apply',
    impl: ed25519.backend,
    params: {
      events: verifyBytes.length,
      actors: actorCount,
      only: 'ed25519 verify',
      timing: 'cpu',
      runs: runsOf(nodeVerify!),
    },
    value: Math.round(nodeVerify!.rate),
    unit: 'events/s',
  });
  const nobleBytes = bytes.slice(0, nobleCount);
  const [noble] = measure([
    {
      label: 'verify (@noble/curves)',
      count: nobleBytes.length,
      fn: () => verifyAll(ed25519Portable, nobleBytes),
    },
  ]);
  report({
    bench: 'verify+apply',
    impl: '@noble/curves',
    params: { events: nobleBytes.length, actors: actorCount, only: 'ed25519 verify', timing: 'cpu' },
    value: Math.round(noble!.rate),
    unit: 'events/s',
  });
  if (!json) {
    const ratios = verifyApply!.runs.map((x, i) => x / nodeVerify!.runs[i]!);
    console.log(
      `verify+apply / raw ${ed25519.backend} verify: ${((100 * verifyApply!.rate) / nodeVerify!.rate).toFixed(1)} % ` +
        `(medians; run by run: ${ratios.map((r) => (100 * r).toFixed(1)).join(', ')} %)`,
    );
  }
}

/**
 * Snapshots and late events in a big network (what the simulator's 200-300-node runs do): a state
 * of `--late-nodes` accounts (default 300) whose reputation table holds about `--late-reports`
 * (default 60,000) reporter-subject pairs, snapshots every 128 events. Timed per run, on a fresh
 * copy of that state (built by a replay, not timed):
 *  - in-order: 512 new events applied in canonical order (4 snapshots taken);
 *  - late-insert: then 64 events each stamped about 100 events before the newest, so each is
 *    inserted and the events after the snapshot before it re-executed (the snapshot cloned, and
 *    the snapshots on the way taken again), each result read before the next event;
 *  - late-batch: the same 64 events with no read between: they share one re-execution.
 */
function lateHistory(seed: number, nodes: number, reports: number) {
  const random = seededRandom(seed);
  const signers = Array.from({ length: nodes }, () => new EventSigner(random.bytes(32)));
  const ids = signers.map((s) => s.nodeId);
  const init: EconomicsStateInit = {
    config: {
      genesis: {
        timeMs: 0,
        rewardPool: 10n ** 15n,
        accounts: ids.map((id) => ({ id, balance: 10n ** 12n, stake: 10n ** 9n })),
      },
      epochMs: 3_600_000,
      settleDelayMs: 0,
      snapshotIntervalEvents: 128,
    },
  };
  const shard = '00'.repeat(32);
  const body = (actor: number, k: number): EventBody => {
    const other = ids[(actor + 1 + random.int(0, nodes - 2)) % nodes]!;
    if (k < 60) return { type: 'pos-result', holder: other, shard, passed: random.chance(0.95) };
    if (k < 90) return { type: 'uptime', subject: other, up: random.chance(0.97) };
    return { type: 'transfer', to: other, amount: BigInt(random.int(1, 1_000)) };
  };
  const lateActors = 64;
  const base: Uint8Array[] = [];
  let timeMs = 1;
  for (let n = 0; n < reports; n++) {
    timeMs += random.int(0, 1);
    const actor = random.int(0, nodes - 1);
    base.push(encodeEvent(signers[actor]!.sign(body(actor, random.int(0, 99)), timeMs)));
  }
  // The tail: in order, from every actor but the late ones.
  const tail: Uint8Array[] = [];
  const tailStart = timeMs + 1;
  for (let n = 0; n < 512; n++) {
    const actor = random.int(0, nodes - lateActors - 1);
    tail.push(encodeEvent(signers[actor]!.sign(body(actor, random.int(0, 99)), tailStart + n)));
  }
  // Late events: stamped 100 tail events before the end, one per late actor, in time order.
  const late: Uint8Array[] = [];
  for (let n = 0; n < lateActors; n++) {
    const actor = nodes - lateActors + n;
    late.push(encodeEvent(signers[actor]!.sign(body(actor, random.int(0, 89)), tailStart + 412 + n)));
  }
  return { init, base, tail, late };
}

const lateNodes = arg('--late-nodes', 300);
const lateReports = arg('--late-reports', 60_000);
const lh = lateHistory(0x1a7e, lateNodes, lateReports);
const tailEvents = lh.tail.map((b) => decodeEvent(b));
const lateEvents = lh.late.map((b) => decodeEvent(b));
const lateHashes = new Set<string>();
const fresh = () => replayBytes(lh.init, lh.base);
const lateSetup = () => {
  const state = fresh();
  for (const e of tailEvents) state.applyVerified(e);
  return state;
};
const [inOrder, lateInsert, lateBatch] = measure([
  {
    label: `in-order, snapshots every 128 (${lateNodes} nodes)`,
    count: tailEvents.length,
    setup: fresh,
    fn: (state) => {
      for (const e of tailEvents) state.applyVerified(e);
    },
  },
  {
    label: `late-insert (${lateNodes} nodes)`,
    count: lateEvents.length,
    setup: lateSetup,
    fn: (state) => {
      for (const e of lateEvents) {
        if (state.applyVerified(e).reexecuted < 50) throw new Error('late event not re-executed');
      }
    },
    after: (state) => lateHashes.add(state.stateHash()),
  },
  {
    // The same late events inserted one after the other with no read between (an anti-entropy
    // answer): one re-execution, when the state is next read.
    label: `late-batch (${lateNodes} nodes)`,
    count: lateEvents.length,
    setup: lateSetup,
    fn: (state) => {
      const results = lateEvents.map((e) => state.applyVerified(e));
      if (state.nowMs < 0 || results[0]!.reexecuted < 50) throw new Error('late events not re-executed');
    },
    after: (state) => lateHashes.add(state.stateHash()),
  },
]);
if (lateHashes.size !== 1) throw new Error('late-insert is not deterministic');
for (const [bench, m, count] of [
  ['in-order+snapshots', inOrder!, tailEvents.length],
  ['late-insert', lateInsert!, lateEvents.length],
  ['late-batch', lateBatch!, lateEvents.length],
] as const) {
  report({
    bench,
    impl: '@trinity/economics',
    params: {
      nodes: lateNodes,
      reports: lateReports,
      events: count,
      snapshotEvery: 128,
      timing: 'cpu',
      runs: runsOf(m),
    },
    value: Math.round(m.rate),
    unit: 'events/s',
  });
}
