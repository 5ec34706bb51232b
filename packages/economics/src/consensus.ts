import { assert } from '@trinity/core';

/**
 * How many of `n` reports a trimmed mean drops from each end: the most faulty reporters it
 * tolerates, f = ⌊(n - 1) / 3⌋, so that fewer than a third of the reporters being faulty is covered.
 */
export function trimCount(n: number): number {
  return n === 0 ? 0 : Math.floor((n - 1) / 3);
}

/**
 * Byzantine-tolerant combination of reported scores: sort, drop the `trimCount(n)` lowest and
 * highest, average the rest. With at most that many faulty reports, every report that survives the
 * trim lies between the lowest and the highest honest one (a faulty value below every honest one
 * would need more faulty values than were dropped beneath it), so the result stays in the honest
 * range however the faulty reporters choose. The input is not modified. NaN for no reports.
 */
export function trimmedMean(scores: readonly number[]): number {
  const n = scores.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(scores).sort();
  const t = trimCount(n);
  let sum = 0;
  for (let i = t; i < n - t; i++) sum += sorted[i]!;
  const mean = sum / (n - 2 * t);
  assert(mean >= sorted[t]! - 1e-12 && mean <= sorted[n - 1 - t]! + 1e-12, 'trimmed mean out of range');
  return mean;
}
