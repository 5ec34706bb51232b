import { assertBytes } from '@trinity/core';
import { tailMask, wordsFor } from './_bits.js';
import { DimensionMismatchError, HypervectorFormatError } from './errors.js';
import {
  _hypervector,
  assertDims,
  assertHypervector,
  type Hypervector,
  hypervectorDimsMax,
  hypervectorDimsMin,
} from './hypervector.js';

/** Version byte of the single-vector wire format. */
export const hypervectorFormatVersion = 1;
const headerBytes = 4;

/** Bytes `serializeHypervector` produces for `dims` dimensions: 4 + 8 × ceil(dims / 32). */
export function serializedHypervectorBytes(dims: number): number {
  assertDims(dims);
  return headerBytes + 8 * wordsFor(dims);
}

/**
 * One hypervector as bytes, for the wire: version (u8 = 1), flags (u8 = 0), dims (u16 LE), then the
 * sign plane and the nonzero plane as little-endian 32-bit words. Canonical: equal vectors give equal bytes.
 */
export function serializeHypervector(v: Hypervector): Uint8Array {
  assertHypervector(v);
  const words = v.sign.length;
  const out = new Uint8Array(headerBytes + 8 * words);
  const view = new DataView(out.buffer);
  view.setUint8(0, hypervectorFormatVersion);
  view.setUint8(1, 0);
  view.setUint16(2, v.dims, true);
  for (let w = 0; w < words; w++) {
    view.setUint32(headerBytes + 4 * w, v.sign[w]!, true);
    view.setUint32(headerBytes + 4 * (words + w), v.nonzero[w]!, true);
  }
  return out;
}

/**
 * The hypervector in `bytes` (from `serializeHypervector`). Throws HypervectorFormatError for anything
 * else: wrong version, flags, length, a dimension out of range, bits past the dimension, or a sign bit
 * on a zero trit; DimensionMismatchError when `expectedDims` is given and differs.
 */
export function deserializeHypervector(bytes: Uint8Array, expectedDims?: number): Hypervector {
  assertBytes(bytes, 'bytes');
  if (bytes.length < headerBytes)
    throw new HypervectorFormatError(`${bytes.length} bytes is shorter than the header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== hypervectorFormatVersion) throw new HypervectorFormatError(`unknown version ${version}`);
  if (view.getUint8(1) !== 0) throw new HypervectorFormatError(`unknown flags ${view.getUint8(1)}`);
  const dims = view.getUint16(2, true);
  if (dims < hypervectorDimsMin || dims > hypervectorDimsMax) {
    throw new HypervectorFormatError(
      `dimension ${dims} is outside [${hypervectorDimsMin}, ${hypervectorDimsMax}]`,
    );
  }
  if (expectedDims !== undefined && dims !== expectedDims)
    throw new DimensionMismatchError(expectedDims, dims);
  const words = wordsFor(dims);
  if (bytes.length !== headerBytes + 8 * words) {
    throw new HypervectorFormatError(
      `${bytes.length} bytes, expected ${headerBytes + 8 * words} for ${dims} dimensions`,
    );
  }
  const sign = new Uint32Array(words);
  const nonzero = new Uint32Array(words);
  for (let w = 0; w < words; w++) {
    sign[w] = view.getUint32(headerBytes + 4 * w, true);
    nonzero[w] = view.getUint32(headerBytes + 4 * (words + w), true);
    if ((sign[w]! & ~nonzero[w]!) !== 0) throw new HypervectorFormatError('a sign bit is set on a zero trit');
  }
  if ((nonzero[words - 1]! & ~tailMask(dims)) !== 0)
    throw new HypervectorFormatError('bits set past the dimension');
  return _hypervector(dims, sign, nonzero);
}
