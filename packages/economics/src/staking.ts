import type { RejectionCode } from './errors.js';
import type { EventOf } from './events.js';
import { type Account, type Ledger, minus, plus } from './ledger.js';

/** Liquid tokens from the actor to `to`. */
export function transfer(ledger: Ledger, e: EventOf<'transfer'>): RejectionCode | undefined {
  const from = ledger.account(e.actor);
  if (from.balance < e.amount) return 'INSUFFICIENT_BALANCE';
  from.balance = minus(from.balance, e.amount);
  const to = ledger.account(e.to);
  to.balance = plus(to.balance, e.amount);
  return undefined;
}

/** Liquid tokens of the actor become its self-stake. */
export function stake(ledger: Ledger, e: EventOf<'stake'>): RejectionCode | undefined {
  const account = ledger.account(e.actor);
  if (account.balance < e.amount) return 'INSUFFICIENT_BALANCE';
  account.balance = minus(account.balance, e.amount);
  account.stake = plus(account.stake, e.amount);
  ledger.refreshOperator(e.actor, account);
  return undefined;
}

function startUnbonding(ledger: Ledger, account: Account, amount: bigint, timeMs: number): void {
  account.unbonding.push({ amount, releaseAtMs: timeMs + ledger.config.unbondingMs });
}

/** Self-stake starts unbonding. */
export function unstake(ledger: Ledger, e: EventOf<'unstake'>): RejectionCode | undefined {
  const account = ledger.account(e.actor);
  if (account.stake < e.amount) return 'INSUFFICIENT_STAKE';
  if (account.unbonding.length >= ledger.config.unbondingEntriesMax) return 'UNBONDING_LIMIT';
  account.stake = minus(account.stake, e.amount);
  ledger.refreshOperator(e.actor, account);
  startUnbonding(ledger, account, e.amount, e.timeMs);
  return undefined;
}

/** Liquid tokens bonded to an operator (an account whose self-stake is at least `operatorStakeMin`). */
export function delegate(ledger: Ledger, e: EventOf<'delegate'>): RejectionCode | undefined {
  if (e.operator === e.actor) return 'SELF_DELEGATION';
  if (!ledger.operators.has(e.operator)) return 'NOT_AN_OPERATOR';
  const delegator = ledger.account(e.actor);
  if (delegator.balance < e.amount) return 'INSUFFICIENT_BALANCE';
  const operator = ledger.account(e.operator);
  const { delegationsPerAccountMax, delegatorsPerOperatorMax } = ledger.config;
  const existing = delegator.delegations.get(e.operator);
  if (existing === undefined) {
    if (delegator.delegations.size >= delegationsPerAccountMax) return 'DELEGATION_LIMIT';
    if (operator.delegators.size >= delegatorsPerOperatorMax) return 'DELEGATION_LIMIT';
  }
  delegator.balance = minus(delegator.balance, e.amount);
  bondDelegation(delegator, operator, e.actor, e.operator, e.amount);
  return undefined;
}

/** Adds to the delegation `delegatorId` → `operatorId` on both sides. */
export function bondDelegation(
  delegator: Account,
  operator: Account,
  delegatorId: string,
  operatorId: string,
  amount: bigint,
): void {
  const total = plus(delegator.delegations.get(operatorId) ?? 0n, amount);
  delegator.delegations.set(operatorId, total);
  operator.delegators.set(delegatorId, total);
  operator.delegated = plus(operator.delegated, amount);
}

/** Takes from the delegation `delegatorId` → `operatorId` on both sides (the caller checked it holds `amount`). */
export function unbondDelegation(
  delegator: Account,
  operator: Account,
  delegatorId: string,
  operatorId: string,
  amount: bigint,
): void {
  const rest = minus(delegator.delegations.get(operatorId) ?? 0n, amount);
  if (rest === 0n) {
    delegator.delegations.delete(operatorId);
    operator.delegators.delete(delegatorId);
  } else {
    delegator.delegations.set(operatorId, rest);
    operator.delegators.set(delegatorId, rest);
  }
  operator.delegated = minus(operator.delegated, amount);
}

/** A delegation starts unbonding. */
export function undelegate(ledger: Ledger, e: EventOf<'undelegate'>): RejectionCode | undefined {
  const delegator = ledger.account(e.actor);
  if ((delegator.delegations.get(e.operator) ?? 0n) < e.amount) return 'INSUFFICIENT_DELEGATION';
  if (delegator.unbonding.length >= ledger.config.unbondingEntriesMax) return 'UNBONDING_LIMIT';
  unbondDelegation(delegator, ledger.account(e.operator), e.actor, e.operator, e.amount);
  startUnbonding(ledger, delegator, e.amount, e.timeMs);
  return undefined;
}

/** Every unbonding entry released by the event's time returns to the liquid balance. */
export function withdraw(ledger: Ledger, e: EventOf<'withdraw'>): RejectionCode | undefined {
  const account = ledger.account(e.actor);
  let released = 0n;
  const kept = account.unbonding.filter((entry) => {
    if (entry.releaseAtMs > e.timeMs) return true;
    released += entry.amount;
    return false;
  });
  if (kept.length === account.unbonding.length) return 'NOTHING_TO_WITHDRAW';
  account.unbonding = kept;
  account.balance = plus(account.balance, released);
  return undefined;
}

/** The operator's commission from now on. */
export function setCommission(ledger: Ledger, e: EventOf<'set-commission'>): RejectionCode | undefined {
  if (e.commissionBps > ledger.config.commissionMaxBps) return 'COMMISSION_TOO_HIGH';
  ledger.account(e.actor).commissionBps = e.commissionBps;
  return undefined;
}
