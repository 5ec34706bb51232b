import { TokenBucket } from '@trinity/storage';

export interface ClientRateLimitOptions {
  readonly requestsPerSecond: number;
  readonly burst: number;
  /** Most clients tracked at once; the least recently seen is forgotten first (it starts full again). */
  readonly clientsMax?: number;
}

/**
 * A token bucket of requests per client address (sans-IO: the caller passes `nowMs`). The table of
 * clients is bounded: a flood of addresses forgets the oldest ones, which only ever gives a client
 * a full bucket back, never takes one away from the others.
 */
export class ClientRateLimiter {
  readonly #options: ClientRateLimitOptions;
  readonly #clientsMax: number;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(options: ClientRateLimitOptions) {
    this.#options = options;
    this.#clientsMax = options.clientsMax ?? 10_000;
  }

  /** 0 when `client` may make a request now (and it is counted), else the milliseconds to wait. */
  take(client: string, nowMs: number): number {
    let bucket = this.#buckets.get(client);
    if (bucket === undefined) {
      bucket = new TokenBucket(
        { ratePerSecond: this.#options.requestsPerSecond, burst: this.#options.burst },
        nowMs,
      );
      if (this.#buckets.size >= this.#clientsMax) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    } else this.#buckets.delete(client);
    // Re-inserted on every request: the map's order is least recently seen first.
    this.#buckets.set(client, bucket);
    const waitMs = bucket.waitMs(1, nowMs);
    if (waitMs > 0) return waitMs;
    bucket.tryTake(1, nowMs);
    return 0;
  }

  get clients(): number {
    return this.#buckets.size;
  }
}

/**
 * The rate-limit key of a remote address: an IPv4 address as is (also when IPv4-mapped, `::ffff:a.b.c.d`),
 * an IPv6 address by its /64 network, the smallest block one host is usually given (else one host
 * would have 2^64 buckets to spend).
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped !== null) return mapped[1]!;
  if (!address.includes(':')) return address;
  const bare = address.replace(/%.*$/, '').toLowerCase();
  const [head = '', tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
