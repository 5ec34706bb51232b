import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ApplyResult, EconomicsState, encodeEvent, SharedApply } from '../src/index.js';
import type { Ledger } from '../src/ledger.js';
import type { applyToLedger } from '../src/transition.js';
import { configInput, type EconomicsEvent, stepArb, toEvents } from './histories.js';

/**
 * `SharedApply`: states of one process sharing the work of applying the same events must be
 * observably the same as states that do it all themselves. Each history is delivered to three
 * states sharing one `SharedApply`, each in its own order (a random merge of the actors' streams:
 * late events, re-executions from snapshots, branches that other states reach again), with random
 * `advanceTo`s, half as objects and half as bytes; a twin of each, unshared, gets the same calls.
 * After every call both answer every query the same.
 */

/** What a state shows: every query, with the result of the call. */
function observed(state: EconomicsState, result?: ApplyResult): unknown {
  return {
    result: result === undefined ? undefined : { ...result },
    hash: state.stateHash(),
    nowMs: state.nowMs,
    next: state.nextTimeMs(0),
    events: state.eventCount,
    pending: state.pendingCount,
    counters: state.counters(),
    totals: state.totals(),
    supply: state.accountedSupply(),
    escrows: state.escrows(),
    reputation: [...state.reputationScores()],
  };
}

type Delivery =
  | { readonly event: EconomicsEvent; readonly asBytes: boolean }
  | { readonly advanceMs: number };

/** The history delivered in a random order that keeps each actor's sequence, with `advanceTo`s between. */
function deliveries(events: readonly EconomicsEvent[], picks: readonly number[]): Delivery[] {
  const queues = new Map<string, EconomicsEvent[]>();
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    const queue = queues.get(e.actor) ?? [];
    queue.push(e);
    queues.set(e.actor, queue);
  }
  const out: Delivery[] = [];
  let k = 0;
  let latest = 0;
  for (;;) {
    const actors = [...queues.keys()].filter((a) => queues.get(a)!.length > 0);
    if (actors.length === 0) break;
    const pick = picks[k++ % picks.length]!;
    // Mostly the canonical order (the earliest head), sometimes any actor's next event.
    const heads = actors.map((a) => queues.get(a)![0]!);
    const event =
      pick % 4 === 0
        ? heads[pick % heads.length]!
        : heads.reduce((a, b) =>
            b.timeMs < a.timeMs || (b.timeMs === a.timeMs && b.actor < a.actor) ? b : a,
          );
    queues.get(event.actor)!.shift();
    latest = Math.max(latest, event.timeMs);
    out.push({ event, asBytes: pick % 2 === 0 });
    if (pick % 7 === 0) out.push({ advanceMs: latest + (pick % 3) * 400 });
  }
  out.push({ advanceMs: latest + 10_000 });
  return out;
}

function call(state: EconomicsState, d: Delivery, nowMs: number): ApplyResult | undefined {
  if ('advanceMs' in d) {
    state.advanceTo(d.advanceMs);
    return undefined;
  }
  if (d.asBytes) return state.applyBytes(encodeEvent(d.event), { nowMs }).result;
  return state.apply(d.event, { nowMs });
}

