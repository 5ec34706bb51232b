import { assert, type Ed25519, type Ed25519Verifier, ed25519, parseConfig } from '@trinity/core';
import {
  _decodeForApply,
  _knownEncoding,
  _rememberEncoding,
  compareActorBytes,
  decodeEvent,
  encodeEvent,
  eventKeyOf,
  SIGNATURE_BYTES,
  signedPart,
} from './codec.js';
import { type EconomicsConfig, type EconomicsConfigInput, economicsConfigSchema } from './config.js';
import {
  EconomicsLimitError,
  EventFormatError,
  EventFromFutureError,
  EventReplayError,
  EventSequenceError,
  EventSignatureError,
  type RejectionCode,
} from './errors.js';
import { compareEvents, SettleQueue } from './event-heap.js';
import { type EconomicsEvent, economicsEventSchema } from './events.js';
import { Ledger, type LedgerCounters } from './ledger.js';
import { type Reputation, reputationOf } from './reputation.js';
import { SharedApply } from './shared.js';
import { ledgerHash } from './state-hash.js';
import { advance, applyToLedger } from './transition.js';
import { type EscrowView, escrowView, type NodeSummary, nodeSummaryOf } from './views.js';

export interface EconomicsStateInit {
  /** Parsed with `economicsConfigSchema`: every node of a network must use the same. */
  readonly config?: EconomicsConfigInput;
  /** Signature verification; default core's `ed25519` (node:crypto where available). */
  readonly ed25519?: Ed25519;
  /**
   * Work shared with the other states of this process that apply the same events (a simulator's
   * nodes): ledgers, decoding, signature checks and state hashes (see `SharedApply`). The state
   * then takes its config and `ed25519` from it (pass neither here). Observably the same state as
   * without it.
   */
  readonly shared?: SharedApply;
}

/** What applying one event did. */
export interface ApplyResult {
  /**
   * `applied`: it took effect; `rejected`: it is in the history but had no effect (see `rejection`);
   * `pending`: accepted and held in the settle buffer until the clock passes its time plus
   * `settleDelayMs` (its effect is decided then, in canonical order).
   */
  readonly outcome: 'applied' | 'rejected' | 'pending';
  readonly rejection: RejectionCode | undefined;
  /**
   * Events re-executed because this one sorted before events already applied (0 on the fast path).
   * Late events inserted before the state is next read (a query, an event in order, `advanceTo`)
   * share one re-execution, run then: each reports its size, and its outcome in it (reading a field
   * of the result runs it).
   */
  readonly reexecuted: number;
}

/**
 * An event as the state keeps it: its sort key and its canonical bytes. Decoded objects are not
 * kept (re-execution decodes again), which keeps the garbage collector's work per event small.
 */
interface EventRecord {
  readonly timeMs: number;
  /** Interned: the actor log's own key. */
  readonly actor: string;
  readonly seq: number;
  readonly bytes: Uint8Array;
  /**
   * The decoded event while it waits in the settle buffer, which holds records: settling it then
   * needs no lookup of its actor's log (with many states in one process each such lookup was a
   * cache miss). Dropped once applied: decoded objects are not kept.
   */
  pending: EconomicsEvent | undefined;
}

interface ActorLog {
  readonly actor: string;
  seq: number;
  timeMs: number;
  /** The actor's events by seq - 1: for anti-entropy (`eventBytesOf`). */
  readonly records: EventRecord[];
  /** The actor's signature check with its public key prepared once (for the first `VERIFIERS_MAX` actors verified). */
  verify: Ed25519Verifier | undefined;
}

/** Settlings in a row alone on a branch after which a shared state's ledger is made private (`#checkAlone`). */
const ALONE_SETTLES = 2;

/** Actors whose prepared public key the state keeps (each a node:crypto key object): a bound on memory. */
const VERIFIERS_MAX = 4_096;

interface Snapshot {
  /** Events applied to `ledger`: events[0 .. index). */
  readonly index: number;
  readonly ledger: Ledger;
}

