import { assertInt, assertNumber, type ConfigSchema, parseConfig } from '@trinity/core';
import * as z from 'zod/mini';
import { intIn, totalShardsMax } from './config.js';
import { NoFeasibleParametersError } from './errors.js';

/** log(C(n, i)) as a sum of logs: exact enough for n <= 256 and never overflows. */
function logBinomial(n: number, i: number): number {
  let out = 0;
  for (let j = 1; j <= i; j++) out += Math.log((n - i + j) / j);
  return out;
}

/**
 * Natural log of P[X > m] for X ~ Binomial(k + m, p): the log-probability that more than m of the
 * k + m shards of a stripe are lost when each is lost independently with probability p. Summed
 * term by term (log-sum-exp), so it stays finite where the probability itself underflows.
 */
export function logStripeLossProbability(k: number, m: number, p: number): number {
  assertInt(k, 'k', 1, totalShardsMax - 1);
  assertInt(m, 'm', 0, totalShardsMax - k);
  assertNumber(p, 'p', 0, 1);
  const n = k + m;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return 0;
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  const logs: number[] = [];
  for (let i = m + 1; i <= n; i++) logs.push(logBinomial(n, i) + i * logP + (n - i) * logQ);
  const max = Math.max(...logs);
  let sum = 0;
  for (const value of logs) sum += Math.exp(value - max);
  return Math.min(0, max + Math.log(sum));
}

/**
 * P[more than m of k + m shards lost], each lost independently with probability p: the binomial
 * tail sum over i = m+1..k+m of C(k+m, i) p^i (1-p)^(k+m-i). Exact formula, no approximation.
 */
export function stripeLossProbability(k: number, m: number, p: number): number {
  return Math.exp(logStripeLossProbability(k, m, p));
}

/** Network health and limits from which `chooseErasureParameters` picks (k, m). */
export interface ErasurePolicyInput {
  /** Nodes that can take a shard now (1 to 1,000,000); every shard of a stripe goes to a different node. Required. */
  readonly healthyNodes: number;
  /** Probability (0 to 1) that one node loses its shard before repair can run (over one repair window). Required. */
  readonly nodeFailureProbability: number;
  /**
   * Required probability (0 to 1) that a stripe survives one repair window.
   * @defaultValue 0.999999999
   */
  readonly targetDurability?: number | undefined;
  /**
   * Largest allowed (k + m) / k, 1 to 256.
   * @defaultValue 2
   */
  readonly maxOverhead?: number | undefined;
  /**
   * Smallest k considered, 1 to 255.
   * @defaultValue 1
   */
  readonly minDataShards?: number | undefined;
  /**
   * Largest k considered, 1 to 255.
   * @defaultValue 32
   */
  readonly maxDataShards?: number | undefined;
  /**
   * Largest k + m considered, 2 to 256 (also capped by `healthyNodes`).
   * @defaultValue 256
   */
  readonly maxTotalShards?: number | undefined;
  /**
   * Return the most durable shape within the limits instead of throwing when none meets the target.
   * @defaultValue false
   */
  readonly allowBelowTarget?: boolean | undefined;
}

/** `ErasurePolicyInput` with every default filled in. */
export interface ErasurePolicy {
  readonly healthyNodes: number;
  readonly nodeFailureProbability: number;
  readonly targetDurability: number;
  readonly maxOverhead: number;
  readonly minDataShards: number;
  readonly maxDataShards: number;
  readonly maxTotalShards: number;
  readonly allowBelowTarget: boolean;
}

const probability = () => z.number().check(z.minimum(0), z.maximum(1));

/** @internal The zod schema behind `erasurePolicySchema`. */
export const erasurePolicyZod = z.strictObject({
  healthyNodes: intIn(1, 1_000_000),
  nodeFailureProbability: probability(),
  targetDurability: z._default(probability(), 0.999_999_999),
  maxOverhead: z._default(z.number().check(z.minimum(1), z.maximum(256)), 2),
  minDataShards: z._default(intIn(1, 255), 1),
  maxDataShards: z._default(intIn(1, 255), 32),
  maxTotalShards: z._default(intIn(2, totalShardsMax), totalShardsMax),
  allowBelowTarget: z._default(z.boolean(), false),
});

