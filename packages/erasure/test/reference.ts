/**
 * A slow, obviously-correct Reed-Solomon reference that shares no code with src/: bit-by-bit field
 * multiplication, inverses by search, textbook Gauss-Jordan. Tests cross-check the fast paths with it.
 */

/** Carry-less multiply then reduce by x^8 + x^4 + x^3 + x^2 + 1. */
export function refMul(a: number, b: number): number {
  let product = 0;
  for (let bit = 0; bit < 8; bit++) if ((b >> bit) & 1) product ^= a << bit;
  for (let bit = 15; bit >= 8; bit--) if ((product >> bit) & 1) product ^= 0x11d << (bit - 8);
  return product;
}

export function refPow(a: number, n: number): number {
  let out = 1;
  for (let i = 0; i < n; i++) out = refMul(out, a);
  return out;
}

export function refInv(a: number): number {
  for (let b = 1; b < 256; b++) if (refMul(a, b) === 1) return b;
  throw new Error(`${a} has no inverse`);
}

type Rows = number[][];

function refMatMul(a: Rows, b: Rows): Rows {
  return a.map((row) =>
    b[0]!.map((_, c) => row.reduce((acc, value, i) => acc ^ refMul(value, b[i]![c]!), 0)),
  );
}

export function refInvert(matrix: Rows): Rows {
  const n = matrix.length;
  const work = matrix.map((row, r) => [...row, ...row.map((_, c) => (c === r ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    const pivot = work.findIndex((row, r) => r >= col && row[col] !== 0);
    if (pivot < 0) throw new Error('singular');
    [work[col], work[pivot]] = [work[pivot]!, work[col]!];
    const scale = refInv(work[col]![col]!);
    work[col] = work[col]!.map((value) => refMul(value, scale));
    for (let r = 0; r < n; r++) {
      const factor = work[r]![col]!;
      if (r !== col && factor !== 0)
        work[r] = work[r]!.map((value, c) => value ^ refMul(factor, work[col]![c]!));
    }
  }
  return work.map((row) => row.slice(n));
}

/** The (k + m) x k systematic matrix: Vandermonde V[r][c] = r^c times the inverse of its top block. */
export function refEncodingMatrix(k: number, m: number): Rows {
  const vandermonde = Array.from({ length: k + m }, (_, r) =>
    Array.from({ length: k }, (_, c) => refPow(r, c)),
  );
  return refMatMul(vandermonde, refInvert(vandermonde.slice(0, k)));
}

/** Every shard (k data then m parity) of the given data shards. */
export function refEncode(k: number, m: number, data: readonly Uint8Array[]): Uint8Array[] {
  const matrix = refEncodingMatrix(k, m);
  const length = data[0]!.length;
  return matrix.map((row) => {
    const out = new Uint8Array(length);
    for (let j = 0; j < length; j++) {
      let acc = 0;
      for (let c = 0; c < k; c++) acc ^= refMul(row[c]!, data[c]![j]!);
      out[j] = acc;
    }
    return out;
  });
}

/** Rebuilds all shards from any k present ones by solving for the data, then re-encoding. */
export function refReconstruct(k: number, m: number, shards: readonly (Uint8Array | null)[]): Uint8Array[] {
  const matrix = refEncodingMatrix(k, m);
  const present = shards.flatMap((shard, i) => (shard === null ? [] : [i])).slice(0, k);
  if (present.length < k) throw new Error('too few shards');
  const decode = refInvert(present.map((i) => matrix[i]!));
  const length = shards[present[0]!]!.length;
  const data = decode.map((row) => {
    const out = new Uint8Array(length);
    for (let j = 0; j < length; j++) {
      let acc = 0;
      for (let c = 0; c < k; c++) acc ^= refMul(row[c]!, shards[present[c]!]![j]!);
      out[j] = acc;
    }
    return out;
  });
  return refEncode(k, m, data);
}
