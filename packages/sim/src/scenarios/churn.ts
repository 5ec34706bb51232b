import {
  builtinTopology,
  type PlacementNode,
  Rebalancer,
  type ShardMove,
  type StripeLayout,
  StripePlacer,
} from '@trinity/topology';
import type { SimRandom } from '../random.js';
import type { Scenario, ScenarioOutcome } from '../scenario.js';
import {
  dataShards,
  everyRegionThenRandom,
  parityShards,
  ScenarioWorld,
  type StripeScenarioOptions,
  shardsPer,
  withDefaults,
} from './world.js';

export type ChurnOptions = StripeScenarioOptions;

const shardBytes = 256 * 1024;
const churnForMs = 60_000;
const churnIntervalMs = 500;
/** Joins possible at most, as a share of the starting nodes (their slots are made up front). */
const joinsShare = 0.5;
const roundGapMs = 1_000;
const roundTimeoutMs = 3_000;
const maxMovesPerInterval = 150;
const maxBytesPerInterval = 64 * 1024 * 1024;

type Message =
  | { readonly t: 'copy'; readonly transfer: number }
  | { readonly t: 'piece'; readonly transfer: number }
  | { readonly t: 'have'; readonly transfer: number };

interface Transfer {
  readonly round: number;
  readonly move: ShardMove;
  readonly stripe: number;
  readonly to: number;
  /** Pieces still to arrive at the target (1 for a copy, k for a rebuild). */
  missing: number;
  done: boolean;
}

/**
 * Churn with rebalancing: RS(4,2) stripes placed by StripePlacer on nodes that keep joining (in any
 * region) and leaving (their shards gone); every interval @trinity/topology's Rebalancer plans the
 * moves that restore the placement rules within its byte and move budget, and the moves run over the
 * simulated network (a copy is one shard across the sender's uplink, a rebuild k of them into the
 * target). Checkers: each plan within budget, a `holder-lost` move only for a shard whose holder is
 * gone, no stripe lost unless more than m of its holders left before repair caught up, and once the
 * churn stops the layout converges: a last plan has nothing to do, every shard sits on a live node
 * that received it, no node holds two shards of a stripe, no region more than m, at least 3 regions.
 */
