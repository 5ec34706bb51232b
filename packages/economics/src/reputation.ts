import { BPS, type EconomicsConfig } from './config.js';
import { trimmedMean } from './consensus.js';
import type { RejectionCode } from './errors.js';
import type { EventOf } from './events.js';
import type { Ledger } from './ledger.js';

/**
 * What one reporter has seen of one subject, as exponentially decayed counters. Counts are fixed
 * point (one observation = `OBSERVATION`) and decay happens in integer steps of a sixteenth of the
 * half-life with a table of 2^(-k/16) in Q20: integer arithmetic only, so every node computes the
 * same counters from the same events whatever its floating-point library.
 */
export interface Evidence {
  posPassed: number;
  posTotal: number;
  upProbes: number;
  probes: number;
  bandwidthKiB: number;
  /** Decay step the counters are expressed at. */
  step: number;
}

export const OBSERVATION = 1_024;
/** Counters saturate here: products with the Q20 decay factors stay below 2^53. */
const COUNTER_MAX = 2 ** 32 - 1;
const STEPS_PER_HALF_LIFE = 16;
/** round(2^20 · 2^(-k/16)) for k = 0..15. */
const DECAY_Q20 = [
  1048576, 1004120, 961548, 920782, 881744, 844361, 808563, 774282, 741455, 710020, 679917, 651091, 623487,
  597053, 571740, 547500,
];

/** The decay step of `timeMs`: sixteenths of a half-life since genesis. */
export function decayStep(config: EconomicsConfig, timeMs: number): number {
  const stepMs = Math.floor(config.reputationHalfLifeMs / STEPS_PER_HALF_LIFE);
  return Math.max(0, Math.floor((timeMs - config.genesis.timeMs) / stepMs));
}

/** `value` after `steps` decay steps, rounded down. */
export function decayed(value: number, steps: number): number {
  if (steps <= 0 || value === 0) return value;
  const halvings = Math.floor(steps / STEPS_PER_HALF_LIFE);
  if (halvings >= 53) return 0;
  const scaled = Math.floor((value * DECAY_Q20[steps % STEPS_PER_HALF_LIFE]!) / 1_048_576);
  return Math.floor(scaled / 2 ** halvings);
}

/** The counters of `e` brought forward to `step` (a copy; `e` is unchanged). */
export function evidenceAt(e: Evidence, step: number): Evidence {
  const k = step - e.step;
  if (k <= 0) return e;
  return {
    posPassed: decayed(e.posPassed, k),
    posTotal: decayed(e.posTotal, k),
    upProbes: decayed(e.upProbes, k),
    probes: decayed(e.probes, k),
    bandwidthKiB: decayed(e.bandwidthKiB, k),
    step,
  };
}

const add = (counter: number, amount: number) => Math.min(COUNTER_MAX, counter + amount);

/**
 * A copy of the evidence `reporter` holds on `subject`, decayed to the event's step (zero counters
 * if it holds none), for the caller to change and store with `Ledger.setEvidence`; undefined when
 * the pair is new and the table is full.
 */
function evidenceFor(
  ledger: Ledger,
  reporter: string,
  subject: string,
  timeMs: number,
): Evidence | undefined {
  const e = ledger.evidence.get(subject)?.get(reporter);
  const step = decayStep(ledger.config, timeMs);
  if (e === undefined) {
    if (ledger.evidencePairs >= ledger.config.evidencePairsMax) return undefined;
    return { posPassed: 0, posTotal: 0, upProbes: 0, probes: 0, bandwidthKiB: 0, step };
  }
  // A copy even when nothing decayed: the caller changes it, and the table's entry may be shared.
  const at = evidenceAt(e, step);
  return at === e ? { ...e } : at;
}

/** A proof-of-storage result from the challenger (the actor) about the holder. */
export function recordPosResult(ledger: Ledger, ev: EventOf<'pos-result'>): RejectionCode | undefined {
  if (ev.holder === ev.actor) return 'SELF_REPORT';
  const e = evidenceFor(ledger, ev.actor, ev.holder, ev.timeMs);
  if (e === undefined) return 'EVIDENCE_LIMIT';
  e.posTotal = add(e.posTotal, OBSERVATION);
  if (ev.passed) e.posPassed = add(e.posPassed, OBSERVATION);
  ledger.setEvidence(ev.holder, ev.actor, e);
  if (ev.passed) ledger.counters.posPassed++;
  else ledger.counters.posFailed++;
  return undefined;
}

