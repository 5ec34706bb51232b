import { createSha256, toHex, utf8ToBytes } from '@trinity/core';
import type { Ledger, ReadonlyAccount, ReadonlyEscrow } from './ledger.js';

const sorted = <V>(map: ReadonlyMap<string, V>): [string, V][] =>
  [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function isEmpty(a: ReadonlyAccount): boolean {
  return (
    a.balance === 0n &&
    a.stake === 0n &&
    a.delegated === 0n &&
    a.delegations.size === 0 &&
    a.unbonding.length === 0 &&
    a.commissionBps === undefined &&
    a.rewardsTotal === 0n &&
    a.slashedTotal === 0n &&
    a.escrowsActive === 0 &&
    a.lastSlashedAtMs === undefined
  );
}

function accountLine(id: string, a: ReadonlyAccount): string {
  const delegations = sorted(a.delegations)
    .map(([op, amount]) => `${op}=${amount}`)
    .join(',');
  const unbonding = a.unbonding.map((u) => `${u.amount}@${u.releaseAtMs}`).join(',');
  return `A ${id} ${a.balance} ${a.stake} ${a.delegated} [${delegations}] [${unbonding}] ${a.commissionBps ?? '-'} ${a.rewardsTotal} ${a.slashedTotal} ${a.escrowsActive} ${a.lastSlashedAtMs ?? '-'}`;
}

function escrowLine(e: ReadonlyEscrow): string {
  const sources = e.sources.map((s) => `${s.from}=${s.amount}`).join(',');
  const voters = [...e.voters].sort().join(',');
  const rounds = e.rounds
    .map((r) => `${r.votes}/${r.overturnVotes}/${r.quorum}/${r.decision}/${r.quorate}`)
    .join(',');
  return [
    'E',
    e.id,
    e.accused,
    e.reporter,
    e.reason,
    e.evidence,
    e.createdAtMs,
    e.amount,
    `[${sources}]`,
    e.status,
    e.deadlineMs,
    e.disputeEvidence ?? '-',
    e.appealEvidence ?? '-',
    e.round,
    e.quorum,
    e.eligibleVoters,
    e.extended,
    `[${voters}]`,
    e.overturnVotes,
    e.overturnWeight,
    e.totalWeight,
    `[${rounds}]`,
    e.decision ?? '-',
    e.resolvedAtMs ?? '-',
  ].join(' ');
}

/**
 * SHA-256 (hex) of a canonical text of the whole fold state: every map in key order, empty accounts
 * left out (a rejected event may leave one behind, and it means nothing). Two ledgers have the same
 * hash exactly when they hold the same state. Not a hot path: built on demand. `nowMs`: the state's
 * time when it is later than the ledger's (a shared ledger's time is carried by the state, see
 * `SharedApply`).
 */
export function ledgerHash(ledger: Ledger, nowMs = ledger.nowMs): string {
  const hasher = createSha256();
  // Lines are hashed in chunks of about 64 KiB: SHA-256 of the concatenation is the same however it
  // is split, and one update per chunk costs far less than one encode and update per line.
  let chunk = '';
  const line = (text: string) => {
    chunk += `${text}\n`;
    if (chunk.length >= 65_536) {
      hasher.update(utf8ToBytes(chunk));
      chunk = '';
    }
  };
  const c = ledger.counters;
  line(`T ${ledger.supply} ${ledger.burned} ${ledger.rewardPool} ${nowMs} ${ledger.epochEndMs}`);
  line(`C ${Object.entries(c).map(([key, value]) => `${key}=${value}`)}`);
  for (const [id, account] of sorted(ledger.accounts)) if (!isEmpty(account)) line(accountLine(id, account));
  for (const [, escrow] of sorted(ledger.escrows)) line(escrowLine(escrow));
  for (const [subject, reporters] of sorted(ledger.evidence)) {
    for (const [reporter, e] of sorted(reporters)) {
      line(
        `R ${subject} ${reporter} ${e.posPassed} ${e.posTotal} ${e.upProbes} ${e.probes} ${e.bandwidthKiB} ${e.step}`,
      );
    }
  }
  if (chunk.length > 0) hasher.update(utf8ToBytes(chunk));
  return toHex(hasher.digest());
}
