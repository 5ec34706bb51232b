/**
 * Deliberately broken 2PC parts, kept in the test folder: the simulator must catch each within 100
 * seeds. Each wraps the real state machine and flips one rule.
 */
import {
  Coordinator,
  type CoordinatorInit,
  type CoordinatorMessage,
  Participant,
  type ParticipantInit,
  type TxLogRecord,
} from '@trinity/tx';
import type { CoordinatorLike, ParticipantLike } from '../../src/index.js';

/** A coordinator that counts an abort vote as a commit: it commits when a participant voted no. */
export class AbortBlindCoordinator implements CoordinatorLike {
  readonly #inner: Coordinator;

  constructor(init: CoordinatorInit) {
    this.#inner = new Coordinator(init);
  }

  get activeCount(): number {
    return this.#inner.activeCount;
  }

  handle(message: CoordinatorMessage, nowMs: number) {
    // The planted bug: "abort" read as "commit".
    const flipped =
      message.type === 'vote' && message.vote === 'abort' ? { ...message, vote: 'commit' as const } : message;
    return this.#inner.handle(flipped, nowMs);
  }

  beginTransaction(nowMs: number, txId?: string) {
    return this.#inner.beginTransaction(nowMs, txId);
  }
  addParticipant(txId: string, shardHash: string, node: string, ref?: string) {
    this.#inner.addParticipant(txId, shardHash, node, ref);
  }
  prepare(txId: string, nowMs: number) {
    return this.#inner.prepare(txId, nowMs);
  }
  logged(record: TxLogRecord, nowMs: number) {
    return this.#inner.logged(record, nowMs);
  }
  tick(nowMs: number) {
    return this.#inner.tick(nowMs);
  }
  nextWakeMs() {
    return this.#inner.nextWakeMs();
  }
  recover(records: readonly TxLogRecord[], nowMs: number) {
    return this.#inner.recover(records, nowMs);
  }
  transactionIds() {
    return this.#inner.transactionIds();
  }
  liveRecords() {
    return this.#inner.liveRecords();
  }
}

/** A participant that forgets what it prepared when it restarts (it ignores its prepared records). */
export class ForgetfulParticipant implements ParticipantLike {
  readonly #inner: Participant;

  constructor(init: ParticipantInit) {
    this.#inner = new Participant(init);
  }

  recover(records: readonly TxLogRecord[], nowMs: number) {
    // The planted bug: prepared state is not replayed.
    return this.#inner.recover(
      records.filter((record) => record.type !== 'part-prepared'),
      nowMs,
    );
  }

  handle(...args: Parameters<Participant['handle']>) {
    return this.#inner.handle(...args);
  }
  staged(...args: Parameters<Participant['staged']>) {
    return this.#inner.staged(...args);
  }
  logged(...args: Parameters<Participant['logged']>) {
    return this.#inner.logged(...args);
  }
  applied(...args: Parameters<Participant['applied']>) {
    return this.#inner.applied(...args);
  }
  tick(nowMs: number) {
    return this.#inner.tick(nowMs);
  }
  nextWakeMs() {
    return this.#inner.nextWakeMs();
  }
  unfinished() {
    return this.#inner.unfinished();
  }
  liveRecords() {
    return this.#inner.liveRecords();
  }
}
