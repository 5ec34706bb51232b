import type { TxOutcome } from './effects.js';

const ABORTED = 1;
const LOGGED = 2;
/** Positions are renumbered from 0 before they outgrow V8's small integers (then every one would be boxed). */
const POSITION_LIMIT = 0x2000_0000;

/** One remembered outcome, as `forEach` hands it out. */
export interface EndedOutcome {
  readonly txId: string;
  readonly outcome: TxOutcome;
  readonly coordinator: string;
  readonly retainUntilMs: number;
  /** Its `part-end` record was logged (a checkpoint keeps it). */
  readonly logged: boolean;
}

/**
 * The outcomes of finished transactions by id, each remembered until a time. Entries expire in the
 * order they were added (their times come about in that order): one is never dropped before its
 * time, though it may stay a little longer behind a later one. Remembering an id again replaces
 * its entry.
 *
 * Kept as parallel arrays and a map from id to position, so an entry costs no object of its own: a
 * participant remembers every transaction for seconds (over 100,000 of them at 10,000 tx/s), and
 * objects that live that long are what the garbage collector copies and marks.
 */
export class EndedOutcomes {
  /** Id → absolute position of its latest entry (minus `#base`: its index in the arrays). */
  readonly #position = new Map<string, number>();
  #ids: string[] = [];
  #coordinators: string[] = [];
  #until: number[] = [];
  #flags: number[] = [];
  /** Index of the oldest entry not expired. */
  #head = 0;
  /** Absolute position of index 0. */
  #base = 0;
  readonly #positionLimit: number;

  /** `positionLimit`: renumber positions once they reach it (tests lower it to see that happen). */
  constructor(positionLimit = POSITION_LIMIT) {
    this.#positionLimit = positionLimit;
  }

  /** Ids remembered now. */
  get size(): number {
    return this.#position.size;
  }

  add(txId: string, outcome: TxOutcome, coordinator: string, retainUntilMs: number, logged: boolean): void {
    this.#position.set(txId, this.#base + this.#ids.length);
    this.#ids.push(txId);
    this.#coordinators.push(coordinator);
    this.#until.push(retainUntilMs);
    this.#flags.push((outcome === 'aborted' ? ABORTED : 0) | (logged ? LOGGED : 0));
  }

  /** Where `txId` is, for `outcomeAt` and `coordinatorAt`; -1 when it is not remembered. */
  find(txId: string): number {
    const position = this.#position.get(txId);
    return position === undefined ? -1 : position - this.#base;
  }

  outcomeAt(index: number): TxOutcome {
    return (this.#flags[index]! & ABORTED) !== 0 ? 'aborted' : 'committed';
  }

  coordinatorAt(index: number): string {
    return this.#coordinators[index]!;
  }

  /** When the oldest entry expires (undefined: none left). */
  nextExpiryMs(): number | undefined {
    return this.#head < this.#until.length ? this.#until[this.#head] : undefined;
  }

  /** Forgets the entries, oldest first, whose time is up by `nowMs`. */
  expire(nowMs: number): void {
    const ids = this.#ids;
    while (this.#head < ids.length && this.#until[this.#head]! <= nowMs) {
      const txId = ids[this.#head]!;
      // Remembered again since: its later entry stays.
      if (this.#position.get(txId) === this.#base + this.#head) this.#position.delete(txId);
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > ids.length) this.#compact();
  }

  /** Every remembered entry (the latest of each id), oldest first. */
  forEach(visit: (entry: EndedOutcome) => void): void {
    for (let i = this.#head; i < this.#ids.length; i++) {
      const txId = this.#ids[i]!;
      if (this.#position.get(txId) !== this.#base + i) continue;
      const flags = this.#flags[i]!;
      visit({
        txId,
        outcome: (flags & ABORTED) !== 0 ? 'aborted' : 'committed',
        coordinator: this.#coordinators[i]!,
        retainUntilMs: this.#until[i]!,
        logged: (flags & LOGGED) !== 0,
      });
    }
  }

  /** Drops the expired prefix of the arrays. */
  #compact(): void {
    const head = this.#head;
    this.#ids = this.#ids.slice(head);
    this.#coordinators = this.#coordinators.slice(head);
    this.#until = this.#until.slice(head);
    this.#flags = this.#flags.slice(head);
    this.#base += head;
    this.#head = 0;
    if (this.#base >= this.#positionLimit) {
      for (const [txId, position] of this.#position) this.#position.set(txId, position - this.#base);
      this.#base = 0;
    }
  }
}
