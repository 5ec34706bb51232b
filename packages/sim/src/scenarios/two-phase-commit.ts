import { isTrinityError, MemoryMetrics } from '@trinity/core';
import {
  builtinTopology,
  type PlacementNode,
  type PlacementNodeSet,
  RegionRouter,
  StripePlacer,
  type Topology,
} from '@trinity/topology';
import {
  Coordinator,
  type CoordinatorInit,
  isCoordinatorMessage,
  isCoordinatorRecord,
  Participant,
  type ParticipantInit,
  registerTxMetrics,
  type TxConfigInput,
  type TxEffect,
  type TxMessage,
} from '@trinity/tx';
import { ShardLockManager } from '@trinity/vsa';
import { SimDisk } from '../disk.js';
import type { SimRandom } from '../random.js';
import type { Scenario, ScenarioOptions, ScenarioOutcome } from '../scenario.js';
import { type CoordinatorLike, type ParticipantLike, SimShardStore, SimTxLog } from './tx-host.js';
import {
  dataShards,
  messageFaults,
  parityShards,
  randomRegions,
  ScenarioWorld,
  shardsPer,
  withDefaults,
} from './world.js';

export interface TwoPhaseCommitOptions extends ScenarioOptions {
  /** Transactions in all (default: the larger of 250 and the node count). */
  readonly transactions?: number;
  /** Transactions in flight at once (default 50). */
  readonly concurrency?: number;
  /** Shards per transaction (default 6). */
  readonly shardsPerTransaction?: number;
  /**
   * Place each transaction's shards with @trinity/topology's StripePlacer (as RS(4,2) from a random
   * client region, skipping down nodes) and pick its coordinator with the client region's
   * RegionRouter, instead of at random (default false; the full-pipeline scenario sets it).
   */
  readonly routing?: boolean;
  /** Builds each node's coordinator (tests plant broken variants here). */
  readonly makeCoordinator?: (init: CoordinatorInit) => CoordinatorLike;
  /** Builds each node's participant. */
  readonly makeParticipant?: (init: ParticipantInit) => ParticipantLike;
}

/** Share of a transaction's shards drawn from a few hot shards per node: they contend for locks. */
const hotShardRate = 0.15;
const hotShardsPerNode = 3;
/** Share of stagings that fail (disk full): the participant votes abort. */
const stageFailRate = 0.02;
/** A client that hears nothing for this long gives up on the transaction (its outcome is then unknown to it). */
const clientTimeoutMs = 10_000;
/** Mean pause of a client between two transactions. */
const clientThinkMs = 5;
/** While clients run, a fault may strike this often. */
const faultIntervalMs = 100;
const lockTtlMs = 30_000;
const txConfig: TxConfigInput = {
  prepareTimeoutMs: 5_000,
  commitRetryIntervalMs: 500,
  commitRetryMaxIntervalMs: 8_000,
  statusQueryIntervalMs: 500,
  lockRenewMarginMs: 5_000,
};
/** A node checkpoints its log once this many records were appended since the last time. */
const checkpointEveryRecords = 32;
/** After the clients finish, everything must settle within this much virtual time. */
const settleMsMax = 600_000;

interface TxNode {
  readonly index: number;
  readonly id: string;
  up: boolean;
  epoch: number;
  crashes: number;
  lastCrashMs: number;
  /** Built when first needed (most of a large network's nodes are idle for a long while). */
  machines: Machines | undefined;
  locks: ShardLockManager;
  readonly disk: SimDisk;
  readonly log: SimTxLog;
  readonly store: SimShardStore;
  syncScheduled: boolean;
  readonly hostQueue: HostOp[];
  hostBusyUntilMs: number;
  /** When the node's timer is armed for (infinite: not armed), and the scheduler's handle of it. */
  tickAtMs: number;
  tickHandle: number;
  /** Crash right after the next log append (mid-step, with the write unsynced): torn writes. */
  crashAtAppend: boolean;
}

interface Machines {
  readonly coordinator: CoordinatorLike;
  readonly participant: ParticipantLike;
}

type HostOp =
  | { kind: 'stage'; txId: string; shards: readonly { shardHash: string; ref: string }[]; fail: boolean }
  | { kind: 'commit'; txId: string; shards: readonly { shardHash: string; fencingToken: number }[] }
  | { kind: 'abort'; txId: string }
  | { kind: 'purge'; keep: readonly string[] };

interface ClientTx {
  readonly index: number;
  readonly txId: string;
  /** The client slot running it. */
  slot: number;
  /** Participant node → its shards. */
  readonly shards: Map<number, string[]>;
  coordinator: number;
  begun: boolean;
  /** What the client was told (the acknowledgement). */
  decided: 'committed' | 'aborted' | undefined;
  timedOut: boolean;
  /** The coordinator's commit record became durable (the commit point). */
  commitPoint: boolean;
}

