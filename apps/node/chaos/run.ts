import { type Random, seededRandom } from '@trinity/core';
import { apiFetch, metricSample, sha256Hex, startDevnet } from '../test/helpers.js';
import { type CheckResult, checkHistory, type Violation } from './checker.js';
import { History, type Operation } from './history.js';
import { NetnsLab } from './netns.js';

export interface ChaosOptions {
  readonly seed: number;
  /** How long clients and the nemesis run. */
  readonly durationMs: number;
  readonly clients?: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
  /**
   * Run each node in its own network namespace, so the nemesis can also partition nodes and slow
   * links (`tc netem`): 'auto' (default) does where it can (Linux, root) and says why not otherwise.
   */
  readonly namespaces?: 'auto' | 'off';
}

export interface ChaosSummary extends CheckResult {
  readonly seed: number;
  readonly faults: Record<string, number>;
  readonly skipped: string[];
  readonly objects: { stored: number; deleted: number };
}

/** The daemon settings a chaos run uses: short loops, so its bounds are seconds, not hours. */
export const chaosNodeConfig = {
  logLevel: 'info',
  tx: { statusQueryIntervalMs: 200, commitRetryIntervalMs: 200, orphanTtlMs: 5_000 },
  trust: { tombstoneSyncMs: 2_000 },
  gc: { intervalMs: 1_000, graceMs: 5_000 },
  breaker: { failureThreshold: 3, baseBackoffMs: 100, maxBackoffMs: 1_000 },
};
/**
 * A delete reaches every live node at once; a node that was away learns it from its peers within
 * tombstoneSyncMs (2 s) of its return: 3 s of slack, counted from the later of the two.
 */
