import { paddedPlaneBytes, wordsFor } from './_bits.js';
import { KernelInstance } from './_kernel.js';
import { _counterLevels, _majority } from './_majority.js';
import type { Hypervector } from './hypervector.js';

/** Vectors copied into kernel memory per call. */
const stagedVectorsMax = 64;

let shared: KernelInstance | undefined;

/** `bundle` on the WebAssembly kernel: vectors are staged in batches, counted there, then compared here. */
export function _wasmBundle(vectors: readonly Hypervector[], dims: number): Hypervector {
  const words = wordsFor(dims);
  const pb = paddedPlaneBytes(dims);
  const levels = _counterLevels(vectors.length);
  const countersBytes = (pb / 16) * levels * 16;
  const plus = stagedVectorsMax * 2 * pb;
  const minus = plus + countersBytes;
  shared ??= new KernelInstance(minus + countersBytes);
  const kernel = shared;
  if (!kernel.ensure(minus + countersBytes)) throw new RangeError('bundle: kernel memory exhausted');
  kernel.u8.fill(0, 0, minus + countersBytes);
  for (let start = 0; start < vectors.length; start += stagedVectorsMax) {
    const batch = Math.min(stagedVectorsMax, vectors.length - start);
    const u32 = kernel.u32;
    for (let i = 0; i < batch; i++) {
      const v = vectors[start + i]!;
      const at = (i * 2 * pb) >>> 2;
      u32.set(v.sign, at);
      u32.set(v.nonzero, at + pb / 4);
    }
    kernel.exports.bundleAdd(0, batch, pb, plus, minus, levels);
  }
  // Word-major copies of the chunk-major counters for the shared comparison.
  const plusCounts = new Uint32Array(words * levels);
  const minusCounts = new Uint32Array(words * levels);
  const u32 = kernel.u32;
  for (let w = 0; w < words; w++) {
    for (let l = 0; l < levels; l++) {
      const at = ((w >>> 2) * levels + l) * 4 + (w & 3);
      plusCounts[w * levels + l] = u32[plus / 4 + at]!;
      minusCounts[w * levels + l] = u32[minus / 4 + at]!;
    }
  }
  return _majority(plusCounts, minusCounts, words, levels, dims);
}
