/**
 * Scheduler and scenario throughput, in simulated events per wall second on one core.
 *
 *   pnpm --filter @trinity/sim bench [-- --json] [-- --events 2000000]
 *
 * `hold` keeps `queued` events waiting, each run event scheduling one more at a random delay (the
 * classic hold model of discrete-event queues). The peer is a plain binary heap of fresh objects
 * with no trace hash: what the pooling and tracing cost or save. The scenario rows run whole
 * scenarios (network, disks, the real state machines) and report their events per second.
 */
import { runScenario, Scheduler, SimRandom } from '../src/index.js';

const json = process.argv.includes('--json');
const eventsArg = process.argv.indexOf('--events');
const events = eventsArg > 0 ? Number(process.argv[eventsArg + 1]) : 2_000_000;

interface Row {
  readonly bench: string;
  readonly impl: string;
  readonly params: Record<string, number | string>;
  readonly value: number;
  readonly unit: string;
}
const rows: Row[] = [];

function report(row: Row): void {
  rows.push(row);
  if (json) console.log(JSON.stringify(row));
}

function holdOurs(queued: number): number {
  const random = new SimRandom(1);
  const scheduler = new Scheduler();
  let ran = 0;
  const kind = scheduler.register('hold', (target) => {
    if (++ran < events) scheduler.after(random.float() * 100, kind, target + 1, target);
  });
  for (let i = 0; i < queued; i++) scheduler.at(random.float() * 100, kind, i);
  const start = performance.now();
  scheduler.run();
  return scheduler.events / ((performance.now() - start) / 1000);
}

interface PlainEntry {
  t: number;
  s: number;
  f: (n: number) => void;
  n: number;
}

function holdPlain(queued: number): number {
  const random = new SimRandom(1);
  const heap: PlainEntry[] = [];
  let seq = 0;
  const less = (a: PlainEntry, b: PlainEntry) => a.t < b.t || (a.t === b.t && a.s < b.s);
  const push = (e: PlainEntry) => {
    let i = heap.push(e) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(e, heap[p]!)) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = e;
  };
  const pop = (): PlainEntry => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= heap.length) break;
        const r = l + 1;
        const c = r < heap.length && less(heap[r]!, heap[l]!) ? r : l;
        if (!less(heap[c]!, last)) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  };
  let now = 0;
  let ran = 0;
  const work = (n: number) => {
    if (++ran < events) push({ t: now + random.float() * 100, s: seq++, f: work, n: n + 1 });
  };
  for (let i = 0; i < queued; i++) push({ t: random.float() * 100, s: seq++, f: work, n: i });
  const start = performance.now();
  let count = 0;
  while (heap.length > 0) {
    const e = pop();
    now = e.t;
    count++;
    e.f(e.n);
  }
  return count / ((performance.now() - start) / 1000);
}

const holds: readonly (readonly [string, (queued: number) => number])[] = [
  ['@trinity/sim', holdOurs],
  ['plain heap (no pool, no trace)', holdPlain],
];
for (const queued of [1_000, 100_000]) {
  for (const [impl, hold] of holds) {
    // Warm-up run first, then the measured one, for each.
    hold(queued);
    report({
      bench: 'hold',
      impl,
      params: { queued, events },
      value: Math.round(hold(queued)),
      unit: 'events/s',
    });
  }
}

for (const [scenario, nodes] of [
  ['two-phase-commit', 100],
  ['two-phase-commit', 1_000],
  ['two-phase-commit', 10_000],
  ['placement-routing', 200],
  ['locks', 300],
  ['economics', 50],
  ['corruption-repair', 100],
] as const) {
  const result = runScenario(scenario, { nodes, seed: 1 });
  if (result.checks.failed > 0) throw new Error(`${scenario} --nodes ${nodes} --seed 1 failed its checks`);
  report({
    bench: `scenario ${scenario}`,
    impl: '@trinity/sim',
    params: { nodes, events: result.events, wallMs: Math.round(result.wallMs) },
    value: Math.round(result.eventsPerSec),
    unit: 'events/s',
  });
}

if (!json) {
  console.log('\n| bench | impl | params | value | unit |\n|---|---|---|---:|---|');
  for (const row of rows) {
    const params = Object.entries(row.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    console.log(
      `| ${row.bench} | ${row.impl} | ${params} | ${row.value.toLocaleString('en-US')} | ${row.unit} |`,
    );
  }
}
