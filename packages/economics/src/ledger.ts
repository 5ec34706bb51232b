import { assert } from '@trinity/core';
import { AMOUNT_MAX, type EconomicsConfig } from './config.js';
import type { Escrow } from './escrow.js';
import type { Evidence } from './reputation.js';

/** Stake on its way out: withdrawable once the time of a later `withdraw` event reaches `releaseAtMs`. */
export interface Unbonding {
  readonly amount: bigint;
  readonly releaseAtMs: number;
}

/** One account: a node, an operator, a delegator (one key may be all three). */
export interface Account {
  /** Liquid tokens. */
  balance: bigint;
  /** Self-bonded stake. */
  stake: bigint;
  /** Sum of what delegators bonded to this account as an operator. */
  delegated: bigint;
  /** Operator side: delegator → amount bonded to this account. */
  readonly delegators: Map<string, bigint>;
  /** Delegator side: operator → amount this account bonded to it. */
  readonly delegations: Map<string, bigint>;
  unbonding: Unbonding[];
  /** Commission as an operator; undefined: the config's default. */
  commissionBps: number | undefined;
  /** Rewards credited to this account, ever. */
  rewardsTotal: bigint;
  /** Tokens of this account burned by executed slashes, ever. */
  slashedTotal: bigint;
  /** Escrows against this account not yet final. */
  escrowsActive: number;
  /** When the latest slash of this account executed (caps its reputation for a while); undefined: never. */
  lastSlashedAtMs: number | undefined;
  /** Generation of the ledger that may change it in place (copy on write; see `Ledger`). */
  gen: number;
}

/** Running totals the daemon turns into metrics. */
export interface LedgerCounters {
  eventsApplied: number;
  eventsRejected: number;
  posPassed: number;
  posFailed: number;
  escrowsCreated: number;
  escrowsExecuted: number;
  escrowsReturned: number;
  appeals: number;
  votes: number;
  /** Rounds extended because fewer eligible voters existed than the quorum (the seed's low-participation weakness). */
  lowParticipationAlerts: number;
  epochsPaid: number;
}

/** An account as read: what `Ledger.accounts` hands out (write through `Ledger.account`). */
export type ReadonlyAccount = Readonly<Omit<Account, 'delegators' | 'delegations' | 'unbonding' | 'gen'>> & {
  readonly delegators: ReadonlyMap<string, bigint>;
  readonly delegations: ReadonlyMap<string, bigint>;
  readonly unbonding: readonly Unbonding[];
};

/** An escrow as read: what `Ledger.escrows` hands out (write through `Ledger.escrowToChange`). */
export type ReadonlyEscrow = Readonly<Omit<Escrow, 'voters' | 'gen'>> & {
  readonly voters: ReadonlySet<string>;
};

/**
 * Generations for copy on write. A ledger and its clones share the entries neither has changed
 * since the clone (accounts, escrows, each subject's table of reporters); an entry carries the
 * generation of the ledger that made it, and a ledger changes an entry in place only when the
 * generation is its own, copying it first otherwise. `clone()` gives both ledgers new generations,
 * so after it neither changes anything they share. Generations are process-wide and only compared
 * for equality: they never reach the state or its hash.
 */
let generations = 0;
const OWN_ACCOUNTS = 1;
const OWN_ESCROWS = 2;
const OWN_EVIDENCE = 4;
const OWN_OPERATORS = 8;
const OWN_ACTIVE = 16;
const OWN_BY_NODE = 32;
const OWN_ALL = OWN_ACCOUNTS | OWN_ESCROWS | OWN_EVIDENCE | OWN_OPERATORS | OWN_ACTIVE | OWN_BY_NODE;
const nextGeneration = () => ++generations;

function newAccount(gen: number): Account {
  return {
    balance: 0n,
    stake: 0n,
    delegated: 0n,
    delegators: new Map(),
    delegations: new Map(),
    unbonding: [],
    commissionBps: undefined,
    rewardsTotal: 0n,
    slashedTotal: 0n,
    escrowsActive: 0,
    lastSlashedAtMs: undefined,
    gen,
  };
}

function copyAccount(a: Account, gen: number): Account {
  return {
    balance: a.balance,
    stake: a.stake,
    delegated: a.delegated,
    delegators: new Map(a.delegators),
    delegations: new Map(a.delegations),
    unbonding: a.unbonding.slice(),
    commissionBps: a.commissionBps,
    rewardsTotal: a.rewardsTotal,
    slashedTotal: a.slashedTotal,
    escrowsActive: a.escrowsActive,
    lastSlashedAtMs: a.lastSlashedAtMs,
    gen,
  };
}

/** One subject's evidence, reporter → counters, tagged with the generation of the ledger that may change it. */
class ReporterTable extends Map<string, Evidence> {
  gen = 0;
}

