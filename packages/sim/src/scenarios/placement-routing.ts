import { isTrinityError } from '@trinity/core';
import { builtinTopology, type PlacementNode, RegionRouter, StripePlacer } from '@trinity/topology';
import type { SimRandom } from '../random.js';
import type { Scenario, ScenarioOutcome } from '../scenario.js';
import {
  dataShards,
  parityShards,
  ScenarioWorld,
  type StripeScenarioOptions,
  shardsPer,
  withDefaults,
} from './world.js';

export type PlacementRoutingOptions = StripeScenarioOptions;

const shardBytes = 64 * 1024;
const readsPerObject = 3;
/** Each gateway pings this many random nodes per round. */
const pingsPerRound = 40;
const pingRoundMs = 1_000;
const fetchTimeoutMs = 1_500;
const storeTimeoutMs = 3_000;
const faultIntervalMs = 200;

type Message =
  | { readonly t: 'ping'; readonly sentMs: number }
  | { readonly t: 'pong'; readonly sentMs: number }
  | { readonly t: 'store'; readonly object: number; readonly shard: number }
  | { readonly t: 'stored'; readonly object: number; readonly shard: number }
  | { readonly t: 'fetch'; readonly read: number; readonly object: number }
  | { readonly t: 'shard'; readonly read: number; readonly object: number; readonly shard: number };

interface StoredObject {
  readonly gateway: number;
  /** Holder node of each shard index. */
  holders: number[];
  readonly storedShards: Set<number>;
  acknowledged: boolean;
}

interface Read {
  readonly object: number;
  readonly gateway: number;
  readonly startMs: number;
  /** Holders by router rank. */
  readonly ranked: number[];
  next: number;
  /** Fetches sent whose timeout has not fired. */
  outstanding: number;
  readonly got: Set<number>;
  done: boolean;
}

/**
 * Region placement and routing, the seed's 200-node scenario made faulty: nine region gateways
 * place RS(4,2) stripes with @trinity/topology's StripePlacer (skipping nodes they suspect down),
 * measure nodes by ping into their RegionRouter, and read objects back from the holders the router
 * ranks best, moving down the ranking when one does not answer, while nodes crash and one region at a
 * time goes dark. Checkers: the placement rules (regions, caps, a region loss never costs more than
 * m shards), the router's answer is the exact best of a brute-force scoring, no acknowledged shard
 * is lost, and a read fails only when fewer than k holders were reachable.
 */
