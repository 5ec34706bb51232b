import { isTrinityError, type Random, seededRandom } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  type EconomicsConfigInput,
  type EconomicsEvent,
  EconomicsState,
  type EventBody,
  encodeEvent,
  SLASH_REASONS,
} from '../src/index.js';
import { signers } from './helpers.js';

/**
 * Seeded fuzzing of whole histories: random events of every type from a few actors (valid,
 * semantically doomed, and hostile), delivered in random orders that respect each actor's
 * sequence, with forged, replayed and out-of-sequence events mixed in. The state must come out the
 * same as the canonical replay, the hostile events must be refused with typed errors and change
 * nothing, and the money invariants must hold throughout. Set ECONOMICS_FUZZ_SEED to replay a run.
 */
const seed = Number(process.env.ECONOMICS_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`economics fuzz seed: ${seed} (ECONOMICS_FUZZ_SEED=${seed} to replay)`);

const ACTORS = 7;
const config = (settleDelayMs: number): EconomicsConfigInput => ({
  settleDelayMs,
  unbondingMs: 400,
  epochMs: 1_000,
  rewardPerEpoch: 5_000n,
  reputationHalfLifeMs: 2_000,
  disputeWindowMs: 1_500,
  votingWindowMs: 1_000,
  appealWindowMs: 700,
  lowParticipationExtensionMs: 500,
  quorumMin: 2,
  escrowsPerNodeMax: 3,
  snapshotIntervalEvents: 16,
  snapshotsMax: 3,
  clockSkewMaxMs: 0,
});

interface History {
  genesis: { timeMs: number; rewardPool: bigint; accounts: { id: string; balance: bigint; stake: bigint }[] };
  /** Each actor's events in sequence order. */
  byActor: EconomicsEvent[][];
  endMs: number;
}

interface EscrowRef {
  id: string;
  accused: number;
  reporter: number;
}

function randomBody(random: Random, ids: string[], actor: number, escrows: EscrowRef[]): EventBody {
  const other = ids[(actor + random.int(1, ids.length - 1)) % ids.length]!;
  const anyone = random.pick(ids); // sometimes the actor itself: self-reports and self-votes must be refused
  const amount = BigInt(random.int(1, 3_000));
  const hash = () => random.int(0, 15).toString(16).repeat(64);
  // Mostly escrows this actor has a part in (recent ones), sometimes any or a made-up one.
  const mine = escrows.slice(-6).filter((e) => e.accused === actor || e.reporter === actor);
  const pool = mine.length > 0 && random.chance(0.8) ? mine : escrows.slice(-6);
  const escrowId =
    pool.length > 0 && random.chance(0.95) ? random.pick(pool).id : `${other}:${random.int(1, 9)}`;
  const accusedOf = escrows.slice(-6).filter((e) => e.accused === actor);
  if (accusedOf.length > 0 && random.chance(0.3)) {
    return { type: 'dispute', escrowId: random.pick(accusedOf).id, evidence: hash() };
  }
  if (escrows.length > 0 && random.chance(0.25)) {
    return { type: 'vote', escrowId: random.pick(escrows.slice(-4)).id, overturn: random.chance(0.6) };
  }
  switch (random.int(0, 17)) {
    case 0:
      return { type: 'transfer', to: anyone, amount };
    case 1:
      return { type: 'stake', amount };
    case 2:
      return { type: 'unstake', amount };
    case 3:
      return { type: 'delegate', operator: other, amount };
    case 4:
      return { type: 'undelegate', operator: other, amount };
    case 5:
      return { type: 'withdraw' };
    case 6:
      return { type: 'set-commission', commissionBps: random.int(0, 6_000) };
    case 7:
      return { type: 'pos-result', holder: anyone, shard: hash(), passed: random.chance(0.7) };
    case 8:
      return { type: 'uptime', subject: anyone, up: random.chance(0.8) };
    case 9:
      return { type: 'bandwidth', subject: anyone, bytes: random.int(1, 1 << 22) };
    case 10:
      return { type: 'slash', accused: anyone, reason: random.pick(SLASH_REASONS), evidence: hash() };
    case 11:
    case 14:
      return { type: 'dispute', escrowId, evidence: hash() };
    case 12:
    case 13:
      return { type: 'appeal', escrowId, evidence: hash() };
    default:
      return { type: 'vote', escrowId, overturn: random.chance(0.6) };
  }
}

function makeHistory(random: Random, events: number): History {
  const keys = signers(ACTORS, random.nextU32());
  const ids = keys.map((k) => k.nodeId);
  const genesis = {
    timeMs: 0,
    rewardPool: BigInt(random.int(0, 50_000)),
    accounts: ids.map((id) => ({
      id,
      balance: BigInt(random.int(0, 20_000)),
      stake: BigInt(random.int(0, 3) === 0 ? 0 : random.int(1, 20_000)),
    })),
  };
  const byActor: EconomicsEvent[][] = ids.map(() => []);
  const escrows: EscrowRef[] = [];
  let timeMs = 1;
  for (let n = 0; n < events; n++) {
    timeMs += random.int(0, 60);
    const actor = random.int(0, ACTORS - 1);
    const body = randomBody(random, ids, actor, escrows);
    const event = keys[actor]!.sign(body, timeMs);
    if (body.type === 'slash') {
      escrows.push({
        id: `${event.actor}:${event.seq}`,
        accused: ids.indexOf(body.accused),
        reporter: actor,
      });
    }
    byActor[actor]!.push(event);
  }
  return { genesis, byActor, endMs: timeMs + 10_000 };
}

