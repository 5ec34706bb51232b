// Slow, obviously-correct trit-array models the packed implementations are checked against.
import type { Random } from '@trinity/core';

export function randomTrits(random: Random, dims: number, density = 2 / 3): Int8Array {
  const out = new Int8Array(dims);
  for (let j = 0; j < dims; j++) if (random.nextFloat() < density) out[j] = random.nextU32() & 1 ? 1 : -1;
  return out;
}

export function bindRef(a: Int8Array, b: Int8Array): Int8Array {
  return a.map((x, j) => x * b[j]!) as Int8Array;
}

export function bundleRef(vectors: readonly Int8Array[]): Int8Array {
  const dims = vectors[0]!.length;
  const out = new Int8Array(dims);
  for (let j = 0; j < dims; j++) {
    let sum = 0;
    for (const v of vectors) sum += v[j]!;
    out[j] = Math.sign(sum);
  }
  return out;
}

export function permuteRef(v: Int8Array, shift: number): Int8Array {
  const dims = v.length;
  const out = new Int8Array(dims);
  for (let j = 0; j < dims; j++) out[j] = v[(((j - shift) % dims) + dims) % dims]!;
  return out;
}

export function dotRef(a: Int8Array, b: Int8Array): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += a[j]! * b[j]!;
  return sum;
}

export function similarityRef(a: Int8Array, b: Int8Array): number {
  const na = dotRef(a, a);
  const nb = dotRef(b, b);
  return na === 0 || nb === 0 ? 0 : dotRef(a, b) / Math.sqrt(na * nb);
}

/** Exact comparison of cosines dotA/sqrt(nA·q) and dotB/sqrt(nB·q) by cross-multiplying signed squares. */
export function compareCosines(dotA: number, normA: number, dotB: number, normB: number): number {
  const a = dotA * Math.abs(dotA) * Math.max(normB, 1);
  const b = dotB * Math.abs(dotB) * Math.max(normA, 1);
  return a === b ? 0 : a > b ? -1 : 1;
}