const deletePropagationMs = 5_000;
/** Staged data of a dead upload goes after orphanTtlMs, unreferenced shards after graceMs: then 0. */
const leakBoundMs = 60_000;
const requestTimeoutMs = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A chaos run in the manner of Jepsen: clients put, get and delete objects (identical contents and
 * identical names among them, small and large) on a 6-node network of real processes, while a
 * nemesis kill -9s and restarts, or pauses (SIGSTOP) and resumes, one random node at a time (so
 * coordinators die mid-put). Then every node is healed, every object read from every node, leaks
 * awaited past their bound, and the history checked.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const log = options.log ?? (() => {});
  const random = seededRandom(options.seed);
  const history = new History();
  const faults: Record<string, number> = {
    'kill -9': 0,
    restart: 0,
    pause: 0,
    resume: 0,
    partition: 0,
    'slow link': 0,
  };
  const skipped: string[] = [];
  const why = options.namespaces === 'off' ? 'turned off by the caller' : await NetnsLab.unavailable();
  if (why !== undefined) skipped.push(`network partitions and slow links: ${why}`);
  const lab = why === undefined ? await NetnsLab.create(6) : undefined;
  const started = await startDevnet(
    'trinity-chaos-',
    chaosNodeConfig,
    lab === undefined
      ? {}
      : { hosts: Array.from({ length: 6 }, (_, i) => lab.host(i)), launcher: (i: number) => lab.launcher(i) },
  ).catch(async (error: unknown) => {
    await lab?.destroy();
    throw error;
  });
  const { devnet } = started;
  const close = async () => {
    try {
      await started.close();
    } finally {
      await lab?.destroy();
    }
  };
  const nodeCount = devnet.nodes.length;
  const down = new Set<number>();
  const paused = new Set<number>();
  const returns = new Map<number, number[]>();
  const returned = (node: number) => returns.set(node, [...(returns.get(node) ?? []), Date.now()]);
  try {
    const contents = Array.from({ length: 3 }, () => random.bytes(random.int(1, 150_000)));
    const acked: string[] = [];
    const deleted = new Set<string>();
    const deadline = Date.now() + options.durationMs;
    const client = async (c: number, rng: Random) => {
      while (Date.now() < deadline) {
        const roll = rng.nextFloat();
        if (roll < 0.4 || acked.length === 0) await put(c, rng);
        else if (roll < 0.85) await get(c, rng, acked[rng.int(0, acked.length - 1)]!);
        else {
          const live = acked.filter((id) => !deleted.has(id));
          if (live.length > 0) await del(c, rng, live[rng.int(0, live.length - 1)]!);
        }
      }
    };
    const put = async (c: number, rng: Random) => {
      const shared = rng.chance(0.3);
      const data = shared
        ? contents[rng.int(0, contents.length - 1)]!
        : rng.bytes(rng.chance(0.1) ? rng.int(2, 6) * 1024 * 1024 : rng.int(1, 200_000));
      const node = rng.int(0, nodeCount - 1);
      const query = `name=chaos-${rng.int(0, 4)}${shared && rng.chance(0.5) ? '&public=1' : ''}`;
      const op = history.invoke(c, 'put', node, { digest: sha256Hex(data) });
      const response = await request(node, `/v1/objects?${query}`, { method: 'PUT', body: data });
      if (response === undefined) return history.complete(op, 'unknown', { detail: 'no answer' });
      if (response.status === 201) {
        const { id } = (await response.json()) as { id: string };
        history.complete(op, 'ok', { id, status: 201 });
        acked.push(id);
      } else {
        const text = await response.text().catch(() => '');
        history.complete(op, response.status < 500 ? 'fail' : 'unknown', {
          status: response.status,
          detail: text.slice(0, 200),
        });
      }
    };
    const get = async (c: number, rng: Random, id: string, node = rng.int(0, nodeCount - 1)) => {
      const op = history.invoke(c, 'get', node, { id });
      const response = await request(node, `/v1/objects/${id}`);
      if (response === undefined) return history.complete(op, 'unknown', { detail: 'no answer' });
      if (response.status === 200) {
        const bytes = await response
          .arrayBuffer()
          .then((b) => new Uint8Array(b))
          .catch(() => undefined);
        if (bytes === undefined) return history.complete(op, 'unknown', { detail: 'body cut off' });
        history.complete(op, 'ok', { digest: sha256Hex(bytes), status: 200 });
      } else {
        const text = await response.text().catch(() => '');
        history.complete(op, response.status === 404 ? 'fail' : 'unknown', {
          status: response.status,
          detail: text.slice(0, 200),
        });
      }
    };
    const del = async (c: number, rng: Random, id: string) => {
      const node = rng.int(0, nodeCount - 1);
      const op = history.invoke(c, 'delete', node, { id });
      const response = await request(node, `/v1/objects/${id}`, { method: 'DELETE' });
      if (response === undefined) return history.complete(op, 'unknown', { detail: 'no answer' });
      await response.text().catch(() => '');
      if (response.status === 200) {
        deleted.add(id);
        history.complete(op, 'ok', { status: 200 });
      } else history.complete(op, response.status < 500 ? 'fail' : 'unknown', { status: response.status });
    };
    const request = async (node: number, path: string, init: RequestInit = {}) => {
      if (down.has(node)) return undefined;
      try {
        return await apiFetch(`${devnet.apiUrl(node)}${path}`, {
          ...init,
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
      } catch {
        return undefined;
      }
    };
    let cut: number[] = [];
    const slowed = new Set<number>();
    const heal = async (node: number) => {
      if (cut.length > 0) {
        await lab!.heal();
        log(`nemesis: partition of nodes ${cut.join(', ')} healed`);
        cut = [];
        // Every node was cut off from some others: each learns what it missed from its return.
        for (const other of devnet.nodes) returned(other.index);
      }
      if (slowed.delete(node)) await lab!.unslow(node);
      if (paused.delete(node)) {
        devnet.nodes[node]!.process?.kill('SIGCONT');
        returned(node);
        faults.resume!++;
        log(`nemesis: node ${node} resumed`);
      }
      if (down.has(node)) {
        await devnet.startNode(node);
        returned(node);
        down.delete(node);
        faults.restart!++;
        log(`nemesis: node ${node} restarted`);
      }
    };
    const nemesis = async (rng: Random) => {
      while (Date.now() < deadline) {
        await sleep(rng.int(1_000, 4_000));
        if (Date.now() >= deadline) break;
        const node = rng.int(0, nodeCount - 1);
        // The first fault of a run in namespaces is a partition, so even a short run has one.
        const roll = faults.partition === 0 && lab !== undefined ? 0 : rng.nextFloat();
        if (lab !== undefined && roll < 0.3) {
          // A minority (one or two nodes) cut off from the rest, both ways; clients still reach it.
          cut = [node, ...(rng.chance(0.5) ? [(node + rng.int(1, nodeCount - 1)) % nodeCount] : [])];
          await lab.partition(cut);
          faults.partition!++;
          log(`nemesis: nodes ${cut.join(', ')} partitioned from the rest`);
        } else if (lab !== undefined && roll < 0.45) {
          const what = await lab.slow(node, rng.int(20, 150), rng.int(2, 20));
          slowed.add(node);
          faults['slow link']!++;
          log(`nemesis: node ${node} sends slowly: ${what}`);
        } else if (roll < (lab === undefined ? 0.6 : 0.75)) {
          down.add(node);
          await devnet.kill(node, 'SIGKILL');
          faults['kill -9']!++;
          log(`nemesis: node ${node} killed`);
        } else {
          paused.add(node);
          devnet.nodes[node]!.process?.kill('SIGSTOP');
          faults.pause!++;
          log(`nemesis: node ${node} paused`);
        }
        await sleep(rng.int(2_000, 8_000));
        await heal(node);
      }
    };
    log(
      `chaos: seed ${options.seed}, ${nodeCount} nodes, ${options.clients ?? 4} clients, ${options.durationMs} ms`,
    );
    await Promise.all([
      nemesis(random.fork()),
      ...Array.from({ length: options.clients ?? 4 }, (_, c) => client(c, random.fork())),
    ]);
    for (const node of devnet.nodes) await heal(node.index);
    await devnet.waitForMesh();
    // Past every bound: each object read from every node; a deleted one must be gone everywhere.
    await sleep(deletePropagationMs);
    log(`chaos: final reads of ${acked.length} objects from ${nodeCount} nodes`);
    for (const id of acked) {
      for (let node = 0; node < nodeCount; node++) {
        // A node just back may answer 503 once while its peers reconnect: up to three tries, 2 s
        // apart, before a failure counts (a 404 counts at once).
        for (let attempt = 1; ; attempt++) {
          await get(-1, random, id, node);
          const last = history.ops.at(-1)!;
          if (last.outcome === 'ok' || last.status === 404 || attempt === 3) break;
          last.detail = `retried: ${last.detail ?? ''}`;
          await sleep(2_000);
        }
      }
    }
    const leaks = await awaitNoLeaks(devnet, log);
    const result = checkHistory(history.ops, { deletePropagationMs, returns });
    const violations: Violation[] = [...result.violations, ...leaks, ...finalReadViolations(history.ops)];
    return {
      seed: options.seed,
      violations,
      counts: result.counts,
      faults,
      skipped,
      objects: { stored: acked.length, deleted: deleted.size },
    };
  } finally {
    for (const node of paused) devnet.nodes[node]!.process?.kill('SIGCONT');
    await close();
  }
}

/** The final reads (client -1) of an object neither deleted nor being deleted must all succeed. */
function finalReadViolations(ops: readonly Operation[]): Violation[] {
  const deleting = new Set(ops.filter((op) => op.kind === 'delete').map((op) => op.id));
  return ops
    .filter(
      (op) =>
        op.client === -1 &&
        !deleting.has(op.id) &&
        op.outcome !== 'ok' &&
        !(op.detail ?? '').startsWith('retried:'),
    )
    .map((op) => ({
      rule: 'lost' as const,
      op: op.index,
      message:
        `final read of ${op.id} from node ${op.node} after healing: ${op.status ?? 'no answer'} ${op.detail ?? ''}`.trim(),
    }));
}

/** Waits until no node holds staged uploads or unreferenced shard bytes; a leak past the bound is a violation. */
async function awaitNoLeaks(
  devnet: Awaited<ReturnType<typeof startDevnet>>['devnet'],
  log: (line: string) => void,
): Promise<Violation[]> {
  const deadline = Date.now() + leakBoundMs;
  for (;;) {
    const leaks: string[] = [];
    for (const node of devnet.nodes) {
      const status = (await (await apiFetch(`${devnet.apiUrl(node.index)}/v1/status`)).json()) as {
        tx: { stagedTransactions: number };
      };
      const leaked =
        (await metricSample(devnet.metricsUrl(node.index), 'trinity_leaked_shard_bytes')) ?? Number.NaN;
      if (status.tx.stagedTransactions > 0 || leaked !== 0)
        leaks.push(
          `node ${node.index}: ${status.tx.stagedTransactions} staged uploads, ${leaked} leaked shard bytes`,
        );
    }
    if (leaks.length === 0) return [];
    if (Date.now() > deadline) {
      return leaks.map((message) => ({
        rule: 'leak' as const,
        op: -1,
        message: `${leakBoundMs} ms after healing, ${message}`,
      }));
    }
    log(`chaos: waiting for leaks to clear (${leaks.join('; ')})`);
    await sleep(2_000);
  }
}

/** The summary table a chaos run prints. */
export function formatSummary(summary: ChaosSummary, replay: string): string {
  const lines = [
    `seed ${summary.seed}: ${summary.objects.stored} objects stored, ${summary.objects.deleted} deleted`,
    '',
    '| operation | ok | fail | unknown |',
    '|---|---:|---:|---:|',
    ...(['put', 'get', 'delete'] as const).map(
      (kind) =>
        `| ${kind} | ${summary.counts[`${kind} ok`] ?? 0} | ${summary.counts[`${kind} fail`] ?? 0} | ${summary.counts[`${kind} unknown`] ?? 0} |`,
    ),
    '',
    `faults: ${Object.entries(summary.faults)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(', ')}`,
    ...summary.skipped.map((line) => `skipped: ${line}`),
    `violations: ${summary.violations.length}`,
    ...summary.violations.slice(0, 20).map((v) => `  ${v.rule}: ${v.message}`),
  ];
  if (summary.violations.length > 0) lines.push(`replay: ${replay}`);
  return lines.join('\n');
}
