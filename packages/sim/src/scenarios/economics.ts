import {
  assertInt,
  createSha256,
  type Ed25519,
  ed25519,
  equalBytes,
  isTrinityError,
  sha256,
  toHex,
  utf8ToBytes,
} from '@trinity/core';
import {
  type EconomicsConfigInput,
  EconomicsState,
  type EconomicsStateInit,
  type EventBody,
  EventSigner,
  encodeEvent,
  escrowIdOf,
  SharedApply,
} from '@trinity/economics';
import { builtinTopology } from '@trinity/topology';
import type { Checks } from '../checks.js';
import type { SimRandom } from '../random.js';
import type { Scenario, ScenarioOptions, ScenarioOutcome } from '../scenario.js';
import type { Scheduler } from '../scheduler.js';
import { messageFaults, randomRegions, ScenarioWorld, withDefaults } from './world.js';

export interface EconomicsOptions extends ScenarioOptions {
  /** Virtual time during which nodes emit observations and slashes (default 40 s); disputes and votes go on after. */
  readonly activeMs?: number;
  /**
   * Every `voteEvery`-th node (by index) votes in disputes (default 1: every node). Votes are one
   * event per voter per dispute that every node applies, most of them out of order: with every node
   * voting a dispute costs nodes² applies. The quorum is 10 % of the eligible voters (at least 5), so
   * up to 1 in 5 still decides.
   */
  readonly voteEvery?: number;
  /**
   * How long a node holds an event before applying it in order (default 5 s, `economicsConfig`). An
   * event arriving later than that (a node back from a crash or a partition syncing up) is applied
   * by re-executing from the snapshot before it, which clones the whole ledger: with hundreds of
   * nodes most of a run's time. 10 s keeps that rare; it must stay below the dispute window.
   */
  readonly settleDelayMs?: number;
  /**
   * Events between two ledger snapshots of a node's state (default 128, `economicsConfig`). Each
   * snapshot clones the whole ledger (every account and its reputation evidence); with late events
   * rare (a longer settle delay) fewer snapshots cost less.
   */
  readonly snapshotEvery?: number;
  /**
   * Nodes share the work of applying the same events (`SharedApply` of @trinity/economics; default
   * true): observably the same states, same trace; false makes every node compute everything itself
   * (`--no-share-apply`), to compare.
   */
  readonly shareApply?: ShareApply;
  /**
   * Test-only: every this many ms of virtual time, every node's state (hash, time, events held and
   * waiting) is folded into `counts.statesDigest`, to compare runs with and without `shareApply`.
   */
  readonly digestEveryMs?: number;
}

const genesisBalance = 1_000_000n;
const genesisStake = 100_000n;
const rewardPool = 10_000_000n;
const cheaterShare = 0.06;
/** Each node emits an event this often on average. */
const emitMeanMs = 1_000;
const fanout = 3;
const antiEntropyMs = 1_000;
/** Events one anti-entropy answer carries at most (per actor and in all). */
const syncEventsMax = 200;
const faultIntervalMs = 250;
/** The economics rules of the simulated networks (`simEconomicsConfig`, also the proof-of-storage scenario's). */
export const economicsConfig = {
  disputeWindowMs: 15_000,
  votingWindowMs: 20_000,
  appealWindowMs: 0,
  lowParticipationExtensionMs: 15_000,
  // Gossip delivers most events within a few seconds: waiting this long keeps late events (which
  // make the state re-execute from a snapshot) rare. The governance windows must be longer.
  settleDelayMs: 5_000,
  // A late event re-executes from the snapshot before it: close snapshots keep that cheap.
  snapshotIntervalEvents: 128,
} satisfies EconomicsConfigInput;

type Message =
  | { readonly t: 'event'; readonly bytes: Uint8Array }
  | { readonly t: 'heads'; readonly heads: Int32Array }
  | { readonly t: 'events'; readonly events: readonly Uint8Array[] };

