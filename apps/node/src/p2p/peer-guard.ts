import { assert } from '@trinity/core';
import { RequestNotSentError } from '../errors.js';
import { waitInLine } from './wait-queue.js';

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
  tripsInRow: number;
  /**
   * How many times the breaker opened, a success between them or not: what admissions carry. Kept
   * through a success (which only ends the row), so a failure of a request admitted before the last
   * trip is still known as already counted once the probe closed the breaker again.
   */
  trips: number;
  openUntilMs: number;
  /** The admission of the half-open breaker's one probe in flight, if any. */
  probe: Admission | undefined;
}

/** What `admit` decided for one request. */
export interface Admission {
  /** 0 when the request may go now, else the milliseconds until one may. */
  readonly waitMs: number;
  /** The request is the half-open breaker's one probe: only it may give the probe back. */
  readonly probe: boolean;
  /** The peer's trips (ever) when it was admitted: a failure after a later trip is already counted. */
  readonly trips: number;
}

const admitted: Admission = { waitMs: 0, probe: false, trips: 0 };

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

  /** Whether a request to `peer` may go now; a half-open breaker's first one is its probe. */
  admit(peer: string, nowMs: number): Admission {
    const health = this.#peers.get(peer);
    if (health === undefined) return admitted;
    const { trips } = health;
    if (health.consecutiveFailures < this.#options.failureThreshold)
      return { waitMs: 0, probe: false, trips };
    if (nowMs < health.openUntilMs) return { waitMs: health.openUntilMs - nowMs, probe: false, trips };
    if (health.probe !== undefined)
      return { waitMs: Math.max(1, this.#options.baseBackoffMs), probe: false, trips };
    health.probe = { waitMs: 0, probe: true, trips };
    return health.probe;
  }

  state(peer: string, nowMs: number): BreakerState {
    const health = this.#peers.get(peer);
    if (health === undefined || health.consecutiveFailures < this.#options.failureThreshold) return 'closed';
    return nowMs < health.openUntilMs ? 'open' : 'half-open';
  }

  /**
   * A request `admit` let through gave no verdict on the peer (it was never sent): when it was the
   * probe in flight, another may go. Any other request's admission leaves the probe where it is.
   */
  onAbandoned(peer: string, admission: Admission): void {
    const health = this.#peers.get(peer);
    if (health !== undefined && health.probe === admission) health.probe = undefined;
  }

  /** The peer answered: the breaker closes. A peer that never tripped is forgotten; one that did keeps its trips. */
  onSuccess(peer: string): void {
    const health = this.#peers.get(peer);
    if (health === undefined) return;
    if (health.trips === 0) this.#peers.delete(peer);
    else Object.assign(health, { consecutiveFailures: 0, tripsInRow: 0, openUntilMs: 0, probe: undefined });
  }

  /**
   * The request `admission` let through failed. One admitted before the breaker last opened (it was
   * in flight, or waiting for a slot, through the trip) says nothing new: the trip counted its kind.
   */
  onFailure(peer: string, nowMs: number, admission?: Admission): void {
    if (admission !== undefined && admission.trips < (this.#peers.get(peer)?.trips ?? 0)) return;
    const health = this.#touch(peer);
    health.consecutiveFailures++;
    health.probe = undefined;
    // Requests already in flight when the breaker opened fail too: they must not stretch the back-off.
    if (health.consecutiveFailures >= this.#options.failureThreshold && nowMs >= health.openUntilMs) {
      const backoffMs = Math.min(
        this.#options.maxBackoffMs,
        this.#options.baseBackoffMs * 2 ** Math.min(health.tripsInRow, 20),
      );
      health.tripsInRow++;
      health.trips++;
      health.openUntilMs = nowMs + backoffMs;
    }
  }

  #touch(peer: string): PeerHealth {
    let health = this.#peers.get(peer);
    if (health !== undefined) {
      this.#peers.delete(peer); // re-insert: Map order is our recency order
    } else {
      health = { consecutiveFailures: 0, tripsInRow: 0, trips: 0, openUntilMs: 0, probe: undefined };
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

/** The holder's wait queue was full: it was refused at once, holding nothing. */
export class WaitQueueFullError extends RequestNotSentError {
  constructor(waitersMax: number) {
    super('WAIT_QUEUE_FULL', `too many requests waiting (${waitersMax})`, 503);
  }
}

/**
 * A counting semaphore with a bounded wait queue, for two kinds of holders. Bulk holders (the
 * default) take at most `limit - reserved` slots, so `reserved` are always there for priority
 * holders (small control requests), which may take any free slot and are granted first. So that
 * priority holders cannot starve bulk ones either, while a bulk holder waits, priority holders are
 * granted only while fewer than `reserved` of them (one when none are reserved, none with a single
 * slot) hold a slot: those above that drain as they end, and the slots they free go to the bulk
 * waiters. Each kind waits in arrival order.
 */
export class Semaphore {
  readonly #limit: number;
  readonly #waitersMax: number;
  readonly #reserved: number;
  /** Priority holders let in while a bulk holder waits. */
  readonly #priorityShare: number;
  #active = 0;
  /** Of `#active`, the priority holders. */
  #priorityActive = 0;
  readonly #waiters: Waiter[] = [];
  readonly #priorityWaiters: Waiter[] = [];

  constructor(limit: number, waitersMax = 10_000, reserved = 0) {
    assert(limit >= 1, 'semaphore limit must be at least 1');
    assert(reserved >= 0 && reserved < limit, 'a semaphore reserves fewer slots than its limit');
    this.#limit = limit;
    this.#waitersMax = waitersMax;
    this.#reserved = reserved;
    // Without reserved slots, priority holders still get one slot while bulk ones wait (all but a
    // single-slot semaphore, where a waiting bulk holder goes first).
    this.#priorityShare = reserved > 0 ? reserved : Math.min(1, limit - 1);
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.length + this.#priorityWaiters.length;
  }

  /**
   * Resolves when a slot is free; rejects at once when the wait queue is full (WaitQueueFullError),
   * and when `options.signal` aborts before a slot was granted (the caller then holds none). The
   * holder gives it back with `release` of the same `priority`.
   */
  async acquire(options: AcquireOptions = {}): Promise<void> {
    const priority = options.priority === true;
    const queue = priority ? this.#priorityWaiters : this.#waiters;
    options.signal?.throwIfAborted();
    if (queue.length === 0 && this.#mayGrant(priority)) {
      this.#take(priority);
      return;
    }
    if (this.waiting >= this.#waitersMax) throw new WaitQueueFullError(this.#waitersMax);
    // A bulk waiter gone may let priority ones in.
    await waitInLine(
      queue,
      (grant) => ({ priority, grant }),
      options.signal,
      () => this.#drain(),
    );
  }

  release(priority = false): void {
    assert(this.#active > 0, 'semaphore released more than it granted');
    assert(!priority || this.#priorityActive > 0, 'priority slot released more than granted');
    this.#active--;
    if (priority) this.#priorityActive--;
    this.#drain();
  }

  /**
   * Runs `task` holding a slot. A signal that aborts after the slot was granted but before the task
   * began (between the grant and this continuation) gives the slot back: the task never starts.
   */
  async run<T>(task: () => Promise<T>, options: AcquireOptions = {}): Promise<T> {
    await this.acquire(options);
    try {
      options.signal?.throwIfAborted();
      return await task();
    } finally {
      this.release(options.priority === true);
    }
  }

  /** Grants waiters, priority ones first, while their slots are free. */
  #drain(): void {
    for (;;) {
      const priority = this.#priorityWaiters.length > 0 && this.#mayGrant(true);
      const queue = priority ? this.#priorityWaiters : this.#waiters;
      const next = queue[0];
      if (next === undefined || !this.#mayGrant(priority)) return;
      queue.shift();
      this.#take(priority);
      next.grant();
    }
  }

  #mayGrant(priority: boolean): boolean {
    if (this.#active >= this.#limit) return false;
    if (priority) return this.#waiters.length === 0 || this.#priorityActive < this.#priorityShare;
    return this.#active - this.#priorityActive < this.#limit - this.#reserved;
  }

  #take(priority: boolean): void {
    this.#active++;
    if (priority) this.#priorityActive++;
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
