import { assert } from '@trinity/core';
import { tailMask } from './_bits.js';
import { _hypervector, type Hypervector } from './hypervector.js';

/** Counter bit-planes needed to count up to `count`. */
export function _counterLevels(count: number): number {
  return 32 - Math.clz32(count);
}

/** Compares the bit-sliced counters from the top bit down: +1 where plus > minus, -1 where less, else 0. */
export function _majority(
  plus: Uint32Array,
  minus: Uint32Array,
  words: number,
  levels: number,
  dims: number,
): Hypervector {
  const sign = new Uint32Array(words);
  const nonzero = new Uint32Array(words);
  for (let w = 0; w < words; w++) {
    let greater = 0;
    let less = 0;
    let equal = 0xffffffff;
    for (let l = w * levels + levels - 1; l >= w * levels; l--) {
      const a = plus[l]!;
      const b = minus[l]!;
      greater |= equal & a & ~b;
      less |= equal & b & ~a;
      equal &= ~(a ^ b);
    }
    const mask = w === words - 1 ? tailMask(dims) : 0xffffffff;
    sign[w] = (less & mask) >>> 0;
    nonzero[w] = ((greater | less) & mask) >>> 0;
  }
  assert((sign[0]! & ~nonzero[0]!) === 0, 'bundle: sign outside nonzero');
  return _hypervector(dims, sign, nonzero);
}