interface EconNode {
  readonly index: number;
  readonly id: string;
  readonly signer: EventSigner;
  readonly secretKey: Uint8Array;
  readonly cheater: boolean;
  state: EconomicsState;
  up: boolean;
  epoch: number;
  /** Every event this node accepted, as bytes: its durable log (written before anything is sent). */
  readonly persisted: Uint8Array[];
  /**
   * The events of `persisted`, one byte per event id of the world (`#eventIds`): an event delivered
   * again as the same bytes (pushes and anti-entropy pass the emitter's bytes along) is known
   * without asking the state, which would decode it and throw `EventReplayError`. (A WeakSet per
   * node did the same: hundreds of them, each holding every event, cost the garbage collector.)
   */
  known: Uint8Array;
  /** Escrows this node already voted in, disputed, or reported (so it acts once). */
  readonly acted: Set<string>;
  /** Its version vector: `state.lastSeqOf` every node (by index), kept up to date as it accepts events. */
  heads: Int32Array;
  /** The copy of `heads` last sent to a peer; undefined when `heads` changed since. */
  sentHeads: Int32Array | undefined;
}

/**
 * @trinity/economics as every node runs it: each node signs events (proof-of-storage results,
 * uptime, bandwidth, slashes of cheating nodes, disputes, votes) into its own EconomicsState and
 * gossips them (push to a few peers, and anti-entropy by version vector) over the simulated network
 * while messages drop, duplicate and reorder, partitions split the network and nodes crash (a node
 * restarts by replaying its persisted events). Then the network heals and everyone syncs. Checkers:
 * every node reaches the same state (equal state hashes and version vectors), token supply is
 * conserved (supply + burned = genesis), every escrow resolved by the governance rules (quorum,
 * 66.7 % to overturn; undisputed executes), and cheaters end with lower reputation than honest nodes.
 */
