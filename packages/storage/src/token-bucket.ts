import { assertNumber } from '@trinity/core';

/**
 * A token bucket driven by the caller's clock (sans-IO): it refills at `ratePerSecond` up to
 * `burst`. An amount larger than the burst may start once the bucket is full and leaves it in
 * debt, so big items are never starved and the long-run rate still holds.
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  #tokens: number;
  #lastMs: number;

  constructor(options: { ratePerSecond: number; burst: number }, nowMs: number) {
    assertNumber(options.ratePerSecond, 'ratePerSecond', Number.MIN_VALUE);
    assertNumber(options.burst, 'burst', Number.MIN_VALUE);
    assertNumber(nowMs, 'nowMs');
    this.ratePerSecond = options.ratePerSecond;
    this.burst = options.burst;
    this.#tokens = options.burst;
    this.#lastMs = nowMs;
  }

  /** Tokens available at `nowMs` (negative while in debt). */
  available(nowMs: number): number {
    this.#refill(nowMs);
    return this.#tokens;
  }

  /** Milliseconds from `nowMs` until `amount` could start (0 when it can start now). */
  waitMs(amount: number, nowMs: number): number {
    assertNumber(amount, 'amount', 0);
    this.#refill(nowMs);
    const needed = Math.min(amount, this.burst) - this.#tokens;
    // A millionth of a token of floating-point dust must not cost another wait.
    return needed <= 1e-6 ? 0 : Math.ceil((needed * 1000) / this.ratePerSecond);
  }

  /** Takes `amount` if it can start now; false (and nothing taken) otherwise. */
  tryTake(amount: number, nowMs: number): boolean {
    if (this.waitMs(amount, nowMs) > 0) return false;
    this.#tokens -= amount;
    return true;
  }

  #refill(nowMs: number): void {
    assertNumber(nowMs, 'nowMs');
    // A clock that steps backwards refills nothing rather than draining the bucket.
    if (nowMs <= this.#lastMs) return;
    this.#tokens = Math.min(this.burst, this.#tokens + ((nowMs - this.#lastMs) * this.ratePerSecond) / 1000);
    this.#lastMs = nowMs;
  }
}
