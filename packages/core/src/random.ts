import { assert, assertBytes, assertInt } from './assert.js';

/**
 * A source of randomness that state machines take as an argument, so a simulation replays from its
 * seed. Not for keys or nonces that an adversary must not predict: use crypto.getRandomValues there.
 */
export interface Random {
  /** A uniform unsigned 32-bit integer. */
  nextU32(): number;
  /** A uniform float in [0, 1) with 53 bits of precision. */
  nextFloat(): number;
  /** A uniform integer in [min, max] (inclusive), without modulo bias. */
  int(min: number, max: number): number;
  /** Fills `out` with random bytes and returns it. */
  fill(out: Uint8Array): Uint8Array;
  /** `length` fresh random bytes. */
  bytes(length: number): Uint8Array;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
  /** An independent generator derived from this one, for a sub-component. */
  fork(): Random;
}

const U32 = 0x1_0000_0000;

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** SplitMix32 step (Vigna's constants), used only to expand a seed into xoshiro state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * xoshiro128** 1.1 (Blackman and Vigna): 128 bits of state, period 2^128 - 1, fast in 32-bit integer
 * arithmetic, so the same seed gives the same stream on every platform and JS engine.
 */
export class Xoshiro128 implements Random {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /** From a raw 128-bit state of four u32 words (not all zero). Prefer `seededRandom(seed)`. */
  constructor(state: readonly [number, number, number, number]) {
    for (const [i, word] of state.entries()) assertInt(word, `state[${i}]`, 0, U32 - 1);
    assert(
      state.some((word) => word !== 0),
      'xoshiro128** state must not be all zero',
    );
    [this.#s0, this.#s1, this.#s2, this.#s3] = state;
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.#s1 << 9) >>> 0;
    this.#s2 = (this.#s2 ^ this.#s0) >>> 0;
    this.#s3 = (this.#s3 ^ this.#s1) >>> 0;
    this.#s1 = (this.#s1 ^ this.#s2) >>> 0;
    this.#s0 = (this.#s0 ^ this.#s3) >>> 0;
    this.#s2 = (this.#s2 ^ t) >>> 0;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  nextFloat(): number {
    const high = this.nextU32() >>> 5; // 27 bits
    const low = this.nextU32() >>> 6; // 26 bits
    return (high * 67_108_864 + low) / 9_007_199_254_740_992;
  }

  int(min: number, max: number): number {
    assertInt(min, 'min');
    assertInt(max, 'max', min);
    const span = max - min + 1;
    if (span <= U32) {
      // Lemire-style rejection: drop the top sliver of the 32-bit range that would bias the result.
      const limit = U32 - (U32 % span);
      for (;;) {
        const x = this.nextU32();
        if (x < limit) return min + (x % span);
      }
    }
    for (;;) {
      const x = Math.floor(this.nextFloat() * 2 ** 53);
      const limit = 2 ** 53 - (2 ** 53 % span);
      if (x < limit) return min + (x % span);
    }
  }

  fill(out: Uint8Array): Uint8Array {
    assertBytes(out, 'out');
    let i = 0;
    for (; i + 4 <= out.length; i += 4) {
      const x = this.nextU32();
      out[i] = x & 0xff;
      out[i + 1] = (x >>> 8) & 0xff;
      out[i + 2] = (x >>> 16) & 0xff;
      out[i + 3] = x >>> 24;
    }
    if (i < out.length) {
      let x = this.nextU32();
      for (; i < out.length; i++, x >>>= 8) out[i] = x & 0xff;
    }
    return out;
  }

  bytes(length: number): Uint8Array {
    assertInt(length, 'length', 0, 2 ** 31 - 1);
    return this.fill(new Uint8Array(length));
  }

  chance(p: number): boolean {
    return this.nextFloat() < p;
  }

  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'pick() from an empty array');
    return items[this.int(0, items.length - 1)]!;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  fork(): Random {
    // `| 1` keeps the state nonzero; `>>> 0` keeps the word unsigned (`|` alone gives an int32).
    return new Xoshiro128([this.nextU32(), this.nextU32(), this.nextU32(), (this.nextU32() | 1) >>> 0]);
  }
}

/**
 * A reproducible generator from an integer seed (any safe integer): the seed's two 32-bit halves are
 * expanded with SplitMix32 into xoshiro128** state. Same seed, same stream, everywhere.
 */
export function seededRandom(seed: number): Random {
  assertInt(seed, 'seed');
  const low = seed >>> 0;
  const high = Math.floor(seed / U32) >>> 0;
  // Two SplitMix32 streams, one per half: the first output of each is a bijection of its half,
  // so distinct seeds always give distinct states.
  const lowStream = { s: low };
  const highStream = { s: (high ^ 0x6a09e667) >>> 0 };
  const state: [number, number, number, number] = [
    splitmix32(lowStream),
    splitmix32(lowStream),
    splitmix32(highStream),
    splitmix32(highStream),
  ];
  if (state.every((word) => word === 0)) state[0] = 1;
  return new Xoshiro128(state);
}

/** A fresh seed from the platform's CSPRNG, for when the caller does not care but wants to log it. */
export function randomSeed(): number {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return (words[0]! & 0x1f_ffff) * U32 + words[1]!;
}
