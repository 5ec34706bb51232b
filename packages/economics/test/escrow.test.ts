import { describe, expect, it } from 'vitest';
import { DAY, evidence, HOUR, TestNet } from './helpers.js';

// Seed v2.0 settings: appeals off unless a test turns them on, so decisions are final at the round's end.
const seed = { appealWindowMs: 0 };

function slash(net: TestNet, reporter: number, accused: number, n = 1) {
  const event = net.ok(reporter, {
    type: 'slash',
    accused: net.id(accused),
    reason: 'pos-failure',
    evidence: evidence(n),
  });
  return `${event.actor}:${event.seq}`;
}

function disputeAndVote(net: TestNet, escrowId: string, accused: number, voters: number[], overturn: number) {
  net.ok(accused, { type: 'dispute', escrowId, evidence: evidence(99) });
  voters.forEach((voter, i) => {
    net.ok(voter, { type: 'vote', escrowId, overturn: i < overturn });
  });
}

describe('slashing escrow (seed v2.0)', () => {
  it('create: locks the slash amount (1 % of bonded stake for a PoS failure) out of the accused stake', () => {
    const net = new TestNet(3, { config: seed });
    const supply = net.state.totals().supply;
    const id = slash(net, 0, 1);
    const escrow = net.state.escrow(id)!;
    expect(escrow.status).toBe('open');
    expect(escrow.amount).toBe(1_000n);
    expect(escrow.deadlineMs).toBe(net.nowMs + DAY);
    expect(net.state.stakeOf(net.id(1)).self).toBe(99_000n);
    expect(net.state.accountedSupply()).toBe(supply);
    expect(net.state.totals().escrowsActive).toBe(1);
  });

  it('escrows() lists every escrow, or only the active ones, oldest first', () => {
    const net = new TestNet(4, { config: seed });
    const first = slash(net, 0, 1);
    net.advance(DAY + 1);
    const second = slash(net, 0, 2, 2);
    expect(net.state.escrows().map((e) => e.id)).toEqual([first, second]);
    expect(net.state.escrows().map((e) => e.status)).toEqual(['executed', 'open']);
    expect(net.state.escrows({ activeOnly: true }).map((e) => e.id)).toEqual([second]);
    expect(net.state.escrows({ limit: 1 }).map((e) => e.id)).toEqual([first]);
  });

  it('auto-executes after the 24 h dispute window when nobody disputes: funds burned', () => {
    const net = new TestNet(3, { config: seed });
    const supply = net.state.totals().supply;
    const id = slash(net, 0, 1);
    net.advance(DAY - 1);
    expect(net.state.escrow(id)!.status).toBe('open');
    net.advance(1);
    expect(net.state.escrow(id)!.status).toBe('executed');
    expect(net.state.totals()).toMatchObject({ supply: supply - 1_000n, burned: 1_000n, escrowsActive: 0 });
    expect(net.state.nodeSummary(net.id(1)).slashedTotal).toBe('1000');
    expect(net.state.accountedSupply()).toBe(supply - 1_000n);
  });

  it('a dispute after the window is refused (the slash has executed)', () => {
    const net = new TestNet(3, { config: seed });
    const id = slash(net, 0, 1);
    net.advance(DAY + HOUR);
    expect(net.emit(1, { type: 'dispute', escrowId: id, evidence: evidence(2) }).rejection).toBe(
      'DISPUTE_WINDOW_CLOSED',
    );
  });

  it('only the accused may dispute', () => {
    const net = new TestNet(3, { config: seed });
    const id = slash(net, 0, 1);
    expect(net.emit(2, { type: 'dispute', escrowId: id, evidence: evidence(2) }).rejection).toBe(
      'NOT_ACCUSED',
    );
  });

  it('overturns at >= 66.7 % (7 of 10): funds return to the accused stake', () => {
    const net = new TestNet(12, { config: seed });
    const supply = net.state.totals().supply;
    const id = slash(net, 0, 1);
    disputeAndVote(net, id, 1, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 7);
    expect(net.state.escrow(id)).toMatchObject({ status: 'voting', votes: 10, overturnVotes: 7, quorum: 5 });
    net.advance(DAY + HOUR);
    expect(net.state.escrow(id)!.status).toBe('returned');
    expect(net.state.stakeOf(net.id(1)).self).toBe(100_000n);
    expect(net.state.totals()).toMatchObject({ supply, burned: 0n, escrowsActive: 0 });
  });

  it('upholds just under the threshold: 10 of 15 is 66.67 % < 66.7 %', () => {
    const net = new TestNet(17, { config: seed });
    const id = slash(net, 0, 1);
    disputeAndVote(
      net,
      id,
      1,
      Array.from({ length: 15 }, (_, i) => i + 2),
      10,
    );
    net.advance(DAY + HOUR);
    expect(net.state.escrow(id)!.status).toBe('executed');
  });

  it("an executed slash caps the accused's reputation (0.1) for reputationSlashedMs; a returned one does not", () => {
    const net = new TestNet(9, { config: seed });
    for (let reporter = 2; reporter < 5; reporter++)
      for (let i = 0; i < 6; i++)
        net.ok(reporter, { type: 'pos-result', holder: net.id(1), shard: evidence(i), passed: true });
    const before = net.state.reputationOf(net.id(1)).score;
    expect(before).toBeGreaterThan(0.5);
    slash(net, 0, 1);
    net.advance(DAY);
    expect(net.state.reputationOf(net.id(1)).score).toBe(0.1);
    net.advance(7 * DAY - 1);
    expect(net.state.reputationOf(net.id(1)).score).toBe(0.1);
    net.advance(1);
    expect(net.state.reputationOf(net.id(1)).score).toBeGreaterThan(0.1);
    // Overturned (6 of 6 votes): the stake comes back and the reputation is not capped.
    const id = slash(net, 0, 2);
    disputeAndVote(net, id, 2, [3, 4, 5, 6, 7, 8], 6);
    net.advance(DAY + HOUR);
    expect(net.state.escrow(id)!.status).toBe('returned');
    expect(net.state.reputationOf(net.id(2)).score).toBe(0.4);
  });

  it('upholds with a clear majority against (3 of 15)', () => {
    const net = new TestNet(17, { config: seed });
    const id = slash(net, 0, 1);
    disputeAndVote(
      net,
      id,
      1,
      Array.from({ length: 15 }, (_, i) => i + 2),
      3,
    );
    net.advance(DAY + HOUR);
    expect(net.state.escrow(id)).toMatchObject({ status: 'executed', decision: 'uphold' });
  });

  it('executes when the window ends without the 5 votes the quorum needs, even if all of them overturn', () => {
    const net = new TestNet(12, { config: seed });
    const id = slash(net, 0, 1);
    disputeAndVote(net, id, 1, [2, 3, 4, 5], 4);
    net.advance(DAY + HOUR);
    const escrow = net.state.escrow(id)!;
    expect(escrow.status).toBe('executed');
    expect(escrow.rounds[0]).toMatchObject({ votes: 4, quorate: false, decision: 'uphold' });
    expect(net.state.counters().lowParticipationAlerts).toBe(0);
  });

  it('allows at most 10 concurrent escrows per node', () => {
    const net = new TestNet(3, { config: seed });
    for (let i = 0; i < 10; i++) slash(net, 0, 1, i);
    expect(
      net.emit(2, { type: 'slash', accused: net.id(1), reason: 'downtime', evidence: evidence(11) })
        .rejection,
    ).toBe('ESCROW_LIMIT');
    expect(net.state.escrowsOf(net.id(1), { activeOnly: true })).toHaveLength(10);
    net.advance(DAY + HOUR);
    // Once they execute, the node can be slashed again.
    expect(
      net.emit(2, { type: 'slash', accused: net.id(1), reason: 'downtime', evidence: evidence(12) }).outcome,
    ).toBe('applied');
  });

  it('refuses self-voting, reporter voting, double voting and unstaked voters', () => {
    const net = new TestNet(5, { config: seed });
    const id = slash(net, 0, 1);
    net.ok(1, { type: 'dispute', escrowId: id, evidence: evidence(2) });
    expect(net.emit(1, { type: 'vote', escrowId: id, overturn: true }).rejection).toBe('SELF_VOTE');
    expect(net.emit(0, { type: 'vote', escrowId: id, overturn: false }).rejection).toBe('REPORTER_VOTE');
    net.ok(2, { type: 'vote', escrowId: id, overturn: true });
    expect(net.emit(2, { type: 'vote', escrowId: id, overturn: false }).rejection).toBe('ALREADY_VOTED');
    net.ok(3, { type: 'unstake', amount: 100_000n });
    expect(net.emit(3, { type: 'vote', escrowId: id, overturn: true }).rejection).toBe('VOTER_NOT_STAKED');
    expect(net.state.escrow(id)!.votes).toBe(1);
  });

  it("slashes a delegator's share pro rata and returns it on overturn", () => {
    const net = new TestNet(12, { config: seed });
    net.ok(2, { type: 'delegate', operator: net.id(1), amount: 50_000n });
    const id = slash(net, 0, 1);
    expect(net.state.escrow(id)!.sources).toEqual([
      { from: net.id(1), amount: 1_000n },
      { from: net.id(2), amount: 500n },
    ]);
    expect(net.state.delegationsOf(net.id(2)).get(net.id(1))).toBe(49_500n);
    disputeAndVote(net, id, 1, [3, 4, 5, 6, 7, 8], 6);
    net.advance(DAY + HOUR);
    expect(net.state.delegationsOf(net.id(2)).get(net.id(1))).toBe(50_000n);
    expect(net.state.stakeOf(net.id(1))).toEqual({ self: 100_000n, delegated: 50_000n, bonded: 150_000n });
  });

  it('the seed scenario: 20 escrows, 10 disputed with 15 voters each (5 overturned 12/15, 5 upheld 3/15), 10 undisputed', () => {
    // Node 0 reports, nodes 1..20 are accused, nodes 21..35 vote.
    const net = new TestNet(36, { config: seed });
    const supply = net.state.totals().supply;
    const ids = Array.from({ length: 20 }, (_, i) => slash(net, 0, i + 1));
    const voters = Array.from({ length: 15 }, (_, i) => i + 21);
    for (let i = 0; i < 10; i++) disputeAndVote(net, ids[i]!, i + 1, voters, i < 5 ? 12 : 3);
    expect(net.state.counters().votes).toBe(150);
    net.advance(DAY + HOUR);
    const statuses = ids.map((id) => net.state.escrow(id)!.status);
    expect(statuses.filter((s) => s === 'returned')).toHaveLength(5);
    expect(statuses.filter((s) => s === 'executed')).toHaveLength(15);
    expect(statuses.slice(0, 5)).toEqual(Array(5).fill('returned'));
    const totals = net.state.totals();
    expect(totals.escrowsActive).toBe(0);
    expect(totals.burned).toBe(15n * 1_000n);
    expect(totals.supply).toBe(supply - 15_000n);
    expect(net.state.accountedSupply()).toBe(totals.supply);
    expect(net.state.counters()).toMatchObject({
      escrowsExecuted: 15,
      escrowsReturned: 5,
      escrowsCreated: 20,
    });
  });
});

