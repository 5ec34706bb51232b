import { assertBytes } from '@trinity/core';

/** Castagnoli polynomial, reflected (iSCSI, ext4, LevelDB, etcd WAL). */
const POLY = 0x82f63b78;

/** Eight 256-entry tables for slice-by-8: table k maps a byte to its CRC shifted k bytes further. */
const tables: Uint32Array = (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[(k - 1) * 256 + i]!;
      t[k * 256 + i] = (t[prev & 0xff]! ^ (prev >>> 8)) >>> 0;
    }
  }
  return t;
})();

/**
 * CRC-32C of `bytes` (continuing from `crc`, a previous result, to checksum pieces in order).
 * `crc32c(utf8('123456789')) === 0xe3069283`.
 */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  assertBytes(bytes, 'bytes');
  return crc32cRange(bytes, 0, bytes.length, crc);
}

/** CRC-32C of `bytes[start, end)` (trusted bounds: for the log codec, which needs no view per frame). */
export function crc32cRange(bytes: Uint8Array, start: number, end: number, crc = 0): number {
  let c = ~crc >>> 0;
  let i = start;
  const end8 = end - ((end - start) % 8);
  for (; i < end8; i += 8) {
    const lo = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    c =
      tables[7 * 256 + (lo & 0xff)]! ^
      tables[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      tables[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      tables[4 * 256 + (lo >>> 24)]! ^
      tables[3 * 256 + bytes[i + 4]!]! ^
      tables[2 * 256 + bytes[i + 5]!]! ^
      tables[256 + bytes[i + 6]!]! ^
      tables[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = tables[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Bit-at-a-time reference, for tests: slow and obviously right. */
export function _crc32cReference(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  }
  return ~c >>> 0;
}
