import type { TxOutcome } from './effects.js';

const ABORTED = 1;
const LOGGED = 2;
/** Small: most participants remember few outcomes at a time, and the ring doubles as needed. */
const INITIAL_CAPACITY = 16;
/** Positions are renumbered before they outgrow V8's small integers (then every one would be boxed). */
const POSITION_LIMIT = 0x3000_0000;

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
 * Kept in a ring of arrays (typed where they can be) and a map from id to slot, so an entry costs
 * no object of its own: a participant remembers every transaction for seconds (over 100,000 of them
 * at 10,000 tx/s), and objects that live that long are what the garbage collector copies and marks.
 * The ring starts small (a simulation of thousands of nodes in one process would otherwise hold
 * 25 KB of empty slots per participant), doubles when full and never shrinks.
 */
export class EndedOutcomes {
  /** Id → position of its latest entry. Positions count up; an entry's slot is its position & `#mask`. */
  readonly #position = new Map<string, number>();
  readonly #positionLimit: number;
  #ids: (string | undefined)[];
  #coordinators: (string | undefined)[];
  #until: Float64Array;
  #flags: Uint8Array;
  #mask: number;
  /** Position of the oldest entry not expired, and of the next one to add. */
  #first = 0;
  #next = 0;

  /**
   * `initialCapacity`: slots to start with (rounded up to a power of 2). `positionLimit`: when
   * positions reach it they are renumbered down, before they outgrow V8's small integers (tests
   * lower it to see that happen).
   */
  constructor(initialCapacity = INITIAL_CAPACITY, positionLimit = POSITION_LIMIT) {
    let capacity = 1;
    while (capacity < initialCapacity) capacity *= 2;
    this.#ids = new Array<string | undefined>(capacity).fill(undefined);
    this.#coordinators = new Array<string | undefined>(capacity).fill(undefined);
    this.#until = new Float64Array(capacity);
    this.#flags = new Uint8Array(capacity);
    this.#mask = capacity - 1;
    this.#positionLimit = positionLimit;
  }

  /** Ids remembered now. */
  get size(): number {
    return this.#position.size;
  }

  add(txId: string, outcome: TxOutcome, coordinator: string, retainUntilMs: number, logged: boolean): void {
    if (this.#next - this.#first > this.#mask) this.#grow();
    if (this.#next >= this.#positionLimit) this.#renumber();
    const position = this.#next++;
    const slot = position & this.#mask;
    this.#ids[slot] = txId;
    this.#coordinators[slot] = coordinator;
    this.#until[slot] = retainUntilMs;
    this.#flags[slot] = (outcome === 'aborted' ? ABORTED : 0) | (logged ? LOGGED : 0);
    this.#position.set(txId, position);
  }

  /** Where `txId` is, for `outcomeAt` and `coordinatorAt`; -1 when it is not remembered. */
  find(txId: string): number {
    const position = this.#position.get(txId);
    return position === undefined ? -1 : position & this.#mask;
  }

  outcomeAt(slot: number): TxOutcome {
    return (this.#flags[slot]! & ABORTED) !== 0 ? 'aborted' : 'committed';
  }

  coordinatorAt(slot: number): string {
    return this.#coordinators[slot]!;
  }

  /** When the oldest entry expires (undefined: none left). */
  nextExpiryMs(): number | undefined {
    return this.#next > this.#first ? this.#until[this.#first & this.#mask] : undefined;
  }

  /** Forgets the entries, oldest first, whose time is up by `nowMs`. */
  expire(nowMs: number): void {
    while (this.#next > this.#first) {
      const slot = this.#first & this.#mask;
      if (this.#until[slot]! > nowMs) return;
      const txId = this.#ids[slot]!;
      // Remembered again since: its later entry stays.
      if (this.#position.get(txId) === this.#first) this.#position.delete(txId);
      this.#ids[slot] = undefined;
      this.#coordinators[slot] = undefined;
      this.#first++;
    }
  }

  /** Every remembered entry (the latest of each id), oldest first. */
  forEach(visit: (entry: EndedOutcome) => void): void {
    for (let position = this.#first; position < this.#next; position++) {
      const slot = position & this.#mask;
      const txId = this.#ids[slot]!;
      if (this.#position.get(txId) !== position) continue;
      const flags = this.#flags[slot]!;
      visit({
        txId,
        outcome: (flags & ABORTED) !== 0 ? 'aborted' : 'committed',
        coordinator: this.#coordinators[slot]!,
        retainUntilMs: this.#until[slot]!,
        logged: (flags & LOGGED) !== 0,
      });
    }
  }

  /** Doubles the ring; each entry moves to its position's slot in the larger one (positions stay). */
  #grow(): void {
    const capacity = 2 * (this.#mask + 1);
    const mask = capacity - 1;
    const ids = new Array<string | undefined>(capacity).fill(undefined);
    const coordinators = new Array<string | undefined>(capacity).fill(undefined);
    const until = new Float64Array(capacity);
    const flags = new Uint8Array(capacity);
    for (let position = this.#first; position < this.#next; position++) {
      const from = position & this.#mask;
      const to = position & mask;
      ids[to] = this.#ids[from];
      coordinators[to] = this.#coordinators[from];
      until[to] = this.#until[from]!;
      flags[to] = this.#flags[from]!;
    }
    this.#ids = ids;
    this.#coordinators = coordinators;
    this.#until = until;
    this.#flags = flags;
    this.#mask = mask;
  }

  /** Lowers every position by the same multiple of the capacity (slots do not move). */
  #renumber(): void {
    const by = this.#first - (this.#first & this.#mask);
    if (by === 0) return; // more entries live than the limit: positions stay as they are
    for (const [txId, position] of this.#position) this.#position.set(txId, position - by);
    this.#first -= by;
    this.#next -= by;
  }
}
