import { fromHex, type Random, seededRandom, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { ShardLockManager } from '@trinity/vsa';
import {
  Coordinator,
  isCoordinatorMessage,
  MemoryTxLog,
  Participant,
  parseTxMessage,
  type TxConfigInput,
  type TxEffect,
  type TxLogRecord,
  type TxMessage,
} from '../../src/index.js';
import { SimStore } from './sim-store.js';

/** Where an enumerated crash happens: `node` crashes after global step `afterStep` (or mid-step). */
export interface CrashPoint {
  readonly afterStep: number;
  readonly node: string;
  /** Crash after this many of the step's effects ran (only for the node handling the step). */
  readonly afterEffects?: number;
  /** Unsynced log records that survive the crash. */
  readonly survivors: 'none' | 'all';
  readonly downMs: number;
}

export interface SimConfig {
  readonly seed: number;
  readonly participants: number;
  readonly transactions: number;
  readonly shardsPerNodeMax: number;
  /** Transactions draw shards from a small shared pool, so they contend for locks. */
  readonly sharedShards: boolean;
  /** The coordinator's node also holds shards. */
  readonly coordinatorHoldsShards: boolean;
  readonly lossRate: number;
  readonly dupRate: number;
  readonly delayMaxMs: number;
  /** Share of messages held up for 100 ms to 1.5 s: late duplicates after deadlines and restarts. */
  readonly longDelayRate: number;
  readonly stageFailRate: number;
  /** After this, the network is reliable and nothing crashes, so everything must finish. */
  readonly faultsUntilMs: number;
  readonly randomCrashes: number;
  readonly locksSurviveCrash: boolean;
  /** Each node's clock runs ahead of virtual time by a fixed offset in [0, clockSkewMs]. */
  readonly clockSkewMs: number;
  /** Every node replaces its log by its live records this often (0: never). */
  readonly checkpointEveryMs: number;
  readonly crash?: CrashPoint;
  readonly lockTtlMs: number;
  readonly txConfig: TxConfigInput;
  readonly trace?: boolean;
}

export interface StepInfo {
  readonly node: string;
  readonly effects: number;
}

export interface SimResult {
  readonly violations: string[];
  readonly steps: StepInfo[];
  readonly committed: number;
  readonly aborted: number;
  readonly crashes: number;
  readonly trace: string[];
}

type SimEvent =
  | { kind: 'client'; txIndex: number }
  | { kind: 'deliver'; to: string; message: TxMessage }
  | { kind: 'sync'; node: string; epoch: number }
  | { kind: 'host'; node: string; epoch: number }
  | { kind: 'tick'; node: string; epoch: number }
  | { kind: 'checkpoint'; node: string }
  | { kind: 'crash'; node: string; survivors: number | undefined; downMs: number }
  | { kind: 'restart'; node: string };

type HostOp =
  | { kind: 'stage'; txId: string; shards: readonly { shardHash: string; ref: string }[]; fail: boolean }
  | { kind: 'commit'; txId: string; shards: readonly { shardHash: string; fencingToken: number }[] }
  | { kind: 'abort'; txId: string }
  | { kind: 'purge'; keep: readonly string[] };

interface SimNode {
  readonly id: string;
  readonly clockOffsetMs: number;
  up: boolean;
  epoch: number;
  crashes: number;
  lastCrashMs: number;
  coordinator: Coordinator;
  participant: Participant;
  log: MemoryTxLog;
  locks: ShardLockManager;
  readonly store: SimStore;
  syncScheduled: boolean;
  hostQueue: HostOp[];
  hostBusyUntilMs: number;
  tickAtMs: number;
}

interface ClientTx {
  readonly txId: string;
  readonly nodes: Map<string, string[]>;
  begun: boolean;
  decided: 'committed' | 'aborted' | undefined;
  finished: 'committed' | 'aborted' | undefined;
  finishedAtCrashes?: number;
}

const COORDINATOR = 'c';
const maxSteps = 200_000;
const maxTimeMs = 600_000;

/**
 * A deterministic world of one coordinator node and N participant nodes running the real state
 * machines over a simulated network (loss, duplication, reordering), disks (group commit, lost
 * unsynced tail) and stores, in virtual time. Same config, same run, step for step.
 */
export class SimWorld {
  readonly config: SimConfig;
  readonly #rng: Random;
  readonly #nodes = new Map<string, SimNode>();
  readonly #queue: { atMs: number; seq: number; event: SimEvent }[] = [];
  readonly #txs: ClientTx[] = [];
  readonly #violations: string[] = [];
  readonly #steps: StepInfo[] = [];
  readonly #trace: string[] = [];
  #nowMs = 0;
  #seq = 0;
  #crashDone = false;

  constructor(config: SimConfig) {
    this.config = config;
    this.#rng = seededRandom(config.seed);
    const ids = [COORDINATOR, ...Array.from({ length: config.participants }, (_, i) => `p${i}`)];
    for (const id of ids) this.#nodes.set(id, this.#newNode(id));
    this.#planTransactions(ids);
    if (config.checkpointEveryMs > 0) {
      for (const id of ids)
        this.#push(this.#rng.int(1, config.checkpointEveryMs), { kind: 'checkpoint', node: id });
    }
    for (let i = 0; i < config.randomCrashes; i++) {
      const node = this.#rng.pick(ids);
      const atMs = this.#rng.int(0, config.faultsUntilMs);
      this.#push(atMs, { kind: 'crash', node, survivors: undefined, downMs: this.#rng.int(1, 1_000) });
    }
  }

  run(): SimResult {
    for (const node of this.#nodes.values()) this.#recover(node);
    while (this.#queue.length > 0) {
      if (this.#steps.length > maxSteps || this.#nowMs > maxTimeMs) {
        this.#violations.push(`did not finish: ${this.#steps.length} steps, ${this.#nowMs} ms`);
        break;
      }
      const { atMs, event } = this.#pop();
      this.#nowMs = atMs;
      this.#process(event);
    }
    this.#checkInvariants();
    return {
      violations: [
        ...this.#violations,
        ...[...this.#nodes.values()].flatMap((node) => node.store.violations),
      ],
      steps: this.#steps,
      committed: this.#txs.filter((tx) => tx.decided === 'committed').length,
      aborted: this.#txs.filter((tx) => tx.decided === 'aborted').length,
      crashes: [...this.#nodes.values()].reduce((sum, node) => sum + node.crashes, 0),
      trace: this.#trace,
    };
  }

  #newNode(id: string): SimNode {
    const locks = new ShardLockManager({ lockTimeoutMs: this.config.lockTtlMs, maxLocksPerHolder: 64 });
    return {
      id,
      clockOffsetMs: this.#rng.int(0, this.config.clockSkewMs),
      up: true,
      epoch: 0,
      crashes: 0,
      lastCrashMs: -1,
      coordinator: this.#coordinatorFor(id),
      participant: new Participant({ nodeId: id, locks, config: this.config.txConfig }),
      log: new MemoryTxLog({ autoSync: false }),
      locks,
      store: new SimStore(id),
      syncScheduled: false,
      hostQueue: [],
      hostBusyUntilMs: 0,
      tickAtMs: Number.POSITIVE_INFINITY,
    };
  }

  #coordinatorFor(id: string): Coordinator {
    return new Coordinator({ nodeId: id, config: this.config.txConfig });
  }

  #planTransactions(ids: string[]): void {
    const holders = this.config.coordinatorHoldsShards ? ids : ids.slice(1);
    const pool = (node: string, j: number) => toHex(sha256(utf8ToBytes(`shard/${node}/${j}`)));
    for (let i = 0; i < this.config.transactions; i++) {
      const nodes = new Map<string, string[]>();
      const txId = `tx${this.config.seed.toString(16)}x${i}`;
      for (const node of holders) {
        const count = this.#rng.int(1, this.config.shardsPerNodeMax);
        const shards = new Set<string>();
        for (let j = 0; j < count; j++) {
          shards.add(
            this.config.sharedShards ? pool(node, this.#rng.int(0, 2)) : pool(node, 100 * i + j + 10),
          );
        }
        nodes.set(node, [...shards]);
      }
      this.#txs.push({ txId, nodes, begun: false, decided: undefined, finished: undefined });
      this.#push(this.#rng.int(0, Math.max(1, this.config.faultsUntilMs / 2)), {
        kind: 'client',
        txIndex: i,
      });
    }
  }

  #process(event: SimEvent): void {
    switch (event.kind) {
      case 'client':
        this.#step(COORDINATOR, () => this.#begin(this.#txs[event.txIndex]!));
        break;
      case 'deliver':
        this.#step(event.to, (node) => this.#deliver(node, event.message));
        break;
      case 'sync':
        this.#step(event.node, (node) => this.#sync(node), event.epoch);
        break;
      case 'host':
        this.#step(event.node, (node) => this.#hostComplete(node), event.epoch);
        break;
      case 'tick':
        this.#step(event.node, (node) => this.#tick(node), event.epoch);
        break;
      case 'checkpoint':
        // Only a checkpoint that compacts something is a step (and so a crash point).
        if (this.#worthCheckpointing(this.#node(event.node)))
          this.#step(event.node, (node) => this.#checkpoint(node));
        if (this.#nowMs < this.config.faultsUntilMs)
          this.#push(this.#nowMs + this.config.checkpointEveryMs, event);
        break;
      case 'crash':
        if (this.#nowMs < this.config.faultsUntilMs)
          this.#crash(this.#node(event.node), event.survivors, event.downMs);
        return;
      case 'restart':
        this.#restart(this.#node(event.node));
        break;
    }
  }

  /** One step: the node handles one event and runs the effects, unless it is down (or the event stale). */
  #step(id: string, handle: (node: SimNode) => TxEffect[], epoch?: number): void {
    const node = this.#node(id);
    if (!node.up || (epoch !== undefined && epoch !== node.epoch)) return;
    const index = this.#steps.length;
    const effects = handle(node);
    this.#steps.push({ node: id, effects: effects.length });
    const crash = this.config.crash;
    const crashHere = crash !== undefined && !this.#crashDone && crash.afterStep === index;
    const limit =
      crashHere && crash.node === id && crash.afterEffects !== undefined
        ? crash.afterEffects
        : effects.length;
    this.#runEffects(node, effects.slice(0, limit));
    if (crashHere) {
      this.#crashDone = true;
      const target = this.#node(crash.node);
      if (target.up) {
        const survivors = crash.survivors === 'all' ? target.log.pendingCount : 0;
        this.#crash(target, survivors, crash.downMs);
      }
    }
    if (node.up) this.#scheduleTick(node);
  }

  #begin(tx: ClientTx): TxEffect[] {
    const node = this.#node(COORDINATOR);
    node.coordinator.beginTransaction(this.#local(node), tx.txId);
    tx.begun = true;
    for (const [holder, shards] of tx.nodes) {
      for (const shard of shards)
        node.coordinator.addParticipant(tx.txId, shard, holder, `ref-${tx.txId}-${shard.slice(0, 8)}`);
    }
    return node.coordinator.prepare(tx.txId, this.#local(node));
  }

  #deliver(node: SimNode, message: TxMessage): TxEffect[] {
    this.#log(
      `${node.id} <- ${message.type} ${message.txId}${'vote' in message ? ` ${message.vote}` : ''}${'outcome' in message ? ` ${message.outcome}` : ''}`,
    );
    if (isCoordinatorMessage(message)) return node.coordinator.handle(message, this.#local(node));
    return node.participant.handle(message, this.#local(node));
  }

  #sync(node: SimNode): TxEffect[] {
    node.syncScheduled = false;
    const before = node.log.durableRecords.length;
    node.log.sync();
    const effects: TxEffect[] = [];
    for (const record of node.log.durableRecords.slice(before)) effects.push(...this.#logged(node, record));
    return effects;
  }

  /**
   * A checkpoint as TxEngine takes one: what is written is synced (and reported), then the log is
   * replaced by the live records of both roles. Skipped while a sync is on its way.
   */
  #checkpoint(node: SimNode): TxEffect[] {
    const live = [...node.coordinator.liveRecords(), ...node.participant.liveRecords()];
    this.#log(`${node.id} checkpoint: ${node.log.durableRecords.length} -> ${live.length} records`);
    void node.log.checkpoint(live);
    return [];
  }

  #worthCheckpointing(node: SimNode): boolean {
    if (!node.up || node.syncScheduled || node.log.pendingCount > 0) return false;
    const live = node.coordinator.liveRecords().length + node.participant.liveRecords().length;
    return live < node.log.durableRecords.length;
  }

  #logged(node: SimNode, record: TxLogRecord): TxEffect[] {
    this.#log(`${node.id} durable ${record.type} ${record.txId}`);
    return record.type.startsWith('coord-')
      ? node.coordinator.logged(record, this.#local(node))
      : node.participant.logged(record, this.#local(node));
  }

  #tick(node: SimNode): TxEffect[] {
    node.tickAtMs = Number.POSITIVE_INFINITY;
    return [...node.coordinator.tick(this.#local(node)), ...node.participant.tick(this.#local(node))];
  }

  #hostComplete(node: SimNode): TxEffect[] {
    const op = node.hostQueue.shift();
    if (op === undefined) return [];
    this.#applyHostOp(node, op);
    if (node.hostQueue.length > 0)
      this.#push(node.hostBusyUntilMs, { kind: 'host', node: node.id, epoch: node.epoch });
    if (op.kind === 'stage')
      return node.participant.staged(op.txId, !op.fail, this.#local(node), 'disk full');
    if (op.kind === 'commit') return node.participant.applied(op.txId, this.#local(node));
    return [];
  }

  #applyHostOp(node: SimNode, op: HostOp): void {
    this.#log(`${node.id} host ${op.kind} ${'txId' in op ? op.txId : op.keep.join(',')}`);
    // A failed stage leaves part of its data behind: the participant must clean it up.
    if (op.kind === 'stage') node.store.stage(op.txId, op.fail ? op.shards.slice(0, 1) : op.shards);
    else if (op.kind === 'commit') node.store.commit(op.txId, op.shards);
    else if (op.kind === 'abort') node.store.abort(op.txId);
    else node.store.purge(op.keep);
  }

  #runEffects(node: SimNode, effects: readonly TxEffect[]): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case 'send':
          this.#send(node.id, effect.to, effect.message);
          break;
        case 'append':
          node.log.write(effect.record);
          if (!node.syncScheduled) {
            node.syncScheduled = true;
            this.#push(this.#nowMs + this.#rng.int(0, 2), { kind: 'sync', node: node.id, epoch: node.epoch });
          }
          break;
        case 'stage':
          this.#enqueueHost(node, {
            kind: 'stage',
            txId: effect.txId,
            shards: effect.shards,
            fail: this.#rng.chance(this.config.stageFailRate),
          });
          break;
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

  #enqueueHost(node: SimNode, op: HostOp): void {
    node.hostQueue.push(op);
    // Mostly quick, sometimes a slow disk: long windows between a request and its answer.
    const delayMs = this.#rng.chance(0.03) ? this.#rng.int(50, 300) : this.#rng.int(1, 4);
    node.hostBusyUntilMs = Math.max(node.hostBusyUntilMs, this.#nowMs) + delayMs;
    if (node.hostQueue.length === 1)
      this.#push(node.hostBusyUntilMs, { kind: 'host', node: node.id, epoch: node.epoch });
  }

  #send(from: string, to: string, message: TxMessage): void {
    const copy = parseTxMessage(JSON.parse(JSON.stringify(message)));
    const faulty = this.#nowMs < this.config.faultsUntilMs;
    if (faulty && this.#rng.chance(this.config.lossRate)) {
      this.#log(`${from} -> ${to} ${message.type} ${message.txId} LOST`);
      return;
    }
    const copies = faulty && this.#rng.chance(this.config.dupRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delayMs =
        faulty && this.#rng.chance(this.config.longDelayRate)
          ? this.#rng.int(100, 1_500)
          : this.#rng.int(1, this.config.delayMaxMs);
      this.#push(this.#nowMs + delayMs, { kind: 'deliver', to, message: copy });
    }
  }

  #clientOutcome(kind: 'decided' | 'finished', txId: string, outcome: 'committed' | 'aborted'): void {
    const tx = this.#txs.find((t) => t.txId === txId);
    if (tx === undefined) {
      this.#violation(`${kind} for unknown ${txId}`);
      return;
    }
    this.#log(`client ${kind} ${txId} ${outcome}`);
    if (kind === 'decided') {
      if (tx.decided !== undefined) this.#violation(`${txId} decided twice`);
      tx.decided = outcome;
    } else {
      // Again only after a crash lost the lazy `coord-end` record: then recovery finishes it again.
      const crashes = this.#node(COORDINATOR).crashes;
      if (tx.finished !== undefined && tx.finishedAtCrashes === crashes)
        this.#violation(`${txId} finished twice`);
      tx.finishedAtCrashes = crashes;
      // A coordinator that recovered a decision finishes it for a client that has gone.
      if (tx.decided !== undefined && tx.decided !== outcome) {
        this.#violation(`${txId} finished ${outcome} but decided ${tx.decided}`);
      }
      tx.finished = outcome;
    }
  }

  #crash(node: SimNode, survivors: number | undefined, downMs: number): void {
    if (!node.up) return;
    const kept = survivors ?? this.#rng.int(0, node.log.pendingCount);
    this.#log(`${node.id} CRASH (keeps ${kept}/${node.log.pendingCount} unsynced records) for ${downMs} ms`);
    // The store is a device too: a prefix of the queued operations may have reached it.
    const applied = this.#rng.int(0, node.hostQueue.length);
    for (const op of node.hostQueue.slice(0, applied)) this.#applyHostOp(node, op);
    node.hostQueue = [];
    node.up = false;
    node.epoch++;
    node.crashes++;
    node.lastCrashMs = this.#local(node);
    node.log = node.log.crash(Math.min(kept, node.log.pendingCount));
    node.syncScheduled = false;
    node.tickAtMs = Number.POSITIVE_INFINITY;
    if (!this.config.locksSurviveCrash) {
      // A lock table kept in memory is lost; its tokens must still exceed every token the store saw.
      node.locks = new ShardLockManager({
        lockTimeoutMs: this.config.lockTtlMs,
        maxLocksPerHolder: 64,
        firstFencingToken: node.store.maxToken + 1,
      });
    }
    this.#push(this.#nowMs + downMs, { kind: 'restart', node: node.id });
  }

  #restart(node: SimNode): void {
    this.#log(`${node.id} RESTART`);
    node.up = true;
    node.hostBusyUntilMs = this.#nowMs;
    node.coordinator = this.#coordinatorFor(node.id);
    node.participant = new Participant({ nodeId: node.id, locks: node.locks, config: this.config.txConfig });
    this.#recover(node);
  }

  #recover(node: SimNode): void {
    this.#step(node.id, (n) => {
      const records = n.log.replay();
      return [
        ...n.coordinator.recover(records, this.#local(n)),
        ...n.participant.recover(records, this.#local(n)),
      ];
    });
  }

  #scheduleTick(node: SimNode): void {
    const wakes = [node.coordinator.nextWakeMs(), node.participant.nextWakeMs()].filter(
      (w) => w !== undefined,
    );
    if (wakes.length === 0) return;
    // Wake-ups are in the node's time; events in virtual time.
    const atMs = Math.max(this.#nowMs, Math.min(...wakes) - node.clockOffsetMs);
    if (atMs >= node.tickAtMs) return;
    node.tickAtMs = atMs;
    this.#push(atMs, { kind: 'tick', node: node.id, epoch: node.epoch });
  }

  #checkInvariants(): void {
    for (const node of this.#nodes.values()) this.#checkNode(node);
    for (const tx of this.#txs) this.#checkTx(tx);
  }

  #checkNode(node: SimNode): void {
    if (!node.up) {
      this.#violation(`${node.id} is still down at the end`);
      return;
    }
    if (node.coordinator.activeCount > 0) {
      this.#violation(`${node.id} coordinator still tracks ${node.coordinator.transactionIds().join(',')}`);
    }
    const unfinished = node.participant.unfinished();
    if (unfinished.length > 0) this.#violation(`${node.id} participant unfinished: ${unfinished.join(',')}`);
    if (node.store.staged.size > 0)
      this.#violation(`${node.id} staged data left: ${[...node.store.staged.keys()].join(',')}`);
    // Locks: none held, except one taken before this node's last crash by a transaction the crash
    // made it forget, left to expire.
    for (const shard of this.#shardsOf(node.id)) {
      const lock = node.locks.get(fromHex(shard), this.#local(node));
      if (lock !== undefined && lock.acquiredAtMs > node.lastCrashMs) {
        this.#violation(`${node.id} still holds the lock of ${shard.slice(0, 8)} for ${lock.txId}`);
      }
    }
    if (node.locks.activeCount(this.#local(node) + this.config.lockTtlMs) > 0) {
      this.#violation(`${node.id} holds locks past their expiry`);
    }
  }

  #shardsOf(node: string): Set<string> {
    const shards = new Set<string>();
    for (const tx of this.#txs) for (const shard of tx.nodes.get(node) ?? []) shards.add(shard);
    return shards;
  }

  #checkTx(tx: ClientTx): void {
    if (!tx.begun) return;
    const outcomes = [...tx.nodes.keys()].map((id) => this.#node(id).store.outcomes.get(tx.txId));
    const anyCommitted = outcomes.includes('committed');
    if (anyCommitted && !outcomes.every((o) => o === 'committed')) {
      this.#violation(`${tx.txId} committed on some nodes and not others: ${outcomes.join(',')}`);
    }
    if (tx.decided === 'committed' && !anyCommitted)
      this.#violation(`${tx.txId} decided commit, applied nowhere`);
    if (tx.decided === 'aborted' && anyCommitted)
      this.#violation(`${tx.txId} decided abort, committed somewhere`);
    if (tx.finished === 'committed' && !outcomes.every((o) => o === 'committed')) {
      this.#violation(`${tx.txId} finished commit, not applied everywhere`);
    }
    if (tx.decided === 'committed' && tx.finished !== 'committed' && this.#node(COORDINATOR).crashes === 0) {
      this.#violation(`${tx.txId} committed but never finished`);
    }
    if (tx.decided === undefined && this.#node(COORDINATOR).crashes === 0) {
      this.#violation(`${tx.txId} never decided`);
    }
  }

  /** The time on `node`'s clock. */
  #local(node: SimNode): number {
    return this.#nowMs + node.clockOffsetMs;
  }

  #node(id: string): SimNode {
    const node = this.#nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  #violation(message: string): void {
    this.#violations.push(message);
  }

  #log(line: string): void {
    if (this.config.trace) this.#trace.push(`${String(this.#nowMs).padStart(6)} ${line}`);
  }

  #push(atMs: number, event: SimEvent): void {
    const entry = { atMs, seq: this.#seq++, event };
    const queue = this.#queue;
    queue.push(entry);
    let i = queue.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, queue[parent]!)) break;
      queue[i] = queue[parent]!;
      i = parent;
    }
    queue[i] = entry;
  }

  #pop(): { atMs: number; seq: number; event: SimEvent } {
    const queue = this.#queue;
    const top = queue[0]!;
    const last = queue.pop()!;
    if (queue.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= queue.length) break;
        const right = left + 1;
        const child = right < queue.length && before(queue[right]!, queue[left]!) ? right : left;
        if (!before(queue[child]!, last)) break;
        queue[i] = queue[child]!;
        i = child;
      }
      queue[i] = last;
    }
    return top;
  }
}

function before(a: { atMs: number; seq: number }, b: { atMs: number; seq: number }): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
