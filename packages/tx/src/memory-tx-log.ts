import { assert, assertInt } from '@trinity/core';
import { TxLogClosedError } from './errors.js';
import { type TxLogRecord, txLogRecordSchema } from './log-record.js';
import type { AppendCallback, TxLogStore } from './tx-log.js';

interface PendingRecord {
  readonly record: TxLogRecord;
  readonly seq: number;
  readonly resolve?: (seq: number) => void;
}

/**
 * A transaction log in memory with the durability of a real one made explicit: `write` queues a
 * record, `sync` makes every queued record durable, and `crash` returns the log a restarted node
 * would find (the durable records plus any prefix of the unsynced ones). With `autoSync` (the
 * default) `append` syncs on the next microtask, like a very fast disk.
 */
export class MemoryTxLog implements TxLogStore {
  readonly #recovered: readonly TxLogRecord[];
  #durable: TxLogRecord[];
  #pending: PendingRecord[] = [];
  #nextSeq = 1;
  #closed = false;
  #syncScheduled = false;
  #bytesSinceCheckpoint = 0;
  readonly #autoSync: boolean;

  constructor(options: { records?: readonly TxLogRecord[]; autoSync?: boolean } = {}) {
    this.#recovered = (options.records ?? []).map(copyRecord);
    this.#durable = [...this.#recovered];
    this.#autoSync = options.autoSync ?? true;
  }

  replay(): readonly TxLogRecord[] {
    return this.#recovered;
  }

  /** Every durable record, oldest first. */
  get durableRecords(): readonly TxLogRecord[] {
    return this.#durable;
  }

  /** Records written and not yet synced. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  get bytesSinceCheckpoint(): number {
    return this.#bytesSinceCheckpoint;
  }

  /** Queues `record` without waiting (the simulator's side of `append`); returns its sequence number. */
  write(record: TxLogRecord): number {
    this.#checkOpen();
    return this.#push(record, undefined);
  }

  append(record: TxLogRecord): Promise<number> {
    if (this.#closed) return Promise.reject(new TxLogClosedError('memory'));
    return new Promise<number>((resolve) => {
      this.#push(record, resolve);
      this.#scheduleSync();
    });
  }

  appendThen(record: TxLogRecord, done: AppendCallback): void {
    this.append(record).then(
      (seq) => done(undefined, seq, record),
      (error: unknown) => done(error, undefined, record),
    );
  }

  /** Makes every queued record durable, resolving their appends; returns how many there were. */
  sync(): number {
    const batch = this.#pending.splice(0);
    for (const pending of batch) this.#durable.push(pending.record);
    for (const pending of batch) pending.resolve?.(pending.seq);
    return batch.length;
  }

  checkpoint(live: readonly TxLogRecord[]): Promise<void> {
    if (this.#closed) return Promise.reject(new TxLogClosedError('memory'));
    this.sync();
    this.#durable = live.map(copyRecord);
    this.#bytesSinceCheckpoint = 0;
    return Promise.resolve();
  }

  /**
   * The log as a node restarted after a crash finds it: the durable records and the first
   * `unsyncedSurvivors` unsynced ones (a disk may keep some of what was written but not synced).
   * This log is closed; its unsynced appends never resolve.
   */
  crash(unsyncedSurvivors = 0): MemoryTxLog {
    assertInt(unsyncedSurvivors, 'unsyncedSurvivors', 0, this.#pending.length);
    const survivors = this.#pending.slice(0, unsyncedSurvivors).map((pending) => pending.record);
    this.#closed = true;
    this.#pending = [];
    return new MemoryTxLog({ records: [...this.#durable, ...survivors], autoSync: this.#autoSync });
  }

  close(): Promise<void> {
    this.sync();
    this.#closed = true;
    return Promise.resolve();
  }

  #push(record: TxLogRecord, resolve: ((seq: number) => void) | undefined): number {
    const copy = copyRecord(record);
    const seq = this.#nextSeq++;
    this.#pending.push(resolve === undefined ? { record: copy, seq } : { record: copy, seq, resolve });
    this.#bytesSinceCheckpoint += JSON.stringify(copy).length + 16;
    return seq;
  }

  #scheduleSync(): void {
    if (!this.#autoSync || this.#syncScheduled) return;
    this.#syncScheduled = true;
    queueMicrotask(() => {
      this.#syncScheduled = false;
      if (!this.#closed) this.sync();
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw new TxLogClosedError('memory');
  }
}

/** A deep copy through JSON, checked against the record schema: what a file round trip would give. */
function copyRecord(record: TxLogRecord): TxLogRecord {
  const result = txLogRecordSchema.safeParse(JSON.parse(JSON.stringify(record)));
  assert(result.success, `invalid tx log record ${JSON.stringify(record).slice(0, 200)}`);
  return result.data;
}