/** A random merge of the actors' sequences: each actor's order kept, the rest shuffled. */
function interleave(random: Random, byActor: EconomicsEvent[][]): EconomicsEvent[] {
  const queues = byActor.map((events) => events.slice());
  const out: EconomicsEvent[] = [];
  for (;;) {
    const live = queues.filter((q) => q.length > 0);
    if (live.length === 0) return out;
    out.push(random.pick(live).shift()!);
  }
}

function checkInvariants(state: EconomicsState, genesisSupply: bigint, context: string): void {
  const totals = state.totals();
  expect(state.accountedSupply(), `${context}: accounted supply`).toBe(totals.supply);
  expect(totals.supply, `${context}: supply = genesis - burned`).toBe(genesisSupply - totals.burned);
  expect(state.minimumHolding() >= 0n, `${context}: negative holding`).toBe(true);
  expect(totals.rewardPool >= 0n, `${context}: negative pool`).toBe(true);
}

/** A copy of `event` with one byte of its canonical form changed: the signature no longer covers it. */
function forge(random: Random, event: EconomicsEvent): Uint8Array {
  const bytes = encodeEvent(event).slice();
  const hasBody = bytes.length - 64 > 52;
  const region = hasBody && random.chance(0.5) ? [52, bytes.length - 64] : [bytes.length - 64, bytes.length];
  const at = random.int(region[0]!, region[1]! - 1);
  bytes[at] = bytes[at]! ^ (1 << random.int(0, 7));
  return bytes;
}

function expectRefused(
  state: EconomicsState,
  attempt: () => unknown,
  codes: string[],
  context: string,
): void {
  const before = state.stateHash();
  const count = state.eventCount;
  let error: unknown;
  try {
    attempt();
  } catch (e) {
    error = e;
  }
  expect(isTrinityError(error), `${context}: ${String(error)}`).toBe(true);
  expect(codes, `${context}: code`).toContain((error as { code: string }).code);
  expect(state.stateHash(), `${context}: state changed`).toBe(before);
  expect(state.eventCount).toBe(count);
}

describe(`economics fuzz (seed ${seed})`, () => {
  it('any delivery order that respects per-actor sequence gives the canonical state; hostile events change nothing', () => {
    const random = seededRandom(seed);
    for (let round = 0; round < 12; round++) {
      const history = makeHistory(random, random.int(40, 160));
      const genesisSupply = history.genesis.accounts.reduce(
        (sum, a) => sum + a.balance + a.stake,
        history.genesis.rewardPool,
      );
      const all = history.byActor.flat();
      const reference = EconomicsState.replay(
        { config: { ...config(0), genesis: history.genesis } },
        all,
      ).state;
      reference.advanceTo(history.endMs);
      checkInvariants(reference, genesisSupply, `seed ${seed} round ${round} reference`);
      const expected = reference.stateHash();

      for (let order = 0; order < 3; order++) {
        const context = `seed ${seed} round ${round} order ${order}`;
        const settleDelayMs = order === 2 ? 200 : 0;
        const state = new EconomicsState({ config: { ...config(settleDelayMs), genesis: history.genesis } });
        const delivered = interleave(random, history.byActor);
        const next = new Map<string, number>();
        delivered.forEach((event, i) => {
          // Arrival time: up to 300 ms after the stamp, never before it.
          const nowMs = order === 2 ? event.timeMs + random.int(0, 300) : history.endMs;
          if (random.chance(0.08)) {
            expectRefused(state, () => state.applyBytes(forge(random, event), { nowMs }), FORGED, context);
          }
          const ahead = history.byActor.find((q) => q[0]?.actor === event.actor)![event.seq]; // seq + 1
          if (ahead !== undefined && random.chance(0.05)) {
            expectRefused(
              state,
              () => state.apply(ahead, { nowMs: history.endMs }),
              ['EVENT_OUT_OF_SEQUENCE'],
              context,
            );
          }
          state.applyBytes(encodeEvent(event).slice(), { nowMs });
          next.set(event.actor, event.seq + 1);
          if (i > 0 && random.chance(0.05)) {
            const old = random.pick(delivered.slice(0, i + 1));
            expectRefused(
              state,
              () => state.apply(decodeEvent(encodeEvent(old)), { nowMs }),
              ['EVENT_REPLAYED'],
              context,
            );
          }
          if (random.chance(0.1)) checkInvariants(state, genesisSupply, context);
        });
        state.flush();
        state.advanceTo(history.endMs + settleDelayMs);
        checkInvariants(state, genesisSupply, context);
        expect(state.stateHash(), `${context}: state differs from the canonical replay`).toBe(expected);
        expect(state.eventCount).toBe(all.length);
      }
    }
  });
});

/** A flipped bit lands in the body (then the signature fails, or the body no longer parses) or in the signature. */
const FORGED = ['EVENT_SIGNATURE_INVALID', 'EVENT_INVALID', 'EVENT_REPLAYED', 'EVENT_OUT_OF_SEQUENCE'];