/** An uptime probe of the subject by the actor. */
export function recordUptime(ledger: Ledger, ev: EventOf<'uptime'>): RejectionCode | undefined {
  if (ev.subject === ev.actor) return 'SELF_REPORT';
  const e = evidenceFor(ledger, ev.actor, ev.subject, ev.timeMs);
  if (e === undefined) return 'EVIDENCE_LIMIT';
  e.probes = add(e.probes, OBSERVATION);
  if (ev.up) e.upProbes = add(e.upProbes, OBSERVATION);
  ledger.setEvidence(ev.subject, ev.actor, e);
  return undefined;
}

/** Bytes the subject served to the actor (counted in whole KiB). */
export function recordBandwidth(ledger: Ledger, ev: EventOf<'bandwidth'>): RejectionCode | undefined {
  if (ev.subject === ev.actor) return 'SELF_REPORT';
  if (ev.bytes > ledger.config.bandwidthReportBytesMax) return 'REPORT_TOO_LARGE';
  const e = evidenceFor(ledger, ev.actor, ev.subject, ev.timeMs);
  if (e === undefined) return 'EVIDENCE_LIMIT';
  e.bandwidthKiB = add(e.bandwidthKiB, Math.floor(ev.bytes / 1024));
  ledger.setEvidence(ev.subject, ev.actor, e);
  return undefined;
}

/** `hits / total` smoothed by the configured prior (half hits): 0.5 without evidence, little evidence moves it little. */
function smoothedRate(config: EconomicsConfig, hits: number, total: number): number {
  const prior = config.reputationPriorObservations * OBSERVATION;
  return total + prior === 0 ? 0.5 : (hits + prior / 2) / (total + prior);
}

/** One reporter's proof-of-storage pass rate of a subject in [0, 1] (prior-smoothed: 0.5 with no result). */
function posPassRate(config: EconomicsConfig, e: Evidence): number {
  return smoothedRate(config, e.posPassed, e.posTotal);
}

/**
 * One reporter's score of a subject in [0, 1]: the configured weights of PoS pass rate, uptime and
 * bandwidth term (rates prior-smoothed), capped by the PoS pass rate:
 *
 *   min(wPos·pos + wUp·up + wBw·bandwidth, pos)
 *
 * Storing the data is the service: a node that fails a fraction f of this reporter's proofs scores
 * at most about 1 − f with it however well it stays up or serves, one that fails them all falls
 * toward 0 (below the router's floor), and one this reporter never challenged is capped at the
 * prior's 0.5. The score only rises with passes, up probes and bandwidth, and only falls with
 * failures and down probes.
 */
export function reporterScore(config: EconomicsConfig, e: Evidence): number {
  const pos = posPassRate(config, e);
  const up = smoothedRate(config, e.upProbes, e.probes);
  const bandwidth = e.bandwidthKiB / (e.bandwidthKiB + config.reputationBandwidthHalfKiB);
  const weighted =
    config.reputationPosWeightBps * pos +
    config.reputationUptimeWeightBps * up +
    config.reputationBandwidthWeightBps * bandwidth;
  return Math.min(1, Math.max(0, weighted / BPS), pos);
}

/** A node's reputation as the router and the placer read it. */
export interface Reputation {
  /** In [0, 1]: the trimmed mean of the staked reporters' scores (a node nobody reported gets the no-evidence score). */
  readonly score: number;
  /** Reporters whose evidence counted. */
  readonly reporters: number;
}

const emptyEvidence: Evidence = {
  posPassed: 0,
  posTotal: 0,
  upProbes: 0,
  probes: 0,
  bandwidthKiB: 0,
  step: 0,
};

/**
 * The reputation of `subject` at `atMs`: each staked reporter's decayed evidence gives one score
 * (`reporterScore`), and the scores are combined with a trimmed mean, so fewer than a third of
 * faulty reporters cannot move it outside the range of the honest reporters' scores.
 */
export function reputationOf(ledger: Ledger, subject: string, atMs: number): Reputation {
  const { config } = ledger;
  const step = decayStep(config, atMs);
  const scores: number[] = [];
  for (const [reporter, e] of ledger.evidence.get(subject) ?? []) {
    const stakeOfReporter = ledger.accounts.get(reporter)?.stake ?? 0n;
    if (stakeOfReporter < config.reporterStakeMin) continue;
    const now = evidenceAt(e, step);
    if (now.posTotal + now.probes + now.bandwidthKiB === 0) continue;
    scores.push(reporterScore(config, now));
  }
  const score = scores.length === 0 ? reporterScore(config, emptyEvidence) : trimmedMean(scores);
  const slashedAtMs = ledger.accounts.get(subject)?.lastSlashedAtMs;
  const capped =
    slashedAtMs !== undefined && atMs - slashedAtMs < config.reputationSlashedMs
      ? Math.min(score, config.reputationSlashedCapBps / BPS)
      : score;
  return { score: capped, reporters: scores.length };
}
