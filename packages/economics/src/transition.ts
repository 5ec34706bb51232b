import { unreachable } from '@trinity/core';
import type { RejectionCode } from './errors.js';
import { appeal, createEscrow, dispute, resolveDue, vote } from './escrow.js';
import type { EconomicsEvent } from './events.js';
import type { Ledger } from './ledger.js';
import { recordBandwidth, recordPosResult, recordUptime } from './reputation.js';
import { payEpoch } from './rewards.js';
import { delegate, setCommission, stake, transfer, undelegate, unstake, withdraw } from './staking.js';

/**
 * Runs every time-driven rule due at or before `timeMs`, in time order: escrow deadlines and epoch
 * ends (an escrow deadline first when both fall at the same time). The times are those of signed
 * events (or the daemon's `advanceTo`), never the clock of the node replaying.
 */
export function advance(ledger: Ledger, timeMs: number): void {
  const { epochMs, epochsCatchUpMax } = ledger.config;
  if (ledger.epochEndMs <= timeMs) {
    const pending = Math.floor((timeMs - ledger.epochEndMs) / epochMs) + 1;
    // A long silence: the epochs beyond the catch-up bound are not paid (their rewards stay in the pool).
    if (pending > epochsCatchUpMax) ledger.epochEndMs += (pending - epochsCatchUpMax) * epochMs;
  }
  for (;;) {
    const escrowDue = ledger.escrowDueMs;
    const epochDue = ledger.epochEndMs;
    if (escrowDue <= epochDue && escrowDue <= timeMs) {
      resolveDue(ledger, escrowDue);
    } else if (epochDue <= timeMs) {
      payEpoch(ledger);
      ledger.epochEndMs += epochMs;
    } else {
      break;
    }
  }
  if (timeMs > ledger.nowMs) ledger.nowMs = timeMs;
}

function dispatch(ledger: Ledger, e: EconomicsEvent): RejectionCode | undefined {
  switch (e.type) {
    case 'transfer':
      return transfer(ledger, e);
    case 'stake':
      return stake(ledger, e);
    case 'unstake':
      return unstake(ledger, e);
    case 'delegate':
      return delegate(ledger, e);
    case 'undelegate':
      return undelegate(ledger, e);
    case 'withdraw':
      return withdraw(ledger, e);
    case 'set-commission':
      return setCommission(ledger, e);
    case 'pos-result':
      return recordPosResult(ledger, e);
    case 'uptime':
      return recordUptime(ledger, e);
    case 'bandwidth':
      return recordBandwidth(ledger, e);
    case 'slash':
      return createEscrow(ledger, e);
    case 'dispute':
      return dispute(ledger, e);
    case 'vote':
      return vote(ledger, e);
    case 'appeal':
      return appeal(ledger, e);
    default:
      return unreachable(e, 'event type');
  }
}

/**
 * Applies one event at its place in the canonical order: first the rules due by its time, then
 * its own effect. Returns why it had none, or undefined when it took effect; a rejected event
 * changes nothing but the rejection counter.
 */
export function applyToLedger(ledger: Ledger, e: EconomicsEvent): RejectionCode | undefined {
  advance(ledger, e.timeMs);
  const rejection = dispatch(ledger, e);
  if (rejection === undefined) ledger.counters.eventsApplied++;
  else ledger.counters.eventsRejected++;
  return rejection;
}
