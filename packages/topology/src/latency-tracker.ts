import { assertNumber, describe, parseConfig } from '@trinity/core';
import {
  type LatencyTrackerConfig,
  type LatencyTrackerConfigInput,
  latencyTrackerConfigSchema,
} from './config.js';

/** What the tracker knows about one peer. */
export interface PeerLatency {
  /** Exponential moving average of the RTT. */
  readonly emaMs: number;
  /** Smoothed mean deviation (RFC 6298's RTTVAR, gain 1/4). */
  readonly deviationMs: number;
  /** The smallest RTT seen: the best estimate of the propagation delay. */
  readonly minMs: number;
  readonly samples: number;
  readonly lastObservedMs: number;
}

interface Entry {
  emaMs: number;
  deviationMs: number;
  minMs: number;
  samples: number;
  lastObservedMs: number;
}

const peerIdMaxLength = 256;

export interface LatencyTrackerOptions {
  /**
   * Called with each peer whose entry leaves the tracker (`prune`, `forget`, or eviction beyond
   * `maxPeers`), after it left: a `RegionRouter` re-scores the node so its index stays exact.
   */
  readonly onDrop?: (peerId: string) => void;
}

/**
 * Per-peer EMA of round-trip times fed by real pings. Sans-IO: the caller measures and passes the
 * time of the measurement. Bounded: beyond `maxPeers` the least recently observed peer is dropped.
 */
export class LatencyTracker {
  readonly config: LatencyTrackerConfig;
  // Map order is observation order: the first key is the least recently observed peer.
  readonly #peers = new Map<string, Entry>();
  readonly #onDrop: ((peerId: string) => void) | undefined;

  constructor(config: LatencyTrackerConfigInput = {}, options: LatencyTrackerOptions = {}) {
    this.config = parseConfig(latencyTrackerConfigSchema, config, 'latency tracker config');
    this.#onDrop = options.onDrop;
  }

  get size(): number {
    return this.#peers.size;
  }

  /**
   * Records one RTT sample. The first sample sets the average; later ones move it by `alpha`.
   * Returns the new average, or undefined when the sample was rejected (negative, not finite,
   * above `maxRttMs`, or older than the peer's last sample).
   */
  observe(peerId: string, rttMs: number, nowMs: number): number | undefined {
    assertPeerId(peerId);
    assertNumber(nowMs, 'nowMs');
    if (typeof rttMs !== 'number' || !(rttMs >= 0) || rttMs > this.config.maxRttMs) return undefined;
    const entry = this.#peers.get(peerId);
    if (entry === undefined) {
      this.#evictIfFull();
      const fresh = { emaMs: rttMs, deviationMs: rttMs / 2, minMs: rttMs, samples: 1, lastObservedMs: nowMs };
      this.#peers.set(peerId, fresh);
      return rttMs;
    }
    if (nowMs < entry.lastObservedMs) return undefined;
    const alpha = this.config.alpha;
    entry.deviationMs += 0.25 * (Math.abs(rttMs - entry.emaMs) - entry.deviationMs);
    entry.emaMs += alpha * (rttMs - entry.emaMs);
    entry.minMs = Math.min(entry.minMs, rttMs);
    entry.samples = Math.min(entry.samples + 1, Number.MAX_SAFE_INTEGER);
    entry.lastObservedMs = nowMs;
    this.#peers.delete(peerId);
    this.#peers.set(peerId, entry);
    return entry.emaMs;
  }

  /** The EMA RTT of a peer, or undefined if never observed, forgotten, or stale at `nowMs` (when given). */
  latencyMs(peerId: string, nowMs?: number): number | undefined {
    return this.stats(peerId, nowMs)?.emaMs;
  }

  /** Everything known about a peer (a copy), or undefined as for `latencyMs`. */
  stats(peerId: string, nowMs?: number): PeerLatency | undefined {
    const entry = this.#peers.get(peerId);
    if (entry === undefined) return undefined;
    if (nowMs !== undefined && this.#isStale(entry, nowMs)) return undefined;
    return { ...entry };
  }

  forget(peerId: string): boolean {
    if (!this.#peers.delete(peerId)) return false;
    this.#onDrop?.(peerId);
    return true;
  }

  /**
   * Drops every peer not observed within `staleAfterMs` of `nowMs`; returns how many. O(peers): the
   * map is in call order, which is not time order when samples of different peers arrive out of order.
   */
  prune(nowMs: number): number {
    assertNumber(nowMs, 'nowMs');
    let dropped = 0;
    for (const [peerId, entry] of this.#peers) {
      if (!this.#isStale(entry, nowMs)) continue;
      this.#peers.delete(peerId);
      this.#onDrop?.(peerId);
      dropped++;
    }
    return dropped;
  }

  /** EMA RTTs of every fresh peer, for `detectRegion`. */
  snapshot(nowMs?: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [peerId, entry] of this.#peers) {
      if (nowMs === undefined || !this.#isStale(entry, nowMs)) out.set(peerId, entry.emaMs);
    }
    return out;
  }

  #isStale(entry: Entry, nowMs: number): boolean {
    const staleAfterMs = this.config.staleAfterMs;
    return staleAfterMs > 0 && nowMs - entry.lastObservedMs > staleAfterMs;
  }

  #evictIfFull(): void {
    if (this.#peers.size < this.config.maxPeers) return;
    const oldest = this.#peers.keys().next();
    if (oldest.done !== true) this.forget(oldest.value);
  }
}

/** Throws TypeError/RangeError unless `peerId` is a non-empty string of at most 256 characters. */
export function assertPeerId(peerId: unknown, name = 'peerId'): asserts peerId is string {
  if (typeof peerId !== 'string') throw new TypeError(`${name} must be a string, got ${typeof peerId}`);
  if (peerId.length === 0 || peerId.length > peerIdMaxLength) {
    throw new RangeError(`${name} must be 1-${peerIdMaxLength} characters, got ${peerId.length}`);
  }
}

/** Throws TypeError unless `ids` is undefined or a Set: an array has no `has`, a string iterates by character. */
export function assertIdSet(ids: unknown, name: string): asserts ids is ReadonlySet<string> | undefined {
  if (ids !== undefined && typeof (ids as { has?: unknown } | null)?.has !== 'function')
    throw new TypeError(`${name} must be a Set of node ids, got ${describe(ids)}`);
}
