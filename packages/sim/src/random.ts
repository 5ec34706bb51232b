import { assertInt, assertNumber } from '@trinity/core';

const TWO_POW_32 = 0x1_0000_0000;

/**
 * SFC32 (Chris Doty-Humphrey's Small Fast Counting generator, 128 bits of state, period at least
 * 2^32): the simulator's only source of randomness. Chosen over a cryptographic generator because
 * a run draws millions of numbers and only needs them well spread and reproducible: the same seed
 * gives the same sequence on every platform (32-bit integer arithmetic only).
 *
 * `fork(label)` derives an independent stream, so one subsystem drawing more numbers (a scenario
 * change) does not shift every other subsystem's draws.
 */
export class SimRandom {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** `seed`: any safe non-negative integer (both 32-bit halves are used). */
  constructor(seed: number, stream = 0) {
    assertInt(seed, 'seed', 0, Number.MAX_SAFE_INTEGER);
    assertInt(stream, 'stream', 0, 0xffff_ffff);
    this.#a = seed >>> 0;
    this.#b = Math.floor(seed / TWO_POW_32) >>> 0;
    this.#c = stream >>> 0;
    this.#d = 1;
    // The first outputs of a fresh state are poorly mixed: the usual warm-up.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const a = this.#a;
    const b = this.#b;
    const c = this.#c;
    const d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.#c = (r + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1) with 32 bits of precision. */
  float(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** A uniform integer in [min, max] (inclusive; max - min below 2^32). */
  int(min: number, max: number): number {
    const span = max - min + 1;
    if (!(span >= 1 && span <= TWO_POW_32)) throw new RangeError(`int(${min}, ${max}): empty or too wide`);
    return min + Math.floor(this.float() * span);
  }

  /** True with probability `p` (0 never draws a number: a fault rate of 0 costs nothing). */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  /** A uniform element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array');
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** An exponentially distributed value with the given mean (for arrivals and heavy-ish jitter). */
  exponential(mean: number): number {
    assertNumber(mean, 'mean', 0);
    return -mean * Math.log(1 - this.float());
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      const item = items[i]!;
      items[i] = items[j]!;
      items[j] = item;
    }
    return items;
  }

  /** An independent stream for one subsystem, the same for the same seed and label. */
  fork(label: string): SimRandom {
    let h = 0x811c9dc5;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    const seed = this.nextUint32() * TWO_POW_32 + this.nextUint32();
    return new SimRandom(seed % Number.MAX_SAFE_INTEGER, h >>> 0);
  }
}
