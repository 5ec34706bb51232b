import { assertInt, equalBytes, sha256, toHex } from '@trinity/core';
import { createEncoder, type Encoder } from '@trinity/erasure';
import {
  createManifest,
  type Holder,
  type Manifest,
  planRepair,
  type RepairTask,
  type ShardHealth,
  updateHolders,
} from '@trinity/storage';
import { builtinTopology, type PlacementNode, StripePlacer } from '@trinity/topology';
import { SimDisk } from '../disk.js';
import type { SimRandom } from '../random.js';
import type { Scenario, ScenarioOutcome } from '../scenario.js';
import {
  dataShards,
  everyRegionThenRandom,
  parityShards,
  ScenarioWorld,
  type StripeScenarioOptions,
  withDefaults,
} from './world.js';

export interface CorruptionRepairOptions extends StripeScenarioOptions {
  /** The scrubber moves on through a node's files (default); false plants a scrubber stuck on its first few. */
  readonly scrubAdvances?: boolean;
  /** How long bit rot and node deaths strike (default 60 s). */
  readonly faultsForMs?: number;
  /**
   * How long scrubbing, heartbeats and repair go on after the faults (default 100 s); the repair
   * service's watch 10 s more, the run 20 s more. The sweep's smaller runs shorten both.
   */
  readonly settleMs?: number;
}

const shardBytes = 1_024;
const faultIntervalMs = 100;
/** Each node re-hashes this many of its shards per scrub tick. */
const scrubBatch = 4;
const scrubIntervalMs = 500;
const heartbeatMs = 1_000;
/** The repair service declares a node dead after this long without a heartbeat. */
const deadAfterMs = 3_500;
const fetchTimeoutMs = 2_000;
const repairsInFlightMax = 32;
/** The plot samples the repair backlog this often. */
const sampleEveryMs = 1_000;
/** A repair not finished by then (a target died before storing) is ended with what it stored; the watch retries the rest. */
const repairDeadlineMs = 10_000;

type Message =
  | { readonly t: 'heartbeat' }
  | { readonly t: 'corrupt'; readonly object: number; readonly shard: number }
  | { readonly t: 'fetch'; readonly repair: number; readonly hash: string }
  | {
      readonly t: 'shard';
      readonly repair: number;
      readonly hash: string;
      readonly data: Uint8Array | undefined;
    }
  | { readonly t: 'store'; readonly repair: number; readonly hash: string; readonly data: Uint8Array }
  | { readonly t: 'stored'; readonly repair: number; readonly hash: string };

interface StoredObject {
  manifest: Manifest;
  /** The original data shards, for the final read check. */
  readonly data: Uint8Array[];
  /** Ground truth: shards damaged now (corrupt or on a dead node, not yet repaired), and the most at once. */
  damaged: Set<number>;
  maxDamaged: number;
  /** Shards the repair service knows are bad (reported corrupt, or on a node it declared dead). */
  readonly knownBad: Set<number>;
  repairing: boolean;
}

interface Repair {
  readonly object: number;
  readonly task: RepairTask;
  /** Sources in the order to try (k sources, then spares), as (shard index, holder index). */
  readonly order: { shardIndex: number; hash: string; node: number }[];
  next: number;
  outstanding: number;
  readonly got: Map<number, Uint8Array>;
  /** Rebuilt shards stored so far (awaiting 'stored'). */
  readonly pendingStores: Map<string, { shardIndex: number; target: Holder }>;
  readonly stored: { shardIndex: number; target: Holder }[];
  done: boolean;
}

/**
 * Disk corruption and repair: objects stored as RS(4,2) stripes (@trinity/erasure), placed by
 * @trinity/topology, described by @trinity/storage manifests, each shard a file on its holder's
 * simulated disk. Bits rot and nodes die for good; every node scrubs its files at a bounded rate and
 * reports corrupt shards; a repair service (heartbeats tell it which nodes died) plans with
 * @trinity/storage's `planRepair`, fetches k verified shards over the network, rebuilds with
 * Reed-Solomon, checks the rebuilt hashes against the manifest and stores them on new holders.
 * Checkers: every object whose stripe never had more than m shards damaged at once reads back
 * byte for byte, every rotten shard was found by a scrub (or died with its node), every manifest
 * holder is alive and holds a valid shard at the end.
 */