/**
 * The fold state: what replaying the events produces. Mutated only by the transition functions
 * (staking, reputation, escrow, rewards) in canonical event order; `clone()` is a snapshot.
 *
 * Accounts, escrows and reputation evidence are read through read-only views (`accounts`,
 * `escrows`, `evidence`) and changed only through `account`, `escrowToChange`, `addEscrow` and
 * `setEvidence`, which copy an entry shared with a clone before handing it out (copy on write): a
 * clone costs a copy of the maps' slots, not of their entries.
 */
export class Ledger {
  readonly config: EconomicsConfig;
  /** This ledger's generation: entries tagged with it are its own to change in place. */
  #gen = nextGeneration();
  // The collections themselves are copy on write too: a clone shares them with its original until
  // either changes one (`#own` says which this ledger made, so may change in place), so a clone
  // costs what the event after it changes, not a copy of every map.
  #accounts: Map<string, Account>;
  #escrows: Map<string, Escrow>;
  #evidence: Map<string, ReporterTable>;
  #operators: Set<string>;
  #activeEscrows: Set<string>;
  #escrowsByNode: Map<string, readonly string[]>;
  /** Bits of `OWN_*`: the collections this ledger made (changed in place); the others are shared. */
  #own = OWN_ALL;
  evidencePairs = 0;
  /** Every token in existence: fixed at genesis, lowered only by burned slashes. */
  supply = 0n;
  burned = 0n;
  rewardPool = 0n;
  /** Time of the last event applied or of the last `advance`, whichever is later. */
  nowMs: number;
  /** End of the current reward epoch. */
  epochEndMs: number;
  /** Earliest escrow deadline among the active ones (Infinity if none). */
  escrowDueMs = Number.POSITIVE_INFINITY;
  counters: LedgerCounters;
  /** @internal Where it hangs in a `SharedApply`'s tree (undefined: not shared). Never part of the state. */
  shared: SharedNode | undefined = undefined;

  constructor(config: EconomicsConfig, from?: Ledger) {
    this.config = config;
    if (from !== undefined) {
      // A clone: the collections and their entries are shared until either side changes one.
      from.#gen = nextGeneration();
      from.#own = 0;
      this.#own = 0;
      this.#accounts = from.#accounts;
      this.#escrows = from.#escrows;
      this.#evidence = from.#evidence;
      this.#operators = from.#operators;
      this.#activeEscrows = from.#activeEscrows;
      this.#escrowsByNode = from.#escrowsByNode;
      this.evidencePairs = from.evidencePairs;
      this.supply = from.supply;
      this.burned = from.burned;
      this.rewardPool = from.rewardPool;
      this.nowMs = from.nowMs;
      this.epochEndMs = from.epochEndMs;
      this.escrowDueMs = from.escrowDueMs;
      this.counters = { ...from.counters };
      return;
    }
    this.#accounts = new Map();
    this.#escrows = new Map();
    this.#evidence = new Map();
    this.#operators = new Set();
    this.#activeEscrows = new Set();
    this.#escrowsByNode = new Map();
    this.counters = {
      eventsApplied: 0,
      eventsRejected: 0,
      posPassed: 0,
      posFailed: 0,
      escrowsCreated: 0,
      escrowsExecuted: 0,
      escrowsReturned: 0,
      appeals: 0,
      votes: 0,
      lowParticipationAlerts: 0,
      epochsPaid: 0,
    };
    const { genesis } = config;
    this.nowMs = genesis.timeMs;
    this.epochEndMs = genesis.timeMs + config.epochMs;
    this.rewardPool = genesis.rewardPool;
    this.supply = genesis.rewardPool;
    for (const entry of genesis.accounts) {
      const account = this.account(entry.id);
      account.balance = entry.balance;
      account.stake = entry.stake;
      this.supply += entry.balance + entry.stake;
      this.refreshOperator(entry.id, account);
    }
    assert(this.supply <= AMOUNT_MAX, 'genesis supply exceeds AMOUNT_MAX');
  }

  /** Accounts whose self-stake is at least `operatorStakeMin`: the reward set (kept by `refreshOperator`). */
  get operators(): ReadonlySet<string> {
    return this.#operators;
  }

  /** Ids of the escrows not yet final, read-only: change through `activeEscrowsToChange`. */
  get activeEscrows(): ReadonlySet<string> {
    return this.#activeEscrows;
  }

  /** Escrow ids per accused node, oldest first (each list is replaced, never changed in place: `setEscrowsOf`). */
  get escrowsByNode(): ReadonlyMap<string, readonly string[]> {
    return this.#escrowsByNode;
  }

