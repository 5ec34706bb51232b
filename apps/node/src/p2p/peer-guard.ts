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

  /** A request `admit` let through was never sent (given up before it started): frees the probe slot. */
  onAbandoned(peer: string): void {
    const health = this.#peers.get(peer);
    if (health !== undefined) health.probeInFlight = false;
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

/** How a holder waits for a slot. */
export interface AcquireOptions {
  /** Leaves the queue and rejects with the signal's reason when it aborts before a slot is granted. */
  readonly signal?: AbortSignal;
  /** May take the reserved slots too, and is granted before any waiter that may not. */
  readonly priority?: boolean;
}

interface Waiter {
  readonly grant: () => void;
  readonly priority: boolean;
}

/**
 * A counting semaphore with a bounded wait queue. `reserved` of its `limit` slots are kept for
 * priority holders (small control requests), so they never wait behind a full set of bulk ones;
 * priority waiters are granted first, each kind in arrival order.
 */
export class Semaphore {
  readonly #limit: number;
  readonly #waitersMax: number;
  readonly #reserved: number;
  #active = 0;
  readonly #waiters: Waiter[] = [];
  readonly #priorityWaiters: Waiter[] = [];

  constructor(limit: number, waitersMax = 10_000, reserved = 0) {
    assert(limit >= 1, 'semaphore limit must be at least 1');
    assert(reserved >= 0 && reserved < limit, 'a semaphore reserves fewer slots than its limit');
    this.#limit = limit;
    this.#waitersMax = waitersMax;
    this.#reserved = reserved;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.length + this.#priorityWaiters.length;
  }

  /**
   * Resolves when a slot is free; rejects at once when the wait queue is full, and when
   * `options.signal` aborts before a slot was granted (the caller then holds none).
   */
  async acquire(options: AcquireOptions = {}): Promise<void> {
    const priority = options.priority === true;
    const queue = priority ? this.#priorityWaiters : this.#waiters;
    options.signal?.throwIfAborted();
    if (queue.length === 0 && this.#active < this.#slotsFor(priority)) {
      this.#active++;
      return;
    }
    if (this.waiting >= this.#waitersMax) throw new Error('too many requests waiting');
    const { signal } = options;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        queue.splice(queue.indexOf(waiter), 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        priority,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    assert(this.#active > 0, 'semaphore released more than it granted');
    this.#active--;
    for (;;) {
      const queue = this.#priorityWaiters.length > 0 ? this.#priorityWaiters : this.#waiters;
      const next = queue[0];
      if (next === undefined || this.#active >= this.#slotsFor(next.priority)) return;
      this.#active++;
      queue.shift();
      next.grant();
    }
  }

  async run<T>(task: () => Promise<T>, options: AcquireOptions = {}): Promise<T> {
    await this.acquire(options);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  #slotsFor(priority: boolean): number {
    return priority ? this.#limit : this.#limit - this.#reserved;
  }
}

/** One Semaphore per key, created on demand; idle ones are dropped. */
export class KeyedLimiter {
  readonly #limit: number;
  readonly #reserved: number;
  readonly #semaphores = new Map<string, Semaphore>();

  /** `limit` slots per key, `reserved` of them for priority holders (see Semaphore). */
  constructor(limit: number, reserved = 0) {
    this.#limit = limit;
    this.#reserved = reserved;
  }

  async run<T>(key: string, task: () => Promise<T>, options: AcquireOptions = {}): Promise<T> {
    let semaphore = this.#semaphores.get(key);
    if (semaphore === undefined) {
      semaphore = new Semaphore(this.#limit, undefined, this.#reserved);
      this.#semaphores.set(key, semaphore);
    }
    try {
      return await semaphore.run(task, options);
    } finally {
      if (semaphore.active === 0 && semaphore.waiting === 0) this.#semaphores.delete(key);
    }
  }
}