class CorruptionRepairWorld extends ScenarioWorld<Message> {
  readonly #options: Required<CorruptionRepairOptions>;
  readonly #random: SimRandom;
  readonly #faultRandom: SimRandom;
  readonly #topology = builtinTopology();
  readonly #codec: Encoder = createEncoder({ dataShards, parityShards });
  readonly #n: number;
  /** Scrubs, heartbeats and samples run until then; the watch 10 s more, the run 20 s more. */
  readonly #scrubUntilMs: number;
  readonly #regionOf: number[];
  readonly #disks: SimDisk[];
  readonly #alive: boolean[];
  /** The repair service's view: last heartbeat of each node, and whom it declared dead. */
  readonly #lastHeartbeatMs: number[];
  readonly #declaredDead: Set<number> = new Set();
  /** Per node: its shard files (hash → object, shard), for the scrubber's round robin. */
  readonly #files: Map<string, { object: number; shard: number }>[];
  readonly #scrubCursor: number[];
  readonly #objects: StoredObject[] = [];
  readonly #repairs: Repair[] = [];
  readonly #rotten = new Map<string, 'pending' | 'found' | 'died'>();
  readonly #faults: Record<string, number> = { bitFlips: 0, nodeDeaths: 0 };
  readonly #counts: Record<string, number> = {
    repairs: 0,
    shardsRebuilt: 0,
    corruptFound: 0,
    fetchFailures: 0,
  };
  readonly #kind: Record<
    'fault' | 'scrub' | 'heartbeat' | 'watch' | 'fetchTimeout' | 'repairDeadline' | 'sample',
    number
  >;
  readonly #series = {
    timesMs: [] as number[],
    backlog: [] as number[],
    damaged: [] as number[],
    pastM: [] as number[],
  };
  #repairsInFlight = 0;

  constructor(options: CorruptionRepairOptions) {
    super(options.seed);
    const n = options.nodes;
    this.#n = n;
    this.#options = withDefaults(options, {
      objects: options.objects ?? n,
      scrubAdvances: options.scrubAdvances ?? true,
      faultsForMs: options.faultsForMs ?? 60_000,
      settleMs: options.settleMs ?? 100_000,
    });
    assertInt(this.#options.faultsForMs, 'faultsForMs', 0, 3_600_000);
    assertInt(this.#options.settleMs, 'settleMs', 0, 3_600_000);
    this.#scrubUntilMs = this.#options.faultsForMs + this.#options.settleMs;
    this.#random = this.root.fork('workload');
    this.#faultRandom = this.root.fork('faults');
    const layout = this.root.fork('layout');
    this.#regionOf = everyRegionThenRandom(n, this.#topology, layout);
    this.#regionOf.push(0); // the repair service
    const diskRandom = this.root.fork('disks');
    this.#disks = Array.from({ length: n }, (_, i) => new SimDisk(diskRandom.fork(`d${i}`)));
    this.#alive = new Array<boolean>(n).fill(true);
    this.#lastHeartbeatMs = new Array<number>(n).fill(0);
    this.#files = Array.from({ length: n }, () => new Map());
    this.#scrubCursor = new Array<number>(n).fill(0);
    this.connect(this.#topology, this.#regionOf, (to, from, message) => this.#deliver(to, from, message));
    const s = this.scheduler;
    this.#kind = {
      fault: s.register('fault', () => this.#fault()),
      scrub: s.register('scrub', (node) => this.#scrub(node)),
      heartbeat: s.register('heartbeat', (node) => this.#heartbeat(node)),
      watch: s.register('watch', () => this.#watch()),
      fetchTimeout: s.register('fetch-timeout', (repair) => this.#fetchTimedOut(repair)),
      sample: s.register('sample', () => this.#sample()),
      repairDeadline: s.register('repair-deadline', (repair) => {
        const r = this.#repairs[repair]!;
        if (!r.done) this.#endRepair(r);
      }),
    };
    this.#storeObjects(this.root.fork('data'));
  }

  get #service(): number {
    return this.#n;
  }

  run(): ScenarioOutcome {
    const s = this.scheduler;
    for (let i = 0; i < this.#n; i++) {
      s.at(this.#random.float() * scrubIntervalMs, this.#kind.scrub, i);
      s.at(this.#random.float() * heartbeatMs, this.#kind.heartbeat, i);
    }
    s.at(heartbeatMs, this.#kind.watch, 0);
    s.at(0, this.#kind.sample, 0);
    if (this.#options.faults) s.at(faultIntervalMs, this.#kind.fault, 0);
    // Faults (a minute by default), then time for scrubs to cover every file and repairs to finish.
    const end = s.run(this.#scrubUntilMs + 20_000);
    this.checks.check('settles', end !== 'event-limit', () => 'event limit reached');
    this.#checkEnd();
    return this.outcome({
      faults: { ...this.#faults },
      counts: {
        objects: this.#objects.length,
        ...this.#counts,
        objectsPastM: this.#objects.filter((o) => o.maxDamaged > parityShards).length,
      },
      series: {
        timesMs: this.#series.timesMs,
        lines: {
          'repair backlog (shards known bad)': this.#series.backlog,
          'shards damaged (ground truth)': this.#series.damaged,
          'objects past m damaged': this.#series.pastM,
        },
      },
    });
  }

  /** Repair backlog and durability over time, for the plot. */
  #sample(): void {
    let backlog = 0;
    let damaged = 0;
    let pastM = 0;
    for (const object of this.#objects) {
      backlog += object.knownBad.size;
      damaged += object.damaged.size;
      if (object.damaged.size > parityShards) pastM++;
    }
    this.#series.timesMs.push(this.scheduler.nowMs);
    this.#series.backlog.push(backlog);
    this.#series.damaged.push(damaged);
    this.#series.pastM.push(pastM);
    if (this.scheduler.nowMs < this.#scrubUntilMs) this.scheduler.after(sampleEveryMs, this.#kind.sample, 0);
  }

  #holder(node: number): Holder {
    return { nodeId: `n${node}`, region: this.#topology.regions[this.#regionOf[node]!]! };
  }

  #storeObjects(random: SimRandom): void {
    const placer = new StripePlacer({}, this.#topology);
    const nodes: PlacementNode[] = Array.from({ length: this.#n }, (_, i) => ({
      id: `n${i}`,
      region: this.#holder(i).region,
    }));
    for (let o = 0; o < this.#options.objects; o++) {
      const shards = Array.from({ length: dataShards + parityShards }, () => new Uint8Array(shardBytes));
      for (let i = 0; i < dataShards; i++)
        for (let b = 0; b < shardBytes; b += 4)
          new DataView(shards[i]!.buffer).setUint32(b, random.nextUint32());
      this.#codec.encode(shards);
      const clientRegion = this.#topology.regions[random.int(0, this.#topology.regions.length - 1)]!;
      const placed = placer
        .place({ clientRegion, nodes, dataShards, parityShards, stripeKey: `object-${o}` })
        .map((id) => Number(id.slice(1)));
      const hashes = shards.map((shard) => toHex(sha256(shard)));
      for (const [i, node] of placed.entries()) {
        this.#disks[node]!.replace(`shard/${hashes[i]}`, shards[i]!);
        this.#files[node]!.set(hashes[i]!, { object: o, shard: i });
      }
      const manifest = createManifest({
        size: dataShards * shardBytes,
        erasure: { dataShards, parityShards, shardBytes },
        stripes: [
          {
            dataBytes: dataShards * shardBytes,
            shards: hashes.map((hash, i) => ({ hash, holders: [this.#holder(placed[i]!)] })),
          },
        ],
        createdAtMs: 0,
      });
      this.#objects.push({
        manifest,
        data: shards.slice(0, dataShards),
        damaged: new Set(),
        maxDamaged: 0,
        knownBad: new Set(),
        repairing: false,
      });
    }
  }

  // --- nodes: heartbeats, scrubbing, serving -------------------------------------------------

  #heartbeat(node: number): void {
    if (!this.#alive[node]) return;
    this.network.send(node, this.#service, { t: 'heartbeat' }, 32);
    this.scheduler.after(heartbeatMs, this.#kind.heartbeat, node);
  }

  /** Re-hashes the next few files; a corrupt one is deleted and reported. */
  #scrub(node: number): void {
    if (!this.#alive[node]) return;
    const files = [...this.#files[node]!.keys()].sort();
    for (let i = 0; i < Math.min(scrubBatch, files.length); i++) {
      const hash = files[(this.#scrubCursor[node]! + i) % files.length]!;
      const bytes = this.#disks[node]!.read(`shard/${hash}`);
      if (toHex(sha256(bytes)) === hash) continue;
      const { object, shard } = this.#files[node]!.get(hash)!;
      this.#files[node]!.delete(hash);
      if (this.#rotten.get(`${node}/${hash}`) === 'pending') this.#rotten.set(`${node}/${hash}`, 'found');
      this.#counts.corruptFound!++;
      this.network.send(node, this.#service, { t: 'corrupt', object, shard }, 64);
    }
    if (this.#options.scrubAdvances)
      this.#scrubCursor[node] = (this.#scrubCursor[node]! + scrubBatch) % Math.max(1, files.length);
    if (this.scheduler.nowMs < this.#scrubUntilMs)
      this.scheduler.after(scrubIntervalMs, this.#kind.scrub, node);
  }

  #deliver(to: number, from: number, message: Message): void {
    if (to === this.#service) {
      this.#serviceHandle(from, message);
      return;
    }
    if (!this.#alive[to]) return;
    if (message.t === 'fetch') {
      const held = this.#files[to]!.has(message.hash);
      const data = held ? this.#disks[to]!.read(`shard/${message.hash}`) : undefined;
      this.network.send(
        to,
        from,
        { t: 'shard', repair: message.repair, hash: message.hash, data },
        (data?.length ?? 0) + 64,
      );
    } else if (message.t === 'store') {
      // A rebuilt shard arrives: checked against its name before it is kept (it came from the network).
      if (toHex(sha256(message.data)) !== message.hash) return;
      const repair = this.#repairs[message.repair]!;
      this.#disks[to]!.replace(`shard/${message.hash}`, message.data);
      const entry = repair.pendingStores.get(`${to}/${message.hash}`);
      if (entry !== undefined)
        this.#files[to]!.set(message.hash, { object: repair.object, shard: entry.shardIndex });
      this.network.send(to, from, { t: 'stored', repair: message.repair, hash: message.hash }, 64);
    }
  }

  // --- the repair service --------------------------------------------------------------------

  #serviceHandle(from: number, message: Message): void {
    switch (message.t) {
      case 'heartbeat':
        this.#lastHeartbeatMs[from] = this.scheduler.nowMs;
        break;
      case 'corrupt':
        this.#objects[message.object]!.knownBad.add(message.shard);
        this.#startRepair(message.object);
        break;
      case 'shard':
        this.#onShard(message.repair, message.hash, message.data);
        break;
      case 'stored':
        this.#onStored(message.repair, from, message.hash);
        break;
    }
  }

  /** Declares silent nodes dead and repairs what they held; retries objects left unrepaired. */
  #watch(): void {
    const now = this.scheduler.nowMs;
    for (let node = 0; node < this.#n; node++) {
      if (this.#declaredDead.has(node) || now - this.#lastHeartbeatMs[node]! < deadAfterMs) continue;
      this.#declaredDead.add(node);
      for (const [o, object] of this.#objects.entries()) {
        const shards = object.manifest.stripes[0]!.shards;
        for (const [i, shard] of shards.entries())
          if (shard.holders.some((h) => h.nodeId === `n${node}`)) object.knownBad.add(i);
        if (object.knownBad.size > 0) this.#startRepair(o);
      }
    }
    for (const [o, object] of this.#objects.entries()) if (object.knownBad.size > 0) this.#startRepair(o);
    if (now < this.#scrubUntilMs + 10_000) this.scheduler.after(heartbeatMs, this.#kind.watch, 0);
  }

  #startRepair(o: number): void {
    const object = this.#objects[o]!;
    if (object.repairing || object.knownBad.size === 0 || this.#repairsInFlight >= repairsInFlightMax) return;
    const candidates = Array.from({ length: this.#n }, (_, i) => i)
      .filter((i) => !this.#declaredDead.has(i))
      .map((i) => this.#holder(i));
    const health = (_stripe: number, shard: number): ShardHealth =>
      object.knownBad.has(shard) ? 'corrupt' : 'ok';
    const plan = planRepair(object.manifest, health, { candidates });
    const task = plan.tasks[0];
    if (task === undefined) return;
    const order = [...task.sources, ...task.spares].flatMap((source) =>
      source.holders.map((h) => ({
        shardIndex: source.shardIndex,
        hash: source.hash,
        node: Number(h.nodeId.slice(1)),
      })),
    );
    const repair: Repair = {
      object: o,
      task,
      order,
      next: 0,
      outstanding: 0,
      got: new Map(),
      pendingStores: new Map(),
      stored: [],
      done: false,
    };
    this.#repairs.push(repair);
    object.repairing = true;
    this.#repairsInFlight++;
    this.#counts.repairs!++;
    const index = this.#repairs.length - 1;
    this.scheduler.after(repairDeadlineMs, this.#kind.repairDeadline, index);
    for (let i = 0; i < dataShards; i++) this.#fetchNext(repair, index);
  }

  #fetchNext(repair: Repair, index: number): void {
    const source = repair.order[repair.next++];
    if (source === undefined) return;
    repair.outstanding++;
    this.network.send(this.#service, source.node, { t: 'fetch', repair: index, hash: source.hash }, 96);
    this.scheduler.after(fetchTimeoutMs, this.#kind.fetchTimeout, index);
  }

  #fetchTimedOut(index: number): void {
    const repair = this.#repairs[index]!;
    repair.outstanding--;
    if (repair.done || repair.got.size >= dataShards) return;
    this.#counts.fetchFailures!++;
    if (repair.next < repair.order.length) this.#fetchNext(repair, index);
    else if (repair.outstanding === 0) this.#endRepair(repair); // not enough sources now: retried by the watch
  }

  #onShard(index: number, hash: string, data: Uint8Array | undefined): void {
    const repair = this.#repairs[index]!;
    if (repair.done || repair.got.size >= dataShards) return;
    const source = repair.order.find((s) => s.hash === hash);
    // Verified here: a corrupt or missing answer counts as a failed source.
    if (source === undefined || data === undefined || toHex(sha256(data)) !== hash) {
      if (repair.next < repair.order.length) this.#fetchNext(repair, index);
      return;
    }
    repair.got.set(source.shardIndex, data);
    if (repair.got.size < dataShards) return;
    const shards: (Uint8Array | null)[] = Array.from(
      { length: dataShards + parityShards },
      (_, i) => repair.got.get(i) ?? null,
    );
    const rebuilt = this.#codec.reconstruct(shards);
    for (const target of repair.task.rebuild) {
      const bytes = rebuilt[target.shardIndex]!;
      const ok = toHex(sha256(bytes)) === target.hash;
      this.checks.check(
        'rebuilt-shard-verifies',
        ok,
        () => `object ${repair.object} shard ${target.shardIndex} rebuilt wrong`,
      );
      if (!ok) continue;
      const node = Number(target.target.nodeId.slice(1));
      repair.pendingStores.set(`${node}/${target.hash}`, {
        shardIndex: target.shardIndex,
        target: target.target,
      });
      this.network.send(
        this.#service,
        node,
        { t: 'store', repair: index, hash: target.hash, data: bytes },
        bytes.length + 64,
      );
    }
  }

  #onStored(index: number, from: number, hash: string): void {
    const repair = this.#repairs[index]!;
    const entry = repair.pendingStores.get(`${from}/${hash}`);
    if (repair.done || entry === undefined) return;
    repair.pendingStores.delete(`${from}/${hash}`);
    repair.stored.push(entry);
    if (repair.stored.length === repair.task.rebuild.length) this.#endRepair(repair);
  }

  /** Puts what was stored into the manifest (new holders) and frees the slot. */
  #endRepair(repair: Repair): void {
    repair.done = true;
    this.#repairsInFlight--;
    const object = this.#objects[repair.object]!;
    object.repairing = false;
    if (repair.stored.length > 0) {
      object.manifest = updateHolders(
        object.manifest,
        repair.stored.map(({ shardIndex, target }) => ({ stripeIndex: 0, shardIndex, holders: [target] })),
      );
      for (const { shardIndex } of repair.stored) {
        object.knownBad.delete(shardIndex);
        object.damaged.delete(shardIndex);
        this.#counts.shardsRebuilt!++;
      }
    }
  }

  // --- faults --------------------------------------------------------------------------------

  #fault(): void {
    if (this.scheduler.nowMs >= this.#options.faultsForMs) return;
    const random = this.#faultRandom;
    const roll = random.float();
    if (roll < 0.3) this.#rot(random.int(0, this.#n - 1));
    else if (roll < 0.32) this.#kill(random.int(0, this.#n - 1));
    this.scheduler.after(faultIntervalMs, this.#kind.fault, 0);
  }

  #rot(node: number): void {
    const files = [...this.#files[node]!.keys()].sort();
    if (!this.#alive[node] || files.length === 0) return;
    const hash = this.#faultRandom.pick(files);
    this.#disks[node]!.flipBit(`shard/${hash}`);
    this.#faults.bitFlips!++;
    if (!this.#rotten.has(`${node}/${hash}`)) this.#rotten.set(`${node}/${hash}`, 'pending');
    const { object, shard } = this.#files[node]!.get(hash)!;
    this.#damage(object, shard);
  }

  /** A node dies for good: its disk is gone. */
  #kill(node: number): void {
    if (!this.#alive[node]) return;
    // Keep two thirds of the network: the placement rules need nodes to repair onto.
    if (this.#alive.filter(Boolean).length <= (this.#n * 2) / 3) return;
    this.#alive[node] = false;
    this.network.setUp(node, false);
    this.#faults.nodeDeaths!++;
    for (const [hash, { object, shard }] of this.#files[node]!) {
      if (this.#rotten.get(`${node}/${hash}`) === 'pending') this.#rotten.set(`${node}/${hash}`, 'died');
      this.#damage(object, shard);
    }
    this.#files[node]!.clear();
  }

  #damage(o: number, shard: number): void {
    const object = this.#objects[o]!;
    // Only a shard the manifest still lists there counts (a stale copy is not the object's).
    object.damaged.add(shard);
    object.maxDamaged = Math.max(object.maxDamaged, object.damaged.size);
  }

  // --- checkers ------------------------------------------------------------------------------

  #checkEnd(): void {
    const checks = this.checks;
    for (const [key, state] of this.#rotten) {
      checks.check(
        'every-rot-found',
        state !== 'pending',
        () => `rotten shard ${key.slice(0, 20)} never found by a scrub`,
      );
    }
    for (const [o, object] of this.#objects.entries()) {
      const readable = this.#read(object);
      if (object.maxDamaged <= parityShards) {
        checks.check(
          'readable-if-at-most-m-damaged',
          readable,
          () => `object ${o} unreadable though at most ${object.maxDamaged} shards were damaged at once`,
        );
        checks.check(
          'fully-repaired',
          object.damaged.size === 0 && object.knownBad.size === 0,
          () => `object ${o} still has ${object.damaged.size} damaged shards`,
        );
      }
      for (const [i, shard] of object.manifest.stripes[0]!.shards.entries()) {
        for (const holder of shard.holders) {
          const node = Number(holder.nodeId.slice(1));
          const ok =
            this.#alive[node] && toHex(sha256(this.#disks[node]!.read(`shard/${shard.hash}`))) === shard.hash;
          checks.check(
            'manifest-holders-valid',
            ok || object.maxDamaged > parityShards,
            () =>
              `object ${o} shard ${i}: ${holder.nodeId} ${this.#alive[node] ? 'holds a bad copy' : 'is dead'}`,
          );
        }
      }
    }
  }

  /** Reads an object back as a client would: any k valid shards from the manifest's holders, decoded. */
  #read(object: StoredObject): boolean {
    const shards: (Uint8Array | null)[] = [];
    let valid = 0;
    for (const shard of object.manifest.stripes[0]!.shards) {
      let found: Uint8Array | null = null;
      for (const holder of shard.holders) {
        const node = Number(holder.nodeId.slice(1));
        if (!this.#alive[node]) continue;
        const bytes = this.#disks[node]!.read(`shard/${shard.hash}`);
        if (toHex(sha256(bytes)) === shard.hash) found = bytes;
      }
      if (found !== null) valid++;
      shards.push(found);
    }
    if (valid < dataShards) return false;
    const full = this.#codec.reconstruct(shards);
    return object.data.every((data, i) => equalBytes(full[i]!, data));
  }
}

export const corruptionRepairScenario: Scenario<CorruptionRepairOptions> = {
  name: 'corruption-repair',
  description:
    'RS(4,2) objects on simulated disks: bit rot and node deaths, scrubbing, planned repair with @trinity/storage',
  nodesMin: 12,
  nodesMax: 5_000,
  run: (options) => new CorruptionRepairWorld(options).run(),
};
