import { assert, assertInt, seededRandom } from '@trinity/core';
import { wordsFor } from './_bits.js';
import { _hypervector, assertDims, type Hypervector } from './hypervector.js';

/** The codebook seed fingerprints use unless configured otherwise ("trny"). */
export const defaultCodebookSeed = 0x7472_6e79;

/** Codebooks built and kept per (dims, seed); older ones are dropped past this many. */
const cachedCodebooksMax = 16;
const cache = new Map<string, Codebook>();

/**
 * The 256 byte hypervectors (seed): one random ternary vector per byte value, reproducible on every
 * machine from (dims, seed) through @trinity/core's xoshiro128** generator. Each vector is sparse and
 * balanced: `nonzerosPerVector` = dims/32 rounded to even, within [16, 64] (all of them at 16 dims),
 * nonzero trits, half +1, half -1.
 * Sparse so that bundling few vectors keeps their overlap (ties go to 0 instead of to noise); balanced
 * so that a byte value's share of a long input cancels out and only its placement counts.
 */
export class Codebook {
  readonly dims: number;
  readonly seed: number;
  readonly nonzerosPerVector: number;
  /** Positions of each byte's nonzero trits: byte b's +1 positions, then its -1 positions, at b × nonzerosPerVector. */
  readonly _positions: Uint16Array;

  constructor(dims: number, seed: number = defaultCodebookSeed) {
    assertDims(dims);
    assertInt(seed, 'seed', 0, 2 ** 32 - 1);
    this.dims = dims;
    this.seed = seed;
    this.nonzerosPerVector = codebookNonzeros(dims);
    this._positions = buildPositions(dims, seed, this.nonzerosPerVector);
  }

  /** The shared codebook for (dims, seed), built once. */
  static for(dims: number, seed: number = defaultCodebookSeed): Codebook {
    const key = `${dims}/${seed}`;
    let codebook = cache.get(key);
    if (codebook === undefined) {
      codebook = new Codebook(dims, seed);
      if (cache.size >= cachedCodebooksMax) cache.delete(cache.keys().next().value!);
      cache.set(key, codebook);
    }
    return codebook;
  }

  /** The hypervector of byte value `byte` (a fresh copy). */
  vector(byte: number): Hypervector {
    assertInt(byte, 'byte', 0, 255);
    const words = wordsFor(this.dims);
    const sign = new Uint32Array(words);
    const nonzero = new Uint32Array(words);
    const n = this.nonzerosPerVector;
    for (let t = 0; t < n; t++) {
      const p = this._positions[byte * n + t]!;
      nonzero[p >>> 5]! |= 1 << (p & 31);
      if (t >= n / 2) sign[p >>> 5]! |= 1 << (p & 31);
    }
    return _hypervector(this.dims, sign, nonzero);
  }
}

/**
 * Nonzero trits per codebook vector for `dims` dimensions. Sparser vectors keep more of a short input's
 * overlap through the majority (ties go to 0) and cost less to encode; at least 16 keeps the noise
 * between unrelated short inputs low, at most 64 bounds the encoding cost at large dims.
 */
export function codebookNonzeros(dims: number): number {
  return Math.min(64, Math.max(16, 2 * Math.round(dims / 64)));
}

/** Partial Fisher-Yates per byte over the positions 0..dims-1: the first n picks are that byte's nonzeros. */
function buildPositions(dims: number, seed: number, n: number): Uint16Array {
  const random = seededRandom(seed);
  const out = new Uint16Array(256 * n);
  const order = new Uint16Array(dims);
  for (let byte = 0; byte < 256; byte++) {
    for (let i = 0; i < dims; i++) order[i] = i;
    for (let t = 0; t < n; t++) {
      const j = random.int(t, dims - 1);
      const picked = order[j]!;
      order[j] = order[t]!;
      order[t] = picked;
      out[byte * n + t] = picked;
    }
  }
  assert(out.length === 256 * n);
  return out;
}
