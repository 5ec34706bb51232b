/**
 * Source of the WebAssembly kernels, as WAT text. One function per row count R (mul1..mul4):
 *
 *   for pos in [start, end) step 16 * V:
 *     acc[0..R) = 0
 *     for each input i:                      -- each input vector is loaded once per R rows
 *       x  = load16(in[i] + pos)
 *       lo = x & 0x0f;  hi = (x >> 4) & 0x0f  -- split nibbles, shared by all R rows
 *       acc[r] ^= swizzle(T[i][r].lo, lo) ^ swizzle(T[i][r].hi, hi)
 *     store16(out[r] + pos, acc[r])
 *
 * T[i][r] are the split-nibble tables of coefficient c = matrix[r][i]: lo[n] = c * n and
 * hi[n] = c * (n << 4) in GF(2^8), so c * x = lo[x & 15] ^ hi[x >> 4]. The tables of a group sit
 * at tbl + (i * R + r) * 32, so each step reads them with constant offsets. Pointers are 32-bit
 * addresses in the one linear memory; `ptr + pos` wraps modulo 2^32, which lets the caller point a
 * staged (copied) chunk's pointer at `staging - chunkStart`.
 *
 * Variants: `i8x16.swizzle` (WebAssembly SIMD) or `i8x16.relaxed_swizzle` (relaxed SIMD: one
 * pshufb instead of a saturating add plus pshufb, since our indices are always in 0..15), each for
 * a shared memory (views stay valid when it grows) and a plain one (hosts without SharedArrayBuffer).
 */

/** Rows per kernel and 16-byte vectors per step, tuned on x86-64 (16 vector registers). */
export const kernelShapes = [
  { rows: 1, vectors: 2 },
  { rows: 2, vectors: 2 },
  { rows: 3, vectors: 1 },
  { rows: 4, vectors: 1 },
] as const;

export interface KernelVariant {
  readonly name: string;
  readonly relaxed: boolean;
  readonly shared: boolean;
}

export const kernelVariants: readonly KernelVariant[] = [
  { name: 'simd-shared', relaxed: false, shared: true },
  { name: 'relaxed-shared', relaxed: true, shared: true },
  { name: 'simd', relaxed: false, shared: false },
  { name: 'relaxed', relaxed: true, shared: false },
];

function locals(rows: number, vectors: number): string[] {
  const out = [
    '(local $pos i32) (local $p i32) (local $t i32) (local $end_in i32) (local $src i32)',
    '(local $mask v128) (local $tl v128) (local $th v128)',
  ];
  for (let v = 0; v < vectors; v++) out.push(`(local $x${v} v128) (local $lo${v} v128) (local $hi${v} v128)`);
  for (let r = 0; r < rows; r++) {
    out.push(`(local $o${r} i32)`);
    for (let v = 0; v < vectors; v++) out.push(`(local $a${r}_${v} v128)`);
  }
  return out;
}

/** One input folded into every accumulator: load, split nibbles, look up, accumulate. */
function step(rows: number, vectors: number, swizzle: string): string[] {
  const out = ['(local.set $src (i32.add (i32.load (local.get $p)) (local.get $pos)))'];
  for (let v = 0; v < vectors; v++) {
    out.push(
      `(local.set $x${v} (v128.load offset=${16 * v} align=1 (local.get $src)))`,
      `(local.set $lo${v} (v128.and (local.get $x${v}) (local.get $mask)))`,
      `(local.set $hi${v} (v128.and (i16x8.shr_u (local.get $x${v}) (i32.const 4)) (local.get $mask)))`,
    );
  }
  for (let r = 0; r < rows; r++) {
    out.push(
      `(local.set $tl (v128.load offset=${32 * r} (local.get $t)))`,
      `(local.set $th (v128.load offset=${32 * r + 16} (local.get $t)))`,
    );
    for (let v = 0; v < vectors; v++) {
      out.push(
        `(local.set $a${r}_${v} (v128.xor (local.get $a${r}_${v}) (v128.xor ` +
          `(${swizzle} (local.get $tl) (local.get $lo${v})) (${swizzle} (local.get $th) (local.get $hi${v})))))`,
      );
    }
  }
  return out;
}

function kernelFunction(rows: number, vectors: number, swizzle: string): string {
  const body = [
    `(func (export "mul${rows}") (param $tbl i32) (param $ins i32) (param $nin i32) (param $outs i32) (param $start i32) (param $end i32)`,
    ...locals(rows, vectors),
    '(if (i32.ge_u (local.get $start) (local.get $end)) (then (return)))',
    '(local.set $mask (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))',
    '(local.set $end_in (i32.add (local.get $ins) (i32.shl (local.get $nin) (i32.const 2))))',
    '(local.set $pos (local.get $start))',
  ];
  for (let r = 0; r < rows; r++) body.push(`(local.set $o${r} (i32.load offset=${4 * r} (local.get $outs)))`);
  body.push('(loop $columns');
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < vectors; v++) body.push(`(local.set $a${r}_${v} (v128.const i64x2 0 0))`);
  }
  body.push('(local.set $p (local.get $ins))', '(local.set $t (local.get $tbl))', '(loop $inputs');
  body.push(...step(rows, vectors, swizzle).map((line) => `  ${line}`));
  body.push(
    `  (local.set $t (i32.add (local.get $t) (i32.const ${32 * rows})))`,
    '  (local.set $p (i32.add (local.get $p) (i32.const 4)))',
    '  (br_if $inputs (i32.lt_u (local.get $p) (local.get $end_in))))',
  );
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < vectors; v++) {
      body.push(
        `(v128.store offset=${16 * v} align=1 (i32.add (local.get $o${r}) (local.get $pos)) (local.get $a${r}_${v}))`,
      );
    }
  }
  body.push(
    `(local.set $pos (i32.add (local.get $pos) (i32.const ${16 * vectors})))`,
    '(br_if $columns (i32.lt_u (local.get $pos) (local.get $end))))',
    ')',
  );
  return body.join('\n  ');
}

/** The WAT text of one variant. */
export function kernelWat(variant: KernelVariant): string {
  const swizzle = variant.relaxed ? 'i8x16.relaxed_swizzle' : 'i8x16.swizzle';
  const memory = `(import "env" "memory" (memory 1 65536${variant.shared ? ' shared' : ''}))`;
  const functions = kernelShapes.map(({ rows, vectors }) => kernelFunction(rows, vectors, swizzle));
  return [
    `;; Generated by scripts/build-wasm.ts from wasm/kernel-source.ts (${variant.name}): do not edit.`,
    '(module',
    `  ${memory}`,
    ...functions.map((text) => `  ${text}`),
    ')',
    '',
  ].join('\n');
}
