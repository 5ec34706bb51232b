import { concatBytes, sha256, toHex } from '@trinity/core';
import type { EscrowView } from '@trinity/economics';

/** One failing proof-of-storage result as the policy remembers it. */
export interface PosFailure {
  readonly actor: string;
  readonly seq: number;
  readonly timeMs: number;
  readonly bytes: Uint8Array;
}

/** Failing results kept per holder (the oldest go first). */
export const posFailuresPerHolderMax = 1_024;
/** Holders failures are kept for (the one with the oldest latest failure goes first). */
export const posFailureHoldersMax = 10_000;

/**
 * The failing proof-of-storage results every node holds, by holder: the evidence of slash
 * proposals and what a voter checks a proposal against. Bounded per holder and in holders.
 */
export class PosFailureIndex {
  readonly #byHolder = new Map<string, PosFailure[]>();

  add(holder: string, failure: PosFailure): void {
    let list = this.#byHolder.get(holder);
    if (list === undefined) {
      if (this.#byHolder.size >= posFailureHoldersMax)
        this.#byHolder.delete(this.#byHolder.keys().next().value!);
      list = [];
    } else this.#byHolder.delete(holder);
    // Re-inserted: the map's order is by latest failure, oldest first.
    this.#byHolder.set(holder, list);
    list.push(failure);
    if (list.length > posFailuresPerHolderMax) list.shift();
  }

  /** Failures of `holder` reported by `actor` (any actor when undefined) with time in [fromMs, toMs]. */
  between(holder: string, fromMs: number, toMs: number, actor?: string): PosFailure[] {
    return (this.#byHolder.get(holder) ?? []).filter(
      (f) => f.timeMs >= fromMs && f.timeMs <= toMs && (actor === undefined || f.actor === actor),
    );
  }
}

/**
 * The evidence hash of a proof-of-storage slash that `reporter` stamps at `atMs`: SHA-256 of the
 * canonical bytes of the reporter's failing results about `accused` in [atMs - windowMs, atMs], in
 * sequence order. Any node that accepted the slash holds every earlier event of its reporter (the
 * state takes an actor's events in sequence), so it can recompute this exactly.
 */
export function posEvidence(
  index: PosFailureIndex,
  reporter: string,
  accused: string,
  atMs: number,
  windowMs: number,
): { hash: string; failures: number } {
  const failures = index.between(accused, atMs - windowMs, atMs, reporter).sort((a, b) => a.seq - b.seq);
  return { hash: toHex(sha256(concatBytes(...failures.map((f) => f.bytes)))), failures: failures.length };
}

export interface SlashPolicy {
  /** Failing results of one holder, by any challengers (this node among them), that make it propose a slash. */
  readonly posFailuresToSlash: number;
  /** …within this long. */
  readonly posFailureWindowMs: number;
}

/**
 * Whether this node proposes a proof-of-storage slash of `holder` now: within the window (and since
 * the last escrow against it) at least `posFailuresToSlash` signed failing results of it are known,
 * at least one of them from this node's own challenges (its evidence), and no escrow against it is
 * open. Failures are counted over every challenger because a failed copy is re-placed at once: a
 * holder that dropped many shards fails each about once, spread over the challengers, so no single
 * challenger may ever see several. Each result is signed by its challenger, so one lying node can
 * forge no more than its own.
 */
export function shouldProposeSlash(
  policy: SlashPolicy,
  index: PosFailureIndex,
  self: string,
  holder: string,
  escrowsAgainst: readonly EscrowView[],
  nowMs: number,
): boolean {
  if (holder === self) return false;
  if (escrowsAgainst.some((e) => e.status !== 'executed' && e.status !== 'returned')) return false;
  const lastEscrowMs = escrowsAgainst.reduce((latest, e) => Math.max(latest, e.createdAtMs), -1);
  const fromMs = Math.max(nowMs - policy.posFailureWindowMs, lastEscrowMs + 1);
  if (index.between(holder, fromMs, nowMs, self).length === 0) return false;
  return index.between(holder, fromMs, nowMs).length >= policy.posFailuresToSlash;
}

export interface VotePolicy {
  /** A slash whose evidence this node cannot check is upheld when the accused's reputation is below this. */
  readonly upholdReputationBelow: number;
  readonly posFailureWindowMs: number;
}

/**
 * How this node votes on a disputed escrow: uphold a proof-of-storage slash whose evidence hash it
 * recomputes from the failing results it holds (at least one), or any slash of a node whose
 * reputation is below the threshold; overturn otherwise.
 */
export function voteOverturn(
  policy: VotePolicy,
  index: PosFailureIndex,
  escrow: EscrowView,
  accusedReputation: number,
): boolean {
  if (accusedReputation < policy.upholdReputationBelow) return false;
  if (escrow.reason !== 'pos-failure') return true;
  const { hash, failures } = posEvidence(
    index,
    escrow.reporter,
    escrow.accused,
    escrow.createdAtMs,
    policy.posFailureWindowMs,
  );
  return !(failures > 0 && hash === escrow.evidence);
}