  /**
   * Whether the collection of `bit` is still shared with a clone (the caller copies it now); from
   * here on this ledger owns it.
   */
  #claim(bit: number): boolean {
    if ((this.#own & bit) !== 0) return false;
    this.#own |= bit;
    return true;
  }

  /** The set of active escrow ids to change (copied first if a clone shares it). */
  activeEscrowsToChange(): Set<string> {
    if (this.#claim(OWN_ACTIVE)) this.#activeEscrows = new Set(this.#activeEscrows);
    return this.#activeEscrows;
  }

  /** Replaces the list of escrows against `id`. */
  setEscrowsOf(id: string, escrowIds: readonly string[]): void {
    if (this.#claim(OWN_BY_NODE)) this.#escrowsByNode = new Map(this.#escrowsByNode);
    this.#escrowsByNode.set(id, escrowIds);
  }

  /** Every account, read-only: change one through `account(id)`. */
  get accounts(): ReadonlyMap<string, ReadonlyAccount> {
    return this.#accounts;
  }

  /** Every escrow by id, read-only: change one through `escrowToChange(id)`. */
  get escrows(): ReadonlyMap<string, ReadonlyEscrow> {
    return this.#escrows;
  }

  /** Reputation evidence, subject → reporter → decayed counters, read-only: change it through `setEvidence`. */
  get evidence(): ReadonlyMap<string, ReadonlyMap<string, Readonly<Evidence>>> {
    return this.#evidence;
  }

  /** The account of `id` to change, created empty on first use (copied first if a clone shares it). */
  account(id: string): Account {
    const found = this.#accounts.get(id);
    if (found !== undefined && found.gen === this.#gen) return found;
    const account = found === undefined ? newAccount(this.#gen) : copyAccount(found, this.#gen);
    if (this.#claim(OWN_ACCOUNTS)) this.#accounts = new Map(this.#accounts);
    this.#accounts.set(id, account);
    return account;
  }

  /** The escrow `id` to change (copied first if a clone shares it); undefined if there is none. */
  escrowToChange(id: string): Escrow | undefined {
    const found = this.#escrows.get(id);
    if (found === undefined || found.gen === this.#gen) return found;
    const escrow: Escrow = { ...found, voters: new Set(found.voters), gen: this.#gen };
    this.#ownEscrows().set(id, escrow);
    return escrow;
  }

  /** Records a new escrow (its `gen` is set to this ledger's). */
  addEscrow(escrow: Escrow): void {
    escrow.gen = this.#gen;
    this.#ownEscrows().set(escrow.id, escrow);
  }

  #ownEscrows(): Map<string, Escrow> {
    if (this.#claim(OWN_ESCROWS)) this.#escrows = new Map(this.#escrows);
    return this.#escrows;
  }

  /**
   * Stores `reporter`'s counters on `subject` (a new object: entries are never changed in place, so
   * a clone may share them); counts a new pair in `evidencePairs`.
   */
  setEvidence(subject: string, reporter: string, e: Evidence): void {
    let table = this.#evidence.get(subject);
    if (table === undefined || table.gen !== this.#gen) {
      table = table === undefined ? new ReporterTable() : new ReporterTable(table);
      table.gen = this.#gen;
      if (this.#claim(OWN_EVIDENCE)) this.#evidence = new Map(this.#evidence);
      this.#evidence.set(subject, table);
    }
    const size = table.size;
    table.set(reporter, e);
    if (table.size > size) this.evidencePairs++;
  }

  /** Keeps `operators` in step with an account's self-stake. */
  refreshOperator(id: string, account: ReadonlyAccount): void {
    const operator = account.stake >= this.config.operatorStakeMin && account.stake > 0n;
    if (operator === this.#operators.has(id)) return;
    if (this.#claim(OWN_OPERATORS)) this.#operators = new Set(this.#operators);
    if (operator) this.#operators.add(id);
    else this.#operators.delete(id);
  }

  /** Self-stake plus stake delegated to `id`: what a slash of `id` takes a share of. */
  bondedOf(id: string): bigint {
    const account = this.#accounts.get(id);
    return account === undefined ? 0n : account.stake + account.delegated;
  }

  /** A snapshot: later changes to either copy do not show in the other. Costs the maps' slots, not their entries. */
  clone(): Ledger {
    const copy = new Ledger(this.config, this);
    return copy;
  }
}

/** @internal A shared ledger's place in its `SharedApply` (see shared.ts): kept on the ledger, not in weak maps. */
export interface SharedNode {
  /** States holding it as their current ledger. */
  holders: number;
  /** The ledgers after it: by event bytes (`Step`s), by `advance` time. */
  steps: Map<Uint8Array, unknown> | undefined;
  advances: Map<number, Ledger> | undefined;
  /** Its hash by the state's time. */
  hashes: Map<number, string> | undefined;
  /** Its parent's map it is found in, and the key (undefined: the genesis, or private). */
  siblings: Map<unknown, unknown> | undefined;
  /** Taken out of the tree to be changed in place by the one state that can see it. */
  private: boolean;
  key: unknown;
  parent: Ledger | undefined;
}

/** Adds to a balance-like amount, asserting the no-overflow bound. */
export function plus(a: bigint, b: bigint): bigint {
  const sum = a + b;
  assert(b >= 0n && sum <= AMOUNT_MAX, 'amount overflow');
  return sum;
}

/** Subtracts from a balance-like amount, asserting it stays non-negative (callers check first). */
export function minus(a: bigint, b: bigint): bigint {
  const difference = a - b;
  assert(b >= 0n && difference >= 0n, 'negative amount');
  return difference;
}