class ChurnWorld extends ScenarioWorld<Message> {
  readonly #options: Required<ChurnOptions>;
  readonly #faultRandom: SimRandom;
  readonly #topology = builtinTopology();
  readonly #placer: StripePlacer;
  readonly #rebalancer: Rebalancer;
  readonly #capacity: number;
  readonly #regionOf: number[];
  /** 'waiting' (a join slot not used yet), 'up', 'gone'. */
  readonly #state: ('waiting' | 'up' | 'gone')[];
  readonly #held: Set<string>[];
  readonly #layouts: { id: string; clientRegion: string; holders: (string | null)[] }[] = [];
  readonly #lost: boolean[] = [];
  /** Stripes the service found it cannot rebuild (fewer than k shards left): left out of later plans. */
  readonly #unrecoverable = new Set<string>();
  readonly #transfers: Transfer[] = [];
  readonly #faults: Record<string, number> = { leaves: 0, joins: 0 };
  readonly #counts: Record<string, number> = {
    rounds: 0,
    moves: 0,
    rebuilds: 0,
    copies: 0,
    deferred: 0,
    failedTransfers: 0,
  };
  readonly #kind: Record<'churn' | 'round' | 'roundTimeout', number>;
  #nextJoin: number;
  #round = 0;
  #inFlight = 0;
  #roundOpen = false;

  constructor(options: ChurnOptions) {
    super(options.seed);
    const n = options.nodes;
    this.#options = withDefaults(options, { objects: options.objects ?? n });
    this.#faultRandom = this.root.fork('faults');
    const layout = this.root.fork('layout');
    this.#capacity = n + Math.ceil(n * joinsShare);
    this.#regionOf = everyRegionThenRandom(this.#capacity, this.#topology, layout);
    this.#regionOf.push(0); // the rebalancing service
    this.#state = Array.from({ length: this.#capacity }, (_, i) => (i < n ? 'up' : 'waiting'));
    this.#held = Array.from({ length: this.#capacity }, () => new Set<string>());
    this.#nextJoin = n;
    this.#placer = new StripePlacer({}, this.#topology);
    this.#rebalancer = new Rebalancer({ maxMovesPerInterval, maxBytesPerInterval }, this.#placer);
    this.connect(this.#topology, this.#regionOf, (to, from, message) => this.#deliver(to, from, message));
    for (let i = n; i < this.#capacity; i++) this.network.setUp(i, false);
    const s = this.scheduler;
    this.#kind = {
      churn: s.register('churn', () => this.#churn()),
      round: s.register('rebalance-round', () => this.#startRound()),
      roundTimeout: s.register('round-timeout', (round) => this.#roundTimedOut(round)),
    };
    this.#place(layout);
  }

  get #service(): number {
    return this.#capacity;
  }

  run(): ScenarioOutcome {
    const s = this.scheduler;
    if (this.#options.faults) s.at(churnIntervalMs, this.#kind.churn, 0);
    s.at(roundGapMs, this.#kind.round, 0);
    s.run(churnForMs + 300_000);
    this.#checkEnd();
    return this.outcome({
      faults: { ...this.#faults },
      counts: {
        stripes: this.#layouts.length,
        lost: this.#lost.filter(Boolean).length,
        givenUp: this.#unrecoverable.size,
        ...this.#counts,
      },
    });
  }

  #id(node: number): string {
    return `n${node}`;
  }

  #nodes(): PlacementNode[] {
    const nodes: PlacementNode[] = [];
    for (let i = 0; i < this.#capacity; i++)
      if (this.#state[i] === 'up')
        nodes.push({
          id: this.#id(i),
          region: this.#topology.regions[this.#regionOf[i]!]!,
          capacityBytes: 1e12,
        });
    return nodes;
  }

  #place(random: SimRandom): void {
    const nodes = this.#nodes();
    for (let o = 0; o < this.#options.objects; o++) {
      const clientRegion = this.#topology.regions[random.int(0, this.#topology.regions.length - 1)]!;
      const ids = this.#placer.place({
        clientRegion,
        nodes,
        dataShards,
        parityShards,
        stripeKey: `stripe-${o}`,
      });
      for (const [i, id] of ids.entries()) this.#held[Number(id.slice(1))]!.add(`${o}/${i}`);
      this.#layouts.push({ id: `stripe-${o}`, clientRegion, holders: ids });
      this.#lost.push(false);
    }
  }

  // --- churn ---------------------------------------------------------------------------------

  #churn(): void {
    if (this.scheduler.nowMs >= churnForMs) return;
    const random = this.#faultRandom;
    const roll = random.float();
    if (roll < 0.35) this.#leave();
    else if (roll < 0.7) this.#join();
    this.scheduler.after(churnIntervalMs, this.#kind.churn, 0);
  }

  #leave(): void {
    const up = [];
    for (let i = 0; i < this.#capacity; i++) if (this.#state[i] === 'up') up.push(i);
    // Keep enough nodes for the rules (nine regions' worth).
    if (up.length <= Math.max(20, this.#options.nodes / 2)) return;
    const node = this.#faultRandom.pick(up);
    this.#state[node] = 'gone';
    this.network.setUp(node, false);
    this.#held[node]!.clear();
    this.#faults.leaves!++;
    // Ground truth: a stripe is lost when fewer than k of its shards remain anywhere.
    for (const [o, layout] of this.#layouts.entries()) {
      if (this.#lost[o] || !layout.holders.includes(this.#id(node))) continue;
      const alive = layout.holders.filter(
        (h, i) => h !== null && this.#held[Number(h.slice(1))]!.has(`${o}/${i}`),
      ).length;
      if (alive < dataShards) this.#lost[o] = true;
    }
  }

  #join(): void {
    if (this.#nextJoin >= this.#capacity) return;
    const node = this.#nextJoin++;
    this.#state[node] = 'up';
    this.network.setUp(node, true);
    this.#faults.joins!++;
  }

  // --- rebalancing rounds --------------------------------------------------------------------

  #layoutsForPlan(): StripeLayout[] {
    return this.#layouts
      .filter((layout) => !this.#unrecoverable.has(layout.id))
      .map((layout) => ({
        id: layout.id,
        clientRegion: layout.clientRegion,
        dataShards,
        parityShards,
        shardBytes,
        holders: layout.holders,
      }));
  }

  #startRound(): void {
    const plan = this.#rebalancer.plan(this.#layoutsForPlan(), this.#nodes());
    const round = ++this.#round;
    this.#counts.rounds!++;
    this.#counts.deferred! += plan.deferredMoves;
    this.checks.check(
      'plan-within-budget',
      plan.moves.length <= maxMovesPerInterval && plan.bytesPlanned <= maxBytesPerInterval,
      () => `round ${round}: ${plan.moves.length} moves, ${plan.bytesPlanned} bytes`,
    );
    this.#roundOpen = true;
    for (const move of plan.moves) this.#startMove(round, move);
    if (this.#inFlight === 0) this.#endRound(plan.moves.length === 0 && plan.deferredMoves === 0);
    else this.scheduler.after(roundTimeoutMs, this.#kind.roundTimeout, round);
  }

  #startMove(round: number, move: ShardMove): void {
    const stripe = Number(move.stripeId.slice('stripe-'.length));
    const layout = this.#layouts[stripe]!;
    const fromNode = move.from === null ? -1 : Number(move.from.slice(1));
    this.checks.check(
      'holder-lost-only-when-gone',
      move.reason !== 'holder-lost' ||
        move.from === null ||
        this.#state[fromNode] !== 'up' ||
        !this.#held[fromNode]!.has(`${stripe}/${move.shardIndex}`),
      () => `${move.stripeId}/${move.shardIndex}: holder-lost from live ${move.from}`,
    );
    const to = Number(move.to.slice(1));
    const index = this.#transfers.length;
    this.#counts.moves!++;
    if (move.kind === 'move' && fromNode >= 0 && this.#state[fromNode] === 'up') {
      this.#counts.copies!++;
      this.#transfers.push({ round, move, stripe, to, missing: 1, done: false });
      this.#inFlight++;
      this.network.send(this.#service, fromNode, { t: 'copy', transfer: index }, 64);
      return;
    }
    // A rebuild: any k other shards of the stripe are sent to the target.
    const sources = layout.holders.flatMap((h, i) =>
      h !== null && i !== move.shardIndex && this.#held[Number(h.slice(1))]!.has(`${stripe}/${i}`)
        ? [Number(h.slice(1))]
        : [],
    );
    if (sources.length < dataShards) {
      this.#counts.failedTransfers!++;
      // Only a stripe that really lost more than m shards may be given up.
      this.checks.check(
        'given-up-only-when-lost',
        this.#lost[stripe]!,
        () => `${move.stripeId} given up with ${sources.length} shards left`,
      );
      this.#unrecoverable.add(move.stripeId);
      return;
    }
    this.#counts.rebuilds!++;
    this.#transfers.push({ round, move, stripe, to, missing: dataShards, done: false });
    this.#inFlight++;
    for (const source of sources.slice(0, dataShards))
      this.network.send(this.#service, source, { t: 'copy', transfer: index }, 64);
  }

  #deliver(to: number, _from: number, message: Message): void {
    const transfer = this.#transfers[message.transfer]!;
    if (message.t === 'copy') {
      // A source sends its shard to the target (what it holds now; a source that lost it sends nothing).
      this.network.send(to, transfer.to, { t: 'piece', transfer: message.transfer }, shardBytes);
    } else if (message.t === 'piece') {
      if (--transfer.missing === 0) {
        this.#held[to]!.add(`${transfer.stripe}/${transfer.move.shardIndex}`);
        this.network.send(to, this.#service, { t: 'have', transfer: message.transfer }, 64);
      }
    } else if (message.t === 'have' && !transfer.done && transfer.round === this.#round) {
      transfer.done = true;
      const layout = this.#layouts[transfer.stripe]!;
      const old = layout.holders[transfer.move.shardIndex];
      if (old !== null && old !== undefined && old !== transfer.move.to)
        this.#held[Number(old.slice(1))]!.delete(`${transfer.stripe}/${transfer.move.shardIndex}`);
      layout.holders[transfer.move.shardIndex] = transfer.move.to;
      if (--this.#inFlight === 0 && this.#roundOpen) this.#endRound(false);
    }
  }

  #roundTimedOut(round: number): void {
    if (round !== this.#round || !this.#roundOpen) return;
    this.#counts.failedTransfers! += this.#inFlight;
    this.#endRound(false);
  }

  /** Next round after a pause; after the churn, a round with nothing to do ends the rebalancing. */
  #endRound(idle: boolean): void {
    this.#roundOpen = false;
    this.#inFlight = 0;
    if (idle && this.scheduler.nowMs >= churnForMs) return;
    this.scheduler.after(roundGapMs, this.#kind.round, 0);
  }

  // --- checkers ------------------------------------------------------------------------------

  #checkEnd(): void {
    const checks = this.checks;
    const plan = this.#rebalancer.plan(this.#layoutsForPlan(), this.#nodes());
    const lostIds = new Set(this.#layouts.flatMap((l, o) => (this.#lost[o] ? [l.id] : [])));
    const live = plan.moves.filter((m) => !lostIds.has(m.stripeId)).length;
    checks.check(
      'converged',
      live === 0 && plan.deferredMoves === 0,
      () => `a plan after the churn still has ${live} moves (${plan.deferredMoves} deferred)`,
    );
    for (const [o, layout] of this.#layouts.entries()) {
      if (this.#lost[o]) continue;
      const nodes = layout.holders.map((h) => (h === null ? -1 : Number(h.slice(1))));
      checks.check(
        'shards-held-by-live-nodes',
        nodes.every((n, i) => n >= 0 && this.#state[n] === 'up' && this.#held[n]!.has(`${o}/${i}`)),
        () => `${layout.id}: holders ${layout.holders.join(',')}`,
      );
      checks.check(
        'one-shard-per-node',
        new Set(nodes).size === nodes.length,
        () => `${layout.id}: a node holds two shards`,
      );
      const perRegion = shardsPer(nodes.map((n) => this.#regionOf[n]!));
      checks.check(
        'region-loss-safe',
        Math.max(...perRegion.values()) <= parityShards,
        () => `${layout.id}: ${[...perRegion.values()].join('/')} per region`,
      );
      checks.check(
        'spans-three-regions',
        perRegion.size >= 3,
        () => `${layout.id} spans ${perRegion.size} regions`,
      );
    }
  }
}

export const churnScenario: Scenario<ChurnOptions> = {
  name: 'churn',
  description:
    'nodes join and leave while @trinity/topology’s Rebalancer restores the placement rules, moves over the network',
  nodesMin: 20,
  nodesMax: 5_000,
  run: (options) => new ChurnWorld(options).run(),
};
