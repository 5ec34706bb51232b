import { assert, assertInt, assertNumber, describe, type Random } from '@trinity/core';
import { lowMask, popcount32, read32, tailMask, wordsFor } from './_bits.js';
import { DimensionMismatchError } from './errors.js';

/** Fewest dimensions a hypervector may have. */
export const hypervectorDimsMin = 16;
/** Most dimensions a hypervector may have. */
export const hypervectorDimsMax = 10_000;

/**
 * A ternary hypervector: `dims` trits in {-1, 0, +1}, packed as two bit-planes of 32-bit words.
 * Trit `j` lives at bit `j & 31` of word `j >>> 5`: `nonzero` is set where the trit is ±1, `sign` where
 * it is -1. Canonical form (checked by every function here): `sign` only inside `nonzero`, and the bits
 * past `dims` in the last word clear. Functions never modify their arguments; they return new vectors.
 */
export interface Hypervector {
  readonly dims: number;
  readonly sign: Uint32Array;
  readonly nonzero: Uint32Array;
}

/** Throws TypeError / RangeError unless `dims` is an integer in [16, 10000]. */
export function assertDims(dims: unknown, name = 'dims'): asserts dims is number {
  assertInt(dims, name, hypervectorDimsMin, hypervectorDimsMax);
}

/**
 * Throws TypeError unless `value` is a canonical Hypervector (of `dims` dimensions when given, else
 * DimensionMismatchError). Costs one pass over the words, much less than any operation on them.
 */
export function assertHypervector(
  value: unknown,
  name = 'vector',
  dims?: number,
): asserts value is Hypervector {
  const v = value as Partial<Hypervector> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    !(v.sign instanceof Uint32Array) ||
    !(v.nonzero instanceof Uint32Array)
  ) {
    throw new TypeError(`${name} must be a Hypervector, got ${describe(value)}`);
  }
  assertDims(v.dims, `${name}.dims`);
  if (dims !== undefined && v.dims !== dims) throw new DimensionMismatchError(dims, v.dims, name);
  const words = wordsFor(v.dims);
  if (v.sign.length !== words || v.nonzero.length !== words) {
    throw new TypeError(`${name} must have ${words} words per plane for ${v.dims} dimensions`);
  }
  const tail = ~tailMask(v.dims);
  if ((v.nonzero[words - 1]! & tail) !== 0) throw new TypeError(`${name} has bits set past its dimensions`);
  for (let w = 0; w < words; w++) {
    if ((v.sign[w]! & ~v.nonzero[w]!) !== 0)
      throw new TypeError(`${name} is not canonical: sign bit on a zero trit`);
  }
}

/** Internal constructor: trusts its arguments (callers keep them canonical). */
export function _hypervector(dims: number, sign: Uint32Array, nonzero: Uint32Array): Hypervector {
  return { dims, sign, nonzero };
}

/** The all-zero hypervector. */
export function zeroHypervector(dims: number): Hypervector {
  assertDims(dims);
  const words = wordsFor(dims);
  return _hypervector(dims, new Uint32Array(words), new Uint32Array(words));
}

/** A hypervector from trits (each -1, 0 or +1); its dimension is `trits.length`. */
export function hypervectorFromTrits(trits: ArrayLike<number>): Hypervector {
  const dims = trits.length;
  assertDims(dims, 'trits.length');
  const v = zeroHypervector(dims);
  const sign = v.sign as Uint32Array;
  const nonzero = v.nonzero as Uint32Array;
  for (let j = 0; j < dims; j++) {
    const t = trits[j];
    if (t !== -1 && t !== 0 && t !== 1)
      throw new RangeError(`trits[${j}] must be -1, 0 or 1, got ${describe(t)}`);
    if (t === 0) continue;
    nonzero[j >>> 5]! |= 1 << (j & 31);
    if (t === -1) sign[j >>> 5]! |= 1 << (j & 31);
  }
  return v;
}

/** The trits of `v`, one Int8 each. */
export function hypervectorToTrits(v: Hypervector): Int8Array {
  assertHypervector(v);
  const out = new Int8Array(v.dims);
  for (let j = 0; j < v.dims; j++) out[j] = tritOf(v, j);
  return out;
}

function tritOf(v: Hypervector, j: number): number {
  const bit = 1 << (j & 31);
  if ((v.nonzero[j >>> 5]! & bit) === 0) return 0;
  return (v.sign[j >>> 5]! & bit) === 0 ? 1 : -1;
}

/** Trit `index` of `v`. */
export function tritAt(v: Hypervector, index: number): -1 | 0 | 1 {
  assertHypervector(v);
  assertInt(index, 'index', 0, v.dims - 1);
  return tritOf(v, index) as -1 | 0 | 1;
}

/** A copy of `v`. */
export function cloneHypervector(v: Hypervector): Hypervector {
  assertHypervector(v);
  return _hypervector(v.dims, v.sign.slice(), v.nonzero.slice());
}

/** True when `a` and `b` have the same dimension and trits. */
export function hypervectorsEqual(a: Hypervector, b: Hypervector): boolean {
  assertHypervector(a, 'a');
  assertHypervector(b, 'b');
  if (a.dims !== b.dims) return false;
  for (let w = 0; w < a.sign.length; w++) {
    if (a.sign[w] !== b.sign[w] || a.nonzero[w] !== b.nonzero[w]) return false;
  }
  return true;
}

