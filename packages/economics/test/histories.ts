import fc from 'fast-check';
import {
  compareEvents,
  type EconomicsConfigInput,
  type EconomicsEvent,
  type EventBody,
  SLASH_REASONS,
} from '../src/index.js';
import { signers } from './helpers.js';

export type { EconomicsEvent };

/**
 * Random histories of every event type among six actors, for the property tests (cow.test.ts,
 * shared-apply.test.ts): small windows and intervals so escrows, epochs and unbonding all happen.
 */

export const ACTORS = 6;
export const KEY_SEED = 0xc0ffee;
export const ids = signers(ACTORS, KEY_SEED).map((k) => k.nodeId);

export const configInput = (snapshotIntervalEvents = 16): EconomicsConfigInput => ({
  settleDelayMs: 0,
  unbondingMs: 300,
  epochMs: 1_000,
  rewardPerEpoch: 5_000n,
  reputationHalfLifeMs: 2_000,
  disputeWindowMs: 1_200,
  votingWindowMs: 1_000,
  appealWindowMs: 600,
  lowParticipationExtensionMs: 400,
  quorumMin: 2,
  escrowsPerNodeMax: 3,
  snapshotIntervalEvents,
  snapshotsMax: 4,
  clockSkewMaxMs: 0,
  // Below the 30 pairs six actors can make: the table-full path runs too.
  evidencePairsMax: 20,
  genesis: {
    timeMs: 0,
    rewardPool: 40_000n,
    accounts: ids.map((id, i) => ({
      id,
      balance: BigInt(5_000 + 1_000 * i),
      stake: i === ACTORS - 1 ? 0n : BigInt(2_000 + 500 * i),
    })),
  },
});

/** One step of a history as fast-check draws it; `toEvents` turns a list of them into signed events. */
export const stepArb = fc.record({
  actor: fc.nat(ACTORS - 1),
  kind: fc.nat(15),
  other: fc.nat(ACTORS - 2),
  amount: fc.integer({ min: 1, max: 4_000 }),
  pick: fc.nat(1_000),
  flag: fc.boolean(),
  dtMs: fc.nat(120),
});
export type Step = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

/** Signed events in canonical order (times non-decreasing as drawn, then sorted as the state sorts them). */
export function toEvents(steps: readonly Step[]): EconomicsEvent[] {
  // Fresh signers (same keys): each history's sequence numbers start at 1.
  const keys = signers(ACTORS, KEY_SEED);
  const escrows: { id: string; accused: number; reporter: number }[] = [];
  const events: EconomicsEvent[] = [];
  let timeMs = 1;
  for (const s of steps) {
    timeMs += s.dtMs;
    const other = ids[(s.actor + 1 + s.other) % ACTORS]!;
    const amount = BigInt(s.amount);
    const shard = (s.pick % 16).toString(16).repeat(64);
    const escrow = escrows.length > 0 ? escrows[s.pick % escrows.length]! : undefined;
    const escrowId = escrow?.id ?? `${other}:1`;
    let body: EventBody;
    switch (s.kind) {
      case 0:
        body = { type: 'transfer', to: other, amount };
        break;
      case 1:
        body = { type: 'stake', amount };
        break;
      case 2:
        body = { type: 'unstake', amount };
        break;
      case 3:
        body = { type: 'delegate', operator: other, amount };
        break;
      case 4:
        body = { type: 'undelegate', operator: other, amount };
        break;
      case 5:
        body = { type: 'withdraw' };
        break;
      case 6:
        body = { type: 'set-commission', commissionBps: s.pick * 5 };
        break;
      case 7:
        body = { type: 'pos-result', holder: other, shard, passed: s.flag };
        break;
      case 8:
        body = { type: 'uptime', subject: other, up: s.flag };
        break;
      case 9:
        body = { type: 'bandwidth', subject: other, bytes: s.amount * 1_000 };
        break;
      case 10:
        body = {
          type: 'slash',
          accused: other,
          reason: SLASH_REASONS[s.pick % SLASH_REASONS.length]!,
          evidence: shard,
        };
        break;
      case 11:
      case 12: {
        // The accused disputes (or appeals) one of its escrows when it has one.
        const own = escrows.filter((e) => e.accused === s.actor);
        const target = own.length > 0 ? own[s.pick % own.length]!.id : escrowId;
        body =
          s.kind === 11
            ? { type: 'dispute', escrowId: target, evidence: shard }
            : { type: 'appeal', escrowId: target, evidence: shard };
        break;
      }
      default:
        body = { type: 'vote', escrowId, overturn: s.flag };
    }
    const signer = keys[s.actor]!;
    const event = signer.sign(body, timeMs);
    if (body.type === 'slash') {
      escrows.push({
        id: `${event.actor}:${event.seq}`,
        accused: ids.indexOf(body.accused),
        reporter: s.actor,
      });
    }
    events.push(event);
  }
  return events.sort(compareEvents);
}
