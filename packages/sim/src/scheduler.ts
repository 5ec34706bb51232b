import { assert, assertInt, assertNumber } from '@trinity/core';
import { SimLimitError } from './errors.js';
import { TraceHash } from './trace-hash.js';

/** Runs one event: `target` and `datum` are the numbers it was scheduled with, `payload` anything. */
export type EventHandler = (target: number, datum: number, payload: unknown) => void;

/** Why `run` returned. */
export type RunEnd = 'idle' | 'time-limit' | 'event-limit' | 'stopped';

export interface SchedulerLimits {
  /** Events run at most over the scheduler's life (a runaway scenario ends instead of spinning). */
  readonly eventsMax?: number;
  /** Events waiting at once at most (SimLimitError beyond: a scenario that floods itself). */
  readonly queuedMax?: number;
}

/** Event kinds one scheduler tells apart (a kind is folded into the trace as one byte). */
export const EVENT_KINDS_MAX = 255;
const defaultEventsMax = 1_000_000_000;
const defaultQueuedMax = 50_000_000;

interface Entry {
  timeMs: number;
  seq: number;
  kind: number;
  target: number;
  datum: number;
  payload: unknown;
}

/**
 * A discrete-event scheduler over virtual time. Events run in order of time, then of scheduling
 * (a sequence number breaks ties), so a run is a pure function of what was scheduled: with every
 * random choice drawn from a seeded SimRandom, the same seed gives the same run. Each event run is
 * folded into a trace hash (time in µs, kind, target, datum).
 *
 * The queue is a binary heap of pooled entries (no allocation per event once warm): the scheduler
 * is the simulator's innermost loop.
 */
export class Scheduler {
  readonly #handlers: EventHandler[] = [];
  readonly #kindNames: string[] = [];
  readonly #heap: Entry[] = [];
  readonly #pool: Entry[] = [];
  readonly #trace = new TraceHash();
  readonly #eventsMax: number;
  readonly #queuedMax: number;
  #nowMs = 0;
  #seq = 0;
  #events = 0;
  #stopped = false;
  /** Handles of pending events cancelled: skipped when they come up (no search of the heap). */
  #cancelled = new Set<number>();

