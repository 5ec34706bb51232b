import { type Clock, isHex, type Logger, type Random, sha256, toHex, utf8ToBytes } from '@trinity/core';
import {
  decodeEvent,
  type EconomicsConfigInput,
  type EconomicsEvent,
  EconomicsLimitError,
  EconomicsState,
  type EscrowView,
  type EventBody,
  EventFromFutureError,
  EventReplayError,
  EventSequenceError,
  EventSigner,
  encodeEvent,
  escrowIdOf,
  eventToJson,
  type NodeSummary,
} from '@trinity/economics';
import { NodeError } from '../../errors.js';
import { nodeKeyOfPeerId, peerIdOfNodeKey } from '../../p2p/node-keys.js';
import type { PeerRpc, ProtocolServer, RpcReply } from '../../p2p/rpc.js';
import type { Startable } from '../../startable.js';
import type { EconomicsEventLog } from '../../stores/economics-log.js';
import { Repeater } from '../../timers.js';
import type { PeerList } from '../membership/membership.js';
import { PosFailureIndex, posEvidence, shouldProposeSlash, voteOverturn } from './economics-policy.js';
import {
  decodeEventFrames,
  decodeHeads,
  type EconomicsRequest,
  economicsProtocol,
  economicsRequestSchema,
  encodeEventFrames,
  encodeHeads,
  eventFramesBytesMax,
  eventsPerMessageMax,
  headsReplySchema,
  pushReplySchema,
  wantsMax,
} from './economics-protocol.js';

/**
 * Where proof-of-storage results go: the challenger service calls this for every challenge it
 * decided. `holder` is the holder's node key (64 hex) or its peer id.
 */
export interface PosResultSink {
  recordPosResult(r: { holder: string; shard: string; passed: boolean }): Promise<void>;
}

export interface EconomicsServiceInit {
  /** The settings every node of the network shares (genesis, windows, amounts): @trinity/economics's config. */
  readonly network: EconomicsConfigInput;
  /** `--escrow`: take part in escrow governance automatically (propose proof-of-storage slashes, vote on disputes). */
  readonly escrow: boolean;
  /** Failing results of one holder, from this node's own challenges, that make it propose a slash… */
  readonly posFailuresToSlash: number;
  /** …within this long; also the window a slash's evidence hash covers (a network setting). */
  readonly posFailureWindowMs: number;
  /** An automatic vote upholds a slash it cannot check when the accused's reputation is below this. */
  readonly voteUpholdReputationBelow: number;
  /** How often the state is moved to the clock (deadlines, epochs, settle buffer), policy runs and metrics are set. */
  readonly tickMs: number;
  /** How often this node exchanges version vectors with a random peer. */
  readonly antiEntropyMs: number;
  /** Events waiting to be pushed to one peer; more are dropped (anti-entropy delivers them later). */
  readonly peerQueueEventsMax: number;
  /** How often this node reports its peers' uptime (0: never). */
  readonly uptimeReportMs: number;
  /** How often this node reports the bytes each peer served it (0: never). */
  readonly bandwidthReportMs: number;
}

/** Told on every tick (metrics, the router's reputation input). */
export interface EconomicsEvents {
  onTick?(state: EconomicsState, self: string): void;
  /** Reputation by peer id of every node with evidence, and the score of a node without. */
  onReputations?(scores: Map<string, number>, priorScore: number): void;
}

export interface EconomicsServiceComponents {
  /** This node's 32-byte Ed25519 secret key (its libp2p identity): it signs this node's events. */
  readonly secretKey: Uint8Array;
  readonly log: EconomicsEventLog;
  readonly rpc: PeerRpc;
  readonly server: ProtocolServer;
  readonly membership: PeerList;
  readonly clock: Clock;
  readonly random: Pick<Random, 'int'>;
  readonly logger: Logger;
  readonly events?: EconomicsEvents;
}

/** A user action was refused before it was signed: it could not take effect now (nothing changed). */
export class EconomicsActionError extends NodeError {
  constructor(code: string, message: string) {
    super(code, message, 409);
  }
}

