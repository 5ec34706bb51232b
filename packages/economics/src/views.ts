import type { SlashReason } from './config.js';
import type { EscrowDecision, EscrowRound, EscrowStatus } from './escrow.js';
import type { Ledger, ReadonlyEscrow } from './ledger.js';
import { reputationOf } from './reputation.js';

/** A read-only copy of an escrow. */
export interface EscrowView {
  readonly id: string;
  readonly accused: string;
  readonly reporter: string;
  readonly reason: SlashReason;
  readonly evidence: string;
  readonly amount: bigint;
  readonly sources: readonly { readonly from: string; readonly amount: bigint }[];
  readonly status: EscrowStatus;
  readonly createdAtMs: number;
  /** End of the current stage (dispute window, voting round, appeal window), or when it was resolved. */
  readonly deadlineMs: number;
  readonly round: number;
  readonly quorum: number;
  readonly eligibleVoters: number;
  readonly extended: boolean;
  readonly votes: number;
  readonly overturnVotes: number;
  readonly rounds: readonly EscrowRound[];
  readonly decision: EscrowDecision | undefined;
  readonly disputeEvidence: string | undefined;
  readonly appealEvidence: string | undefined;
  readonly resolvedAtMs: number | undefined;
}

export function escrowView(e: ReadonlyEscrow): EscrowView {
  return {
    id: e.id,
    accused: e.accused,
    reporter: e.reporter,
    reason: e.reason,
    evidence: e.evidence,
    amount: e.amount,
    sources: e.sources.map((s) => ({ ...s })),
    status: e.status,
    createdAtMs: e.createdAtMs,
    deadlineMs: e.resolvedAtMs ?? e.deadlineMs,
    round: e.round,
    quorum: e.quorum,
    eligibleVoters: e.eligibleVoters,
    extended: e.extended,
    votes: e.final ? (e.rounds[e.rounds.length - 1]?.votes ?? 0) : e.voters.size,
    overturnVotes: e.final ? (e.rounds[e.rounds.length - 1]?.overturnVotes ?? 0) : e.overturnVotes,
    rounds: e.rounds.map((r) => ({ ...r })),
    decision: e.decision,
    disputeEvidence: e.disputeEvidence,
    appealEvidence: e.appealEvidence,
    resolvedAtMs: e.resolvedAtMs,
  };
}

/** One node's economics, JSON-safe: amounts are decimal strings of base units. */
export interface NodeSummary {
  readonly nodeId: string;
  readonly lastSeq: number;
  readonly balance: string;
  readonly stake: string;
  readonly delegatedToMe: string;
  readonly bonded: string;
  readonly isOperator: boolean;
  readonly commissionBps: number;
  readonly delegators: number;
  readonly delegations: readonly { readonly operator: string; readonly amount: string }[];
  readonly unbonding: readonly { readonly amount: string; readonly releaseAtMs: number }[];
  readonly rewardsTotal: string;
  readonly slashedTotal: string;
  readonly reputation: { readonly score: number; readonly reporters: number; readonly atMs: number };
  readonly escrows: readonly {
    readonly id: string;
    readonly status: EscrowStatus;
    readonly reason: SlashReason;
    readonly amount: string;
    readonly deadlineMs: number;
    readonly votes: number;
    readonly quorum: number;
  }[];
}

/** At most this many escrows (the newest) are listed in a node summary. */
const SUMMARY_ESCROWS_MAX = 50;

export function nodeSummaryOf(ledger: Ledger, id: string, atMs: number, lastSeq: number): NodeSummary {
  const account = ledger.accounts.get(id);
  const stake = account?.stake ?? 0n;
  const delegated = account?.delegated ?? 0n;
  const reputation = reputationOf(ledger, id, atMs);
  const escrowIds = (ledger.escrowsByNode.get(id) ?? []).slice(-SUMMARY_ESCROWS_MAX);
  return {
    nodeId: id,
    lastSeq,
    balance: String(account?.balance ?? 0n),
    stake: String(stake),
    delegatedToMe: String(delegated),
    bonded: String(stake + delegated),
    isOperator: ledger.operators.has(id),
    commissionBps: account?.commissionBps ?? ledger.config.commissionBps,
    delegators: account?.delegators.size ?? 0,
    delegations: [...(account?.delegations ?? [])]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([operator, amount]) => ({ operator, amount: String(amount) })),
    unbonding: (account?.unbonding ?? []).map((u) => ({
      amount: String(u.amount),
      releaseAtMs: u.releaseAtMs,
    })),
    rewardsTotal: String(account?.rewardsTotal ?? 0n),
    slashedTotal: String(account?.slashedTotal ?? 0n),
    reputation: { score: reputation.score, reporters: reputation.reporters, atMs },
    escrows: escrowIds.map((escrowId) => {
      const view = escrowView(ledger.escrows.get(escrowId)!);
      return {
        id: view.id,
        status: view.status,
        reason: view.reason,
        amount: String(view.amount),
        deadlineMs: view.deadlineMs,
        votes: view.votes,
        quorum: view.quorum,
      };
    }),
  };
}
