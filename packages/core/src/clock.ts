import { assert, assertNumber } from './assert.js';

/** An opaque handle returned by `Clock.setTimeout`. */
export type TimerHandle = { readonly __timer: unique symbol } | number | object;

/**
 * Time as Trinity sees it: milliseconds since the Unix epoch, plus one-shot timers. State machines
 * never read a clock: adapters read one and pass `nowMs` in, so a simulator can swap in ManualClock.
 */
export interface Clock {
  nowMs(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: wall time from Date.now(), timers from the host. Timers never keep the process alive. */
export class SystemClock implements Clock {
  nowMs(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    assertNumber(delayMs, 'delayMs', 0);
    const handle = globalThis.setTimeout(callback, delayMs);
    (handle as { unref?: () => void }).unref?.();
    return handle as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]);
  }
}

interface ManualTimer {
  readonly id: number;
  readonly dueMs: number;
  readonly callback: () => void;
}

/**
 * Virtual time for tests and simulation. Time moves only when `advance` or `set` is called; timers
 * due by then fire in due-time order (ties in creation order), each seeing `nowMs()` equal to its due time.
 */
export class ManualClock implements Clock {
  static readonly timersMax = 1_000_000;
  #nowMs: number;
  #nextId = 1;
  #timers: ManualTimer[] = [];

  constructor(startMs = 0) {
    assertNumber(startMs, 'startMs');
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    assertNumber(delayMs, 'delayMs', 0);
    assert(this.#timers.length < ManualClock.timersMax, 'ManualClock: too many pending timers');
    const timer = { id: this.#nextId++, dueMs: this.#nowMs + delayMs, callback };
    // Keep the list sorted by (dueMs, id): insertion after the last timer due at or before this one.
    let index = this.#timers.length;
    while (index > 0 && this.#timers[index - 1]!.dueMs > timer.dueMs) index--;
    this.#timers.splice(index, 0, timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    const index = this.#timers.findIndex((timer) => timer.id === handle);
    if (index >= 0) this.#timers.splice(index, 1);
  }

  /** Moves time forward by `deltaMs`, firing every timer that falls due on the way. */
  advance(deltaMs: number): void {
    assertNumber(deltaMs, 'deltaMs', 0);
    this.set(this.#nowMs + deltaMs);
  }

  /** Moves time to `targetMs` (never backwards), firing due timers in order. */
  set(targetMs: number): void {
    assertNumber(targetMs, 'targetMs', this.#nowMs);
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.dueMs > targetMs) break;
      this.#timers.shift();
      this.#nowMs = next.dueMs;
      next.callback();
    }
    this.#nowMs = targetMs;
  }

  /** Fires timers until none is left (or `maxTimers` fired), jumping time to each; returns how many fired. */
  runAll(maxTimers = 100_000): number {
    let fired = 0;
    while (fired < maxTimers) {
      const next = this.#timers.shift();
      if (next === undefined) break;
      this.#nowMs = next.dueMs;
      next.callback();
      fired++;
    }
    return fired;
  }
}
