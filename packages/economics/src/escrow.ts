import { assert } from '@trinity/core';
import { BPS, type SlashReason } from './config.js';
import type { RejectionCode } from './errors.js';
import { type EventOf, escrowIdOf } from './events.js';
import { type Ledger, minus, plus, type ReadonlyEscrow } from './ledger.js';
import { bondDelegation, unbondDelegation } from './staking.js';

/**
 * The slashing escrow of seed v2.0, with an appeal round:
 *
 *   slash ─▶ open ──(no dispute by the dispute window's end)──────────────────────▶ executed
 *              └─dispute─▶ voting ──(deadline)─▶ decided ──(no appeal in time)──▶ executed | returned
 *                                                   └─appeal─▶ appeal-voting ──(deadline)─▶ executed | returned
 *
 * A round decides at its deadline: with at least `quorum` votes, overturn when the overturning
 * share reaches `overturnThresholdBps`, else uphold; with fewer votes the slash stands (round 1) or
 * the first decision stands (appeal). A round whose eligible voters are fewer than its quorum is
 * extended once and counted as a low-participation alert before it resolves that way.
 */
export type EscrowStatus = 'open' | 'voting' | 'decided' | 'appeal-voting' | 'executed' | 'returned';
export type EscrowDecision = 'overturn' | 'uphold';

/** Where locked tokens came from: the accused's self-stake (`from` = accused) or a delegation to it. */
export interface EscrowSource {
  readonly from: string;
  readonly amount: bigint;
}

/** A finished voting round. */
export interface EscrowRound {
  readonly votes: number;
  readonly overturnVotes: number;
  readonly quorum: number;
  readonly decision: EscrowDecision;
  /** False when the round had fewer votes than its quorum (its decision is then the default). */
  readonly quorate: boolean;
}

export interface Escrow {
  readonly id: string;
  readonly accused: string;
  readonly reporter: string;
  readonly reason: SlashReason;
  readonly evidence: string;
  readonly createdAtMs: number;
  readonly amount: bigint;
  readonly sources: readonly EscrowSource[];
  status: EscrowStatus;
  final: boolean;
  /** When the current stage ends: dispute window, voting round or appeal window. */
  deadlineMs: number;
  disputeEvidence: string | undefined;
  appealEvidence: string | undefined;
  /** 0 before a dispute, 1 for the first round, 2 for the appeal. */
  round: number;
  quorum: number;
  eligibleVoters: number;
  /** The current round was extended for low participation. */
  extended: boolean;
  voters: Set<string>;
  overturnVotes: number;
  overturnWeight: bigint;
  totalWeight: bigint;
  rounds: readonly EscrowRound[];
  decision: EscrowDecision | undefined;
  resolvedAtMs: number | undefined;
  /** Generation of the ledger that may change it in place (copy on write; see `Ledger`). */
  gen: number;
}

/** Splits `amount` over `parts` in proportion, exactly: floors first, then the remainder one unit at a time in order. */
export function splitProRata(amount: bigint, parts: readonly bigint[]): bigint[] {
  const total = parts.reduce((sum, part) => sum + part, 0n);
  assert(amount >= 0n && amount <= total, 'pro-rata split of more than the parts hold');
  if (total === 0n) return parts.map(() => 0n);
  const shares = parts.map((part) => (amount * part) / total);
  let rest = amount - shares.reduce((sum, share) => sum + share, 0n);
  while (rest > 0n) {
    for (let i = 0; i < parts.length && rest > 0n; i++) {
      if (shares[i]! < parts[i]!) {
        shares[i]! += 1n;
        rest -= 1n;
      }
    }
  }
  return shares;
}