/**
 * The economics of a network as the deterministic replay of signed events. The state is the fold
 * of the events in canonical order (time, actor, seq), so two nodes that hold the same events hold
 * the same state whatever order they received them in. Live events wait in a settle buffer until
 * the daemon's clock is `settleDelayMs` past their time, and are applied from it in canonical
 * order, so ordinary network delay costs nothing; an event later than that sorts before events
 * already applied, is inserted, and the events after it are re-executed from the nearest snapshot
 * (once for a run of such events, when the state is next read). Snapshots are copy on write.
 *
 * Sans-IO: the daemon passes its clock's `nowMs` where a rule needs it (`apply`'s future bound,
 * `advanceTo`), persists the events it accepts (`encodeEvent`), gossips them, and replays them on
 * restart (`applyVerified`, or `EconomicsState.replay`).
 */
export class EconomicsState {
  readonly config: EconomicsConfig;
  readonly #ed25519: Ed25519;
  /** Shared work (`EconomicsStateInit.shared`): then every ledger here is shared and never changed. */
  readonly #shared: SharedApply | undefined;
  readonly #genesis: Ledger;
  /** The ledger of `#events` unless `#stale`: read it through `#ledger`. */
  #live: Ledger;
  /**
   * Set when events were inserted before events already applied (the snapshots after the earliest
   * dropped): `#live` is stale. The re-execution runs once, on the next read, the next event in
   * order or the next `advanceTo`, so a run of late events (an anti-entropy answer) costs one.
   */
  #stale = false;
  /** Results of the late events inserted since the last re-execution, filled in by it. */
  #lateResults = new Map<EventRecord, Settle>();
  readonly #events: EventRecord[] = [];
  readonly #actors = new Map<string, ActorLog>();
  readonly #pending = new SettleQueue<EventRecord>();
  /** Latest time of any event accepted (settled or pending): the hybrid logical clock's floor. */
  #latestTimeMs = 0;
  #snapshots: Snapshot[] = [];
  /** Latest `advanceTo` time: re-execution advances to it again. */
  #clockMs: number;
  /** Replaying in bulk: no snapshots until the end. */
  #bulk = false;
  /** Shared: the live ledger was made by this state's last event (a `SharedApply` miss). */
  #madeLive = false;
  /** Shared: settlings in a row that found this state alone on its branch (`#checkAlone`). */
  #aloneSettles = 0;
  /** Events accepted: held in `#events` or waiting in `#pending`. */
  #accepted = 0;
  /** Actor logs holding a prepared verifier. */
  #verifiers = 0;

