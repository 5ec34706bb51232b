import { assert } from '@trinity/core';
import { BPS } from './config.js';
import { type Ledger, minus, plus } from './ledger.js';
import { reputationOf } from './reputation.js';

/** Reputation enters reward weights in millionths. */
const REPUTATION_SCALE = 1_000_000;

/**
 * Pays the epoch that ends at `ledger.epochEndMs` from the reward pool: operators share
 * `rewardPerEpoch` (or what the pool holds) in proportion to bonded stake × reputation; each
 * operator keeps its commission and splits the rest between itself and its delegators by bonded
 * amount, rewards credited to liquid balances. Every share is rounded down and the dust stays in the
 * pool, so the pool loses exactly what the accounts gain. Returns the amount paid.
 */
export function payEpoch(ledger: Ledger): bigint {
  const { config } = ledger;
  const atMs = ledger.epochEndMs;
  ledger.counters.epochsPaid++;
  let budget = config.rewardPerEpoch;
  if (ledger.rewardPool < budget) budget = ledger.rewardPool;
  if (budget === 0n || ledger.operators.size === 0) return 0n;
  const operators = [...ledger.operators].sort();
  const weights = operators.map((id) => {
    const reputation = Math.floor(reputationOf(ledger, id, atMs).score * REPUTATION_SCALE);
    return ledger.bondedOf(id) * BigInt(reputation);
  });
  const totalWeight = weights.reduce((sum, w) => sum + w, 0n);
  if (totalWeight === 0n) return 0n;
  let paid = 0n;
  operators.forEach((id, i) => {
    paid += payOperator(ledger, id, (budget * weights[i]!) / totalWeight);
  });
  assert(paid <= budget, 'epoch paid more than its budget');
  ledger.rewardPool = minus(ledger.rewardPool, paid);
  return paid;
}

/** Credits one operator's reward: commission, then pro rata by bonded amount. Returns what was credited. */
function payOperator(ledger: Ledger, id: string, reward: bigint): bigint {
  if (reward === 0n) return 0n;
  const operator = ledger.account(id);
  const commissionBps = operator.commissionBps ?? ledger.config.commissionBps;
  const commission = (reward * BigInt(commissionBps)) / BigInt(BPS);
  const rest = reward - commission;
  const bonded = operator.stake + operator.delegated;
  let credited = 0n;
  for (const [delegatorId, amount] of operator.delegators) {
    const share = (rest * amount) / bonded;
    if (share === 0n) continue;
    const delegator = ledger.account(delegatorId);
    delegator.balance = plus(delegator.balance, share);
    delegator.rewardsTotal = plus(delegator.rewardsTotal, share);
    credited += share;
  }
  const own = commission + (rest * operator.stake) / bonded;
  operator.balance = plus(operator.balance, own);
  operator.rewardsTotal = plus(operator.rewardsTotal, own);
  credited += own;
  assert(credited <= reward, 'operator paid more than its reward');
  return credited;
}