/** Validates and defaults `ErasurePolicyInput` (a Standard Schema v1 validator). */
export const erasurePolicySchema: ConfigSchema<ErasurePolicyInput, ErasurePolicy> = erasurePolicyZod;

/** The (k, m) chosen and what it achieves. */
export interface ErasureParameters {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly totalShards: number;
  /** P[stripe lost within one repair window]. */
  readonly lossProbability: number;
  /** 1 - lossProbability (rounds to 1 below about 1e-16; see durabilityNines). */
  readonly durability: number;
  /** -log10(lossProbability), finite even where lossProbability underflows; Infinity when p = 0. */
  readonly durabilityNines: number;
  /** (k + m) / k: bytes stored per byte of data. */
  readonly overhead: number;
  readonly meetsTarget: boolean;
}

function describeShape(k: number, m: number, p: number, allowedLogLoss: number): ErasureParameters {
  const logLoss = logStripeLossProbability(k, m, p);
  const lossProbability = Math.exp(logLoss);
  return {
    dataShards: k,
    parityShards: m,
    totalShards: k + m,
    lossProbability,
    durability: 1 - lossProbability,
    durabilityNines: -logLoss / Math.LN10,
    overhead: (k + m) / k,
    meetsTarget: logLoss <= allowedLogLoss,
  };
}

/** a is a better choice than b: lower overhead, then lower loss, then fewer shards. */
function better(a: ErasureParameters, b: ErasureParameters | undefined): boolean {
  if (b === undefined) return true;
  if (a.overhead !== b.overhead) return a.overhead < b.overhead;
  if (a.durabilityNines !== b.durabilityNines) return a.durabilityNines > b.durabilityNines;
  return a.totalShards < b.totalShards;
}

/**
 * The cheapest erasure code that keeps a stripe alive with at least `targetDurability` when each of
 * its k + m nodes fails independently with `nodeFailureProbability` before repair: among all
 * (k, m) with k + m <= min(healthyNodes, maxTotalShards) and (k + m) / k <= maxOverhead, the one
 * of lowest overhead that meets the target (ties: lower loss, then fewer shards). A pure function;
 * throws NoFeasibleParametersError when nothing meets the target (unless allowBelowTarget).
 */
export function chooseErasureParameters(input: ErasurePolicyInput): ErasureParameters {
  const policy = parseConfig(erasurePolicySchema, input, 'erasure policy');
  const p = policy.nodeFailureProbability;
  const allowedLoss = 1 - policy.targetDurability;
  const allowedLogLoss = allowedLoss <= 0 ? Number.NEGATIVE_INFINITY : Math.log(allowedLoss);
  const totalMax = Math.min(policy.healthyNodes, policy.maxTotalShards);
  let best: ErasureParameters | undefined;
  let mostDurable: ErasureParameters | undefined;
  for (let k = policy.minDataShards; k <= Math.min(policy.maxDataShards, totalMax - 1); k++) {
    const mMax = Math.min(totalMax - k, Math.floor(k * policy.maxOverhead + 1e-9) - k);
    for (let m = 1; m <= mMax; m++) {
      const shape = describeShape(k, m, p, allowedLogLoss);
      if (mostDurable === undefined || shape.durabilityNines > mostDurable.durabilityNines)
        mostDurable = shape;
      // Loss only falls as m grows, so the first m that meets the target is the cheapest for this k.
      if (shape.meetsTarget) {
        if (better(shape, best)) best = shape;
        break;
      }
    }
  }
  if (best !== undefined) return best;
  if (policy.allowBelowTarget && mostDurable !== undefined) return mostDurable;
  throw new NoFeasibleParametersError(
    `no (k, m) with k + m <= ${totalMax} and overhead <= ${policy.maxOverhead} reaches durability ${policy.targetDurability} at node failure probability ${p}` +
      (mostDurable === undefined
        ? ' (fewer than 2 nodes)'
        : `; best is RS(${mostDurable.dataShards},${mostDurable.parityShards}) with loss ${mostDurable.lossProbability.toExponential(2)}`),
    { best: mostDurable ?? null },
  );
}