  constructor(init: EconomicsStateInit = {}) {
    const shared = init.shared;
    if (shared !== undefined) {
      if (!(shared instanceof SharedApply)) throw new TypeError('shared must be a SharedApply');
      if (init.config !== undefined || init.ed25519 !== undefined)
        throw new TypeError('a state with shared takes its config and ed25519 from it: pass neither');
      this.config = shared.config;
      this.#ed25519 = shared.ed25519;
      this.#genesis = shared._genesis;
      this.#live = this.#genesis;
      shared._hold(this.#live);
    } else {
      this.config = parseConfig(economicsConfigSchema, init.config ?? {}, 'economics config');
      this.#ed25519 = init.ed25519 ?? ed25519;
      this.#genesis = new Ledger(this.config);
      this.#live = this.#genesis.clone();
    }
    this.#shared = shared;
    this.#clockMs = this.config.genesis.timeMs;
  }

  /**
   * Rebuilds a state from persisted events (already verified when they were accepted): sorts them
   * into canonical order first, so the replay never re-executes. Events that break the sequence
   * rules are skipped and returned.
   */
  static replay(init: EconomicsStateInit, events: Iterable<EconomicsEvent | Uint8Array>) {
    const state = new EconomicsState(init);
    // Sorted by keys read from the bytes, decoded one at a time as applied: decoded objects die young.
    // The keys sit in typed arrays and the sort moves indices, so no object is made per event.
    const all = Array.from(events);
    const n = all.length;
    const times = new Float64Array(n);
    const seqs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const e = all[i]!;
      if (e instanceof Uint8Array) {
        const key = eventKeyOf(e);
        times[i] = key?.timeMs ?? -1;
        seqs[i] = key?.seq ?? 0;
      } else {
        times[i] = e.timeMs;
        seqs[i] = e.seq;
      }
    }
    const asEvent = (e: EconomicsEvent | Uint8Array) => (e instanceof Uint8Array ? decodeEvent(e) : e);
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((x, y) => {
      if (times[x] !== times[y]) return times[x]! - times[y]!;
      const ex = all[x]!;
      const ey = all[y]!;
      const actors =
        ex instanceof Uint8Array && ey instanceof Uint8Array
          ? compareActorBytes(ex, ey)
          : compareEvents(asEvent(ex), asEvent(ey));
      return actors !== 0 ? actors : seqs[x]! - seqs[y]!;
    });
    const skipped: { event: EconomicsEvent | Uint8Array; error: unknown }[] = [];
    // Snapshots are for late events; during a bulk replay one at the end is enough.
    state.#bulk = true;
    for (const i of order) {
      const e = all[i]!;
      try {
        if (e instanceof Uint8Array) state.#applyVerifiedBytes(e);
        else state.applyVerified(e);
      } catch (error) {
        skipped.push({ event: e, error });
      }
    }
    state.#bulk = false;
    if (state.#events.length > 0) state.#snapshot(state.#events.length);
    return { state, skipped };
  }

  /**
   * Validates, verifies and applies an event from a peer or from this node. Throws, changing
   * nothing: EventFormatError (schema), EventReplayError (seq already used), EventSequenceError
   * (a gap: deliver the actor's missing events first; or time before the actor's previous event),
   * EventFromFutureError (stamped beyond `nowMs + clockSkewMaxMs`: retry later), EventSignatureError,
   * EconomicsLimitError. Checks run cheapest first, the signature last.
   */
  apply(event: EconomicsEvent, options: { nowMs: number }): ApplyResult {
    const { event: checked, bytes } = this.#validated(event);
    return this.#applyLive(checked, bytes, options.nowMs);
  }

  /**
   * `apply` for an event's canonical bytes, as they arrive from a peer. The bytes are decoded
   * (and validated field by field) once, straight into the object the state applies; the decoded
   * event handed back (`event`) is built only if it is read.
   */
  applyBytes(
    bytes: Uint8Array,
    options: { nowMs: number },
  ): { readonly event: EconomicsEvent; readonly result: ApplyResult } {
    const internal = this.#decode(bytes);
    return new BytesApplied(bytes, this.#applyLive(internal, bytes, options.nowMs));
  }

  /** Sequence, clock and signature checks (cheapest first), then accept into the settle buffer. */
  #applyLive(checked: EconomicsEvent, bytes: Uint8Array, nowMs: number): ApplyResult {
    const log = this.#checkSequence(checked);
    if (checked.timeMs > nowMs + this.config.clockSkewMaxMs) {
      throw new EventFromFutureError(checked.timeMs, nowMs, this.config.clockSkewMaxMs);
    }
    const shared = this.#shared;
    let verify: Ed25519Verifier | undefined;
    if (shared === undefined || !shared._verified(bytes)) {
      // The actor's public key is the bytes at 4..36 (what `actor` is the hex of): prepared once per actor.
      verify = log?.verify ?? this.#verifierOf(bytes.slice(4, 36));
      if (!verify(bytes.subarray(bytes.length - SIGNATURE_BYTES), signedPart(bytes))) {
        throw new EventSignatureError(checked.actor, checked.seq);
      }
      shared?._markVerified(bytes);
    }
    const accepted = this.#accept(checked, bytes, log);
    if (verify !== undefined && accepted.verify === undefined && this.#verifiers < VERIFIERS_MAX) {
      accepted.verify = verify;
      this.#verifiers++;
    }
    const record = accepted.records[accepted.records.length - 1]!;
    record.pending = checked;
    this.#pending.push(record);
    return this.#settle(nowMs - this.config.settleDelayMs, record) ?? PENDING;
  }

  /**
   * Applies an event whose signature was verified when it was first accepted (replay of this node's
   * own persisted log): the sequence rules still hold, the signature and the clock are not checked.
   */
  applyVerified(event: EconomicsEvent): ApplyResult {
    const { event: checked, bytes } = this.#validated(event);
    const log = this.#accept(checked, bytes, this.#checkSequence(checked));
    return this.#insert(checked, log.records[log.records.length - 1]!);
  }

  /** The event of `bytes`, decoded once per process when states share their work. */
  #decode(bytes: Uint8Array): EconomicsEvent {
    return this.#shared?._decode(bytes) ?? _decodeForApply(bytes);
  }

