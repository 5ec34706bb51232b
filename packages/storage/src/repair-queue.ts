import { assert, assertNumber, parseConfig } from '@trinity/core';
import { type RepairQueueConfig, type RepairQueueConfigInput, repairQueueConfigSchema } from './config.js';
import { compareEndangerment, type RepairTask } from './repair-planner.js';
import { TokenBucket } from './token-bucket.js';

interface Entry {
  task: RepairTask;
  attempts: number;
}

export interface RepairQueueStats {
  queued: number;
  running: number;
  completed: number;
  /** Tasks that failed `maxAttempts` times and were dropped. */
  givenUp: number;
  /** Tasks dropped because the queue was full (the least endangered go first). */
  dropped: number;
  bytesStarted: number;
}

export interface EnqueueResult {
  accepted: number;
  /** Ids of tasks already being repaired, left alone. */
  skipped: string[];
  /** Ids pushed out because the queue was full. */
  dropped: string[];
}

/**
 * Orders repair tasks most endangered first and hands them out within `bytesPerSecond` (a token
 * bucket over each task's bytes) and `maxConcurrentStripes`. Sans-IO: time comes in as `nowMs`;
 * the adapter calls next() until it returns undefined, then again on complete() or after nextReadyMs().
 */
export class RepairQueue {
  readonly config: RepairQueueConfig;
  readonly #bucket: TokenBucket;
  readonly #queued: Entry[] = [];
  readonly #byId = new Map<string, Entry>();
  readonly #running = new Map<string, Entry>();
  #completed = 0;
  #givenUp = 0;
  #dropped = 0;
  #bytesStarted = 0;

  constructor(config: RepairQueueConfigInput | undefined, nowMs: number) {
    this.config = parseConfig(repairQueueConfigSchema, config ?? {}, 'repair queue config');
    this.#bucket = new TokenBucket(
      { ratePerSecond: this.config.bytesPerSecond, burst: this.config.burstBytes },
      nowMs,
    );
  }

  /** Adds tasks; a queued task with the same id is replaced by the newer plan's. */
  enqueue(tasks: readonly RepairTask[]): EnqueueResult {
    const result: EnqueueResult = { accepted: 0, skipped: [], dropped: [] };
    for (const task of tasks) {
      assert(typeof task?.id === 'string' && Number.isSafeInteger(task.bytes), 'enqueue: not a repair task');
      if (this.#running.has(task.id)) {
        result.skipped.push(task.id);
        continue;
      }
      const previous = this.#byId.get(task.id);
      if (previous !== undefined) this.#remove(previous);
      this.#insert({ task, attempts: previous?.attempts ?? 0 });
      result.accepted++;
    }
    while (this.#queued.length > this.config.maxQueuedTasks) {
      const last = this.#queued.pop()!;
      this.#byId.delete(last.task.id);
      this.#dropped++;
      result.dropped.push(last.task.id);
    }
    return result;
  }

  /** The most endangered task if the concurrency and byte-rate limits let it start now; it is then running. */
  next(nowMs: number): RepairTask | undefined {
    assertNumber(nowMs, 'nowMs');
    if (this.#running.size >= this.config.maxConcurrentStripes) return undefined;
    const head = this.#queued[0];
    if (head === undefined || !this.#bucket.tryTake(head.task.bytes, nowMs)) return undefined;
    this.#queued.shift();
    this.#byId.delete(head.task.id);
    this.#running.set(head.task.id, head);
    this.#bytesStarted += head.task.bytes;
    return head.task;
  }

  /**
   * Milliseconds until next() may return a task: 0 now, a wait for the byte rate, or undefined when
   * the queue is empty or all slots are busy (call next() again after complete()/fail()).
   */
  nextReadyMs(nowMs: number): number | undefined {
    const head = this.#queued[0];
    if (head === undefined || this.#running.size >= this.config.maxConcurrentStripes) return undefined;
    return this.#bucket.waitMs(head.task.bytes, nowMs);
  }

  /** Marks a running task done. */
  complete(taskId: string, nowMs: number): void {
    assertNumber(nowMs, 'nowMs');
    assert(this.#running.delete(taskId), `complete: task ${taskId} is not running`);
    this.#completed++;
  }

  /** Marks a running task failed: it is queued again unless it used up `maxAttempts`. */
  fail(taskId: string, nowMs: number): 'retry' | 'given-up' {
    assertNumber(nowMs, 'nowMs');
    const entry = this.#running.get(taskId);
    assert(entry !== undefined, `fail: task ${taskId} is not running`);
    this.#running.delete(taskId);
    entry.attempts++;
    if (entry.attempts >= this.config.maxAttempts) {
      this.#givenUp++;
      return 'given-up';
    }
    this.#insert(entry);
    return 'retry';
  }

  /** Queued task ids in the order they will be handed out. */
  queuedIds(): string[] {
    return this.#queued.map((entry) => entry.task.id);
  }

  runningIds(): string[] {
    return [...this.#running.keys()];
  }

  stats(): RepairQueueStats {
    return {
      queued: this.#queued.length,
      running: this.#running.size,
      completed: this.#completed,
      givenUp: this.#givenUp,
      dropped: this.#dropped,
      bytesStarted: this.#bytesStarted,
    };
  }

  #insert(entry: Entry): void {
    // After the last entry that is at least as endangered: equal tasks keep arrival order.
    let low = 0;
    let high = this.#queued.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareEndangerment(this.#queued[mid]!.task, entry.task) <= 0) low = mid + 1;
      else high = mid;
    }
    this.#queued.splice(low, 0, entry);
    this.#byId.set(entry.task.id, entry);
  }

  #remove(entry: Entry): void {
    const index = this.#queued.indexOf(entry);
    assert(index >= 0, 'queued entry not found');
    this.#queued.splice(index, 1);
    this.#byId.delete(entry.task.id);
  }
}