class PlacementRoutingWorld extends ScenarioWorld<Message> {
  readonly #options: Required<PlacementRoutingOptions>;
  readonly #random: SimRandom;
  readonly #faultRandom: SimRandom;
  readonly #topology = builtinTopology();
  readonly #placer: StripePlacer;
  readonly #nodes: number;
  readonly #regionOf: number[];
  readonly #reputation: number[];
  readonly #up: boolean[];
  /** Per node: shards it holds durably, as object * 256 + shard. */
  readonly #held: Set<number>[];
  /** Per node: last time it went down or up or its region dark or light (reads spanning it are excused). */
  readonly #changedMs: number[];
  readonly #regionChangedMs: number[];
  readonly #routers: RegionRouter[];
  /** Per gateway: nodes that missed their last ping. */
  readonly #suspected: Set<string>[];
  readonly #placementNodes: PlacementNode[];
  readonly #objects: StoredObject[] = [];
  readonly #reads: Read[] = [];
  readonly #faults: Record<string, number> = { crashes: 0, regionOutages: 0 };
  readonly #counts: Record<string, number> = {
    placementsRefused: 0,
    readsOk: 0,
    readsFailed: 0,
    readsExcused: 0,
    routerQueries: 0,
  };
  readonly #kind: Record<
    'write' | 'read' | 'ping' | 'diskDone' | 'fetchTimeout' | 'fault' | 'restart' | 'regionBack',
    number
  >;
  #darkRegion = -1;
  #faultsUntilMs = 0;
  #writesDone = false;

  constructor(options: PlacementRoutingOptions) {
    super(options.seed);
    this.#options = withDefaults(options, { objects: options.objects ?? options.nodes });
    const n = options.nodes;
    const regions = this.#topology.regions.length;
    this.#nodes = n;
    this.#random = this.root.fork('workload');
    this.#faultRandom = this.root.fork('faults');
    const layout = this.root.fork('layout');
    // Nodes spread unevenly over the regions (some regions crowded, some thin); gateways n..n+8.
    const weights = Array.from({ length: regions }, () => 0.3 + layout.float());
    const total = weights.reduce((a, b) => a + b, 0);
    this.#regionOf = Array.from({ length: n }, () => {
      let x = layout.float() * total;
      for (let r = 0; r < regions; r++) if ((x -= weights[r]!) < 0) return r;
      return regions - 1;
    });
    for (let r = 0; r < regions; r++) this.#regionOf.push(r);
    this.#reputation = Array.from({ length: n }, () => Math.round(layout.float() * 1000) / 1000);
    this.#up = new Array<boolean>(n).fill(true);
    this.#held = Array.from({ length: n }, () => new Set<number>());
    this.#changedMs = new Array<number>(n).fill(-1);
    this.#regionChangedMs = new Array<number>(regions).fill(-1);
    this.#placer = new StripePlacer({}, this.#topology);
    this.#placementNodes = Array.from({ length: n }, (_, i) => ({
      id: `n${i}`,
      region: this.#topology.regions[this.#regionOf[i]!]!,
      capacityBytes: 1e12,
    }));
    this.#routers = this.#topology.regions.map((region) => {
      const router = new RegionRouter({}, { topology: this.#topology, selfRegion: region });
      for (let i = 0; i < n; i++)
        router.upsertNode({
          id: `n${i}`,
          region: this.#placementNodes[i]!.region,
          reputation: this.#reputation[i]!,
        });
      return router;
    });
    this.#suspected = this.#topology.regions.map(() => new Set<string>());
    this.connect(this.#topology, this.#regionOf, (to, from, message) => this.#deliver(to, from, message));
    const s = this.scheduler;
    this.#kind = {
      write: s.register('write', (object) => this.#write(object)),
      read: s.register('read', (object, gateway) => this.#startRead(object, gateway)),
      ping: s.register('ping', (gateway) => this.#pingRound(gateway)),
      diskDone: s.register('disk-done', (node, key, from) => this.#diskDone(node, key, from as number)),
      fetchTimeout: s.register('fetch-timeout', (read) => this.#fetchTimedOut(read)),
      fault: s.register('fault', () => this.#fault()),
      restart: s.register('restart', (node) => this.#setUp(node, true)),
      regionBack: s.register('region-back', (region) => this.#setDark(region, false)),
    };
  }

  run(): ScenarioOutcome {
    const s = this.scheduler;
    const { objects } = this.#options;
    const writeSpanMs = Math.max(10_000, objects * 20);
    for (let g = 0; g < this.#topology.regions.length; g++)
      s.at(this.#random.float() * pingRoundMs, this.#kind.ping, g);
    // Let the first pings land, then write, then read (reads start once every write had its chance).
    for (let o = 0; o < objects; o++) s.at(1_500 + this.#random.float() * writeSpanMs, this.#kind.write, o);
    const readStartMs = 1_500 + writeSpanMs + storeTimeoutMs;
    const readSpanMs = Math.max(10_000, objects * readsPerObject * 5);
    for (let o = 0; o < objects; o++) {
      for (let r = 0; r < readsPerObject; r++) {
        const gateway = this.#nodes + this.#random.int(0, this.#topology.regions.length - 1);
        s.at(readStartMs + this.#random.float() * readSpanMs, this.#kind.read, o, gateway);
      }
    }
    this.#faultsUntilMs = readStartMs + readSpanMs;
    if (this.#options.faults) s.at(faultIntervalMs, this.#kind.fault, 0);
    s.run(this.#faultsUntilMs + 30_000);
    this.#writesDone = true;
    this.#checkEnd();
    return this.outcome({
      faults: { ...this.#faults },
      counts: {
        objects,
        acknowledged: this.#objects.filter((o) => o?.acknowledged).length,
        ...this.#counts,
        messagesCut: this.network.stats.cut,
      },
    });
  }

  // --- gateways: pings, writes, reads ----------------------------------------------------------

  #pingRound(gateway: number): void {
    if (this.#writesDone) return;
    const g = this.#nodes + gateway;
    const suspected = this.#suspected[gateway]!;
    for (let i = 0; i < pingsPerRound; i++) {
      const node = this.#random.int(0, this.#nodes - 1);
      // Suspected until it answers: a ping lost to a crash or an outage marks it.
      suspected.add(`n${node}`);
      this.network.send(g, node, { t: 'ping', sentMs: this.scheduler.nowMs }, 64);
    }
    this.#checkRouter(gateway);
    if (this.scheduler.nowMs < this.#faultsUntilMs || this.scheduler.nowMs < 2_000)
      this.scheduler.after(pingRoundMs, this.#kind.ping, gateway);
  }

  #write(object: number): void {
    const gateway = this.#random.int(0, this.#topology.regions.length - 1);
    const region = this.#topology.regions[gateway]!;
    const exclude = this.#suspected[gateway]!;
    let plan: ReturnType<StripePlacer['plan']>;
    try {
      plan = this.#placer.plan({
        clientRegion: region,
        nodes: this.#placementNodes,
        dataShards,
        parityShards,
        shardBytes,
        stripeKey: `object-${object}`,
        exclude,
      });
    } catch (error) {
      if (!isTrinityError(error, 'PLACEMENT_IMPOSSIBLE')) throw error;
      this.#counts.placementsRefused!++;
      return;
    }
    this.#checkPlacement(object, plan, exclude);
    const holders = plan.nodeIds.map((id) => Number(id.slice(1)));
    this.#objects[object] = {
      gateway: this.#nodes + gateway,
      holders,
      storedShards: new Set(),
      acknowledged: false,
    };
    for (let shard = 0; shard < holders.length; shard++)
      this.network.send(
        this.#nodes + gateway,
        holders[shard]!,
        { t: 'store', object, shard },
        shardBytes + 64,
      );
  }

  #startRead(object: number, gateway: number): void {
    const stored = this.#objects[object];
    if (stored === undefined || !stored.acknowledged) return;
    const router = this.#routers[gateway - this.#nodes]!;
    const region = this.#topology.regions[gateway - this.#nodes]!;
    this.#counts.routerQueries!++;
    const ranked = router
      .rankCandidates(
        region,
        // A node may hold two shards of a stripe (too few eligible nodes in its region): asked once.
        [...new Set(stored.holders)].map((h) => `n${h}`),
      )
      .map((c) => Number(c.id.slice(1)));
    const read: Read = {
      object,
      gateway,
      startMs: this.scheduler.nowMs,
      ranked,
      next: 0,
      outstanding: 0,
      got: new Set(),
      done: false,
    };
    this.#reads.push(read);
    const index = this.#reads.length - 1;
    for (let i = 0; i < dataShards; i++) this.#fetchNext(read, index);
  }

  /** Asks the next holder in rank order, if there is one left. */
  #fetchNext(read: Read, index: number): void {
    if (read.next >= read.ranked.length) return;
    const holder = read.ranked[read.next++]!;
    read.outstanding++;
    this.network.send(read.gateway, holder, { t: 'fetch', read: index, object: read.object }, 80);
    this.scheduler.after(fetchTimeoutMs, this.#kind.fetchTimeout, index);
  }

  /** A fetch went unanswered long enough: ask the next holder; with none left and none pending, the read failed. */
  #fetchTimedOut(index: number): void {
    const read = this.#reads[index]!;
    read.outstanding--;
    if (read.done) return;
    if (read.next < read.ranked.length) this.#fetchNext(read, index);
    else if (read.outstanding === 0) this.#finishRead(read, false);
  }

  #finishRead(read: Read, ok: boolean): void {
    read.done = true;
    if (ok) {
      this.#counts.readsOk!++;
      return;
    }
    // Excused when a holder changed state during the read; otherwise there must have been fewer than k reachable.
    const holders = this.#objects[read.object]!.holders;
    const gatewayRegion = this.#regionOf[read.gateway]!;
    const excused =
      holders.some((h) => this.#changedMs[h]! >= read.startMs) ||
      this.#regionChangedMs[gatewayRegion]! >= read.startMs;
    if (excused) {
      this.#counts.readsExcused!++;
      return;
    }
    this.#counts.readsFailed!++;
    const reachable = holders.filter((h) => this.#up[h] && !this.network.isCut(read.gateway, h)).length;
    this.checks.check(
      'read-fails-only-when-unreachable',
      reachable < dataShards,
      () => `read of object ${read.object} failed with ${reachable} of ${holders.length} holders reachable`,
    );
  }

  // --- nodes ---------------------------------------------------------------------------------

  #deliver(to: number, from: number, message: Message): void {
    switch (message.t) {
      case 'ping':
        this.network.send(to, from, { t: 'pong', sentMs: message.sentMs }, 64);
        break;
      case 'pong': {
        const gateway = to - this.#nodes;
        this.#suspected[gateway]!.delete(`n${from}`);
        const rttMs = this.scheduler.nowMs - message.sentMs;
        this.#routers[gateway]!.observeLatency(`n${from}`, rttMs, Math.floor(this.scheduler.nowMs));
        break;
      }
      case 'store':
        // Durable after a disk write; acknowledged only then.
        this.scheduler.after(
          1 + this.#random.float() * 4,
          this.#kind.diskDone,
          to,
          message.object * 256 + message.shard,
          from,
        );
        break;
      case 'stored': {
        const object = this.#objects[message.object]!;
        object.storedShards.add(message.shard);
        if (!object.acknowledged && object.storedShards.size === object.holders.length)
          object.acknowledged = true;
        break;
      }
      case 'fetch': {
        // Every shard of the object this node holds (two when its region had too few nodes).
        const holders = this.#objects[message.object]!.holders;
        for (let shard = 0; shard < holders.length; shard++) {
          if (holders[shard] !== to || !this.#held[to]!.has(message.object * 256 + shard)) continue;
          this.network.send(
            to,
            from,
            { t: 'shard', read: message.read, object: message.object, shard },
            shardBytes + 64,
          );
        }
        break;
      }
      case 'shard': {
        const read = this.#reads[message.read]!;
        if (read.done) break;
        read.got.add(message.shard);
        if (read.got.size >= dataShards) this.#finishRead(read, true);
        break;
      }
    }
  }

  #diskDone(node: number, key: number, gateway: number): void {
    if (!this.#up[node]) return; // the write was lost with the crash: never acknowledged
    this.#held[node]!.add(key);
    this.network.send(node, gateway, { t: 'stored', object: Math.floor(key / 256), shard: key % 256 }, 64);
  }

  // --- faults --------------------------------------------------------------------------------

  #fault(): void {
    const now = this.scheduler.nowMs;
    if (now >= this.#faultsUntilMs) return;
    const random = this.#faultRandom;
    const roll = random.float();
    if (roll < 0.5) {
      const node = random.int(0, this.#nodes - 1);
      if (this.#up[node]) {
        this.#faults.crashes!++;
        this.#setUp(node, false);
        this.scheduler.after(300 + random.exponential(2_000), this.#kind.restart, node);
      }
    } else if (roll < 0.58 && this.#darkRegion < 0) {
      const region = random.int(0, this.#topology.regions.length - 1);
      this.#faults.regionOutages!++;
      this.#setDark(region, true);
      this.scheduler.after(1_000 + random.exponential(3_000), this.#kind.regionBack, region);
    }
    this.scheduler.after(faultIntervalMs, this.#kind.fault, 0);
  }

  #setUp(node: number, up: boolean): void {
    this.#up[node] = up;
    this.network.setUp(node, up);
    this.#changedMs[node] = this.scheduler.nowMs;
  }

  #setDark(region: number, dark: boolean): void {
    this.network.setRegionDark(region, dark);
    this.#darkRegion = dark ? region : -1;
    this.#regionChangedMs[region] = this.scheduler.nowMs;
    for (let i = 0; i < this.#nodes; i++)
      if (this.#regionOf[i] === region) this.#changedMs[i] = this.scheduler.nowMs;
  }

  // --- checkers ------------------------------------------------------------------------------

  #checkPlacement(
    object: number,
    plan: ReturnType<StripePlacer['plan']>,
    exclude: ReadonlySet<string>,
  ): void {
    const checks = this.checks;
    const regions = shardsPer(plan.nodeIds.map((id) => this.#placementNodes[Number(id.slice(1))]!.region));
    // One shard per node, unless the region had fewer eligible (not suspected) nodes than shards to
    // hold (the placer's rule 2: 3 nodes in 3 regions hold RS(4,2) as 2+2+2): then every one of them.
    const holdersIn = shardsPer(
      [...new Set(plan.nodeIds)].map((id) => this.#placementNodes[Number(id.slice(1))]!.region),
    );
    for (const [region, shards] of regions) {
      const eligible = this.#placementNodes.filter((n) => n.region === region && !exclude.has(n.id)).length;
      checks.check(
        'placement-distinct-nodes',
        holdersIn.get(region) === Math.min(shards, eligible),
        () =>
          `object ${object}: ${shards} shards in ${region} on ${holdersIn.get(region)} nodes of ${eligible} eligible`,
      );
    }
    checks.check(
      'placement-region-loss-safe',
      Math.max(...regions.values()) <= parityShards,
      () =>
        `object ${object}: ${JSON.stringify([...regions])} puts more than ${parityShards} shards in one region`,
    );
    checks.check(
      'placement-min-regions',
      regions.size >= 3,
      () => `object ${object} spans ${regions.size} regions`,
    );
    checks.check(
      'placement-skips-suspected',
      plan.nodeIds.every((id) => !exclude.has(id)),
      () => `object ${object} placed on a suspected node`,
    );
  }

  /** The router's best node for its region equals the best of scoring every node by hand. */
  #checkRouter(gateway: number): void {
    const router = this.#routers[gateway]!;
    const region = this.#topology.regions[gateway]!;
    const best = router.best(region);
    let bruteId: string | undefined;
    let bruteScore = -1;
    for (let i = 0; i < this.#nodes; i++) {
      if (this.#reputation[i]! < router.config.minReputation) continue;
      const id = `n${i}`;
      const score = router.score(id, region)!;
      if (score > bruteScore || (score === bruteScore && id < bruteId!)) {
        bruteScore = score;
        bruteId = id;
      }
    }
    this.#counts.routerQueries!++;
    this.checks.check(
      'router-exact-best',
      best !== undefined && Math.abs(best.score - bruteScore) < 1e-12,
      () => `${region}: router chose ${best?.id} (${best?.score}), best is ${bruteId} (${bruteScore})`,
    );
    if (best !== undefined) {
      const reputation = this.#reputation[Number(best.id.slice(1))]!;
      this.checks.check(
        'router-min-reputation',
        reputation >= router.config.minReputation,
        () => `${region}: routed to ${best.id} of reputation ${reputation}`,
      );
    }
  }

  #checkEnd(): void {
    for (const [object, stored] of this.#objects.entries()) {
      if (stored === undefined || !stored.acknowledged) continue;
      // Nothing acknowledged is lost: every shard is on its holder, crashes notwithstanding.
      for (const [shard, holder] of stored.holders.entries()) {
        this.checks.check(
          'acknowledged-shard-kept',
          this.#held[holder]!.has(object * 256 + shard),
          () => `object ${object} shard ${shard} missing on n${holder}`,
        );
      }
      // Readable with any one region lost.
      for (let r = 0; r < this.#topology.regions.length; r++) {
        const outside = stored.holders.filter((h) => this.#regionOf[h] !== r).length;
        this.checks.check(
          'readable-without-any-one-region',
          outside >= dataShards,
          () => `object ${object} keeps ${outside} shards without region ${this.#topology.regions[r]}`,
        );
      }
    }
    this.checks.check(
      'reads-mostly-succeed',
      this.#counts.readsOk! >= this.#counts.readsFailed! * 4,
      () => `${this.#counts.readsOk} reads ok, ${this.#counts.readsFailed} failed`,
    );
  }
}

export const placementRoutingScenario: Scenario<PlacementRoutingOptions> = {
  name: 'placement-routing',
  description:
    'RS(4,2) stripes placed and read back across nine regions by @trinity/topology under crashes and region outages',
  nodesMin: 30,
  nodesMax: 20_000,
  run: (options) => new PlacementRoutingWorld(options).run(),
};