function assertPair(a: Hypervector, b: Hypervector): void {
  assertHypervector(a, 'a');
  assertHypervector(b, 'b', a.dims);
}

/**
 * Binding: the trit-wise product. Zero where either is zero, else -1 where the signs differ. The
 * result is dissimilar to both inputs, and binding twice with the same dense vector is the identity.
 */
export function bind(a: Hypervector, b: Hypervector): Hypervector {
  assertPair(a, b);
  const words = a.sign.length;
  const sign = new Uint32Array(words);
  const nonzero = new Uint32Array(words);
  for (let w = 0; w < words; w++) {
    const n = a.nonzero[w]! & b.nonzero[w]!;
    nonzero[w] = n;
    sign[w] = (a.sign[w]! ^ b.sign[w]!) & n;
  }
  return _hypervector(a.dims, sign, nonzero);
}

/**
 * Unbinding, the inverse of `bind` for ternary vectors: every nonzero trit is its own inverse, so
 * `unbind(bind(a, key), key)` equals `a` wherever `key` is nonzero (everywhere for a dense key) and is
 * zero where `key` is zero, because binding with a zero trit loses that trit of `a`.
 */
export function unbind(bound: Hypervector, key: Hypervector): Hypervector {
  return bind(bound, key);
}

/**
 * Cyclic rotation by `shift` places (any integer; negative rotates back): trit `j` of the result is
 * trit `(j - shift) mod dims` of `v`. The permutation that encodes position; `permute(v, -k)` undoes
 * `permute(v, k)`.
 */
export function permute(v: Hypervector, shift: number): Hypervector {
  assertHypervector(v);
  assertInt(shift, 'shift');
  const k = ((shift % v.dims) + v.dims) % v.dims;
  return _hypervector(v.dims, rotateBits(v.sign, v.dims, k), rotateBits(v.nonzero, v.dims, k));
}

/** Rotates the `dims`-bit string in `words` so that bit j of the result is bit (j - k) mod dims of the input. */
function rotateBits(words: Uint32Array, dims: number, k: number): Uint32Array {
  const out = new Uint32Array(words.length);
  for (let w = 0; w < out.length; w++) {
    const start = ((((w << 5) - k) % dims) + dims) % dims;
    const width = Math.min(32, dims - (w << 5));
    const first = dims - start; // bits available before wrapping
    let value: number;
    if (first >= width) value = read32(words, start) & lowMask(width);
    else value = (read32(words, start) & lowMask(first)) | (read32(words, 0) << first);
    out[w] = (value & lowMask(width)) >>> 0;
  }
  return out;
}

/** Number of nonzero trits: the squared norm. */
export function nonzeroCount(v: Hypervector): number {
  assertHypervector(v);
  return _nonzeroCount(v.nonzero);
}

export function _nonzeroCount(nonzero: Uint32Array): number {
  let count = 0;
  for (let w = 0; w < nonzero.length; w++) count += popcount32(nonzero[w]!);
  return count;
}

/** The integer dot product Σ a_j·b_j, computed with popcounts on the packed planes. */
export function dot(a: Hypervector, b: Hypervector): number {
  assertPair(a, b);
  return _dot(a, b);
}

export function _dot(a: Hypervector, b: Hypervector): number {
  let both = 0;
  let opposite = 0;
  for (let w = 0; w < a.sign.length; w++) {
    const n = a.nonzero[w]! & b.nonzero[w]!;
    both += popcount32(n);
    opposite += popcount32(n & (a.sign[w]! ^ b.sign[w]!));
  }
  return both - 2 * opposite;
}

/**
 * Cosine similarity in [-1, 1]: dot / sqrt(|a|² |b|²), from popcounts over the packed planes (never
 * unpacked). 0 when either vector is all zero. Symmetric, and exactly 1 for equal nonzero vectors.
 */
export function similarity(a: Hypervector, b: Hypervector): number {
  assertPair(a, b);
  return _cosine(_dot(a, b), _nonzeroCount(a.nonzero), _nonzeroCount(b.nonzero));
}

/**
 * The cosine from integers, as sign(dot)·sqrt(dot² / (normA·normB)): every step is one correctly
 * rounded operation on exact integers, so two exactly equal cosines give the same number and the
 * order of numbers never contradicts the exact order.
 */
export function _cosine(dot: number, normA: number, normB: number): number {
  if (dot === 0 || normA === 0 || normB === 0) return 0;
  const root = Math.sqrt((dot * dot) / (normA * normB));
  return dot < 0 ? -root : root;
}

/**
 * A random hypervector from `random` (seeded for reproducibility): each trit is nonzero with
 * probability `density` (1 gives a dense ±1 vector), and a nonzero trit is +1 or -1 with equal odds.
 */
export function randomHypervector(random: Random, dims: number, density = 1): Hypervector {
  assertDims(dims);
  assertNumber(density, 'density', 0, 1);
  const v = zeroHypervector(dims);
  const sign = v.sign as Uint32Array;
  const nonzero = v.nonzero as Uint32Array;
  for (let w = 0; w < sign.length; w++) {
    let n = 0xffffffff;
    if (density < 1) {
      n = 0;
      for (let bit = 0; bit < 32; bit++) if (random.nextFloat() < density) n |= 1 << bit;
    }
    if (w === sign.length - 1) n &= tailMask(dims);
    nonzero[w] = n >>> 0;
    sign[w] = (random.nextU32() & n) >>> 0;
  }
  assert(sign.length === wordsFor(dims));
  return v;
}