describe('beyond the seed', () => {
  it('appeal: the accused appeals an upheld slash; the larger quorum (10) overturns it', () => {
    const net = new TestNet(20, { config: { appealWindowMs: DAY } });
    const id = slash(net, 0, 1);
    disputeAndVote(net, id, 1, [2, 3, 4, 5, 6], 1);
    net.advance(DAY + HOUR);
    expect(net.state.escrow(id)).toMatchObject({ status: 'decided', decision: 'uphold' });
    expect(net.emit(0, { type: 'appeal', escrowId: id, evidence: evidence(5) }).rejection).toBe(
      'NOT_ENTITLED_TO_APPEAL',
    );
    net.ok(1, { type: 'appeal', escrowId: id, evidence: evidence(5) });
    expect(net.state.escrow(id)).toMatchObject({ status: 'appeal-voting', round: 2, quorum: 10 });
    // Round-1 voters may vote again in the appeal: one vote per node per round.
    for (let voter = 2; voter < 12; voter++)
      net.ok(voter, { type: 'vote', escrowId: id, overturn: voter < 10 });
    net.advance(DAY + HOUR);
    const escrow = net.state.escrow(id)!;
    expect(escrow.status).toBe('returned');
    expect(escrow.rounds.map((r) => r.decision)).toEqual(['uphold', 'overturn']);
    expect(net.state.stakeOf(net.id(1)).self).toBe(100_000n);
  });

  it('appeal without the larger quorum: the first decision stands', () => {
    const net = new TestNet(20, { config: { appealWindowMs: DAY } });
    const id = slash(net, 0, 1);
    disputeAndVote(net, id, 1, [2, 3, 4, 5, 6, 7], 6);
    net.advance(DAY + HOUR);
    expect(net.state.escrow(id)).toMatchObject({ status: 'decided', decision: 'overturn' });
    net.ok(0, { type: 'appeal', escrowId: id, evidence: evidence(5) });
    for (let voter = 2; voter < 9; voter++) net.ok(voter, { type: 'vote', escrowId: id, overturn: false });
    net.advance(DAY + HOUR);
    expect(net.state.escrow(id)).toMatchObject({ status: 'returned', decision: 'overturn' });
  });

  it('an unappealed decision becomes final when the appeal window ends', () => {
    const net = new TestNet(10, { config: { appealWindowMs: 2 * HOUR } });
    const id = slash(net, 0, 1);
    disputeAndVote(net, id, 1, [2, 3, 4, 5, 6], 0);
    net.advance(DAY + HOUR);
    expect(net.state.escrow(id)!.status).toBe('decided');
    net.advance(2 * HOUR);
    expect(net.state.escrow(id)!.status).toBe('executed');
    expect(net.emit(1, { type: 'appeal', escrowId: id, evidence: evidence(1) }).rejection).toBe(
      'NOT_APPEALABLE',
    );
  });

  it('low participation: fewer eligible voters than the quorum extends the round once and raises an alert', () => {
    // 5 nodes: reporter, accused and 3 eligible voters, while the quorum is 5.
    const net = new TestNet(5, { config: seed });
    const id = slash(net, 0, 1);
    disputeAndVote(net, id, 1, [2, 3, 4], 3);
    expect(net.state.escrow(id)!.eligibleVoters).toBe(3);
    net.advance(DAY + HOUR);
    expect(net.state.escrow(id)).toMatchObject({ status: 'voting', extended: true });
    expect(net.state.counters().lowParticipationAlerts).toBe(1);
    net.advance(DAY + HOUR);
    expect(net.state.escrow(id)!.status).toBe('executed');
    expect(net.state.counters().lowParticipationAlerts).toBe(1);
  });

  it('quorum grows with the eligible voters: max(5, 10 % of them)', () => {
    const net = new TestNet(82, { config: seed });
    const id = slash(net, 0, 1);
    net.ok(1, { type: 'dispute', escrowId: id, evidence: evidence(1) });
    expect(net.state.escrow(id)).toMatchObject({ eligibleVoters: 80, quorum: 8 });
  });

  it('stake-weighted votes: one large staker outweighs five small ones', () => {
    const net = new TestNet(8, { config: { ...seed, voteWeighting: 'stake' } });
    net.ok(7, { type: 'stake', amount: 900_000n }); // 1,000,000 staked against 5 × 100,000
    const id = slash(net, 0, 1);
    net.ok(1, { type: 'dispute', escrowId: id, evidence: evidence(1) });
    for (const voter of [2, 3, 4, 5, 6]) net.ok(voter, { type: 'vote', escrowId: id, overturn: false });
    net.ok(7, { type: 'vote', escrowId: id, overturn: true });
    net.advance(DAY + HOUR);
    // 1,000,000 / 1,500,000 = 66.67 % < 66.7 %: upheld; one more small overturn vote tips it.
    expect(net.state.escrow(id)!.status).toBe('executed');

    const net2 = new TestNet(8, { config: { ...seed, voteWeighting: 'stake' } });
    net2.ok(7, { type: 'stake', amount: 1_000_000n - 100_000n });
    net2.ok(6, { type: 'stake', amount: 100_000n });
    const id2 = slash(net2, 0, 1);
    net2.ok(1, { type: 'dispute', escrowId: id2, evidence: evidence(1) });
    for (const voter of [2, 3, 4, 5]) net2.ok(voter, { type: 'vote', escrowId: id2, overturn: false });
    net2.ok(6, { type: 'vote', escrowId: id2, overturn: true });
    net2.ok(7, { type: 'vote', escrowId: id2, overturn: true });
    net2.advance(DAY + HOUR);
    expect(net2.state.escrow(id2)!.status).toBe('returned');
  });

  it('reporters must be staked and may not slash themselves', () => {
    const net = new TestNet(3, { config: seed });
    net.ok(2, { type: 'unstake', amount: 100_000n });
    const body = { type: 'slash', accused: net.id(1), reason: 'downtime', evidence: evidence(1) } as const;
    expect(net.emit(2, body).rejection).toBe('REPORTER_NOT_STAKED');
    expect(net.emit(1, body).rejection).toBe('SELF_REPORT');
  });
});