/** A reporter proposes a slash: its amount is taken from the accused's bonded stake, delegators pro rata, and locked. */
export function createEscrow(ledger: Ledger, e: EventOf<'slash'>): RejectionCode | undefined {
  const { config } = ledger;
  if (e.accused === e.actor) return 'SELF_REPORT';
  if ((ledger.accounts.get(e.actor)?.stake ?? 0n) < config.reporterStakeMin) return 'REPORTER_NOT_STAKED';
  const found = ledger.accounts.get(e.accused);
  if (found === undefined) return 'NOTHING_TO_SLASH';
  if (found.escrowsActive >= config.escrowsPerNodeMax) return 'ESCROW_LIMIT';
  const amount = ((found.stake + found.delegated) * BigInt(config.slashBps[e.reason])) / BigInt(BPS);
  if (amount === 0n) return 'NOTHING_TO_SLASH';
  const accused = ledger.account(e.accused);
  const delegators = [...accused.delegators.keys()].sort();
  const parts = [accused.stake, ...delegators.map((id) => accused.delegators.get(id)!)];
  const shares = splitProRata(amount, parts);
  const sources: EscrowSource[] = [];
  if (shares[0]! > 0n) {
    accused.stake = minus(accused.stake, shares[0]!);
    ledger.refreshOperator(e.accused, accused);
    sources.push({ from: e.accused, amount: shares[0]! });
  }
  delegators.forEach((id, i) => {
    const share = shares[i + 1]!;
    if (share === 0n) return;
    unbondDelegation(ledger.account(id), accused, id, e.accused, share);
    sources.push({ from: id, amount: share });
  });
  const id = escrowIdOf(e.actor, e.seq);
  const escrow: Escrow = {
    id,
    accused: e.accused,
    reporter: e.actor,
    reason: e.reason,
    evidence: e.evidence,
    createdAtMs: e.timeMs,
    amount,
    sources,
    status: 'open',
    final: false,
    deadlineMs: e.timeMs + config.disputeWindowMs,
    disputeEvidence: undefined,
    appealEvidence: undefined,
    round: 0,
    quorum: 0,
    eligibleVoters: 0,
    extended: false,
    voters: new Set(),
    overturnVotes: 0,
    overturnWeight: 0n,
    totalWeight: 0n,
    rounds: [],
    decision: undefined,
    resolvedAtMs: undefined,
    gen: 0,
  };
  ledger.addEscrow(escrow);
  ledger.activeEscrowsToChange().add(id);
  accused.escrowsActive++;
  // A new list, not a push: a clone of the ledger may share the old one.
  ledger.setEscrowsOf(e.accused, [...(ledger.escrowsByNode.get(e.accused) ?? []), id]);
  ledger.counters.escrowsCreated++;
  ledger.escrowDueMs = Math.min(ledger.escrowDueMs, escrow.deadlineMs);
  return undefined;
}

/** Staked nodes that may vote on `escrow`: neither the accused nor the reporter. */
function eligibleVoters(ledger: Ledger, escrow: ReadonlyEscrow): number {
  let count = 0;
  for (const [id, account] of ledger.accounts) {
    if (id === escrow.accused || id === escrow.reporter) continue;
    if (account.stake > 0n && account.stake >= ledger.config.voterStakeMin) count++;
  }
  return count;
}

function startRound(ledger: Ledger, escrow: Escrow, round: 1 | 2, timeMs: number): void {
  const { config } = ledger;
  escrow.round = round;
  escrow.status = round === 1 ? 'voting' : 'appeal-voting';
  escrow.eligibleVoters = eligibleVoters(ledger, escrow);
  const byFraction = Math.ceil((escrow.eligibleVoters * config.quorumFractionBps) / BPS);
  const quorum = Math.max(config.quorumMin, byFraction);
  escrow.quorum = round === 1 ? quorum : quorum * config.appealQuorumMultiplier;
  escrow.deadlineMs = timeMs + config.votingWindowMs;
  escrow.extended = false;
  escrow.voters = new Set();
  escrow.overturnVotes = 0;
  escrow.overturnWeight = 0n;
  escrow.totalWeight = 0n;
  ledger.escrowDueMs = Math.min(ledger.escrowDueMs, escrow.deadlineMs);
}

/** The accused disputes an open escrow: a voting round starts. */
export function dispute(ledger: Ledger, e: EventOf<'dispute'>): RejectionCode | undefined {
  const found = ledger.escrows.get(e.escrowId);
  if (found === undefined) return 'ESCROW_NOT_FOUND';
  if (e.actor !== found.accused) return 'NOT_ACCUSED';
  if (found.status !== 'open') return 'DISPUTE_WINDOW_CLOSED';
  const escrow = ledger.escrowToChange(e.escrowId)!;
  escrow.disputeEvidence = e.evidence;
  startRound(ledger, escrow, 1, e.timeMs);
  return undefined;
}

/** A staked node other than the accused and the reporter votes once in the current round. */
export function vote(ledger: Ledger, e: EventOf<'vote'>): RejectionCode | undefined {
  const found = ledger.escrows.get(e.escrowId);
  if (found === undefined) return 'ESCROW_NOT_FOUND';
  if (found.status !== 'voting' && found.status !== 'appeal-voting') return 'NOT_VOTING';
  if (e.actor === found.accused) return 'SELF_VOTE';
  if (e.actor === found.reporter) return 'REPORTER_VOTE';
  const voter = ledger.accounts.get(e.actor);
  if (voter === undefined || voter.stake === 0n || voter.stake < ledger.config.voterStakeMin) {
    return 'VOTER_NOT_STAKED';
  }
  if (found.voters.has(e.actor)) return 'ALREADY_VOTED';
  if (found.voters.size >= ledger.config.votesPerRoundMax) return 'VOTE_LIMIT';
  const escrow = ledger.escrowToChange(e.escrowId)!;
  const weight = ledger.config.voteWeighting === 'stake' ? voter.stake + voter.delegated : 1n;
  escrow.voters.add(e.actor);
  escrow.totalWeight += weight;
  if (e.overturn) {
    escrow.overturnVotes++;
    escrow.overturnWeight += weight;
  }
  ledger.counters.votes++;
  return undefined;
}

