import type { Counter } from '@trinity/core';
import { type EconomicsState, SLASH_REASONS } from '@trinity/economics';
import type { NodeMetrics } from '@trinity/metrics';

/** The trinity_* metrics the economics state sets. */
export type EconomicsMetricHandles = Pick<
  NodeMetrics,
  | 'posChallengesIssued'
  | 'posChallengesPassed'
  | 'posChallengesFailed'
  | 'slashingEvents'
  | 'stakedTokens'
  | 'escrowsPending'
  | 'escrowDisputes'
  | 'escrowVotes'
  | 'escrowResolutions'
  | 'escrowLowParticipationAlerts'
>;

/**
 * Sets the proof-of-storage, slashing, escrow and staking metrics from the economics state, which
 * every node holds whole (so these count the network's events, as this node knows them, not only
 * its own): PoS results by outcome (issued = results recorded), slashes by reason, escrows pending
 * (open, in their dispute window), disputes, votes, resolutions by outcome, low-participation
 * alerts, and this node's bonded stake (own plus delegated). Counters only move up: each update adds
 * what the state counts beyond what was exported (a re-execution that lowers a count adds nothing).
 */
export class EconomicsMetrics {
  readonly #m: EconomicsMetricHandles;
  readonly #exported = new Map<string, number>();

  constructor(metrics: EconomicsMetricHandles) {
    this.#m = metrics;
  }

  update(state: EconomicsState, self: string): void {
    const c = state.counters();
    const m = this.#m;
    this.#add('issued', m.posChallengesIssued, c.posPassed + c.posFailed);
    this.#add('passed', m.posChallengesPassed, c.posPassed);
    this.#add('failed', m.posChallengesFailed, c.posFailed);
    this.#add('votes', m.escrowVotes, c.votes);
    this.#add('lowParticipation', m.escrowLowParticipationAlerts, c.lowParticipationAlerts);
    this.#add('executed', m.escrowResolutions, c.escrowsExecuted, { outcome: 'executed' });
    this.#add('returned', m.escrowResolutions, c.escrowsReturned, { outcome: 'returned' });
    const byReason = new Map<string, number>(SLASH_REASONS.map((r) => [r, 0]));
    let disputes = 0;
    let pending = 0;
    for (const escrow of state.escrows()) {
      byReason.set(escrow.reason, (byReason.get(escrow.reason) ?? 0) + 1);
      if (escrow.disputeEvidence !== undefined) disputes++;
      if (escrow.status === 'open') pending++;
    }
    for (const [reason, count] of byReason) this.#add(`slash:${reason}`, m.slashingEvents, count, { reason });
    this.#add('disputes', m.escrowDisputes, disputes);
    m.escrowsPending.set(pending);
    // A gauge is a float: exact up to 2^53 base units, which the metric's help states.
    m.stakedTokens.set(Number(state.stakeOf(self).bonded));
  }

  #add(key: string, counter: Counter, total: number, labels?: Record<string, string>): void {
    const delta = total - (this.#exported.get(key) ?? 0);
    if (delta <= 0) return;
    counter.inc(delta, labels);
    this.#exported.set(key, total);
  }
}
