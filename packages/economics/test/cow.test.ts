import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EconomicsState } from '../src/index.js';
import { Ledger } from '../src/ledger.js';
import { ledgerHash } from '../src/state-hash.js';
import { advance, applyToLedger } from '../src/transition.js';
import { configInput, type EconomicsEvent, stepArb, toEvents } from './histories.js';

/**
 * Copy-on-write snapshots (`Ledger.clone`): a ledger and its clones share every account, escrow and
 * reputation table neither has changed, so a mutation site that skipped the copy would change a
 * snapshot behind its back. These properties apply random histories of every event type with
 * snapshots taken, branched from and re-executed at random points, and check that every snapshot
 * keeps the hash it had when taken, that changing a clone never changes the original (nor the
 * reverse), and that the result equals a replay from scratch without any clone.
 */

const config = new EconomicsState({ config: configInput() }).config;

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
