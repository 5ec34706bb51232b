import type { Clock, TimerHandle } from '@trinity/core';

/**
 * Timers for the daemon, always on the Clock component: with core's ManualClock a test moves time
 * and nothing fires on its own.
 */

/** Resolves after `delayMs` of the clock's time. */
export function sleep(clock: Clock, delayMs: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, delayMs));
}

/** An AbortSignal that aborts after `timeoutMs` of the clock's time; `clear()` once the work is done. */
export function timeoutSignal(clock: Clock, timeoutMs: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const handle = clock.setTimeout(
    () => controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError')),
    timeoutMs,
  );
  return { signal: controller.signal, clear: () => clock.clearTimeout(handle) };
}

/** Runs `work` with a signal that aborts after `timeoutMs`; the timer is cleared however it ends. */
export async function withTimeout<T>(
  clock: Clock,
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timeout = timeoutSignal(clock, timeoutMs);
  try {
    return await work(timeout.signal);
  } finally {
    timeout.clear();
  }
}

/**
 * Calls `tick` every `intervalMs` until cancelled. The next tick is scheduled when the previous one
 * has settled, so ticks never overlap and a slow tick delays, never piles up.
 */
export class Repeater {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #tick: () => void | Promise<void>;
  #handle: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(clock: Clock, intervalMs: number, tick: () => void | Promise<void>) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#tick = tick;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  /** The running tick, if one is running. */
  get running(): Promise<void> | undefined {
    return this.#running;
  }

  /** Cancels the next tick and waits for a running one to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#handle = undefined;
    await this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#handle = this.#clock.setTimeout(() => {
      this.#handle = undefined;
      this.#running = (async () => {
        try {
          await this.#tick();
        } catch {
          // a tick reports its own failures; the repeater keeps going
        }
      })().finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
    }, this.#intervalMs);
  }
}
