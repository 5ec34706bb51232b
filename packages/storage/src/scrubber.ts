import {
  type Clock,
  type Counter,
  type Logger,
  type Metrics,
  noopLogger,
  noopMetrics,
  parseConfig,
  type TimerHandle,
} from '@trinity/core';
import { type ScrubberConfig, type ScrubberConfigInput, scrubberConfigSchema } from './config.js';
import { parseShardHash } from './ids.js';
import type { ShardVerification } from './shard-store.js';
import { TokenBucket } from './token-bucket.js';

/** What the scrubber needs from a store (a ShardStore fits; tests may pass a fake). */
export interface ScrubTarget {
  /** Hex hash and size of every shard, as of the call. */
  entries(): [hashHex: string, sizeBytes: number][];
  /** Re-reads and re-hashes one shard, quarantining it when corrupt. */
  verify(hash: Uint8Array): Promise<ShardVerification>;
}

export interface ScrubberDeps {
  clock: Clock;
  logger?: Logger;
  metrics?: Metrics;
  /** Called once for each corrupt shard found (after it was quarantined): feed it to repair. */
  onCorruption?: (hash: Uint8Array) => void;
  /** Called at the end of every round, also of rounds started by `start()`. */
  onReport?: (report: ScrubReport) => void;
}

/** What one round found. */
export interface ScrubReport {
  startedAtMs: number;
  finishedAtMs: number;
  shardsChecked: number;
  bytesChecked: number;
  /** Hex hashes of corrupt shards (at most `maxReportedCorruptions`; `corruptCount` has them all). */
  corrupt: string[];
  corruptCount: number;
  /** Shards that vanished between listing and checking (deleted meanwhile). */
  missing: number;
  /** True when stop() cut the round short. */
  aborted: boolean;
}

interface ScrubMetrics {
  rounds: Counter;
  corruptions: Counter;
  bytes: Counter;
}

/**
 * Walks the store at a bounded byte rate, re-hashing every shard, and reports corrupt ones. The
 * rate is a token bucket read against the injected Clock, so a ManualClock drives it in tests.
 */
export class Scrubber {
  readonly config: ScrubberConfig;
  readonly #store: ScrubTarget;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: ScrubMetrics;
  readonly #onCorruption: ((hash: Uint8Array) => void) | undefined;
  readonly #onReport: ((report: ScrubReport) => void) | undefined;
  readonly #bucket: TokenBucket;
  #round: Promise<ScrubReport> | undefined;
  #timer: TimerHandle | undefined;
  #wake: (() => void) | undefined;
  #sleepTimer: TimerHandle | undefined;
  #running = false;
  #stopping = false;

  constructor(store: ScrubTarget, config: ScrubberConfigInput | undefined, deps: ScrubberDeps) {
    this.config = parseConfig(scrubberConfigSchema, config ?? {}, 'scrubber config');
    this.#store = store;
    this.#clock = deps.clock;
    this.#logger = (deps.logger ?? noopLogger).child({ component: 'scrubber' });
    const metrics = deps.metrics ?? noopMetrics;
    this.#metrics = {
      rounds: metrics.counter({ name: 'trinity_scrub_rounds_total', help: 'Scrub rounds completed' }),
      corruptions: metrics.counter({
        name: 'trinity_scrub_corruptions_total',
        help: 'Corrupt shards found by scrubbing',
      }),
      bytes: metrics.counter({ name: 'trinity_scrub_bytes_total', help: 'Bytes re-hashed by scrubbing' }),
    };
    this.#onCorruption = deps.onCorruption;
    this.#onReport = deps.onReport;
    this.#bucket = new TokenBucket(
      { ratePerSecond: this.config.bytesPerSecond, burst: this.config.burstBytes },
      this.#clock.nowMs(),
    );
  }

  get running(): boolean {
    return this.#running;
  }

  /** Starts scrubbing: a round now, then one `intervalMs` after each round ends, until stop(). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = false;
    this.#schedule(0);
  }

  /** Stops: no new round, the current one ends after the shard in hand. Resolves when it has. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopping = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#sleepTimer !== undefined) this.#clock.clearTimeout(this.#sleepTimer);
    this.#sleepTimer = undefined;
    this.#wake?.();
    await this.#round?.catch(() => {});
  }

  /** One full round (or joins the one under way). */
  runOnce(): Promise<ScrubReport> {
    if (this.#round === undefined) {
      this.#stopping = false;
      this.#round = this.#scrub().finally(() => {
        this.#round = undefined;
      });
    }
    return this.#round;
  }

  #schedule(delayMs: number): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (!this.#running) return;
      this.runOnce()
        .catch((error: unknown) => this.#logger.error({ error: String(error) }, 'scrub round failed'))
        .finally(() => {
          if (this.#running) this.#schedule(this.config.intervalMs);
        });
    }, delayMs);
  }

  async #scrub(): Promise<ScrubReport> {
    const report: ScrubReport = {
      startedAtMs: this.#clock.nowMs(),
      finishedAtMs: 0,
      shardsChecked: 0,
      bytesChecked: 0,
      corrupt: [],
      corruptCount: 0,
      missing: 0,
      aborted: false,
    };
    for (const [hashHex, sizeBytes] of this.#store.entries()) {
      if (!(await this.#throttle(sizeBytes))) {
        report.aborted = true;
        break;
      }
      await this.#check(hashHex, sizeBytes, report);
    }
    report.finishedAtMs = this.#clock.nowMs();
    if (!report.aborted) this.#metrics.rounds.inc();
    this.#logger.info(
      {
        shards: report.shardsChecked,
        bytes: report.bytesChecked,
        corrupt: report.corruptCount,
        aborted: report.aborted,
      },
      'scrub round finished',
    );
    this.#onReport?.(report);
    return report;
  }

  async #check(hashHex: string, sizeBytes: number, report: ScrubReport): Promise<void> {
    const hash = parseShardHash(hashHex);
    const outcome = await this.#store.verify(hash);
    report.shardsChecked++;
    report.bytesChecked += sizeBytes;
    this.#metrics.bytes.inc(sizeBytes);
    if (outcome === 'missing') report.missing++;
    if (outcome !== 'corrupt') return;
    report.corruptCount++;
    if (report.corrupt.length < this.config.maxReportedCorruptions) report.corrupt.push(hashHex);
    this.#metrics.corruptions.inc();
    this.#logger.warn({ hash: hashHex }, 'scrub found a corrupt shard');
    try {
      this.#onCorruption?.(hash);
    } catch (error) {
      this.#logger.error({ hash: hashHex, error: String(error) }, 'onCorruption handler threw');
    }
  }

  /** Waits until the bucket lets `sizeBytes` through and takes them; false if stopped meanwhile. */
  async #throttle(sizeBytes: number): Promise<boolean> {
    for (;;) {
      if (this.#stopping) return false;
      const waitMs = this.#bucket.waitMs(sizeBytes, this.#clock.nowMs());
      if (waitMs === 0) {
        this.#bucket.tryTake(sizeBytes, this.#clock.nowMs());
        return true;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#sleepTimer = this.#clock.setTimeout(resolve, waitMs);
      });
      this.#wake = undefined;
      this.#sleepTimer = undefined;
    }
  }
}
