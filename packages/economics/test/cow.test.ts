import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareEvents,
  type EconomicsConfigInput,
  type EconomicsEvent,
  EconomicsState,
  type EventBody,
  SLASH_REASONS,
} from '../src/index.js';
import { Ledger } from '../src/ledger.js';
import { ledgerHash } from '../src/state-hash.js';
import { advance, applyToLedger } from '../src/transition.js';
import { signers } from './helpers.js';

/**
 * Copy-on-write snapshots (`Ledger.clone`): a ledger and its clones share every account, escrow and
 * reputation table neither has changed, so a mutation site that skipped the copy would change a
 * snapshot behind its back. These properties apply random histories of every event type with
 * snapshots taken, branched from and re-executed at random points, and check that every snapshot
 * keeps the hash it had when taken, that changing a clone never changes the original (nor the
 * reverse), and that the result equals a replay from scratch without any clone.
 */

const ACTORS = 6;
const KEY_SEED = 0xc0ffee;
const ids = signers(ACTORS, KEY_SEED).map((k) => k.nodeId);

const configInput = (snapshotIntervalEvents = 16): EconomicsConfigInput => ({
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
const config = new EconomicsState({ config: configInput() }).config;

/** One step of a history as fast-check draws it; `toEvents` turns a list of them into signed events. */
const stepArb = fc.record({
  actor: fc.nat(ACTORS - 1),
  kind: fc.nat(15),
  other: fc.nat(ACTORS - 2),
  amount: fc.integer({ min: 1, max: 4_000 }),
  pick: fc.nat(1_000),
  flag: fc.boolean(),
  dtMs: fc.nat(120),
});
type Step = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

/** Signed events in canonical order (times non-decreasing as drawn, then sorted as the state sorts them). */
function toEvents(steps: readonly Step[]): EconomicsEvent[] {
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

function replayHash(events: readonly EconomicsEvent[], endMs: number): string {
  const ledger = new Ledger(config);
  for (const e of events) applyToLedger(ledger, e);
  advance(ledger, endMs);
  return ledgerHash(ledger);
}

describe('Ledger copy-on-write snapshots', () => {
  it('snapshots keep their hash, clones and originals never see each other, re-execution from any snapshot gives the replay', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 10, maxLength: 90 }),
        fc.array(fc.nat(3), { minLength: 90, maxLength: 90 }),
        fc.nat(),
        (steps, ops, salt) => {
          const events = toEvents(steps);
          const endMs = events[events.length - 1]!.timeMs + 5_000;
          const expected = replayHash(events, endMs);
          let live = new Ledger(config);
          const snapshots: { index: number; ledger: Ledger; hash: string }[] = [];
          const branches: { ledger: Ledger; hash: string }[] = [];
          for (let i = 0; i < events.length; i++) {
            const op = ops[i]!;
            if (op === 1) {
              // A snapshot, as `EconomicsState` takes them.
              const ledger = live.clone();
              snapshots.push({ index: i, ledger, hash: ledgerHash(ledger) });
            } else if (op === 2 && snapshots.length > 0) {
              // A late event: re-execute from a snapshot to here and carry on with the result.
              const base = snapshots[(salt + i) % snapshots.length]!;
              const rerun = base.ledger.clone();
              for (let j = base.index; j < i; j++) applyToLedger(rerun, events[j]!);
              expect(ledgerHash(rerun)).toBe(ledgerHash(live));
              live = rerun;
            } else if (op === 3) {
              // A clone that runs ahead (events out of place, time advanced): the original must not move.
              const before = ledgerHash(live);
              const branch = live.clone();
              for (let j = i; j < Math.min(events.length, i + 8); j++) applyToLedger(branch, events[j]!);
              advance(branch, endMs);
              expect(ledgerHash(live)).toBe(before);
              // And the reverse: the original moving on leaves the clone alone.
              const branchHash = ledgerHash(branch);
              branches.push({ ledger: branch, hash: branchHash });
            }
            applyToLedger(live, events[i]!);
          }
          advance(live, endMs);
          expect(ledgerHash(live)).toBe(expected);
          for (const s of [...snapshots, ...branches]) expect(ledgerHash(s.ledger)).toBe(s.hash);
        },
      ),
      { numRuns: 60, seed: 0x5eed, endOnFailure: true },
    );
  });

  it('EconomicsState with late events and small snapshot intervals equals the canonical replay', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 20, maxLength: 120 }),
        fc.array(fc.nat(1_000_000), { minLength: 120, maxLength: 120 }),
        (steps, delays) => {
          const events = toEvents(steps);
          const endMs = events[events.length - 1]!.timeMs + 5_000;
          const init = { config: configInput(16) };
          const reference = EconomicsState.replay(init, events).state;
          reference.advanceTo(endMs);
          // Delivery order: each event held back by a random delay, each actor's order kept.
          const arrival = events.map((e, i) => ({
            e,
            at: e.timeMs + (delays[i]! % 7 === 0 ? delays[i]! % 900 : 0),
          }));
          const lastAt = new Map<string, number>();
          for (const a of arrival.slice().sort((x, y) => x.e.seq - y.e.seq)) {
            a.at = Math.max(a.at, lastAt.get(a.e.actor) ?? 0);
            lastAt.set(a.e.actor, a.at);
          }
          arrival.sort((x, y) => x.at - y.at || (x.e.actor === y.e.actor ? x.e.seq - y.e.seq : 0));
          const state = new EconomicsState(init);
          for (const { e, at } of arrival) {
            state.apply(e, { nowMs: Math.max(at, e.timeMs) });
            if (delays[e.seq % delays.length]! % 5 === 0) state.advanceTo(at);
          }
          state.flush();
          state.advanceTo(endMs);
          expect(state.stateHash()).toBe(reference.stateHash());
          expect(state.accountedSupply()).toBe(state.totals().supply);
        },
      ),
      { numRuns: 40, seed: 0xc0de, endOnFailure: true },
    );
  });
});
