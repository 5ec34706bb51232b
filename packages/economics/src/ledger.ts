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

function newAccount(): Account {
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
  };
}

function cloneAccount(a: Account): Account {
  return {
    ...a,
    delegators: new Map(a.delegators),
    delegations: new Map(a.delegations),
    unbonding: a.unbonding.slice(),
  };
}

/**
 * The fold state: what replaying the events produces. Mutated only by the transition functions
 * (staking, reputation, escrow, rewards) in canonical event order; `clone()` is a snapshot.
 */
export class Ledger {
  readonly accounts = new Map<string, Account>();
  /** Accounts whose self-stake is at least `operatorStakeMin`: the reward set. */
  readonly operators = new Set<string>();
  readonly escrows = new Map<string, Escrow>();
  /** Ids of the escrows not yet final. */
  readonly activeEscrows = new Set<string>();
  /** Escrow ids per accused node, oldest first. */
  readonly escrowsByNode = new Map<string, string[]>();
  /** Reputation evidence: subject → reporter → decayed counters. */
  readonly evidence = new Map<string, Map<string, Evidence>>();
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
  counters: LedgerCounters = {
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

  constructor(readonly config: EconomicsConfig) {
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

  /** The account of `id`, created empty on first use. */
  account(id: string): Account {
    let account = this.accounts.get(id);
    if (account === undefined) {
      account = newAccount();
      this.accounts.set(id, account);
    }
    return account;
  }

  /** Keeps `operators` in step with an account's self-stake. */
  refreshOperator(id: string, account: Account): void {
    if (account.stake >= this.config.operatorStakeMin && account.stake > 0n) this.operators.add(id);
    else this.operators.delete(id);
  }

  /** Self-stake plus stake delegated to `id`: what a slash of `id` takes a share of. */
  bondedOf(id: string): bigint {
    const account = this.accounts.get(id);
    return account === undefined ? 0n : account.stake + account.delegated;
  }

  /** A snapshot: later changes to either copy do not show in the other. */
  clone(): Ledger {
    const copy = Object.create(Ledger.prototype) as Ledger;
    const fields = copy as unknown as Record<string, unknown>;
    fields.config = this.config;
    const accounts = new Map<string, Account>();
    for (const [id, account] of this.accounts) accounts.set(id, cloneAccount(account));
    fields.accounts = accounts;
    fields.operators = new Set(this.operators);
    const escrows = new Map<string, Escrow>();
    for (const [id, escrow] of this.escrows) escrows.set(id, escrow.final ? escrow : cloneEscrow(escrow));
    fields.escrows = escrows;
    fields.activeEscrows = new Set(this.activeEscrows);
    const byNode = new Map<string, string[]>();
    for (const [id, list] of this.escrowsByNode) byNode.set(id, list.slice());
    fields.escrowsByNode = byNode;
    const evidence = new Map<string, Map<string, Evidence>>();
    for (const [subject, reporters] of this.evidence) {
      const inner = new Map<string, Evidence>();
      for (const [reporter, e] of reporters) inner.set(reporter, { ...e });
      evidence.set(subject, inner);
    }
    fields.evidence = evidence;
    fields.evidencePairs = this.evidencePairs;
    fields.supply = this.supply;
    fields.burned = this.burned;
    fields.rewardPool = this.rewardPool;
    fields.nowMs = this.nowMs;
    fields.epochEndMs = this.epochEndMs;
    fields.escrowDueMs = this.escrowDueMs;
    fields.counters = { ...this.counters };
    return copy;
  }
}

function cloneEscrow(e: Escrow): Escrow {
  return { ...e, voters: new Set(e.voters) };
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
