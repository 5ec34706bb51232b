import { assertInt } from '@trinity/core';
import { wordsFor } from './_bits.js';
import { resolveKernel } from './_kernel.js';
import { _wasmBundle } from './_kernel-bundle.js';
import { _counterLevels, _majority } from './_majority.js';
import { assertHypervector, type Hypervector } from './hypervector.js';

/** Most vectors one `bundle` call takes. */
export const bundleVectorsMax = 1 << 24;

export interface BundleOptions {
  /** 'auto' (default) uses the WebAssembly SIMD kernel when the host has one. */
  readonly kernel?: 'auto' | 'wasm' | 'js';
}

/**
 * Bundling: the trit-wise majority. Trit j of the result is the sign of Σ v_j over the vectors, and 0
 * on a tie (ties to 0), so the result is similar to each member. Counts are bit-sliced (one counter
 * bit-plane per power of two) so the work is one pass over the packed words per vector.
 */
export function bundle(vectors: readonly Hypervector[], options: BundleOptions = {}): Hypervector {
  if (!Array.isArray(vectors)) throw new TypeError('vectors must be an array of Hypervectors');
  assertInt(vectors.length, 'vectors.length', 1, bundleVectorsMax);
  const first = vectors[0]!;
  assertHypervector(first, 'vectors[0]');
  for (let i = 1; i < vectors.length; i++) assertHypervector(vectors[i], `vectors[${i}]`, first.dims);
  const kernel = resolveKernel(options.kernel ?? 'auto');
  if (kernel === 'wasm') return _wasmBundle(vectors, first.dims);
  return _bundleJs(vectors, first.dims);
}

/** The plain TypeScript bundle (also the reference the WebAssembly kernel is tested against). */
export function _bundleJs(vectors: readonly Hypervector[], dims: number): Hypervector {
  const words = wordsFor(dims);
  const levels = _counterLevels(vectors.length);
  // Counters for +1 and -1 trits, word-major so that one word's ripple carry stays in cache.
  const plus = new Uint32Array(words * levels);
  const minus = new Uint32Array(words * levels);
  for (const v of vectors) {
    for (let w = 0; w < words; w++) {
      const base = w * levels;
      let carry = (v.nonzero[w]! & ~v.sign[w]!) >>> 0;
      for (let l = base; carry !== 0; l++) {
        const t = plus[l]! & carry;
        plus[l]! ^= carry;
        carry = t;
      }
      carry = v.sign[w]!;
      for (let l = base; carry !== 0; l++) {
        const t = minus[l]! & carry;
        minus[l]! ^= carry;
        carry = t;
      }
    }
  }
  return _majority(plus, minus, words, levels, dims);
}