/** What a user action did: the signed event (JSON-safe) and its outcome so far. */
export interface ActionResult {
  readonly event: Record<string, string | number | boolean>;
  /** `pending`: accepted; its effect is decided when it settles (`settleDelayMs`), the same on every node. */
  readonly outcome: 'applied' | 'rejected' | 'pending';
  readonly rejection: string | undefined;
  readonly escrowId?: string;
}

/** Events from peers waiting because they were stamped ahead of this node's clock. */
const futureEventsMax = 1_024;
/** Peers asked for anti-entropy out of turn (after a gap in a push) per tick. */
const catchUpPeersPerTick = 4;
/** Peers whose bandwidth is summed between reports. */
const bandwidthPeersMax = 10_000;
/** Nodes reported down after they left, and for how many reports. */
const departedMax = 1_024;
const downReports = 3;

interface PeerQueue {
  events: Uint8Array[];
  sending: Promise<void> | undefined;
}

/** The economics service's factory: `economicsService(init)(components)`. */
export function economicsService(
  init: EconomicsServiceInit,
): (components: EconomicsServiceComponents) => EconomicsService {
  return (components) => new EconomicsService(init, components);
}

/**
 * This node's view of the network's economics (@trinity/economics): one EconomicsState, rebuilt at
 * start from the event log, and one EventSigner for the node key. Every event this node accepts (its
 * own, signed here, or a peer's, verified) is persisted before it is pushed to the peers (a bounded
 * flood over existing connections); anti-entropy with a random peer (version vectors) delivers what
 * a push dropped or a restart lost. A timer moves the state to the clock and, with `escrow`, runs
 * the governance policy: slash proposals from this node's failing proof-of-storage challenges,
 * automatic votes on disputed escrows.
 */
export class EconomicsService implements Startable, PosResultSink {
  readonly #init: EconomicsServiceInit;
  readonly #c: EconomicsServiceComponents;
  readonly state: EconomicsState;
  /** This node's economics id: the hex of its Ed25519 public key. */
  readonly nodeId: string;
  /** Its network's settings, hashed: peers gossiping under other settings are refused. */
  readonly networkId: string;
  #signer: EventSigner;
  readonly #tick: Repeater;
  readonly #antiEntropy: Repeater;
  readonly #failures = new PosFailureIndex();
  /**
   * Holders seen failing a challenge since the policy last decided on them, with the newest failure's
   * time: a policy run at an earlier time (a tick that began before the failure was recorded) keeps them.
   */
  readonly #suspects = new Map<string, number>();
  /** Votes this node cast, by escrow: it votes in round r only while it has cast fewer than r. */
  readonly #votesCast = new Map<string, number>();
  readonly #queues = new Map<string, PeerQueue>();
  readonly #future: { bytes: Uint8Array; peer: string }[] = [];
  readonly #catchUp = new Set<string>();
  readonly #bandwidth = new Map<string, number>();
  readonly #departed = new Map<string, number>();
  #seenPeers = new Set<string>();
  #lastUptimeMs: number;
  #lastBandwidthMs: number;
  /** Own events are signed, persisted and applied one at a time, in sequence order. */
  #emitting: Promise<unknown> = Promise.resolve();
  #stopped = true;
  /** Counts of what peers sent: for logs, tests and metrics. */
  readonly stats = { accepted: 0, duplicates: 0, rejected: 0, gaps: 0, future: 0, dropped: 0 };