/** Runs the property with states made from `shared`; returns the sharing stats summed over the runs. */
function sharedEqualsUnshared(
  makeShared: (config: ReturnType<typeof configInput>) => SharedApply,
  runs: number,
  seed: number,
) {
  let shared = 0;
  let steps = 0;
  const property = fc.property(
    fc.array(stepArb, { minLength: 20, maxLength: 100 }),
    fc.array(fc.nat(1_000_000), { minLength: 3, maxLength: 60 }),
    fc.array(fc.nat(1_000_000), { minLength: 3, maxLength: 60 }),
    fc.array(fc.nat(1_000_000), { minLength: 3, maxLength: 60 }),
    fc.integer({ min: 16, max: 40 }),
    (steps_, picksA, picksB, picksC, snapshotEvery) => {
      const events = toEvents(steps_);
      const config = configInput(snapshotEvery);
      const sharedApply = makeShared(config);
      const plans = [picksA, picksB, picksC].map((picks) => deliveries(events, picks));
      const states = plans.map(() => new EconomicsState({ shared: sharedApply }));
      const twins = plans.map(() => new EconomicsState({ config }));
      const positions = plans.map(() => 0);
      // The three states take turns, so each applies on ledgers the others made, in between.
      for (let turn = 0; positions.some((p, i) => p < plans[i]!.length); turn++) {
        const i = turn % plans.length;
        const d = plans[i]![positions[i]!];
        if (d === undefined) continue;
        positions[i]!++;
        const nowMs = 'event' in d ? d.event.timeMs : 0;
        const got = observed(states[i]!, call(states[i]!, d, nowMs));
        const want = observed(twins[i]!, call(twins[i]!, d, nowMs));
        expect(got).toEqual(want);
      }
      // A restart: the replay of a state's events from the shared tree equals the unshared one.
      const replayed = EconomicsState.replay({ shared: sharedApply }, events).state;
      const twin = EconomicsState.replay({ config }, events).state;
      replayed.advanceTo(events[events.length - 1]!.timeMs + 10_000);
      twin.advanceTo(events[events.length - 1]!.timeMs + 10_000);
      expect(observed(replayed)).toEqual(observed(twin));
      shared += sharedApply.stats.stepsShared;
      steps += sharedApply.stats.steps;
    },
  );
  const result = fc.check(property, { numRuns: runs, seed, endOnFailure: true });
  return { result, shared, steps };
}

/**
 * A planted bug: results found by the event alone, whatever ledger it was applied to (a state that
 * took the event in another order gets the ledger another state made).
 */
class ParentBlindShare extends SharedApply {
  readonly #byEvent = new Map<Uint8Array, { ledger: Ledger; rejection: ReturnType<typeof applyToLedger> }>();

  override _step(ledger: Ledger, bytes: Uint8Array, event?: EconomicsEvent) {
    const found = this.#byEvent.get(bytes);
    if (found !== undefined) return found;
    const step = super._step(ledger, bytes, event);
    this.#byEvent.set(bytes, step);
    return step;
  }
}

describe('SharedApply', () => {
  it('states sharing the work are observably the same as states that do it alone, in any delivery order', () => {
    const { result, shared, steps } = sharedEqualsUnshared(
      (config) => new SharedApply({ config }),
      40,
      0x5ade,
    );
    expect(result.failed, String(result.counterexample?.[0]?.length)).toBe(false);
    // It did share (three states in three orders share less than states in one).
    expect(shared).toBeGreaterThan(steps / 10);
  });

  it('states taking the events in the same order apply each once', () => {
    const events = toEvents(
      Array.from({ length: 60 }, (_, i) => ({
        actor: i % 6,
        kind: i % 10,
        other: i % 5,
        amount: 100 + i,
        pick: i * 7,
        flag: i % 3 === 0,
        dtMs: 40,
      })),
    );
    const config = configInput(16);
    const sharedApply = new SharedApply({ config });
    const states = Array.from({ length: 5 }, () => new EconomicsState({ shared: sharedApply }));
    const twin = new EconomicsState({ config });
    for (const event of events) {
      for (const state of states) state.apply(event, { nowMs: event.timeMs });
      twin.apply(event, { nowMs: event.timeMs });
    }
    for (const state of states) expect(observed(state)).toEqual(observed(twin));
    expect(sharedApply.stats.steps).toBe(events.length);
    expect(sharedApply.stats.stepsShared).toBe(4 * events.length);
    expect(sharedApply.stats.hashes).toBe(1);
  });

  it('a planted bug (a result found by the event alone, whatever ledger it was applied to) is caught', () => {
    const { result } = sharedEqualsUnshared((config) => new ParentBlindShare({ config }), 40, 0x5ade);
    expect(result.failed).toBe(true);
  });

  it('refuses a config or ed25519 beside shared, and a shared that is not a SharedApply', () => {
    const shared = new SharedApply({ config: configInput() });
    expect(() => new EconomicsState({ shared, config: configInput() })).toThrow(TypeError);
    expect(() => new EconomicsState({ shared: {} as SharedApply })).toThrow(TypeError);
  });
});
