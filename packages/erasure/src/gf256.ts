import { assertBytes } from '@trinity/core';

/**
 * Arithmetic in GF(2^8) with the reducing polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D) and
 * generator 2: the field of Backblaze JavaReedSolomon, klauspost/reedsolomon and
 * reed-solomon-erasure. Addition is XOR; multiplication goes through log/exp tables.
 */
export const GF256_POLYNOMIAL = 0x11d;

/** exp[i] = 2^i for i in [0, 510): doubled so that exp[log a + log b] needs no modulo. */
const expTable = new Uint8Array(510);
/** log[a] for a in [1, 255]; log[0] is unused (0 has no logarithm). */
const logTable = new Uint8Array(256);

{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    expTable[i] = x;
    expTable[i + 255] = x;
    logTable[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= GF256_POLYNOMIAL;
  }
}

/** The full 256 x 256 product table, row c at c * 256: what the scalar kernels index. */
export const _mulTable: Uint8Array = (() => {
  const table = new Uint8Array(65_536);
  for (let a = 1; a < 256; a++) {
    const logA = logTable[a]!;
    for (let b = 1; b < 256; b++) table[(a << 8) | b] = expTable[logA + logTable[b]!]!;
  }
  return table;
})();

function checkElement(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer in [0, 255], got ${String(value)}`);
  }
  if (value < 0 || value > 255) throw new RangeError(`${name} must be in [0, 255], got ${value}`);
}

/** Unchecked product, for the library's own hot paths. */
export function _mul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : expTable[logTable[a]! + logTable[b]!]!;
}

/** Unchecked inverse of a non-zero element. */
export function _inv(a: number): number {
  return expTable[255 - logTable[a]!]!;
}

/** a + b (= a - b = a XOR b). */
export function gfAdd(a: number, b: number): number {
  checkElement(a, 'a');
  checkElement(b, 'b');
  return a ^ b;
}

/** a - b, which in characteristic 2 is the same as a + b. */
export function gfSub(a: number, b: number): number {
  return gfAdd(a, b);
}

/** a * b. */
export function gfMul(a: number, b: number): number {
  checkElement(a, 'a');
  checkElement(b, 'b');
  return _mul(a, b);
}

/** a / b; RangeError when b is 0. */
export function gfDiv(a: number, b: number): number {
  checkElement(a, 'a');
  checkElement(b, 'b');
  if (b === 0) throw new RangeError('division by zero in GF(2^8)');
  if (a === 0) return 0;
  return expTable[logTable[a]! + 255 - logTable[b]!]!;
}

/** 1 / a; RangeError when a is 0. */
export function gfInv(a: number): number {
  checkElement(a, 'a');
  if (a === 0) throw new RangeError('0 has no inverse in GF(2^8)');
  return _inv(a);
}

/** a^n for an integer n >= 0, with 0^0 = 1 (the convention the Vandermonde matrix needs). */
export function gfPow(a: number, n: number): number {
  checkElement(a, 'a');
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`n must be a non-negative safe integer, got ${String(n)}`);
  }
  return _pow(a, n);
}

/** Unchecked a^n. */
export function _pow(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return expTable[(logTable[a]! * n) % 255]!;
}

/** 2^n: the generator raised to n (any integer, taken mod 255). */
export function gfExp(n: number): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new TypeError(`n must be a safe integer, got ${String(n)}`);
  }
  return expTable[((n % 255) + 255) % 255]!;
}

/** The discrete logarithm base 2 of a non-zero element, in [0, 254]. */
export function gfLog(a: number): number {
  checkElement(a, 'a');
  if (a === 0) throw new RangeError('0 has no logarithm in GF(2^8)');
  return logTable[a]!;
}

function checkSlices(c: number, input: Uint8Array, output: Uint8Array): void {
  checkElement(c, 'c');
  assertBytes(input, 'input');
  assertBytes(output, 'output');
  if (output.length < input.length) {
    throw new RangeError(`output (${output.length} bytes) is shorter than input (${input.length} bytes)`);
  }
}

/** output[i] = c * input[i] for every byte of input. */
export function gfMulSlice(c: number, input: Uint8Array, output: Uint8Array): void {
  checkSlices(c, input, output);
  const base = c << 8;
  for (let i = 0; i < input.length; i++) output[i] = _mulTable[base | input[i]!]!;
}

/** output[i] ^= c * input[i] for every byte of input (multiply-accumulate). */
export function gfMulSliceXor(c: number, input: Uint8Array, output: Uint8Array): void {
  checkSlices(c, input, output);
  const base = c << 8;
  for (let i = 0; i < input.length; i++) output[i]! ^= _mulTable[base | input[i]!]!;
}