  constructor(init: EconomicsServiceInit, components: EconomicsServiceComponents) {
    this.#init = init;
    this.#c = components;
    const { state, skipped } = EconomicsState.replay({ config: init.network }, components.log.takeRecords());
    if (skipped.length > 0)
      components.logger.warn({ skipped: skipped.length }, 'economics events skipped on replay');
    this.state = state;
    this.networkId = networkIdOf(state.config);
    this.#signer = new EventSigner(components.secretKey);
    this.nodeId = this.#signer.nodeId;
    this.#syncSigner();
    for (const event of state.events()) this.#index(event);
    for (const bytes of state.eventBytesOf(this.nodeId, 0, Number.MAX_SAFE_INTEGER)) {
      const event = decodeEvent(bytes);
      if (event.type === 'vote')
        this.#votesCast.set(event.escrowId, (this.#votesCast.get(event.escrowId) ?? 0) + 1);
    }
    const nowMs = components.clock.nowMs();
    state.advanceTo(nowMs);
    this.#lastUptimeMs = nowMs;
    this.#lastBandwidthMs = nowMs;
    this.#tick = new Repeater(components.clock, init.tickMs, () => this.tick());
    this.#antiEntropy = new Repeater(components.clock, init.antiEntropyMs, async () => {
      await this.antiEntropy();
    });
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#c.server.handle(economicsProtocol, economicsRequestSchema, (request, context) =>
      this.#serve(request, context.peer, context.readBody),
    );
    this.#tick.start();
    this.#antiEntropy.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#tick.stop();
    await this.#antiEntropy.stop();
    await this.#c.server.unhandle(economicsProtocol);
    // Pushes in flight are not waited for (a peer that does not answer would hold the stop up to a
    // request timeout): what they carried is on disk, and peers get it back by anti-entropy.
    for (const queue of this.#queues.values()) queue.events.length = 0;
    await this.#emitting.catch(() => {});
    await this.#c.log.close();
  }

  /**
   * Resolves once no tick, emit or push of this service is running (each awaited until none is left,
   * at most `rounds` times): what a caller started, and what the timers started meanwhile, is done.
   */
  async idle(rounds = 100): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      const emitting = this.#emitting;
      const running = [this.#tick.running, this.#antiEntropy.running, emitting.catch(() => {})];
      for (const queue of this.#queues.values()) running.push(queue.sending);
      const busy = running.filter((p) => p !== undefined);
      await Promise.all(busy);
      if (busy.length === 1 && emitting === this.#emitting) return; // only the settled emit chain
    }
  }

  // Queries.

  /** The summary of a node (its economics id or its peer id), at the state's time. */
  summary(id: string): NodeSummary {
    return this.state.nodeSummary(this.#keyOf(id));
  }

  /** Escrows, oldest first: the active ones, or all (at most `limit`). */
  escrows(options: { all?: boolean; limit?: number } = {}): EscrowView[] {
    return this.state.escrows({ activeOnly: options.all !== true, limit: options.limit ?? 1_000 });
  }

  /** A node's reputation in [0, 1] (a node without evidence gets the package's no-evidence score). */
  reputationOf(id: string): number {
    return this.state.reputationOf(this.#keyOf(id)).score;
  }

  // What other services report.

  async recordPosResult(r: { holder: string; shard: string; passed: boolean }): Promise<void> {
    const holder = this.#keyOf(r.holder);
    await this.#emit(() => ({ type: 'pos-result', holder, shard: r.shard, passed: r.passed }));
  }

  async recordUptime(subject: string, up: boolean): Promise<void> {
    const key = this.#keyOf(subject);
    await this.#emit(() => ({ type: 'uptime', subject: key, up }));
  }

  /** Bytes `subject` served this node: summed, reported every `bandwidthReportMs`. */
  recordBandwidth(subject: string, bytes: number): void {
    if (this.#init.bandwidthReportMs === 0 || !(bytes > 0)) return;
    const key = isHex(subject, 32) ? subject.toLowerCase() : nodeKeyOfPeerId(subject);
    if (key === undefined || key === this.nodeId) return;
    const sum = this.#bandwidth.get(key);
    if (sum === undefined && this.#bandwidth.size >= bandwidthPeersMax) return;
    this.#bandwidth.set(key, (sum ?? 0) + bytes);
  }

  // User actions (the HTTP API, the CLI). Each is checked against the state first, so that one that
  // cannot take effect now is refused (EconomicsActionError) without using a sequence number.

  async stake(amount: bigint): Promise<ActionResult> {
    this.#require(
      this.state.balanceOf(this.nodeId) >= amount,
      'INSUFFICIENT_BALANCE',
      `balance below ${amount}`,
    );
    return this.#action(() => ({ type: 'stake', amount }));
  }

  async unstake(amount: bigint): Promise<ActionResult> {
    const { self } = this.state.stakeOf(this.nodeId);
    this.#require(self >= amount, 'INSUFFICIENT_STAKE', `own stake ${self} is below ${amount}`);
    return this.#action(() => ({ type: 'unstake', amount }));
  }

  async delegate(operator: string, amount: bigint): Promise<ActionResult> {
    const key = this.#keyOf(operator);
    this.#require(key !== this.nodeId, 'SELF_DELEGATION', 'a node cannot delegate to itself');
    this.#require(
      this.state.nodeSummary(key).isOperator,
      'NOT_AN_OPERATOR',
      `${key.slice(0, 16)}… is not an operator`,
    );
    this.#require(
      this.state.balanceOf(this.nodeId) >= amount,
      'INSUFFICIENT_BALANCE',
      `balance below ${amount}`,
    );
    return this.#action(() => ({ type: 'delegate', operator: key, amount }));
  }

  async undelegate(operator: string, amount: bigint): Promise<ActionResult> {
    const key = this.#keyOf(operator);
    const delegated = this.state.delegationsOf(this.nodeId).get(key) ?? 0n;
    this.#require(
      delegated >= amount,
      'INSUFFICIENT_DELEGATION',
      `delegation ${delegated} is below ${amount}`,
    );
    return this.#action(() => ({ type: 'undelegate', operator: key, amount }));
  }

  async withdraw(): Promise<ActionResult> {
    const nowMs = this.state.nextTimeMs(this.#c.clock.nowMs());
    const due = this.state.nodeSummary(this.nodeId).unbonding.some((u) => u.releaseAtMs <= nowMs);
    this.#require(due, 'NOTHING_TO_WITHDRAW', 'no unbonding stake has matured');
    return this.#action(() => ({ type: 'withdraw' }));
  }

  async dispute(escrowId: string, evidence: string): Promise<ActionResult> {
    const escrow = this.#escrow(escrowId);
    this.#require(
      escrow.accused === this.nodeId,
      'NOT_ACCUSED',
      'only the accused node may dispute its escrow',
    );
    this.#require(escrow.status === 'open', 'DISPUTE_WINDOW_CLOSED', `escrow is ${escrow.status}`);
    return this.#action(() => ({ type: 'dispute', escrowId, evidence }));
  }

  async vote(escrowId: string, overturn: boolean): Promise<ActionResult> {
    const escrow = this.#escrow(escrowId);
    this.#require(escrow.accused !== this.nodeId, 'SELF_VOTE', 'the accused node may not vote');
    this.#require(escrow.reporter !== this.nodeId, 'REPORTER_VOTE', 'the reporting node may not vote');
    this.#require(
      escrow.status === 'voting' || escrow.status === 'appeal-voting',
      'NOT_VOTING',
      `escrow is ${escrow.status}`,
    );
    this.#require(
      (this.#votesCast.get(escrowId) ?? 0) < escrow.round,
      'ALREADY_VOTED',
      'this node voted in this round',
    );
    return this.#castVote(escrow, overturn);
  }

  async appeal(escrowId: string, evidence: string): Promise<ActionResult> {
    const escrow = this.#escrow(escrowId);
    this.#require(escrow.status === 'decided', 'NOT_APPEALABLE', `escrow is ${escrow.status}`);
    return this.#action(() => ({ type: 'appeal', escrowId, evidence }));
  }

  // The timer.

  /** Moves the state to the clock, retries, catches up, runs the policy, reports; then the metrics. */
  async tick(): Promise<void> {
    const { clock, logger, events } = this.#c;
    const nowMs = clock.nowMs();
    this.state.advanceTo(nowMs);
    await this.#retryFuture();
    for (const peer of [...this.#catchUp].slice(0, catchUpPeersPerTick)) {
      this.#catchUp.delete(peer);
      await this.antiEntropy(peer);
    }
    try {
      if (this.#init.escrow) await this.#governance(nowMs);
      await this.#report(nowMs);
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'economics policy failed');
    }
    for (const peer of this.#queues.keys()) {
      if (!this.#isMember(peer) && this.#queues.get(peer)!.sending === undefined) this.#queues.delete(peer);
    }
    events?.onTick?.(this.state, this.nodeId);
    if (events?.onReputations !== undefined) {
      const byPeer = new Map<string, number>();
      for (const [key, score] of this.state.reputationScores()) {
        const peer = peerIdOfNodeKey(key);
        if (peer !== undefined) byPeer.set(peer, score);
      }
      events.onReputations(byPeer, this.state.reputationOf('').score);
    }
  }

  async #governance(nowMs: number): Promise<void> {
    const config = this.state.config;
    const staked = this.state.stakeOf(this.nodeId).self;
    for (const [holder, latestMs] of [...this.#suspects]) {
      if (latestMs > nowMs) continue; // decided by a later run, which sees this failure in its window
      if (this.#suspects.get(holder) === latestMs) this.#suspects.delete(holder);
      if (staked < config.reporterStakeMin || staked === 0n) continue;
      if (this.state.stakeOf(holder).bonded === 0n) continue;
      const against = this.state.escrowsOf(holder);
      if (!shouldProposeSlash(this.#init, this.#failures, this.nodeId, holder, against, nowMs)) continue;
      const { event } = await this.#emit((timeMs) => ({
        type: 'slash',
        accused: holder,
        reason: 'pos-failure',
        evidence: posEvidence(this.#failures, this.nodeId, holder, timeMs, this.#init.posFailureWindowMs)
          .hash,
      }));
      this.#c.logger.info(
        { accused: holder, escrowId: escrowIdOf(event.actor, event.seq) },
        'slash proposed',
      );
    }
    if (staked === 0n || staked < config.voterStakeMin) return;
    for (const escrow of this.state.escrows({ activeOnly: true })) {
      if (escrow.status !== 'voting' && escrow.status !== 'appeal-voting') continue;
      if (escrow.accused === this.nodeId || escrow.reporter === this.nodeId) continue;
      if ((this.#votesCast.get(escrow.id) ?? 0) >= escrow.round) continue;
      const overturn = voteOverturn(
        {
          upholdReputationBelow: this.#init.voteUpholdReputationBelow,
          posFailureWindowMs: this.#init.posFailureWindowMs,
        },
        this.#failures,
        escrow,
        this.state.reputationOf(escrow.accused).score,
      );
      await this.#castVote(escrow, overturn);
      this.#c.logger.info({ escrowId: escrow.id, overturn }, 'voted on escrow');
    }
  }

  async #report(nowMs: number): Promise<void> {
    const { uptimeReportMs, bandwidthReportMs } = this.#init;
    if (uptimeReportMs > 0 && nowMs - this.#lastUptimeMs >= uptimeReportMs) {
      this.#lastUptimeMs = nowMs;
      const present = new Set<string>();
      for (const peer of this.#c.membership.peers()) {
        const key = nodeKeyOfPeerId(peer.id);
        if (key !== undefined && key !== this.nodeId) present.add(key);
      }
      for (const key of this.#seenPeers) {
        if (!present.has(key) && this.#departed.size < departedMax) this.#departed.set(key, downReports);
      }
      for (const key of present) {
        this.#departed.delete(key);
        await this.recordUptime(key, true);
      }
      for (const [key, left] of this.#departed) {
        await this.recordUptime(key, false);
        if (left <= 1) this.#departed.delete(key);
        else this.#departed.set(key, left - 1);
      }
      this.#seenPeers = present;
    }
    if (bandwidthReportMs > 0 && nowMs - this.#lastBandwidthMs >= bandwidthReportMs) {
      this.#lastBandwidthMs = nowMs;
      const sums = [...this.#bandwidth];
      this.#bandwidth.clear();
      const bytesMax = this.state.config.bandwidthReportBytesMax;
      for (const [subject, bytes] of sums) {
        if (bytes < 1024) continue;
        await this.#emit(() => ({ type: 'bandwidth', subject, bytes: Math.min(bytes, bytesMax) }));
      }
    }
  }

  // Own events.

  #castVote(escrow: EscrowView, overturn: boolean): Promise<ActionResult> {
    this.#votesCast.set(escrow.id, (this.#votesCast.get(escrow.id) ?? 0) + 1);
    return this.#action(() => ({ type: 'vote', escrowId: escrow.id, overturn })).catch((error: unknown) => {
      this.#votesCast.set(escrow.id, (this.#votesCast.get(escrow.id) ?? 1) - 1);
      throw error;
    });
  }

  async #action(build: (timeMs: number) => EventBody): Promise<ActionResult> {
    const { event, outcome, rejection } = await this.#emit(build);
    return {
      event: eventToJson(event),
      outcome,
      rejection,
      ...(event.type === 'slash' ? { escrowId: escrowIdOf(event.actor, event.seq) } : {}),
    };
  }

  /**
   * Signs the body `build` returns for the event's time, persists the event, applies it, then
   * pushes it to the peers: one at a time, so that the log holds this node's events in sequence.
   */
  #emit(
    build: (timeMs: number) => EventBody,
  ): Promise<{ event: EconomicsEvent; outcome: ActionResult['outcome']; rejection: string | undefined }> {
    const run = async () => {
      if (this.#stopped) throw new NodeError('SHUTTING_DOWN', 'node is shutting down', 503);
      this.#syncSigner();
      const timeMs = this.state.nextTimeMs(this.#c.clock.nowMs());
      // A body the schema refuses throws EventFormatError here, before a sequence number is used.
      const event = this.#signer.sign(build(timeMs), timeMs);
      const bytes = encodeEvent(event);
      try {
        await this.#c.log.append([bytes]);
      } catch (error) {
        this.#syncSigner(true);
        throw error;
      }
      // Signed here and in sequence: only the sequence rules apply, so once on disk it is accepted.
      // Applied at once (not through the settle buffer): its outcome is known to the caller.
      const result = this.state.applyVerified(event);
      this.#index(event);
      this.#gossip([bytes], undefined);
      return { event, outcome: result.outcome, rejection: result.rejection };
    };
    const next = this.#emitting.then(run, run);
    this.#emitting = next.catch(() => {});
    return next;
  }

  /** Restarts the signer after this node's last event (after a failed append, or events of ours a peer returned). */
  #syncSigner(force = false): void {
    const nextSeq = this.state.lastSeqOf(this.nodeId) + 1;
    if (force || this.#signer.nextSeq !== nextSeq)
      this.#signer = new EventSigner(this.#c.secretKey, { nextSeq });
  }

  // Peers' events.

  /** Accepts peers' events: applies, persists, then floods the new ones on. Never throws for bad events. */
  async #acceptBatch(
    batch: readonly Uint8Array[],
    peer: string,
    /** A push (the author's own flood, if it wrote them all), not events this node pulled or held back. */
    pushed = false,
  ): Promise<{ accepted: number; duplicates: number; rejected: number }> {
    const accepted: Uint8Array[] = [];
    let duplicates = 0;
    let rejected = 0;
    const nowMs = this.#c.clock.nowMs();
    // Only a push can be the author's own flood: its key is looked up for nothing else.
    const peerKey = pushed ? nodeKeyOfPeerId(peer) : undefined;
    let fromAuthor = pushed;
    for (const bytes of batch) {
      const outcome = this.#acceptOne(bytes, peer, nowMs);
      if (typeof outcome === 'object') {
        accepted.push(bytes.slice());
        if (outcome.actor !== peerKey) fromAuthor = false;
      } else if (outcome === 'duplicate') duplicates++;
      else if (outcome === 'rejected') rejected++;
    }
    if (accepted.length > 0) {
      try {
        await this.#c.log.append(accepted);
      } catch (error) {
        // In the state but not on disk: after a restart, anti-entropy brings them back.
        this.#c.logger.warn({ err: (error as Error).message }, 'economics events not persisted');
        return { accepted: accepted.length, duplicates, rejected };
      }
      this.#gossip(accepted, peer, fromAuthor);
    }
    return { accepted: accepted.length, duplicates, rejected };
  }

  /** The event, once accepted; otherwise why not. */
  #acceptOne(
    bytes: Uint8Array,
    peer: string,
    nowMs: number,
  ): EconomicsEvent | 'duplicate' | 'gap' | 'future' | 'rejected' {
    try {
      const { event } = this.state.applyBytes(bytes, { nowMs });
      this.#index(event);
      this.stats.accepted++;
      return event;
    } catch (error) {
      if (error instanceof EventReplayError) {
        this.stats.duplicates++;
        return 'duplicate';
      }
      if (error instanceof EventSequenceError) {
        // Missing events of that actor come first: ask this peer for everything we lack.
        this.stats.gaps++;
        this.#catchUp.add(peer);
        return 'gap';
      }
      if (error instanceof EventFromFutureError) {
        this.stats.future++;
        if (this.#future.length < futureEventsMax) this.#future.push({ bytes: bytes.slice(), peer });
        return 'future';
      }
      this.stats.rejected++;
      const level = error instanceof EconomicsLimitError ? 'warn' : 'debug';
      this.#c.logger[level](
        { peer, code: (error as { code?: string }).code, err: (error as Error).message },
        'economics event from peer refused',
      );
      return 'rejected';
    }
  }

  async #retryFuture(): Promise<void> {
    if (this.#future.length === 0) return;
    const waiting = this.#future.splice(0);
    const byPeer = new Map<string, Uint8Array[]>();
    for (const { bytes, peer } of waiting) byPeer.set(peer, [...(byPeer.get(peer) ?? []), bytes]);
    for (const [peer, batch] of byPeer) await this.#acceptBatch(batch, peer);
  }

  /** Remembers what the governance policy reads: failing proof-of-storage results by holder. */
  #index(event: EconomicsEvent): void {
    if (event.type === 'pos-result' && !event.passed && event.holder !== event.actor) {
      this.#failures.add(event.holder, {
        actor: event.actor,
        seq: event.seq,
        timeMs: event.timeMs,
        bytes: encodeEvent(event),
      });
      // Any failure (also those replayed at start) may complete the count a proposal needs; the policy
      // proposes only where this node's own challenges failed too.
      this.#suspects.set(event.holder, Math.max(event.timeMs, this.#suspects.get(event.holder) ?? 0));
    }
  }

  // Gossip.

  /**
   * Queues `events` for every member peer but `from`, the peer they came from; a full queue drops them
   * (anti-entropy repairs). When `from` wrote every one of them (`fromAuthor`), it pushed them itself
   * to each peer its node info lists (its membership): relays to those only make duplicates, (N - 1) ×
   * (N - 2) pushes per event in a full mesh of N nodes beside the author's N - 1, so they are skipped.
   * The peers it did not list still get relays; one its own push missed (a failure, a full queue, a
   * list gone stale) gets them by anti-entropy, as every dropped push does.
   */
  #gossip(events: readonly Uint8Array[], from: string | undefined, fromAuthor = false): void {
    if (this.#stopped) return;
    const members = this.#c.membership.peers();
    const reached = fromAuthor ? members.find((member) => member.id === from)?.reportedPeers : undefined;
    for (const { id } of members) {
      if (id === from || reached?.has(id) === true) continue;
      let queue = this.#queues.get(id);
      if (queue === undefined) {
        queue = { events: [], sending: undefined };
        this.#queues.set(id, queue);
      }
      const room = this.#init.peerQueueEventsMax - queue.events.length;
      if (room < events.length) this.stats.dropped += events.length - Math.max(0, room);
      queue.events.push(...events.slice(0, Math.max(0, room)));
      if (queue.sending === undefined && queue.events.length > 0) queue.sending = this.#drain(id, queue);
    }
  }

  async #drain(peer: string, queue: PeerQueue): Promise<void> {
    try {
      while (queue.events.length > 0 && !this.#stopped) {
        const batch = queue.events.splice(0, eventsPerMessageMax);
        await this.#push(peer, batch);
      }
    } catch (error) {
      // The peer is unreachable or busy: what it misses comes by anti-entropy.
      this.stats.dropped += queue.events.length;
      queue.events.length = 0;
      this.#c.logger.debug({ peer, err: (error as Error).message }, 'economics push failed');
    } finally {
      queue.sending = undefined;
    }
  }

  async #push(peer: string, batch: readonly Uint8Array[]): Promise<void> {
    const body = encodeEventFrames(batch);
    const reply = await this.#c.rpc.call(
      peer,
      economicsProtocol,
      { op: 'push', network: this.networkId, count: batch.length, size: body.length },
      body,
    );
    pushReplySchema.safeParse(reply.value);
  }

  /**
   * One anti-entropy round with `peer` (default: a random member peer): sends this node's version
   * vector, applies the events the peer returns, pushes the ones it wants. Returns the events received.
   */
  async antiEntropy(peer?: string): Promise<number> {
    const peers = this.#c.membership.peers();
    const target =
      peer ?? (peers.length === 0 ? undefined : peers[this.#c.random.int(0, peers.length - 1)]!.id);
    if (target === undefined || this.#stopped) return 0;
    try {
      const heads = this.state.heads();
      const body = encodeHeads(heads);
      const reply = await this.#c.rpc.call(
        target,
        economicsProtocol,
        { op: 'heads', network: this.networkId, count: heads.size, size: body.length },
        body,
        { replyBytesMax: eventFramesBytesMax(eventsPerMessageMax) },
      );
      const value = headsReplySchema.parse(reply.value);
      const events = decodeEventFrames(reply.body ?? new Uint8Array(0), value.count);
      await this.#acceptBatch(events, target);
      for (const [actor, after] of value.wants) {
        const missing = this.state.eventBytesOf(actor, after, eventsPerMessageMax);
        if (missing.length > 0) await this.#push(target, missing);
      }
      return events.length;
    } catch (error) {
      this.#c.logger.debug({ peer: target, err: (error as Error).message }, 'economics anti-entropy failed');
      return 0;
    }
  }

  /** The protocol handler. Who may call: any storage peer this node knows (see economics-protocol). */
  async #serve(
    request: EconomicsRequest,
    peer: string,
    readBody: (size: number) => Promise<Uint8Array>,
  ): Promise<RpcReply> {
    if (!this.#isMember(peer))
      throw new NodeError('NOT_A_MEMBER', 'economics gossip is for known storage peers', 403);
    if (request.network !== this.networkId)
      throw new NodeError(
        'NETWORK_MISMATCH',
        `peer runs other economics settings (network ${request.network}, here ${this.networkId}): genesis or rules differ`,
        409,
      );
    if (request.op === 'push') {
      if (request.size > eventFramesBytesMax(request.count))
        throw new NodeError('BAD_REQUEST', 'push body larger than its events allow', 400);
      const events = decodeEventFrames(await readBody(request.size), request.count);
      return { value: await this.#acceptBatch(events, peer, true) };
    }
    const theirs = decodeHeads(await readBody(request.size), request.count);
    const mine = this.state.heads();
    const missing: Uint8Array[] = [];
    for (const [actor, seq] of mine) {
      if (missing.length >= eventsPerMessageMax) break;
      const known = theirs.get(actor) ?? 0;
      if (seq > known)
        missing.push(...this.state.eventBytesOf(actor, known, eventsPerMessageMax - missing.length));
    }
    const wants: [string, number][] = [];
    for (const [actor, seq] of theirs) {
      if (wants.length >= wantsMax) break;
      const known = mine.get(actor) ?? 0;
      if (seq > known) wants.push([actor, known]);
    }
    const body = encodeEventFrames(missing);
    return { value: { count: missing.length, wants }, ...(body.length > 0 ? { body } : {}) };
  }

  #isMember(peer: string): boolean {
    return this.#c.membership.peers().some((p) => p.id === peer);
  }

  // Helpers.

  /** A node key from a node key (64 hex) or a peer id; BadRequest otherwise. */
  #keyOf(id: string): string {
    if (isHex(id, 32)) return id.toLowerCase();
    const key = nodeKeyOfPeerId(id);
    if (key === undefined)
      throw new NodeError('BAD_NODE_ID', 'a node id is 64 hex characters or an Ed25519 peer id', 400);
    return key;
  }

  #escrow(escrowId: string): EscrowView {
    const escrow = this.state.escrow(escrowId);
    if (escrow === undefined) throw new NodeError('ESCROW_NOT_FOUND', `no escrow ${escrowId}`, 404);
    return escrow;
  }

  #require(condition: boolean, code: string, message: string): void {
    if (!condition) throw new EconomicsActionError(code, message);
  }
}

/** The first 16 hex of the SHA-256 of the settings (amounts as decimal strings, in the schema's key order). */
function networkIdOf(config: EconomicsState['config']): string {
  const text = JSON.stringify(config, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
  return toHex(sha256(utf8ToBytes(text))).slice(0, 16);
}