/** The losing side of a decision (the accused after uphold, the reporter after overturn) asks for a second round. */
export function appeal(ledger: Ledger, e: EventOf<'appeal'>): RejectionCode | undefined {
  const found = ledger.escrows.get(e.escrowId);
  if (found === undefined) return 'ESCROW_NOT_FOUND';
  if (found.status !== 'decided') return 'NOT_APPEALABLE';
  const entitled = found.decision === 'uphold' ? found.accused : found.reporter;
  if (e.actor !== entitled) return 'NOT_ENTITLED_TO_APPEAL';
  const escrow = ledger.escrowToChange(e.escrowId)!;
  escrow.appealEvidence = e.evidence;
  ledger.counters.appeals++;
  startRound(ledger, escrow, 2, e.timeMs);
  return undefined;
}

/** Handles every active escrow whose deadline is `dueMs` (in id order), then recomputes the next deadline. */
export function resolveDue(ledger: Ledger, dueMs: number): void {
  const due = [...ledger.activeEscrows].filter((id) => ledger.escrows.get(id)!.deadlineMs === dueMs).sort();
  for (const id of due) resolveOne(ledger, ledger.escrowToChange(id)!, dueMs);
  let next = Number.POSITIVE_INFINITY;
  for (const id of ledger.activeEscrows) next = Math.min(next, ledger.escrows.get(id)!.deadlineMs);
  ledger.escrowDueMs = next;
}

function resolveOne(ledger: Ledger, escrow: Escrow, atMs: number): void {
  const { config } = ledger;
  switch (escrow.status) {
    case 'open':
      finish(ledger, escrow, 'uphold', atMs);
      return;
    case 'decided':
      finish(ledger, escrow, escrow.decision!, atMs);
      return;
    case 'voting':
    case 'appeal-voting': {
      const votes = escrow.voters.size;
      const lowTurnout = votes < escrow.quorum && eligibleVoters(ledger, escrow) < escrow.quorum;
      if (lowTurnout && !escrow.extended && config.lowParticipationExtensionMs > 0) {
        escrow.extended = true;
        escrow.deadlineMs = atMs + config.lowParticipationExtensionMs;
        ledger.counters.lowParticipationAlerts++;
        return;
      }
      const quorate = votes >= escrow.quorum;
      const overturned =
        quorate &&
        escrow.totalWeight > 0n &&
        escrow.overturnWeight * BigInt(BPS) >= BigInt(config.overturnThresholdBps) * escrow.totalWeight;
      const fallback: EscrowDecision = escrow.round === 1 ? 'uphold' : escrow.decision!;
      const decision: EscrowDecision = quorate ? (overturned ? 'overturn' : 'uphold') : fallback;
      const summary = {
        votes,
        overturnVotes: escrow.overturnVotes,
        quorum: escrow.quorum,
        decision,
        quorate,
      };
      escrow.rounds = [...escrow.rounds, summary];
      escrow.decision = decision;
      if (escrow.round === 1 && config.appealWindowMs > 0) {
        escrow.status = 'decided';
        escrow.deadlineMs = atMs + config.appealWindowMs;
        return;
      }
      finish(ledger, escrow, decision, atMs);
      return;
    }
    default:
      assert(false, `escrow ${escrow.id} is final but active`);
  }
}

/** Burns (uphold) or returns (overturn) the locked tokens; the escrow is final. */
function finish(ledger: Ledger, escrow: Escrow, decision: EscrowDecision, atMs: number): void {
  const accused = ledger.account(escrow.accused);
  if (decision === 'uphold') {
    for (const source of escrow.sources) {
      const account = ledger.account(source.from);
      account.slashedTotal = plus(account.slashedTotal, source.amount);
    }
    ledger.burned = plus(ledger.burned, escrow.amount);
    ledger.supply = minus(ledger.supply, escrow.amount);
    ledger.counters.escrowsExecuted++;
    accused.lastSlashedAtMs = atMs;
    escrow.status = 'executed';
  } else {
    for (const source of escrow.sources) {
      if (source.from === escrow.accused) {
        accused.stake = plus(accused.stake, source.amount);
        ledger.refreshOperator(escrow.accused, accused);
      } else {
        bondDelegation(ledger.account(source.from), accused, source.from, escrow.accused, source.amount);
      }
    }
    ledger.counters.escrowsReturned++;
    escrow.status = 'returned';
  }
  escrow.decision = decision;
  escrow.final = true;
  escrow.resolvedAtMs = atMs;
  escrow.voters = new Set();
  ledger.activeEscrowsToChange().delete(escrow.id);
  accused.escrowsActive--;
  assert(accused.escrowsActive >= 0, 'negative active escrow count');
}