  /** `applyVerified` for trusted bytes: the event object is used once and dropped, never handed out. */
  #applyVerifiedBytes(bytes: Uint8Array): void {
    const event = this.#decode(bytes);
    const log = this.#accept(event, bytes, this.#checkSequence(event));
    this.#insert(event, log.records[log.records.length - 1]!);
  }

  /**
   * Moves the state to the daemon's clock: applies the buffered events older than
   * `nowMs - settleDelayMs`, then runs the time-driven rules (escrow deadlines, epoch ends) up to
   * that time. Call it periodically (and before reading state that depends on time).
   */
  advanceTo(nowMs: number): void {
    const horizon = nowMs - this.config.settleDelayMs;
    this.#settle(horizon, undefined);
    if (horizon <= this.#clockMs) return;
    // Late events first, up to the clock as it was (their re-execution advances to it).
    this.#reexecute();
    this.#clockMs = horizon;
    this.#moveTo(this.#advanced(this.#live, horizon));
  }

  /** Makes `ledger` the live one; a shared one is held (and the one left released: see `SharedApply`). */
  #moveTo(ledger: Ledger): void {
    const left = this.#live;
    this.#live = ledger;
    if (this.#shared !== undefined && left !== ledger) {
      this.#shared._hold(ledger);
      this.#shared._release(left);
    }
  }

  /**
   * `ledger` with the time-driven rules run up to `timeMs` (`advance`): in place, or shared. A shared
   * ledger with nothing due by then stays as it is: its time is carried by `#clockMs` (the state's
   * time is the later of the two), so states that advanced to different times still share.
   */
  #advanced(ledger: Ledger, timeMs: number): Ledger {
    const shared = this.#shared;
    if (shared === undefined) {
      advance(ledger, timeMs);
      return ledger;
    }
    if (ledger.escrowDueMs > timeMs && ledger.epochEndMs > timeMs) return ledger;
    return shared._advance(ledger, timeMs);
  }

  /** The state's time: the latest event applied or `advanceTo`, whichever is later. */
  get #nowMs(): number {
    const ledgerMs = this.#ledger.nowMs;
    return Math.max(ledgerMs, this.#clockMs);
  }

  /** Applies every buffered event whatever its time (at shutdown, or in tests). */
  flush(): void {
    this.#settle(Number.POSITIVE_INFINITY, undefined);
  }

  /** Events accepted but not yet applied (waiting in the settle buffer). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Applies buffered events with time <= `horizon`; returns the result of `watched` if it was among them. */
  #settle(horizon: number, watched: EventRecord | undefined): ApplyResult | undefined {
    const pending = this.#pending;
    // (A flush's horizon is +∞, which an empty queue's head time equals.)
    if (pending.size === 0 || pending.headTimeMs > horizon) return undefined;
    if (this.#shared !== undefined) this.#checkAlone();
    let watchedResult: ApplyResult | undefined;
    do {
      const next = pending.pop()!;
      const event = next.pending!;
      next.pending = undefined;
      const r = this.#insert(event, next);
      if (next === watched) watchedResult = r;
    } while (pending.size > 0 && pending.headTimeMs <= horizon);
    return watchedResult;
  }

  /**
   * Shared: before settling more events, whether this state has been alone on its branch since its
   * last settling (it made its ledger then, and no other state has reached it or gone past it
   * since). States holding the same events settle the same ledgers at about the same time, so twice
   * in a row means it holds other events than the rest (it lacks one they have): its ledger is made
   * private, and its next events applied in place instead of cloned for followers that do not come.
   */
  #checkAlone(): void {
    const shared = this.#shared!;
    const live = this.#live;
    if (!this.#madeLive || !shared._isLonely(live)) {
      this.#aloneSettles = 0;
      return;
    }
    if (++this.#aloneSettles >= ALONE_SETTLES) {
      shared._privatize(live);
      this.#aloneSettles = 0;
    }
  }

  /** `verify` bound to `publicKey` (the implementation's prepared form where it has one). */
  #verifierOf(publicKey: Uint8Array): Ed25519Verifier {
    const impl = this.#ed25519;
    return impl.verifier?.(publicKey) ?? ((signature, message) => impl.verify(signature, message, publicKey));
  }

  /** Records `e` in its actor's log (`log`: what `#checkSequence` found) and returns the log. */
  #accept(e: EconomicsEvent, bytes: Uint8Array, log: ActorLog | undefined): ActorLog {
    if (log === undefined) {
      log = { actor: e.actor, seq: 0, timeMs: 0, records: [], verify: undefined };
      this.#actors.set(e.actor, log);
    }
    log.seq = e.seq;
    log.timeMs = e.timeMs;
    const record: EventRecord = { timeMs: e.timeMs, actor: log.actor, seq: e.seq, bytes, pending: undefined };
    log.records.push(record);
    if (e.timeMs > this.#latestTimeMs) this.#latestTimeMs = e.timeMs;
    this.#accepted++;
    return log;
  }

  #validated(event: EconomicsEvent): { event: EconomicsEvent; bytes: Uint8Array } {
    const known = _knownEncoding(event);
    if (known !== undefined) return { event, bytes: known };
    const parsed = economicsEventSchema.safeParse(event);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new EventFormatError(`invalid event: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    const bytes = encodeEvent(parsed.data);
    return { event: _rememberEncoding(parsed.data, bytes), bytes };
  }

  /** Throws unless `e` is the actor's next event; returns the actor's log (undefined for a new actor). */
  #checkSequence(e: EconomicsEvent): ActorLog | undefined {
    const log = this.#actors.get(e.actor);
    const lastSeq = log?.seq ?? 0;
    if (e.seq <= lastSeq) throw new EventReplayError(e.actor, e.seq, lastSeq);
    if (e.seq !== lastSeq + 1) {
      throw new EventSequenceError(`event ${e.actor.slice(0, 16)}…/${e.seq} skips after seq ${lastSeq}`, {
        actor: e.actor,
        seq: e.seq,
        lastSeq,
      });
    }
    if (log !== undefined && e.timeMs < log.timeMs) {
      throw new EventSequenceError(
        `event ${e.actor.slice(0, 16)}…/${e.seq} is earlier than the actor's previous one`,
        {
          actor: e.actor,
          seq: e.seq,
          timeMs: e.timeMs,
          previousTimeMs: log.timeMs,
        },
      );
    }
    if (this.#accepted >= this.config.eventsMax) {
      throw new EconomicsLimitError(`the state holds ${this.config.eventsMax} events, its limit`, {
        eventsMax: this.config.eventsMax,
      });
    }
    return log;
  }

  /** The current ledger: re-executes pending late events first. */
  get #ledger(): Ledger {
    if (this.#stale) this.#reexecute();
    return this.#live;
  }

  /** Applies `e` (its record `record`) in order, or inserts it before events already applied. */
  #insert(e: EconomicsEvent, record: EventRecord): ApplyResult {
    const events = this.#events;
    const last = events[events.length - 1];
    const inOrder = last === undefined || compareEvents(last, e) < 0;
    if (inOrder && this.#nowMs <= e.timeMs) {
      events.push(record);
      let rejection: RejectionCode | undefined;
      if (this.#shared === undefined) rejection = applyToLedger(this.#live, e);
      else {
        const shared = this.#shared;
        const live = this.#live;
        // A ledger only this state can see is changed in place: its private one (no snapshot), or,
        // in a bulk replay, the one its previous event made (nobody ran in between).
        const mine =
          shared._isPrivate(live, 1) || (this.#bulk && this.#madeLive && shared._holders(live) === 1);
        const step = mine ? shared._stepInPlace(live, record.bytes, e) : shared._step(live, record.bytes, e);
        this.#madeLive = !mine && shared._lastMade;
        this.#moveTo(step.ledger);
        rejection = step.rejection;
      }
      if (!this.#bulk && events.length % this.config.snapshotIntervalEvents === 0)
        this.#snapshot(events.length);
      return result(rejection, 0);
    }
    return this.#insertEarlier(record);
  }

  /** Inserts an event that sorts before events already applied; the re-execution waits (`#stale`). */
  #insertEarlier(e: EventRecord): ApplyResult {
    const events = this.#events;
    let lo = 0;
    let hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEvents(events[mid]!, e) < 0) lo = mid + 1;
      else hi = mid;
    }
    events.splice(lo, 0, e);
    while (this.#snapshots.length > 0 && this.#snapshots[this.#snapshots.length - 1]!.index > lo) {
      const dropped = this.#snapshots.pop()!;
      this.#shared?._release(dropped.ledger);
    }
    this.#stale = true;
    const late = lateResult(() => this.#reexecute());
    this.#lateResults.set(e, late.settle);
    return late.result;
  }

  /**
   * Re-executes the events from the snapshot before the earliest late one (or from genesis), taking
   * the snapshots on the way again, then advances to the clock; fills in the late events' results.
   */
  #reexecute(): void {
    if (!this.#stale) return;
    const events = this.#events;
    // Every snapshot after the earliest late event was dropped when it was inserted.
    const base = this.#snapshots[this.#snapshots.length - 1] ?? { index: 0, ledger: this.#genesis };
    const shared = this.#shared;
    let ledger = shared === undefined ? base.ledger.clone() : base.ledger;
    // Shared: the live ledger is left as it is (held) until the re-execution's result replaces it.
    if (shared === undefined) this.#live = ledger;
    this.#stale = false;
    const lateResults = this.#lateResults;
    this.#lateResults = new Map();
    const reexecuted = events.length - base.index - 1;
    let settled = 0;
    // Shared: whether `ledger` was made by this walk (nobody else can have seen it yet).
    let made = false;
    for (let i = base.index; i < events.length; i++) {
      const record = events[i]!;
      let r: RejectionCode | undefined;
      if (shared === undefined) r = applyToLedger(ledger, this.#decode(record.bytes));
      else {
        // Off the shared branches, the walk changes the ledger it made in place (unless a snapshot).
        const mine: boolean = made && shared._holders(ledger) === 0;
        ({ ledger, rejection: r } = mine
          ? shared._stepInPlace(ledger, record.bytes)
          : shared._step(ledger, record.bytes));
        made = mine || shared._lastMade;
      }
      const settle = lateResults.size > settled ? lateResults.get(record) : undefined;
      if (settle !== undefined) {
        settle(r, reexecuted);
        settled++;
      }
      if ((i + 1) % this.config.snapshotIntervalEvents === 0) this.#snapshot(i + 1, ledger);
    }
    assert(settled === lateResults.size, 'a late event was not re-executed');
    if (shared === undefined) advance(ledger, this.#clockMs);
    else {
      // A ledger this walk made is on a branch of this state's own (others took the events in
      // another order, or lack some): private, so the events after it are applied in place.
      if (made && shared._holders(ledger) === 0) shared._privatize(ledger);
      this.#moveTo(this.#advanced(ledger, this.#clockMs));
    }
  }

  #snapshot(index: number, ledger = this.#live): void {
    // A shared ledger is never changed: the snapshot is the ledger itself.
    this.#snapshots.push({ index, ledger: this.#shared === undefined ? ledger.clone() : ledger });
    // A shared ledger held as a snapshot is never changed in place (see `SharedApply._stepInPlace`).
    this.#shared?._hold(ledger);
    if (this.#snapshots.length > this.config.snapshotsMax)
      this.#shared?._release(this.#snapshots.shift()!.ledger);
  }

  // Queries. Amounts are bigint base units; `atMs` defaults to the state's time.

  /** SHA-256 (hex) of the whole state: equal on two nodes exactly when their states are equal. */
  stateHash(): string {
    const nowMs = this.#nowMs;
    return this.#shared?._hash(this.#live, nowMs) ?? ledgerHash(this.#live, nowMs);
  }

  /** Time of the latest event applied or `advanceTo`, whichever is later. */
  get nowMs(): number {
    return this.#nowMs;
  }

  /**
   * The time to stamp this node's next event with: `nowMs`, or just after the latest event held if
   * that is later (a hybrid logical clock). Events sort by time, so an event stamped this way sorts
   * after every event its signer had seen: a dispute after its slash, a spend after the transfer
   * that funded it, whatever the skew between the two nodes' clocks.
   */
  nextTimeMs(nowMs: number): number {
    return this.#accepted === 0 || this.#latestTimeMs < nowMs ? nowMs : this.#latestTimeMs + 1;
  }

  /** Events accepted (applied or pending). */
  get eventCount(): number {
    return this.#accepted;
  }

  /** The actor's last sequence number (0 if none): an `EventSigner` restarts at this + 1. */
  lastSeqOf(actor: string): number {
    return this.#actors.get(actor)?.seq ?? 0;
  }

  /** Every actor's last sequence number: a version vector to compare with a peer's for anti-entropy. */
  heads(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [actor, log] of this.#actors) out.set(actor, log.seq);
    return out;
  }

  /**
   * The canonical bytes of the actor's events after `afterSeq`, at most `limit`, in sequence order:
   * what a peer that is behind is missing (send them as they are; the peer `applyBytes` them).
   */
  eventBytesOf(actor: string, afterSeq: number, limit = 1_000): Uint8Array[] {
    const from = Math.max(0, afterSeq);
    return (
      this.#actors
        .get(actor)
        ?.records.slice(from, from + limit)
        .map((r) => r.bytes) ?? []
    );
  }

  /** Every event applied, in canonical order (a copy; pending events are not included). */
  events(): EconomicsEvent[] {
    return this.#events.map((r) => decodeEvent(r.bytes));
  }

  balanceOf(id: string): bigint {
    return this.#ledger.accounts.get(id)?.balance ?? 0n;
  }

  /** Self-stake, stake delegated to `id` as an operator, and their sum (what a slash of `id` takes from). */
  stakeOf(id: string): { self: bigint; delegated: bigint; bonded: bigint } {
    const account = this.#ledger.accounts.get(id);
    const self = account?.stake ?? 0n;
    const delegated = account?.delegated ?? 0n;
    return { self, delegated, bonded: self + delegated };
  }

  /** What `id` has delegated, by operator. */
  delegationsOf(id: string): Map<string, bigint> {
    return new Map(this.#ledger.accounts.get(id)?.delegations ?? []);
  }

  /** The node's reputation in [0, 1] and how many reporters it rests on: the router's and placer's input. */
  reputationOf(id: string, atMs = this.#nowMs): Reputation {
    return reputationOf(this.#ledger, id, atMs);
  }

  /** Reputation of every node any evidence exists for. */
  reputationScores(atMs = this.#nowMs): Map<string, number> {
    const out = new Map<string, number>();
    for (const subject of this.#ledger.evidence.keys())
      out.set(subject, reputationOf(this.#ledger, subject, atMs).score);
    return out;
  }

  escrow(id: string): EscrowView | undefined {
    const escrow = this.#ledger.escrows.get(id);
    return escrow === undefined ? undefined : escrowView(escrow);
  }

  /** Every escrow (at most `limit`, oldest first); `activeOnly`: only those not yet final. */
  escrows(options: { activeOnly?: boolean; limit?: number } = {}): EscrowView[] {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const out: EscrowView[] = [];
    const ids = options.activeOnly ? this.#ledger.activeEscrows : this.#ledger.escrows.keys();
    for (const id of ids) {
      if (out.length >= limit) break;
      out.push(escrowView(this.#ledger.escrows.get(id)!));
    }
    return out;
  }

  /** Escrows against `id`, oldest first; `activeOnly` leaves out the final ones. */
  escrowsOf(id: string, options: { activeOnly?: boolean } = {}): EscrowView[] {
    const ids = this.#ledger.escrowsByNode.get(id) ?? [];
    const escrows = ids.map((escrowId) => this.#ledger.escrows.get(escrowId)!);
    return (options.activeOnly ? escrows.filter((e) => !e.final) : escrows).map(escrowView);
  }

  /** Everything about one node, JSON-safe (amounts as decimal strings): the body of `GET /v1/economics/:nodeId`. */
  nodeSummary(id: string, atMs = this.#nowMs): NodeSummary {
    return nodeSummaryOf(this.#ledger, id, atMs, this.lastSeqOf(id));
  }

  /** Network totals: supply, burned, reward pool, active escrows. */
  totals(): { supply: bigint; burned: bigint; rewardPool: bigint; escrowsActive: number; accounts: number } {
    const l = this.#ledger;
    return {
      supply: l.supply,
      burned: l.burned,
      rewardPool: l.rewardPool,
      escrowsActive: l.activeEscrows.size,
      accounts: l.accounts.size,
    };
  }

  /** Counters for the metrics exporter (events, escrows, votes, low-participation alerts, PoS results). */
  counters(): Readonly<LedgerCounters> {
    return { ...this.#ledger.counters };
  }

  /**
   * Sum of every token held anywhere: liquid balances, stakes, delegations, unbonding entries,
   * escrows not yet final and the reward pool. Equals `totals().supply` (asserted in tests): nothing
   * is created or destroyed except by executed slashes.
   */
  accountedSupply(): bigint {
    const l = this.#ledger;
    let sum = l.rewardPool;
    for (const account of l.accounts.values()) {
      sum += account.balance + account.stake;
      for (const amount of account.delegations.values()) sum += amount;
      for (const entry of account.unbonding) sum += entry.amount;
    }
    for (const id of l.activeEscrows) sum += l.escrows.get(id)!.amount;
    return sum;
  }

  /** Smallest liquid balance, stake or delegation anywhere (never negative). */
  minimumHolding(): bigint {
    let min: bigint | undefined;
    const see = (value: bigint) => {
      if (min === undefined || value < min) min = value;
    };
    for (const account of this.#ledger.accounts.values()) {
      see(account.balance);
      see(account.stake);
      see(account.delegated);
      for (const amount of account.delegations.values()) see(amount);
    }
    return min ?? 0n;
  }
}

/** What `applyBytes` returns: the result, and the decoded event (frozen, with its signature) built on first read. */
class BytesApplied {
  readonly result: ApplyResult;
  readonly #bytes: Uint8Array;
  #event: EconomicsEvent | undefined;

  constructor(bytes: Uint8Array, result: ApplyResult) {
    this.#bytes = bytes;
    this.result = result;
  }

  get event(): EconomicsEvent {
    this.#event ??= decodeEvent(this.#bytes);
    return this.#event;
  }
}

/**
 * The result of an event inserted before events already applied: known once the re-execution it
 * waits for has run, which reading any field runs. The fields are own enumerable getters, so a
 * spread or `JSON.stringify` of the result reads them too.
 */
function lateResult(run: () => void): { result: ApplyResult; settle: Settle } {
  let pending = true;
  let rejection: RejectionCode | undefined;
  let reexecuted = 0;
  const settled = () => {
    if (pending) run();
  };
  const result: ApplyResult = {
    get outcome() {
      settled();
      return rejection === undefined ? ('applied' as const) : ('rejected' as const);
    },
    get rejection() {
      settled();
      return rejection;
    },
    get reexecuted() {
      settled();
      return reexecuted;
    },
  };
  return {
    result,
    settle: (r, n) => {
      pending = false;
      rejection = r;
      reexecuted = n;
    },
  };
}

/** Fills in a late event's result: its rejection in the re-execution, and that re-execution's size. */
type Settle = (rejection: RejectionCode | undefined, reexecuted: number) => void;

const PENDING: ApplyResult = Object.freeze({ outcome: 'pending', rejection: undefined, reexecuted: 0 });

function result(rejection: RejectionCode | undefined, reexecuted: number): ApplyResult {
  return { outcome: rejection === undefined ? 'applied' : 'rejected', rejection, reexecuted };
}
