import { assert } from '@trinity/core';

export interface BreakerOptions {
  readonly failureThreshold: number;
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Most peers tracked; the least recently touched is forgotten beyond this. */
  readonly peersMax?: number;
}

interface PeerHealth {
  consecutiveFailures: number;
  /** How many times in a row the breaker opened: the back-off doubles with each. */
  trips: number;
  openUntilMs: number;
  probeInFlight: boolean;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * Per-peer circuit breaker (sans-IO: time comes in as `nowMs`). After `failureThreshold` failures in a
 * row a peer is skipped for a back-off that doubles on every trip (capped); when it ends, one probe
 * request is let through: success closes the breaker, failure opens it again for longer.
 */
export class CircuitBreaker {
  readonly #options: Required<BreakerOptions>;
  readonly #peers = new Map<string, PeerHealth>();

  constructor(options: BreakerOptions) {
    this.#options = { peersMax: 10_000, ...options };
  }

  /** 0 when a request to `peer` may go now, else the milliseconds until it may. Claims the probe slot. */
  admit(peer: string, nowMs: number): number {
    const health = this.#peers.get(peer);
    if (health === undefined || health.consecutiveFailures < this.#options.failureThreshold) return 0;
    if (nowMs < health.openUntilMs) return health.openUntilMs - nowMs;
    if (health.probeInFlight) return Math.max(1, this.#options.baseBackoffMs);
    health.probeInFlight = true;
    return 0;
  }

  state(peer: string, nowMs: number): BreakerState {
    const health = this.#peers.get(peer);
    if (health === undefined || health.consecutiveFailures < this.#options.failureThreshold) return 'closed';
    return nowMs < health.openUntilMs ? 'open' : 'half-open';
  }

  onSuccess(peer: string): void {
    this.#peers.delete(peer);
  }

  onFailure(peer: string, nowMs: number): void {
    const health = this.#touch(peer);
    health.consecutiveFailures++;
    health.probeInFlight = false;
    // Requests already in flight when the breaker opened fail too: they must not stretch the back-off.
    if (health.consecutiveFailures >= this.#options.failureThreshold && nowMs >= health.openUntilMs) {
      const backoffMs = Math.min(
        this.#options.maxBackoffMs,
        this.#options.baseBackoffMs * 2 ** Math.min(health.trips, 20),
      );
      health.trips++;
      health.openUntilMs = nowMs + backoffMs;
    }
  }

  #touch(peer: string): PeerHealth {
    let health = this.#peers.get(peer);
    if (health !== undefined) {
      this.#peers.delete(peer); // re-insert: Map order is our recency order
    } else {
      health = { consecutiveFailures: 0, trips: 0, openUntilMs: 0, probeInFlight: false };
      if (this.#peers.size >= this.#options.peersMax) {
        const oldest = this.#peers.keys().next().value;
        if (oldest !== undefined) this.#peers.delete(oldest);
      }
    }
    this.#peers.set(peer, health);
    return health;
  }
}

/** A counting semaphore with a bounded wait queue. */
export class Semaphore {
  readonly #limit: number;
  readonly #waitersMax: number;
  #active = 0;
  readonly #waiters: (() => void)[] = [];

  constructor(limit: number, waitersMax = 10_000) {
    assert(limit >= 1, 'semaphore limit must be at least 1');
    this.#limit = limit;
    this.#waitersMax = waitersMax;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves when a slot is free; rejects at once when the wait queue is full. */
  async acquire(): Promise<void> {
    if (this.#active < this.#limit) {
      this.#active++;
      return;
    }
    if (this.#waiters.length >= this.#waitersMax) throw new Error('too many requests waiting');
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next();
    else this.#active--;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }
}

/** One Semaphore per key, created on demand; idle ones are dropped. */
export class KeyedLimiter {
  readonly #limit: number;
  readonly #semaphores = new Map<string, Semaphore>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let semaphore = this.#semaphores.get(key);
    if (semaphore === undefined) {
      semaphore = new Semaphore(this.#limit);
      this.#semaphores.set(key, semaphore);
    }
    try {
      return await semaphore.run(task);
    } finally {
      if (semaphore.active === 0 && semaphore.waiting === 0) this.#semaphores.delete(key);
    }
  }
}