  constructor(limits: SchedulerLimits = {}) {
    this.#eventsMax = limits.eventsMax ?? defaultEventsMax;
    this.#queuedMax = limits.queuedMax ?? defaultQueuedMax;
    assertInt(this.#eventsMax, 'eventsMax', 1);
    assertInt(this.#queuedMax, 'queuedMax', 1);
  }

  /** Virtual time now, in ms (fractional: network jitter has µs resolution). */
  get nowMs(): number {
    return this.#nowMs;
  }

  /** Events run so far. */
  get events(): number {
    return this.#events;
  }

  /** Events waiting (cancelled ones not counted). */
  get pending(): number {
    return this.#heap.length - this.#cancelled.size;
  }

  /** The trace hash of every event run so far (16 hex characters). */
  get traceHash(): string {
    return this.#trace.hex();
  }

  /** Registers a kind of event and returns its number (what `at` takes). */
  register(name: string, handler: EventHandler): number {
    if (this.#handlers.length >= EVENT_KINDS_MAX) {
      throw new SimLimitError(`at most ${EVENT_KINDS_MAX} event kinds`, { limit: EVENT_KINDS_MAX });
    }
    this.#handlers.push(handler);
    this.#kindNames.push(name);
    return this.#handlers.length - 1;
  }

  kindName(kind: number): string {
    return this.#kindNames[kind] ?? `kind-${kind}`;
  }

  /**
   * Schedules an event at virtual time `timeMs` (not before now). Returns its handle (its sequence
   * number), for `cancel`.
   */
  at(timeMs: number, kind: number, target: number, datum = 0, payload?: unknown): number {
    if (!(timeMs >= this.#nowMs)) {
      assertNumber(timeMs, 'timeMs');
      throw new RangeError(`event at ${timeMs} ms is before now (${this.#nowMs} ms)`);
    }
    assert(kind >= 0 && kind < this.#handlers.length, `unknown event kind ${kind}`);
    const heap = this.#heap;
    if (heap.length >= this.#queuedMax) {
      throw new SimLimitError(`more than ${this.#queuedMax} events queued`, { limit: this.#queuedMax });
    }
    const entry = this.#pool.pop() ?? {
      timeMs: 0,
      seq: 0,
      kind: 0,
      target: 0,
      datum: 0,
      payload: undefined,
    };
    const seq = this.#seq++;
    entry.timeMs = timeMs;
    entry.seq = seq;
    entry.kind = kind;
    entry.target = target;
    entry.datum = datum;
    entry.payload = payload;
    // Sift up.
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent]!;
      if (above.timeMs < timeMs || (above.timeMs === timeMs && above.seq < entry.seq)) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = entry;
    return seq;
  }

  /** Schedules an event `delayMs` from now; returns its handle. */
  after(delayMs: number, kind: number, target: number, datum = 0, payload?: unknown): number {
    return this.at(this.#nowMs + delayMs, kind, target, datum, payload);
  }

  /**
   * Cancels a pending event by the handle `at` or `after` returned: it never runs, is not counted
   * and leaves no trace (as a cancelled timer). The caller must know the event is still pending: a
   * handle of an event that already ran is remembered uselessly until the next clean-up (when the
   * remembered handles outnumber the pending events, those not pending are forgotten).
   */
  cancel(handle: number): void {
    assertInt(handle, 'handle', 0);
    if (handle >= this.#seq) throw new RangeError(`no event has handle ${handle}`);
    const cancelled = this.#cancelled;
    cancelled.add(handle);
    if (cancelled.size > this.#heap.length) {
      const pending = new Set<number>();
      for (const entry of this.#heap) if (cancelled.has(entry.seq)) pending.add(entry.seq);
      this.#cancelled = pending;
    }
  }

  /** Makes the running `run` return after the current event. */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * Runs events in order until none is left (time stays at the last event), the next is after
   * `untilMs` (time then moves to `untilMs`), the life-time event limit is reached, or `stop` is called.
   */
  run(untilMs = Number.POSITIVE_INFINITY): RunEnd {
    this.#stopped = false;
    const heap = this.#heap;
    const handlers = this.#handlers;
    const trace = this.#trace;
    while (heap.length > 0) {
      const top = heap[0]!;
      // (Read the field each time: a handler's cancel may replace the set.)
      if (this.#cancelled.size > 0 && this.#cancelled.delete(top.seq)) {
        // A cancelled event: gone before it could stop the run at the time limit.
        this.#popTop();
        top.payload = undefined;
        this.#pool.push(top);
        continue;
      }
      if (top.timeMs > untilMs) {
        this.#nowMs = untilMs;
        return 'time-limit';
      }
      if (this.#events >= this.#eventsMax) return 'event-limit';
      this.#popTop();
      this.#nowMs = top.timeMs;
      this.#events++;
      const micros = Math.round(top.timeMs * 1000);
      trace.addWord(micros >>> 0);
      trace.addWord(Math.floor(micros / 0x1_0000_0000));
      trace.addWord((top.kind << 24) ^ top.target);
      trace.addWord(top.datum);
      const { kind, target, datum, payload } = top;
      top.payload = undefined;
      this.#pool.push(top);
      handlers[kind]!(target, datum, payload);
      if (this.#stopped) return 'stopped';
    }
    return 'idle';
  }

  /** Folds a scenario's own observation (e.g. a checker's verdict) into the trace. */
  note(word: number): void {
    this.#trace.addWord(word);
  }

  #popTop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    const size = heap.length;
    if (size === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) break;
      const right = left + 1;
      let child = left;
      let c = heap[left]!;
      if (right < size) {
        const r = heap[right]!;
        if (r.timeMs < c.timeMs || (r.timeMs === c.timeMs && r.seq < c.seq)) {
          child = right;
          c = r;
        }
      }
      if (last.timeMs < c.timeMs || (last.timeMs === c.timeMs && last.seq < c.seq)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
  }
}
