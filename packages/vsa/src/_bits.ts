/** Set bits of a 32-bit word (SWAR). */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** 32-bit words needed for `dims` bits. */
export function wordsFor(dims: number): number {
  return (dims + 31) >>> 5;
}

/** Mask of the bits of the last word that hold dimensions (all ones when dims is a multiple of 32). */
export function tailMask(dims: number): number {
  const rest = dims & 31;
  return rest === 0 ? 0xffffffff : ((1 << rest) - 1) >>> 0;
}

/** 32 bits of `words` starting at bit `offset` (bits past the array read as zero). */
export function read32(words: Uint32Array, offset: number): number {
  const index = offset >>> 5;
  const shift = offset & 31;
  const low = words[index] ?? 0;
  if (shift === 0) return low;
  const high = words[index + 1] ?? 0;
  return ((low >>> shift) | (high << (32 - shift))) >>> 0;
}

/** Mask of the low `bits` bits (0 ≤ bits ≤ 32). */
export function lowMask(bits: number): number {
  return bits >= 32 ? 0xffffffff : ((1 << bits) - 1) >>> 0;
}

/** Bytes of one bit-plane as the kernels store it: whole 32-byte blocks, zero-padded. */
export function paddedPlaneBytes(dims: number): number {
  return Math.ceil(dims / 256) * 32;
}
