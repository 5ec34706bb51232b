import { EconomicsState, EventSigner, encodeEvent } from '@trinity/economics';

// Seven nodes, each with an ed25519 key: fixed secret keys here so the output is the same every run
// (a real node uses randomBytes(32) from @trinity/core and keeps it). The genesis gives each
// 1,000,000 base units, 100,000 of them staked.
const nodes = Array.from({ length: 7 }, (_, i) => new EventSigner(new Uint8Array(32).fill(i + 1)));
const [alice, bob, carol, ...voters] = nodes;
const config = {
  genesis: {
    timeMs: 0,
    rewardPool: 10_000_000n,
    accounts: nodes.map((n) => ({ id: n.nodeId, balance: 1_000_000n, stake: 100_000n })),
  },
  appealWindowMs: 0, // decisions final at once (the seed's v2.0 behaviour)
  settleDelayMs: 0, // one process, no network delay: apply each event as soon as the clock reaches it
};
const state = new EconomicsState({ config });

// The daemon's clock. Every event is signed by its actor; the state verifies and applies it.
let nowMs = 1_000;
const persisted = [];
function emit(node, body) {
  nowMs = state.nextTimeMs(nowMs);
  const event = node.sign(body, nowMs);
  const result = state.apply(event, { nowMs });
  persisted.push(encodeEvent(event)); // what the daemon writes to disk and gossips
  return { event, result };
}

// Carol delegates to Alice; Bob checks that Alice holds her shards.
emit(carol, { type: 'delegate', operator: alice.nodeId, amount: 50_000n });
for (let i = 0; i < 10; i++) {
  emit(bob, { type: 'pos-result', holder: alice.nodeId, shard: 'ab'.repeat(32), passed: true });
}

// Bob accuses Alice of data corruption: 5 % of her bonded stake is locked in escrow.
const { event: slash } = emit(bob, {
  type: 'slash',
  accused: alice.nodeId,
  reason: 'data-corruption',
  evidence: '01'.repeat(32),
});
const escrowId = `${slash.actor}:${slash.seq}`;
console.log(`escrow ${state.escrow(escrowId).status}, locked ${state.escrow(escrowId).amount}`);

// Alice disputes with her evidence; four of the other nodes vote to overturn.
emit(alice, { type: 'dispute', escrowId, evidence: '02'.repeat(32) });
for (const voter of voters) emit(voter, { type: 'vote', escrowId, overturn: true });
emit(carol, { type: 'vote', escrowId, overturn: true });

// A day later the voting round ends: 5 of 5 votes overturn, so the funds go back.
nowMs += 24 * 3_600_000 + 5_000;
state.advanceTo(nowMs);
console.log(`escrow ${state.escrow(escrowId).status}`);
console.log(
  `alice stake: ${state.stakeOf(alice.nodeId).self}, carol's delegation: ${state.delegationsOf(carol.nodeId).get(alice.nodeId)}`,
);
console.log(`alice reputation: ${state.reputationOf(alice.nodeId).score.toFixed(3)}`);

// A node restarting from the persisted events reaches the same state.
const { state: restarted } = EconomicsState.replay({ config }, persisted);
restarted.advanceTo(nowMs);
console.log(`same state after replay: ${restarted.stateHash() === state.stateHash()}`);