/**
 * 2PC under faults: every node runs @trinity/tx's Coordinator and Participant over a @trinity/vsa
 * lock table, a transaction log framed by @trinity/tx on a simulated disk, and a shard store; clients
 * keep `concurrency` transactions of `shardsPerTransaction` shards in flight over the simulated
 * network while nodes crash and restart (losing unsynced log writes, tearing the last), messages
 * drop, duplicate and reorder, the network partitions and whole regions go dark. Then the faults
 * stop, everything settles, every node is crashed and restarted once more, and the checkers run.
 */
class TwoPhaseCommitWorld extends ScenarioWorld<TxMessage> {
  readonly #options: Required<Omit<TwoPhaseCommitOptions, 'makeCoordinator' | 'makeParticipant'>>;
  readonly #makeCoordinator: (init: CoordinatorInit) => CoordinatorLike;
  readonly #makeParticipant: (init: ParticipantInit) => ParticipantLike;
  readonly #random: SimRandom;
  readonly #faultRandom: SimRandom;
  readonly #nodes: TxNode[] = [];
  readonly #txs: ClientTx[] = [];
  readonly #txIndex = new Map<string, number>();
  /** One metric registry for the whole network: every coordinator counts into the same `trinity_tx_*`. */
  readonly #metrics = new MemoryMetrics();
  readonly #stats = registerTxMetrics(this.#metrics);
  readonly #faults: Record<string, number> = {
    crashes: 0,
    partitions: 0,
    regionOutages: 0,
    stageFailures: 0,
  };
  readonly #kind: {
    client: number;
    clientTimeout: number;
    sync: number;
    host: number;
    tick: number;
    fault: number;
    heal: number;
    regionBack: number;
    restart: number;
    checkpoint: number;
  };
  readonly #topology: Topology = builtinTopology();
  readonly #regions = this.#topology.regions.length;
  readonly #regionOf: number[];
  /** Routing mode: placement over every node, a router per client region, and who is down. */
  readonly #placer: StripePlacer | undefined;
  readonly #placementNodes: PlacementNode[] = [];
  /** The same nodes validated and grouped once (placing a stripe then skips that work). */
  #placementSet: PlacementNodeSet | undefined;
  readonly #routers: RegionRouter[] = [];
  readonly #reputation: number[] = [];
  readonly #down = new Set<string>();
  #nextTx = 0;
  /** The machines' config: the input at first, then what the first Coordinator parsed it to. */
  #txConfig: TxConfigInput = txConfig;
  #faultsOn: boolean;
  #logCorruptions: string[] = [];
  #checkpoints = 0;
  #placementsRefused = 0;

  constructor(options: TwoPhaseCommitOptions) {
    super(options.seed);
    const nodes = options.nodes;
    this.#options = withDefaults(options, {
      transactions: options.transactions ?? Math.max(250, nodes),
      concurrency: options.concurrency ?? 50,
      shardsPerTransaction: options.routing ? 6 : (options.shardsPerTransaction ?? 6),
      routing: options.routing ?? false,
    });
    this.#makeCoordinator = options.makeCoordinator ?? ((init) => new Coordinator(init));
    this.#makeParticipant = options.makeParticipant ?? ((init) => new Participant(init));
    this.#faultsOn = this.#options.faults;
    this.#random = this.root.fork('workload');
    this.#faultRandom = this.root.fork('faults');
    const topology = this.#topology;
    const placement = this.root.fork('placement');
    const regionOf = randomRegions(nodes, topology, placement);
    this.#regionOf = regionOf;
    this.#placer = this.#options.routing ? new StripePlacer({}, topology) : undefined;
    if (this.#options.routing) this.#buildRouting(placement);
    this.connect(topology, regionOf, (to, _from, message) => this.#deliverStep(to, message));
    const s = this.scheduler;
    this.#kind = {
      client: s.register('client', (slot) => this.#startNext(slot)),
      clientTimeout: s.register('client-timeout', (slot, txIndex) => this.#clientTimeout(slot, txIndex)),
      sync: s.register('sync', (node, epoch) => this.#stepIf(node, epoch, this.#sync)),
      host: s.register('host', (node, epoch) => this.#stepIf(node, epoch, this.#hostDone)),
      tick: s.register('tick', (node, epoch) => this.#stepIf(node, epoch, this.#tick)),
      fault: s.register('fault', () => this.#injectFault()),
      heal: s.register('heal', () => this.network.heal()),
      regionBack: s.register('region-back', (region) => this.network.setRegionDark(region, false)),
      restart: s.register('restart', (node) => this.#restart(this.#nodes[node]!)),
      checkpoint: s.register('checkpoint', (node, epoch) => this.#stepIf(node, epoch, this.#checkpoint)),
    };
    const diskRandom = this.root.fork('disks');
    for (let i = 0; i < nodes; i++) this.#nodes.push(this.#newNode(i, diskRandom));
    this.#planTransactions();
  }

  run(): ScenarioOutcome {
    const s = this.scheduler;
    if (this.#faultsOn) {
      this.network.setRates({ dropRate: 0.01, duplicateRate: 0.01, reorderRate: 0.02 });
      s.at(faultIntervalMs, this.#kind.fault, 0);
    }
    const slots = Math.min(this.#options.concurrency, this.#txs.length);
    for (let slot = 0; slot < slots; slot++) s.at(this.#random.float() * 10, this.#kind.client, slot);
    // Phase 1: clients run, faults strike (the fault event stops rescheduling itself once clients are done).
    s.run();
    const clientsEndMs = s.nowMs;
    // Phase 2 ran inside the same loop: after the last client finished, nodes settled. Now: every
    // node crashes and restarts once more, and must come back with what it had.
    const before = this.#nodes.map((node) => new Map(node.store.committed));
    for (const node of this.#nodes) if (node.up) this.#crash(node, 1);
    const end = s.run(s.nowMs + settleMsMax);
    this.checks.check(
      'settles',
      end === 'idle',
      () => `events still pending ${settleMsMax} ms after the final restart`,
    );
    this.#checkAll(before);
    const net = this.network.stats;
    const disks = this.#nodes.reduce(
      (sum, node) => ({
        torn: sum.torn + node.disk.stats.tornWrites,
        lost: sum.lost + node.disk.stats.lostBytes,
      }),
      { torn: 0, lost: 0 },
    );
    return this.outcome({
      faults: { ...this.#faults, ...messageFaults(net), tornWrites: disks.torn },
      counts: {
        transactions: this.#txs.length,
        committed: this.#txs.filter((tx) => tx.decided === 'committed').length,
        aborted: this.#txs.filter((tx) => tx.decided === 'aborted').length,
        unknownToClient: this.#txs.filter((tx) => tx.decided === undefined).length,
        clientsEndMs: Math.round(clientsEndMs),
        checkpoints: this.#checkpoints,
        messagesCut: net.cut,
        ...(this.#options.routing ? { placementsRefused: this.#placementsRefused } : {}),
        unsyncedBytesLost: disks.lost,
      },
    });
  }

  #newNode(index: number, diskRandom: SimRandom): TxNode {
    const id = `n${index}`;
    const locks = new ShardLockManager({ lockTimeoutMs: lockTtlMs, maxLocksPerHolder: 64 });
    const disk = new SimDisk(diskRandom.fork(id));
    return {
      index,
      id,
      up: true,
      epoch: 0,
      crashes: 0,
      lastCrashMs: -1,
      machines: undefined,
      locks,
      disk,
      log: new SimTxLog(disk),
      store: new SimShardStore(),
      syncScheduled: false,
      hostQueue: [],
      hostBusyUntilMs: 0,
      tickAtMs: Number.POSITIVE_INFINITY,
      tickHandle: -1,
      crashAtAppend: false,
    };
  }

  /** Every node in the placer's list and in one router per region, with seeded reputations. */
  #buildRouting(random: SimRandom): void {
    const regions = this.#topology.regions;
    for (let i = 0; i < this.#options.nodes; i++) {
      this.#placementNodes.push({ id: `n${i}`, region: regions[this.#regionOf[i]!]! });
      this.#reputation.push(Math.round((0.1 + 0.9 * random.float()) * 1000) / 1000);
    }
    // One description per node, given to every region's router (each keeps its own copy of the fields).
    const routerNodes = this.#placementNodes.map((node, i) => ({
      ...node,
      reputation: this.#reputation[i]!,
    }));
    for (const region of regions) {
      const router = new RegionRouter({}, { topology: this.#topology, selfRegion: region });
      for (const node of routerNodes) router.upsertNode(node);
      this.#routers.push(router);
    }
    this.#placementSet = this.#placer!.prepare(this.#placementNodes);
  }

  #planTransactions(): void {
    const { nodes, transactions, shardsPerTransaction, seed } = this.#options;
    const random = this.#random;
    const hot = (node: number, j: number) => hotShard(node, j);
    for (let i = 0; i < transactions; i++) {
      const txId = txIdOf(seed, i);
      const shards = new Map<number, string[]>();
      const seen = new Set<string>();
      for (let j = 0; j < (this.#options.routing ? 0 : shardsPerTransaction); j++) {
        const node = random.int(0, nodes - 1);
        let shard = random.chance(hotShardRate) ? hot(node, random.int(0, hotShardsPerNode - 1)) : '';
        if (shard === '' || seen.has(shard)) shard = ownShard(txId, j);
        seen.add(shard);
        const list = shards.get(node);
        if (list === undefined) shards.set(node, [shard]);
        else list.push(shard);
      }
      this.#txIndex.set(txId, i);
      this.#txs.push({
        index: i,
        txId,
        shards,
        slot: -1,
        coordinator: -1,
        begun: false,
        decided: undefined,
        timedOut: false,
        commitPoint: false,
      });
    }
  }

  // --- clients -------------------------------------------------------------------------------

  /** A client slot starts its next transaction on a random node that is up. */
  #startNext(slot: number): void {
    if (this.#nextTx >= this.#txs.length) return;
    const tx = this.#txs[this.#nextTx++]!;
    tx.slot = slot;
    if (this.#options.routing) {
      if (!this.#route(tx)) {
        // No placement possible now: the client moves on to its next transaction.
        this.scheduler.after(this.#random.exponential(clientThinkMs), this.#kind.client, slot);
        return;
      }
    } else {
      let coordinator = this.#random.int(0, this.#nodes.length - 1);
      for (let tries = 0; !this.#nodes[coordinator]!.up && tries < 16; tries++)
        coordinator = this.#random.int(0, this.#nodes.length - 1);
      tx.coordinator = coordinator;
    }
    this.scheduler.after(clientTimeoutMs, this.#kind.clientTimeout, slot, tx.index);
    this.#step(tx.coordinator, (node) => this.#begin(node, tx));
  }

  /**
   * Routing mode: the client's region places the six shards (RS(4,2)) on up nodes by the placement
   * rules and routes the transaction to the best node of its router. False when placement is impossible.
   */
  #route(tx: ClientTx): boolean {
    const random = this.#random;
    const regionIndex = random.int(0, this.#regions - 1);
    const region = this.#topology.regions[regionIndex]!;
    let ids: string[];
    try {
      ids = this.#placer!.place({
        clientRegion: region,
        nodes: this.#placementSet!,
        dataShards,
        parityShards,
        stripeKey: tx.txId,
        exclude: this.#down,
      });
    } catch (error) {
      if (!isTrinityError(error, 'PLACEMENT_IMPOSSIBLE')) throw error;
      this.#placementsRefused++;
      return false;
    }
    this.#checkPlacement(tx, ids);
    const seen = new Set<string>();
    for (const [j, id] of ids.entries()) {
      const node = nodeIndex(id);
      let shard = random.chance(hotShardRate) ? hotShard(node, random.int(0, hotShardsPerNode - 1)) : '';
      if (shard === '' || seen.has(shard)) shard = ownShard(tx.txId, j);
      seen.add(shard);
      const list = tx.shards.get(node);
      if (list === undefined) tx.shards.set(node, [shard]);
      else list.push(shard);
    }
    const best = this.#routers[regionIndex]!.best(region, { exclude: this.#down });
    const routed = this.checks.check(
      'routed-to-live-reputable-node',
      best !== undefined && !this.#down.has(best.id) && this.#reputation[nodeIndex(best.id)]! >= 0.2,
      () => `${tx.txId}: routed to ${best?.id ?? 'nobody'}`,
    );
    if (!routed) return false;
    tx.coordinator = nodeIndex(best!.id);
    return true;
  }

  /** A region outage loses at most m = 2 of a transaction's six shards; no node holds two; no down node is used. */
  #checkPlacement(tx: ClientTx, ids: readonly string[]): void {
    const perRegion = shardsPer(ids.map((id) => this.#regionOf[nodeIndex(id)]!));
    const checks = this.checks;
    checks.check(
      'placement-region-loss-safe',
      Math.max(...perRegion.values()) <= parityShards,
      () => `${tx.txId}: ${[...perRegion.values()].join('/')} shards per region`,
    );
    checks.check(
      'placement-distinct-nodes',
      new Set(ids).size === ids.length,
      () => `${tx.txId}: a node holds two shards`,
    );
    checks.check(
      'placement-skips-down-nodes',
      ids.every((id) => !this.#down.has(id)),
      () => `${tx.txId}: placed on a down node`,
    );
  }

  #begin(node: TxNode, tx: ClientTx): TxEffect[] {
    const now = this.#nowMs();
    this.#machines(node).coordinator.beginTransaction(now, tx.txId);
    tx.begun = true;
    for (const [participant, shards] of tx.shards) {
      for (const shard of shards)
        this.#machines(node).coordinator.addParticipant(
          tx.txId,
          shard,
          `n${participant}`,
          `ref-${shard.slice(0, 16)}`,
        );
    }
    return this.#machines(node).coordinator.prepare(tx.txId, now);
  }

  #clientTimeout(slot: number, txIndex: number): void {
    const tx = this.#txs[txIndex]!;
    if (tx.decided !== undefined || tx.timedOut) return;
    tx.timedOut = true;
    this.scheduler.after(this.#random.exponential(clientThinkMs), this.#kind.client, slot);
  }

  #clientOutcome(kind: 'decided' | 'finished', txId: string, outcome: 'committed' | 'aborted'): void {
    const index = this.#txIndex.get(txId);
    if (!this.checks.check('outcome-known-tx', index !== undefined, () => `${kind} for unknown ${txId}`))
      return;
    const tx = this.#txs[index!]!;
    if (kind === 'finished') {
      this.checks.check(
        'finished-as-decided',
        tx.decided === undefined || tx.decided === outcome,
        () => `${txId} decided ${tx.decided}, finished ${outcome}`,
      );
      return;
    }
    this.checks.check('decided-once', tx.decided === undefined, () => `${txId} decided twice`);
    tx.decided = outcome;
    if (!tx.timedOut) {
      this.scheduler.after(this.#random.exponential(clientThinkMs), this.#kind.client, tx.slot);
    }
  }

  // --- nodes ---------------------------------------------------------------------------------

  /** One step of one node: handle one event, run its effects, schedule its next tick. */
  #step(index: number, handle: (node: TxNode) => TxEffect[]): void {
    const node = this.#nodes[index]!;
    if (!node.up) return;
    this.#afterStep(node, handle(node));
  }

  /** `#step` for the node's own events, when it is still in the life (epoch) that scheduled them. */
  #stepIf(index: number, epoch: number, handle: (node: TxNode) => TxEffect[]): void {
    const node = this.#nodes[index]!;
    if (node.epoch !== epoch || !node.up) return;
    this.#afterStep(node, handle(node));
  }

  /** `#step` for a message (the commonest event: no closure made for it). */
  #deliverStep(index: number, message: TxMessage): void {
    const node = this.#nodes[index]!;
    if (!node.up) return;
    this.#afterStep(node, this.#deliver(node, message));
  }

  #afterStep(node: TxNode, effects: readonly TxEffect[]): void {
    if (effects.length > 0) this.#runEffects(node, effects);
    if (node.up) this.#scheduleTick(node);
  }

  #nowMs(): number {
    return Math.floor(this.scheduler.nowMs);
  }

  #deliver(node: TxNode, message: TxMessage): TxEffect[] {
    if (isCoordinatorMessage(message)) return this.#machines(node).coordinator.handle(message, this.#nowMs());
    return this.#machines(node).participant.handle(message, this.#nowMs());
  }

  // The handlers of a node's own events are fields, so the scheduler's callbacks pass them as they are.
  readonly #sync = (node: TxNode): TxEffect[] => {
    node.syncScheduled = false;
    if (node.log.appendedSinceCheckpoint >= checkpointEveryRecords)
      this.scheduler.after(1, this.#kind.checkpoint, node.index, node.epoch);
    const synced = node.log.sync();
    const now = this.#nowMs();
    let effects: TxEffect[] = noEffects;
    for (let i = 0; i < synced.length; i++) {
      const record = synced[i]!;
      if (record.type === 'coord-commit') this.#commitPoint(record.txId);
      const machines = this.#machines(node);
      const more = isCoordinatorRecord(record)
        ? machines.coordinator.logged(record, now)
        : machines.participant.logged(record, now);
      effects = joinEffects(effects, more);
    }
    return effects;
  };

  /** Replaces the log by the live records of both machines, when nothing is in flight to the disk. */
  readonly #checkpoint = (node: TxNode): TxEffect[] => {
    if (node.log.appendedSinceCheckpoint < checkpointEveryRecords) return [];
    if (node.syncScheduled || node.log.unsyncedCount > 0 || node.machines === undefined) return [];
    const { coordinator, participant } = node.machines;
    node.log.checkpoint([...coordinator.liveRecords(), ...participant.liveRecords()]);
    this.#checkpoints++;
    return [];
  };

  #commitPoint(txId: string): void {
    const index = this.#txIndex.get(txId);
    if (index !== undefined) this.#txs[index]!.commitPoint = true;
  }

  readonly #tick = (node: TxNode): TxEffect[] => {
    node.tickAtMs = Number.POSITIVE_INFINITY;
    const now = this.#nowMs();
    const { coordinator, participant } = this.#machines(node);
    return joinEffects(coordinator.tick(now), participant.tick(now));
  };

  #scheduleTick(node: TxNode): void {
    if (node.machines === undefined) return;
    const a = node.machines.coordinator.nextWakeMs();
    const b = node.machines.participant.nextWakeMs();
    const wake = a === undefined ? b : b === undefined ? a : Math.min(a, b);
    if (wake === undefined) return;
    const atMs = Math.max(this.scheduler.nowMs, wake);
    if (atMs >= node.tickAtMs) return;
    // An earlier deadline re-arms the timer, cancelling the later one (as TxEngine's timer does).
    if (node.tickAtMs !== Number.POSITIVE_INFINITY) this.scheduler.cancel(node.tickHandle);
    node.tickAtMs = atMs;
    node.tickHandle = this.scheduler.at(atMs, this.#kind.tick, node.index, node.epoch);
  }

  #runEffects(node: TxNode, effects: readonly TxEffect[]): void {
    // An index, not for-of: the iterator was allocated here on every step.
    for (let i = 0; i < effects.length; i++) {
      const effect = effects[i]!;
      // A crash in the middle of a step: the effects after it never run.
      if (!node.up) return;
      switch (effect.kind) {
        case 'send':
          this.network.send(node.index, nodeIndex(effect.to), effect.message, messageBytes(effect.message));
          break;
        case 'append':
          node.log.append(effect.record);
          if (!node.syncScheduled) {
            node.syncScheduled = true;
            this.scheduler.after(node.disk.syncLatencyMs(), this.#kind.sync, node.index, node.epoch);
          }
          if (node.crashAtAppend) {
            node.crashAtAppend = false;
            this.#crash(node, this.#downMs());
          }
          break;
        case 'stage': {
          const fail = this.#faultsOn && this.#faultRandom.chance(stageFailRate);
          if (fail) this.#faults.stageFailures!++;
          this.#enqueueHost(node, { kind: 'stage', txId: effect.txId, shards: effect.shards, fail });
          break;
        }
        case 'commitStaged':
          this.#enqueueHost(node, { kind: 'commit', txId: effect.txId, shards: effect.shards });
          break;
        case 'abortStaged':
          this.#enqueueHost(node, { kind: 'abort', txId: effect.txId });
          break;
        case 'purgeStaged':
          this.#enqueueHost(node, { kind: 'purge', keep: effect.keepTxIds });
          break;
        case 'decided':
        case 'finished':
          this.#clientOutcome(effect.kind, effect.txId, effect.outcome);
          break;
      }
    }
  }

  #enqueueHost(node: TxNode, op: HostOp): void {
    node.hostQueue.push(op);
    const delayMs = node.disk.syncLatencyMs() + 0.2;
    node.hostBusyUntilMs = Math.max(node.hostBusyUntilMs, this.scheduler.nowMs) + delayMs;
    if (node.hostQueue.length === 1)
      this.scheduler.at(node.hostBusyUntilMs, this.#kind.host, node.index, node.epoch);
  }

  readonly #hostDone = (node: TxNode): TxEffect[] => {
    const op = node.hostQueue.shift();
    if (op === undefined) return [];
    const ok = applyHostOp(node.store, op);
    if (node.hostQueue.length > 0)
      this.scheduler.at(node.hostBusyUntilMs, this.#kind.host, node.index, node.epoch);
    const now = this.#nowMs();
    if (op.kind === 'stage')
      return this.#machines(node).participant.staged(op.txId, !op.fail, now, 'disk full');
    if (op.kind === 'commit' && ok) return this.#machines(node).participant.applied(op.txId, now);
    return [];
  };

  // --- faults --------------------------------------------------------------------------------

  #injectFault(): void {
    // Faults strike until the last transaction has started; then the network settles.
    if (this.#nextTx >= this.#txs.length) {
      this.#endFaults();
      return;
    }
    const random = this.#faultRandom;
    const roll = random.float();
    if (roll < 0.3) this.#crashSomeNode();
    else if (roll < 0.36) this.#partition();
    else if (roll < 0.4) this.#regionOutage();
    this.scheduler.after(faultIntervalMs, this.#kind.fault, 0);
  }

  /** Crashes a node taking part in a transaction in flight (a coordinator or a participant), or any node. */
  #crashSomeNode(): void {
    const random = this.#faultRandom;
    let target = random.int(0, this.#nodes.length - 1);
    const recent = this.#txs[Math.max(0, this.#nextTx - 1 - random.int(0, this.#options.concurrency - 1))];
    if (recent?.begun && random.chance(0.8)) {
      const participants = [...recent.shards.keys()];
      target = random.chance(0.4) ? recent.coordinator : random.pick(participants);
    }
    const node = this.#nodes[target]!;
    if (!node.up) return;
    this.#faults.crashes!++;
    // Half the crashes strike at once, half in the middle of the node's next log append.
    if (random.chance(0.5)) node.crashAtAppend = true;
    else this.#crash(node, this.#downMs());
  }

  #downMs(): number {
    return Math.min(10_000, 50 + this.#faultRandom.exponential(1_500));
  }

  #partition(): void {
    const random = this.#faultRandom;
    const groups = this.#nodes.map(() => random.int(0, 1));
    this.network.partition(groups);
    this.#faults.partitions!++;
    this.scheduler.after(200 + random.exponential(1_500), this.#kind.heal, 0);
  }

  #regionOutage(): void {
    const random = this.#faultRandom;
    const region = random.int(0, this.#regions - 1);
    this.network.setRegionDark(region, true);
    this.#faults.regionOutages!++;
    this.scheduler.after(500 + random.exponential(3_000), this.#kind.regionBack, region);
  }

  #endFaults(): void {
    this.#faultsOn = false;
    for (const node of this.#nodes) node.crashAtAppend = false;
    this.network.setRates({ dropRate: 0, duplicateRate: 0, reorderRate: 0 });
    this.network.heal();
    for (let r = 0; r < this.#regions; r++) this.network.setRegionDark(r, false);
  }

  /** Power loss: volatile state gone, the disk keeps what it keeps, the store a prefix of its queue. */
  #crash(node: TxNode, downMs: number): void {
    node.up = false;
    this.#down.add(node.id);
    this.network.setUp(node.index, false);
    node.epoch++;
    node.crashes++;
    node.lastCrashMs = this.#nowMs();
    node.disk.crash();
    const applied = this.#faultRandom.int(0, node.hostQueue.length);
    for (const op of node.hostQueue.slice(0, applied)) applyHostOp(node.store, op);
    node.hostQueue.length = 0;
    node.syncScheduled = false;
    // The process and its timer are gone.
    if (node.tickAtMs !== Number.POSITIVE_INFINITY) this.scheduler.cancel(node.tickHandle);
    node.tickAtMs = Number.POSITIVE_INFINITY;
    node.crashAtAppend = false;
    this.scheduler.after(downMs, this.#kind.restart, node.index);
  }

  #restart(node: TxNode): void {
    node.up = true;
    this.#down.delete(node.id);
    this.network.setUp(node.index, true);
    node.hostBusyUntilMs = this.scheduler.nowMs;
    // The lock table was in memory: a new one, its tokens above every token the store has seen.
    node.locks = new ShardLockManager({
      lockTimeoutMs: lockTtlMs,
      maxLocksPerHolder: 64,
      firstFencingToken: node.store.maxToken + 1,
    });
    node.machines = undefined;
    const recovered = node.log.recover();
    if (recovered.corruption !== undefined) this.#logCorruptions.push(`${node.id}: ${recovered.corruption}`);
    // A decision written just before the crash may have reached the disk without its sync: durable all the same.
    for (const record of recovered.records)
      if (record.type === 'coord-commit') this.#commitPoint(record.txId);
    // A node with an empty log and nothing staged has nothing to recover: its machines are built when first needed.
    if (recovered.records.length === 0 && node.store.staged.size === 0) return;
    this.#step(node.index, (n) => {
      const now = this.#nowMs();
      const { coordinator, participant } = this.#machines(n);
      return [...coordinator.recover(recovered.records, now), ...participant.recover(recovered.records, now)];
    });
  }

  /** The node's coordinator and participant, built on first use. */
  #machines(node: TxNode): Machines {
    if (node.machines === undefined) {
      const config = this.#txConfig;
      const coordinator = this.#makeCoordinator({ nodeId: node.id, config, stats: this.#stats });
      // The parsed config, handed to every later machine: @trinity/tx takes its own result as it is.
      if (coordinator instanceof Coordinator) this.#txConfig = coordinator.config;
      node.machines = {
        coordinator,
        participant: this.#makeParticipant({ nodeId: node.id, locks: node.locks, config }),
      };
    }
    return node.machines;
  }

  // --- checkers ------------------------------------------------------------------------------

  #checkAll(before: readonly Map<string, { txId: string; fencingToken: number }>[]): void {
    const checks = this.checks;
    checks.check('log-intact', this.#logCorruptions.length === 0, () => this.#logCorruptions.join('; '));
    for (const node of this.#nodes) {
      checks.check('node-up', node.up, () => `${node.id} is down at the end`);
      const { coordinator, participant } = this.#machines(node);
      checks.check(
        'coordinator-idle',
        coordinator.activeCount === 0,
        () => `${node.id} coordinator still tracks ${coordinator.transactionIds().slice(0, 3).join(',')}`,
      );
      const unfinished = participant.unfinished();
      checks.check(
        'participant-finished',
        unfinished.length === 0,
        () => `${node.id} participant unfinished: ${unfinished.slice(0, 3).join(',')}`,
      );
      checks.check(
        'staging-empty',
        node.store.staged.size === 0,
        () => `${node.id} staged data left for ${[...node.store.staged.keys()].slice(0, 3).join(',')}`,
      );
      checks.check(
        'no-stale-writes',
        node.store.staleWrites.length === 0,
        () => `${node.id}: ${node.store.staleWrites[0]}`,
      );
      checks.check(
        'no-locks-left',
        node.locks.activeCount(this.#nowMs()) === 0,
        () => `${node.id} holds ${node.locks.activeCount(this.#nowMs())} locks`,
      );
      // Durable across restarts: the final crash and restart changed nothing committed.
      const was = before[node.index]!;
      let same = was.size === node.store.committed.size;
      for (const [shard, stored] of was)
        if (node.store.committed.get(shard)?.txId !== stored.txId) same = false;
      checks.check(
        'durable-across-restart',
        same,
        () => `${node.id} committed shards changed across its last restart`,
      );
    }
    for (const tx of this.#txs) this.#checkTx(tx);
    this.#checkMetrics();
  }

  /** The `trinity_tx_*` metrics say what happened: begun, committed and aborted as the clients saw them. */
  #checkMetrics(): void {
    const expect = (metric: string, actual: number) =>
      this.checks.check(
        'metrics-match',
        this.#metrics.value(metric) === actual,
        () => `${metric} is ${this.#metrics.value(metric)}, ${actual} happened`,
      );
    expect('trinity_tx_total', this.#txs.filter((tx) => tx.begun).length);
    expect('trinity_tx_committed_total', this.#txs.filter((tx) => tx.decided === 'committed').length);
    expect('trinity_tx_aborted_total', this.#txs.filter((tx) => tx.decided === 'aborted').length);
  }

  #checkTx(tx: ClientTx): void {
    const checks = this.checks;
    if (!tx.begun) return;
    const nodes = [...tx.shards.keys()];
    const committedOn = nodes.filter((n) => this.#nodes[n]!.store.committedTxs.has(tx.txId));
    const all = committedOn.length === nodes.length;
    const none = committedOn.length === 0;
    checks.check(
      'atomic',
      all || none,
      () => `${tx.txId} committed on ${committedOn.length} of ${nodes.length} participants`,
    );
    checks.check(
      'commit-point',
      tx.commitPoint ? all : none,
      () =>
        `${tx.txId} ${tx.commitPoint ? 'has' : 'has no'} durable commit decision, committed on ${committedOn.length} of ${nodes.length}`,
    );
    if (tx.decided === 'committed') {
      // No acknowledged commit lost: each shard is there, written by this transaction or a later one.
      for (const [n, shards] of tx.shards) {
        const store = this.#nodes[n]!.store;
        for (const shard of shards) {
          const stored = store.committed.get(shard);
          checks.check(
            'acknowledged-commit-kept',
            stored !== undefined && this.#notBefore(stored.txId, tx),
            () =>
              `${tx.txId}: shard ${shard.slice(0, 8)} on n${n} is ${stored === undefined ? 'missing' : `from ${stored.txId}`}`,
          );
        }
      }
    }
    if (tx.decided === 'aborted')
      checks.check(
        'aborted-not-applied',
        none,
        () => `${tx.txId} told aborted, committed on ${committedOn.length}`,
      );
    checks.check(
      'client-answered',
      tx.decided !== undefined || this.#nodes[tx.coordinator]!.crashes > 0,
      () => `${tx.txId} never decided though its coordinator never crashed`,
    );
  }

  /** True when `txId` is `tx` or a transaction that overwrote its shard later (hot shards are rewritten). */
  #notBefore(txId: string, tx: ClientTx): boolean {
    const other = this.#txIndex.get(txId);
    return other !== undefined && (other === tx.index || this.#txs[other]!.decided !== 'aborted');
  }
}

function applyHostOp(store: SimShardStore, op: HostOp): boolean {
  switch (op.kind) {
    case 'stage':
      // A failed stage leaves part of its data behind: the participant must clean it up.
      store.stage(op.txId, op.fail ? op.shards.slice(0, 1) : op.shards);
      return true;
    case 'commit':
      return store.commit(op.txId, op.shards);
    case 'abort':
      store.abort(op.txId);
      return true;
    case 'purge':
      store.purge(op.keep);
      return true;
  }
}

/** No effects (shared, never written to). */
const noEffects: TxEffect[] = Object.freeze([]) as unknown as TxEffect[];

/** Both lists of effects in order, without copying when one is empty (the usual case). */
function joinEffects(a: TxEffect[], b: TxEffect[]): TxEffect[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return a.concat(b);
}

/**
 * A transaction id as the daemon makes them, 32 hex characters (the seed, then the index): the
 * participant's lock holder id is then the id and a tag of the node, as in the daemon, instead of
 * a SHA-256 per transaction.
 */
function txIdOf(seed: number, index: number): string {
  return seed.toString(16).padStart(16, '0') + index.toString(16).padStart(16, '0');
}

/**
 * Hot shard `j` of `node`: a few per node, shared by many transactions so that they contend. Its
 * 64-hex name starts with f's, which no transaction's own shard does (those start with the seed,
 * zero-padded).
 */
function hotShard(node: number, j: number): string {
  return `${'f'.repeat(32)}${node.toString(16).padStart(24, '0')}${j.toString(16).padStart(8, '0')}`;
}

/** Shard `j` of its own transaction: a 64-hex name unique to (transaction, j). */
function ownShard(txId: string, j: number): string {
  return `${txId}${j.toString(16).padStart(32, '0')}`;
}

function nodeIndex(id: string): number {
  return Number(id.slice(1));
}

/** The size a message takes on the wire, near enough for bandwidth (JSON: ids and hashes dominate). */
function messageBytes(message: TxMessage): number {
  switch (message.type) {
    case 'prepare':
      return 110 + message.shards.length * 110;
    case 'vote':
      return 90 + message.shards.length * 68;
    default:
      return 80;
  }
}

/** The pipeline of the seed's 300-node test: shard locks, 2PC, region placement and routing, metrics. */
export const fullPipelineScenario: Scenario<TwoPhaseCommitOptions> = {
  name: 'full-pipeline',
  description:
    'two-phase-commit with each transaction placed by StripePlacer and routed by RegionRouter, metrics checked',
  nodesMin: 12,
  nodesMax: 100_000,
  run: (options) => new TwoPhaseCommitWorld({ ...options, routing: true }).run(),
};

export const twoPhaseCommitScenario: Scenario<TwoPhaseCommitOptions> = {
  name: 'two-phase-commit',
  description:
    'concurrent 6-shard transactions with @trinity/tx over crashes, restarts, drops, partitions and region outages',
  nodesMin: 6,
  nodesMax: 100_000,
  run: (options) => new TwoPhaseCommitWorld(options).run(),
};