class EconomicsWorld extends ScenarioWorld<Message> {
  readonly #options: Required<EconomicsOptions>;
  readonly #random: SimRandom;
  readonly #faultRandom: SimRandom;
  readonly #nodes: EconNode[] = [];
  readonly #indexOf = new Map<string, number>();
  /** Every event emitted, by its bytes object: its id (the order of emission), and by id its actor's index and seq. */
  readonly #eventIds = new WeakMap<Uint8Array, number>();
  readonly #eventActors: number[] = [];
  readonly #eventSeqs: number[] = [];
  /** Every escrow created so far, by id: an index for the nodes' scans (each reads its own state). */
  readonly #escrowIds: string[] = [];
  /** What every node's `EconomicsState` is made with (the shared work, or the config). */
  readonly #stateInit: EconomicsStateInit;
  readonly #faults: Record<string, number> = { crashes: 0, partitions: 0 };
  readonly #counts: Record<string, number> = {
    emitted: 0,
    slashes: 0,
    disputes: 0,
    votes: 0,
    gaps: 0,
    verifications: 0,
  };
  readonly #kind: Record<'emit' | 'sync' | 'fault' | 'heal' | 'restart', number>;
  readonly #digest = new StatesDigest(() => this.#nodes.map((node) => node.state));

  constructor(options: EconomicsOptions) {
    super(options.seed);
    const n = options.nodes;
    this.#options = withDefaults(options, {
      activeMs: options.activeMs ?? 30_000,
      voteEvery: options.voteEvery ?? 1,
      settleDelayMs: options.settleDelayMs ?? economicsConfig.settleDelayMs,
      snapshotEvery: options.snapshotEvery ?? economicsConfig.snapshotIntervalEvents,
      shareApply: options.shareApply ?? true,
      digestEveryMs: options.digestEveryMs ?? 0,
    });
    assertInt(this.#options.snapshotEvery, 'snapshotEvery', 16, 1_000_000);
    assertInt(this.#options.activeMs, 'activeMs', 0, 3_600_000);
    assertInt(this.#options.voteEvery, 'voteEvery', 1, 5);
    assertInt(this.#options.settleDelayMs, 'settleDelayMs', 0, economicsConfig.disputeWindowMs - 1);
    this.#random = this.root.fork('workload');
    this.#faultRandom = this.root.fork('faults');
    const verifier = cachingVerifier(ed25519, () => this.#counts.verifications!++);
    const layout = this.root.fork('layout');
    const keys = Array.from({ length: n }, (_, i) =>
      sha256(utf8ToBytes(`sim-economics/${options.seed}/${i}`)),
    );
    const signers = keys.map((key) => new EventSigner(key, { ed25519: verifier }));
    const config: EconomicsConfigInput = {
      ...simEconomicsConfig(signers),
      settleDelayMs: this.#options.settleDelayMs,
      snapshotIntervalEvents: this.#options.snapshotEvery,
    };
    this.#stateInit = stateInit(this.#options.shareApply, config, verifier);
    for (let i = 0; i < n; i++) {
      this.#indexOf.set(signers[i]!.nodeId, i);
      this.#nodes.push({
        index: i,
        id: signers[i]!.nodeId,
        signer: signers[i]!,
        secretKey: keys[i]!,
        cheater: layout.chance(cheaterShare),
        state: new EconomicsState(this.#stateInit),
        up: true,
        epoch: 0,
        persisted: [],
        known: new Uint8Array(1_024),
        acted: new Set(),
        heads: new Int32Array(n),
        sentHeads: undefined,
      });
    }
    const topology = builtinTopology();
    this.connect(topology, randomRegions(n, topology, layout), (to, from, message) =>
      this.#deliver(to, from, message),
    );
    const s = this.scheduler;
    this.#kind = {
      emit: s.register('emit', (node, epoch) => this.#emitNext(node, epoch)),
      sync: s.register('anti-entropy', (node, epoch) => this.#antiEntropy(node, epoch)),
      fault: s.register('fault', () => this.#fault()),
      heal: s.register('heal', () => this.network.heal()),
      restart: s.register('restart', (node) => this.#restart(node)),
    };
    this.#digest.every(s, this.#options.digestEveryMs);
  }

  run(): ScenarioOutcome {
    const s = this.scheduler;
    const { activeMs } = this.#options;
    if (this.#options.faults) {
      this.network.setRates({ dropRate: 0.05, duplicateRate: 0.02, reorderRate: 0.05 });
      s.at(faultIntervalMs, this.#kind.fault, 0);
    }
    for (const node of this.#nodes) {
      s.at(1 + this.#random.exponential(emitMeanMs), this.#kind.emit, node.index, 0);
      s.at(this.#random.float() * antiEntropyMs, this.#kind.sync, node.index, 0);
    }
    // Emission stops at activeMs; governance windows then run out; anti-entropy keeps syncing.
    const endMs =
      activeMs +
      economicsConfig.disputeWindowMs +
      economicsConfig.votingWindowMs +
      economicsConfig.lowParticipationExtensionMs +
      20_000;
    s.run(endMs);
    for (const node of this.#nodes) node.state.advanceTo(Math.floor(endMs));
    this.#checkEnd();
    const net = this.network.stats;
    return this.outcome({
      faults: { ...this.#faults, ...messageFaults(net) },
      counts: {
        ...this.#counts,
        cheaters: this.#nodes.filter((n) => n.cheater).length,
        messagesCut: net.cut,
        ...(this.#options.digestEveryMs > 0 ? { statesDigest: this.#digest.final() } : {}),
      },
    });
  }

  /** Past this, every escrow created while active has passed its windows. */
  get #governanceEndMs(): number {
    const c = economicsConfig;
    return (
      this.#options.activeMs +
      this.#options.settleDelayMs +
      c.disputeWindowMs +
      c.votingWindowMs +
      c.lowParticipationExtensionMs
    );
  }

  #nowMs(): number {
    return Math.floor(this.scheduler.nowMs);
  }

  // --- emitting ------------------------------------------------------------------------------

  #emitNext(index: number, epoch: number): void {
    const node = this.#nodes[index]!;
    if (!node.up || node.epoch !== epoch) return;
    if (this.scheduler.nowMs >= this.#governanceEndMs) return;
    const active = this.scheduler.nowMs < this.#options.activeMs;
    const body = this.#governanceAction(node) ?? (active ? this.#observation(node) : undefined);
    if (body !== undefined) this.#emit(node, body);
    this.scheduler.after(this.#random.exponential(emitMeanMs), this.#kind.emit, index, epoch);
  }

  /** Disputes of its own escrows, votes in others' disputed ones, a slash of a cheater it caught. */
  #governanceAction(node: EconNode): EventBody | undefined {
    for (const escrowId of this.#escrowIds) {
      if (node.acted.has(escrowId)) continue;
      // What this node knows of the escrow (nothing before its slash event reached it).
      const escrow = node.state.escrow(escrowId);
      if (escrow === undefined) continue;
      if (escrow.status === 'open' && escrow.accused === node.id) {
        node.acted.add(escrow.id);
        if (node.cheater) continue; // a cheater knows better than to dispute
        this.#counts.disputes!++;
        return {
          type: 'dispute',
          escrowId: escrow.id,
          evidence: toHex(sha256(utf8ToBytes(`evidence/${escrow.id}`))),
        };
      }
      if (
        escrow.status === 'voting' &&
        escrow.accused !== node.id &&
        escrow.reporter !== node.id &&
        node.index % this.#options.voteEvery === 0
      ) {
        node.acted.add(escrow.id);
        this.#counts.votes!++;
        // Voters judge by what they saw: an honest accused is overturned, a cheater upheld.
        const accused = this.#nodes[this.#indexOf.get(escrow.accused)!]!;
        return { type: 'vote', escrowId: escrow.id, overturn: !accused.cheater };
      }
    }
    return undefined;
  }

  #observation(node: EconNode): EventBody {
    const random = this.#random;
    const subject = this.#nodes[random.int(0, this.#nodes.length - 1)]!;
    if (subject === node)
      return { type: 'uptime', subject: this.#nodes[(node.index + 1) % this.#nodes.length]!.id, up: true };
    const roll = random.float();
    const shard = toHex(sha256(utf8ToBytes(`shard/${subject.index}/${random.int(0, 99)}`)));
    if (roll < 0.6) {
      const passed = subject.cheater ? random.chance(0.3) : random.chance(0.98);
      // An observed failure of a cheater is, now and then, worth a slash (once per reporter and cheater).
      const key = `slash/${subject.index}`;
      if (!passed && subject.cheater && !node.acted.has(key) && random.chance(0.2)) {
        node.acted.add(key);
        this.#counts.slashes!++;
        return { type: 'slash', accused: subject.id, reason: 'pos-failure', evidence: shard };
      }
      // Honest nodes are slashed by mistake too, rarely: governance should return their stake.
      if (!subject.cheater && random.chance(0.01) && !node.acted.has(key)) {
        node.acted.add(key);
        this.#counts.slashes!++;
        return { type: 'slash', accused: subject.id, reason: 'pos-failure', evidence: shard };
      }
      return { type: 'pos-result', holder: subject.id, shard, passed };
    }
    if (roll < 0.8) return { type: 'uptime', subject: subject.id, up: subject.up };
    return { type: 'bandwidth', subject: subject.id, bytes: random.int(1, 1_000_000) };
  }

  #emit(node: EconNode, body: EventBody): void {
    const now = this.#nowMs();
    const event = node.signer.sign(body, node.state.nextTimeMs(now));
    const bytes = encodeEvent(event);
    try {
      node.state.apply(event, { nowMs: now });
    } catch (error) {
      this.checks.check(
        'own-events-accepted',
        false,
        () => `${node.index}: own ${body.type} refused: ${String(error)}`,
      );
      return;
    }
    const id = this.#eventActors.length;
    this.#eventIds.set(bytes, id);
    this.#eventActors.push(node.index);
    this.#eventSeqs.push(event.seq);
    this.#persist(node, bytes, id);
    this.#counts.emitted!++;
    if (event.type === 'slash') this.#escrowIds.push(escrowIdOf(event.actor, event.seq));
    for (let i = 0; i < fanout; i++) {
      const peer = this.#random.int(0, this.#nodes.length - 1);
      if (peer !== node.index) this.network.send(node.index, peer, { t: 'event', bytes }, bytes.length + 16);
    }
  }

  // --- gossip --------------------------------------------------------------------------------

  #deliver(to: number, from: number, message: Message): void {
    const node = this.#nodes[to]!;
    if (!node.up) return;
    switch (message.t) {
      case 'event':
        if (this.#accept(node, message.bytes) === 'gap') this.#sendHeads(node, from);
        break;
      case 'events':
        for (const bytes of message.events) this.#accept(node, bytes);
        break;
      case 'heads':
        this.#answerHeads(node, from, message.heads);
        break;
    }
  }

  /** Applies an event from a peer; 'gap' when the actor's earlier events are missing here. */
  #accept(node: EconNode, bytes: Uint8Array): 'ok' | 'known' | 'gap' {
    // Every event's bytes were made by its emitter (`#emit`); a peer passes the same object on.
    const id = this.#eventIds.get(bytes)!;
    if (id < node.known.length && node.known[id] === 1) return 'known';
    try {
      node.state.applyBytes(bytes, { nowMs: this.#nowMs() });
    } catch (error) {
      if (isTrinityError(error, 'EVENT_REPLAYED')) return 'known';
      if (isTrinityError(error, 'EVENT_OUT_OF_SEQUENCE')) {
        this.#counts.gaps!++;
        return 'gap';
      }
      throw error;
    }
    this.#persist(node, bytes, id);
    return 'ok';
  }

  /** Records an event the node's state accepted: its durable log, `known`, its version vector. */
  #persist(node: EconNode, bytes: Uint8Array, id: number): void {
    node.persisted.push(bytes);
    if (id >= node.known.length) {
      const known = new Uint8Array(Math.max(2 * node.known.length, id + 1));
      known.set(node.known);
      node.known = known;
    }
    node.known[id] = 1;
    // The state took it as the actor's next event: its last sequence number is now this one's.
    node.heads[this.#eventActors[id]!] = this.#eventSeqs[id]!;
    node.sentHeads = undefined;
  }

  #antiEntropy(index: number, epoch: number): void {
    const node = this.#nodes[index]!;
    if (!node.up || node.epoch !== epoch || this.scheduler.nowMs >= this.#governanceEndMs + 15_000) return;
    const peer = this.#random.int(0, this.#nodes.length - 1);
    if (peer !== index) this.#sendHeads(node, peer);
    this.scheduler.after(antiEntropyMs * (0.5 + this.#random.float()), this.#kind.sync, index, epoch);
  }

  #sendHeads(node: EconNode, to: number): void {
    // A copy (the message is read on arrival), made once until the node accepts another event: most
    // anti-entropy rounds find nothing new.
    node.sentHeads ??= node.heads.slice();
    const heads = node.sentHeads;
    this.network.send(node.index, to, { t: 'heads', heads }, 16 + heads.length * 4);
  }

  /** Sends what the asker lacks, oldest first per actor, bounded. */
  #answerHeads(node: EconNode, to: number, heads: Int32Array): void {
    const events: Uint8Array[] = [];
    const own = node.heads;
    const n = own.length;
    for (let i = 0; i < n && events.length < syncEventsMax; i++) {
      if (own[i]! > heads[i]!)
        events.push(...node.state.eventBytesOf(this.#nodes[i]!.id, heads[i]!, syncEventsMax - events.length));
    }
    if (events.length === 0) return;
    let size = 16;
    for (const bytes of events) size += bytes.length;
    this.network.send(node.index, to, { t: 'events', events }, size);
  }

  // --- faults --------------------------------------------------------------------------------

  #fault(): void {
    if (this.scheduler.nowMs >= this.#options.activeMs) {
      this.network.setRates({ dropRate: 0, duplicateRate: 0, reorderRate: 0 });
      this.network.heal();
      return;
    }
    const random = this.#faultRandom;
    const roll = random.float();
    if (roll < 0.3) {
      const node = this.#nodes[random.int(0, this.#nodes.length - 1)]!;
      if (node.up) {
        this.#faults.crashes!++;
        node.up = false;
        node.epoch++;
        this.network.setUp(node.index, false);
        this.scheduler.after(200 + random.exponential(2_000), this.#kind.restart, node.index);
      }
    } else if (roll < 0.35) {
      this.#faults.partitions!++;
      this.network.partition(this.#nodes.map(() => random.int(0, 1)));
      this.scheduler.after(500 + random.exponential(2_000), this.#kind.heal, 0);
    }
    this.scheduler.after(faultIntervalMs, this.#kind.fault, 0);
  }

  /** A restart rebuilds the state by replaying the node's persisted events; nothing else survives. */
  #restart(index: number): void {
    const node = this.#nodes[index]!;
    const { state, skipped } = EconomicsState.replay(this.#stateInit, node.persisted);
    this.checks.check(
      'replay-clean',
      skipped.length === 0,
      () => `node ${index}: ${skipped.length} persisted events skipped at replay`,
    );
    state.advanceTo(this.#nowMs());
    node.state = state;
    for (let i = 0; i < node.heads.length; i++) node.heads[i] = state.lastSeqOf(this.#nodes[i]!.id);
    node.sentHeads = undefined;
    node.up = true;
    this.network.setUp(index, true);
    this.scheduler.after(this.#random.exponential(emitMeanMs), this.#kind.emit, index, node.epoch);
    this.scheduler.after(this.#random.float() * antiEntropyMs, this.#kind.sync, index, node.epoch);
  }

  // --- checkers ------------------------------------------------------------------------------

  #checkEnd(): void {
    const checks = this.checks;
    const reference = this.#nodes[0]!.state;
    checkConvergedLedgers(checks, this.#nodes);
    let emitted = 0;
    for (const node of this.#nodes) emitted += node.signer.nextSeq - 1;
    checks.check(
      'every-event-everywhere',
      reference.eventCount === emitted,
      () => `node 0 holds ${reference.eventCount} of ${emitted} events`,
    );
    this.#checkEscrows(reference);
    this.#checkReputation(reference);
  }

  #checkEscrows(state: EconomicsState): void {
    for (const escrowId of this.#escrowIds) {
      const escrow = state.escrow(escrowId);
      // A slash refused by the rules (too many open escrows of the accused) made none.
      if (escrow === undefined) continue;
      const accused = this.#nodes[this.#indexOf.get(escrow.accused)!]!;
      this.checks.check(
        'escrow-resolved',
        escrow.status === 'executed' || escrow.status === 'returned',
        () => `${escrow.id} still ${escrow.status}`,
      );
      const overturned =
        escrow.votes >= escrow.quorum && escrow.overturnVotes * 10_000 >= escrow.votes * 6_670;
      if (escrow.status === 'returned')
        this.checks.check(
          'escrow-returned-by-rule',
          escrow.disputeEvidence !== undefined && overturned,
          () =>
            `${escrow.id} returned with ${escrow.overturnVotes}/${escrow.votes} overturn votes, quorum ${escrow.quorum}`,
        );
      if (escrow.status === 'executed')
        this.checks.check(
          'escrow-executed-by-rule',
          escrow.disputeEvidence === undefined || !overturned,
          () =>
            `${escrow.id} executed with ${escrow.overturnVotes}/${escrow.votes} overturn votes, quorum ${escrow.quorum}`,
        );
      // Cheaters never dispute: their escrows execute.
      if (accused.cheater)
        this.checks.check(
          'cheater-slashed',
          escrow.status === 'executed',
          () => `${escrow.id} of a cheater ended ${escrow.status}`,
        );
    }
  }

  #checkReputation(state: EconomicsState): void {
    let cheaters = 0;
    let honest = 0;
    let cheaterSum = 0;
    let honestSum = 0;
    for (const node of this.#nodes) {
      const score = state.reputationOf(node.id).score;
      if (node.cheater) {
        cheaters++;
        cheaterSum += score;
      } else {
        honest++;
        honestSum += score;
      }
    }
    if (cheaters === 0 || honest === 0) return;
    this.checks.check(
      'cheaters-less-reputable',
      cheaterSum / cheaters < honestSum / honest,
      () =>
        `cheaters average ${(cheaterSum / cheaters).toFixed(3)}, honest ${(honestSum / honest).toFixed(3)}`,
    );
  }
}

/**
 * core's ed25519 with verification results remembered: every node verifies every event, and in one
 * process the same signature would be checked by each of them. Each distinct (signature, message,
 * key) is verified once for real.
 */
export function cachingVerifier(inner: Ed25519, onVerify: () => void): Ed25519 {
  interface Seen {
    readonly signature: Uint8Array;
    readonly message: Uint8Array;
    readonly publicKey: Uint8Array;
    readonly ok: boolean;
  }
  const seen = new Map<string, Seen>();
  // Nodes pass the same event bytes around, so the signature's buffer finds the entry without the
  // hex of the signature; the contents are still compared, so a changed or different buffer misses.
  const byBuffer = new WeakMap<ArrayBufferLike, Seen>();
  const same = (hit: Seen | undefined, signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) =>
    hit !== undefined &&
    equalBytes(hit.signature, signature) &&
    equalBytes(hit.message, message) &&
    equalBytes(hit.publicKey, publicKey);
  return {
    backend: inner.backend,
    randomSecretKey: () => inner.randomSecretKey(),
    publicKey: (secretKey) => inner.publicKey(secretKey),
    sign: (message, secretKey) => inner.sign(message, secretKey),
    verify(signature, message, publicKey) {
      const cached = byBuffer.get(signature.buffer);
      if (same(cached, signature, message, publicKey)) return cached!.ok;
      const key = toHex(signature);
      const hit = seen.get(key);
      if (same(hit, signature, message, publicKey)) {
        byBuffer.set(signature.buffer, hit!);
        return hit!.ok;
      }
      onVerify();
      const ok = inner.verify(signature, message, publicKey);
      const entry = {
        signature: signature.slice(),
        message: message.slice(),
        publicKey: publicKey.slice(),
        ok,
      };
      seen.set(key, entry);
      byBuffer.set(signature.buffer, entry);
      return ok;
    },
  };
}

export const economicsScenario: Scenario<EconomicsOptions> = {
  name: 'economics',
  description:
    '@trinity/economics event gossip (PoS results, slashes, disputes, votes) converging under drops, partitions and crashes',
  nodesMin: 7,
  // Every node holds every event: work grows with the square of the node count.
  nodesMax: 500,
  run: (options) => new EconomicsWorld(options).run(),
};

/**
 * The init of every node's `EconomicsState` in a world: one `SharedApply` for all of them (nodes
 * applying the same events share the work), or, unshared, the config and verifier.
 */
export function stateInit(
  share: ShareApply,
  config: EconomicsConfigInput,
  ed25519: Ed25519,
): EconomicsStateInit {
  if (share === false) return { config, ed25519 };
  return { shared: share === true ? new SharedApply({ config, ed25519 }) : share({ config, ed25519 }) };
}

/**
 * Whether the nodes of an economics world share the work of applying the same events (true: a
 * `SharedApply`; false: each computes everything); tests pass a function making a (broken) variant.
 */
export type ShareApply =
  | boolean
  | ((init: { readonly config: EconomicsConfigInput; readonly ed25519: Ed25519 }) => SharedApply);

/**
 * What every node's state shows, folded into one number at a few times of a run (`digestEveryMs`):
 * runs with and without `shareApply` must give the same. Test-only (it hashes every node's state).
 */
export class StatesDigest {
  readonly #hasher = createSha256();
  readonly #states: () => readonly EconomicsState[];
  #samples = 0;

  /** `states`: every node's state, in node order, at the time of each sample. */
  constructor(states: () => readonly EconomicsState[]) {
    this.#states = states;
  }

  /** Samples every `everyMs` of virtual time from then on (nothing when 0). */
  every(s: Scheduler, everyMs: number): void {
    if (everyMs <= 0) return;
    const kind = s.register('digest', () => {
      this.sample();
      s.after(everyMs, kind, 0);
    });
    s.at(everyMs, kind, 0);
  }

  /** The digest with the states of now folded in last. */
  final(): number {
    this.sample();
    return this.value;
  }

  /** Folds in what each state shows now: its hash, time, events held and waiting. */
  sample(): void {
    const lines = this.#states().map(
      (state, i) => `${i} ${state.stateHash()} ${state.nowMs} ${state.eventCount} ${state.pendingCount}\n`,
    );
    this.#hasher.update(utf8ToBytes(lines.join('')));
    this.#samples++;
  }

  /** The first 48 bits of the digest (0 when nothing was sampled). */
  get value(): number {
    if (this.#samples === 0) return 0;
    const d = this.#hasher.digest();
    return d[0]! * 2 ** 40 + d[1]! * 2 ** 32 + ((d[2]! << 24) >>> 0) + (d[3]! << 16) + (d[4]! << 8) + d[5]!;
  }
}

/** The simulated networks' economics rules with a genesis giving every signer the same account. */
export function simEconomicsConfig(signers: readonly EventSigner[]): EconomicsConfigInput {
  return {
    ...economicsConfig,
    genesis: {
      timeMs: 0,
      rewardPool,
      accounts: signers.map((s) => ({ id: s.nodeId, balance: genesisBalance, stake: genesisStake })),
    },
  };
}

/**
 * The end-of-run ledger checks every economics world shares: every node's state equals node 0's
 * (`converged`), and supply + burned is the genesis supply on every node (`supply-conserved`).
 */
export function checkConvergedLedgers(
  checks: Checks,
  nodes: readonly { readonly index: number; readonly state: EconomicsState }[],
): void {
  const reference = nodes[0]!.state;
  const hash = reference.stateHash();
  const genesisSupply = rewardPool + BigInt(nodes.length) * (genesisBalance + genesisStake);
  for (const node of nodes) {
    checks.check(
      'converged',
      node.state.stateHash() === hash,
      () =>
        `node ${node.index} state ${node.state.stateHash().slice(0, 12)} differs from node 0's ${hash.slice(0, 12)} (${node.state.eventCount} vs ${reference.eventCount} events)`,
    );
    const totals = node.state.totals();
    checks.check(
      'supply-conserved',
      totals.supply + totals.burned === genesisSupply,
      () => `node ${node.index}: supply ${totals.supply} + burned ${totals.burned} != ${genesisSupply}`,
    );
  }
}
