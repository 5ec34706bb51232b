;; @trinity/vsa hot loops in WebAssembly SIMD (128-bit). Compiled by scripts/build-wasm.mjs with wabt;
;; the binary is embedded in src/_generated/vsa-kernel-wasm.ts. Every function works on the memory the
;; host imports as env.memory; the host owns the layout and passes byte offsets (all 16-byte aligned).
;;
;; Hypervector planes are bit arrays of 32-bit little-endian words, padded with zero bits to a whole
;; number of 32-byte blocks (`pb` bytes per plane). A zero nonzero-bit is a zero trit, so padding adds
;; nothing to any dot product or count.
(module
  (memory (import "env" "memory") 1)

  ;; ---------------------------------------------------------------------------------------------
  ;; bundleAdd: adds `count` staged vectors to bit-sliced counters of +1 and -1 trits.
  ;;   v      staged vectors, each [sign pb][nonzero pb]
  ;;   plus   counter planes of +1 trits, chunk-major: chunk c, level l at plus + (c*levels + l)*16
  ;;   minus  the same for -1 trits
  ;; Each 128-trit chunk's carry ripples up the levels until no lane carries; the host sizes `levels`
  ;; so that the count of every lane fits (it never ripples past the top level).
  (func (export "bundleAdd")
      (param $v i32) (param $count i32) (param $pb i32) (param $plus i32) (param $minus i32) (param $levels i32)
    (local $end i32) (local $k i32) (local $row i32) (local $rowBytes i32) (local $p i32)
    (local $s v128) (local $carry v128) (local $x v128)
    (local.set $rowBytes (i32.shl (local.get $levels) (i32.const 4)))
    (local.set $end (i32.add (local.get $v) (i32.mul (local.get $count) (i32.shl (local.get $pb) (i32.const 1)))))
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $v) (local.get $end)))
        (local.set $k (i32.const 0))
        (local.set $row (i32.const 0))
        (loop $chunks
          (local.set $s (v128.load (i32.add (local.get $v) (local.get $k))))
          ;; +1 trits: nonzero and not sign
          (local.set $carry (v128.andnot (v128.load (i32.add (i32.add (local.get $v) (local.get $pb)) (local.get $k)))
                                         (local.get $s)))
          (local.set $p (i32.add (local.get $plus) (local.get $row)))
          (block $plusDone
            (loop $plusRipple
              (br_if $plusDone (i32.eqz (v128.any_true (local.get $carry))))
              (local.set $x (v128.load (local.get $p)))
              (v128.store (local.get $p) (v128.xor (local.get $x) (local.get $carry)))
              (local.set $carry (v128.and (local.get $x) (local.get $carry)))
              (local.set $p (i32.add (local.get $p) (i32.const 16)))
              (br $plusRipple)))
          ;; -1 trits: the sign plane (canonical vectors keep it inside nonzero)
          (local.set $carry (local.get $s))
          (local.set $p (i32.add (local.get $minus) (local.get $row)))
          (block $minusDone
            (loop $minusRipple
              (br_if $minusDone (i32.eqz (v128.any_true (local.get $carry))))
              (local.set $x (v128.load (local.get $p)))
              (v128.store (local.get $p) (v128.xor (local.get $x) (local.get $carry)))
              (local.set $carry (v128.and (local.get $x) (local.get $carry)))
              (local.set $p (i32.add (local.get $p) (i32.const 16)))
              (br $minusRipple)))
          (local.set $row (i32.add (local.get $row) (local.get $rowBytes)))
          (br_if $chunks (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $pb))))
        (local.set $v (i32.add (local.get $v) (i32.shl (local.get $pb) (i32.const 1))))
        (br $vectors))))

  ;; ---------------------------------------------------------------------------------------------
  ;; convolveRow: acc[j] += Σ_{p in plus} row2[dims + j - p] - Σ_{p in minus} row2[dims + j - p]
  ;; for j in [0, lanes), `lanes` a multiple of 16. acc and row2 are i32 arrays; row2 holds one byte
  ;; value's position counts twice over (row2[x] = count[x mod dims]) so every rotation is contiguous.
  ;; idx holds `plusCount` then `minusCount` positions (i32). Positions are taken four at a time so
  ;; that acc is loaded and stored once per four rotated rows.
  (func (export "convolveRow")
      (param $acc i32) (param $row2 i32) (param $idx i32) (param $plusCount i32) (param $minusCount i32)
      (param $dims i32) (param $lanes i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $idx) (i32.shl (local.get $plusCount) (i32.const 2))))
    (call $convolveList (local.get $acc) (local.get $row2) (local.get $idx) (local.get $end)
      (local.get $dims) (local.get $lanes) (i32.const 0))
    (call $convolveList (local.get $acc) (local.get $row2) (local.get $end)
      (i32.add (local.get $end) (i32.shl (local.get $minusCount) (i32.const 2)))
      (local.get $dims) (local.get $lanes) (i32.const 1)))

  ;; Adds (negate = 0) or subtracts (negate = 1) the rotations of row2 named by idx[start..end).
  ;; Subtraction adds (sum ^ m) - m with m all ones, which is -sum, so the inner loops have no branch.
  (func $convolveList
      (param $acc i32) (param $row2 i32) (param $i i32) (param $end i32) (param $dims i32) (param $lanes i32)
      (param $negate i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32) (local $off i32) (local $bytes i32) (local $at i32)
    (local $sum v128) (local $m v128)
    (local.set $bytes (i32.shl (local.get $lanes) (i32.const 2)))
    (local.set $m (i32x4.splat (i32.sub (i32.const 0) (local.get $negate))))
    ;; four positions at a time
    (block $quadsDone
      (loop $quads
        (br_if $quadsDone (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $end)))
        (local.set $a (call $rotation (local.get $row2) (local.get $dims) (i32.load (local.get $i))))
        (local.set $b (call $rotation (local.get $row2) (local.get $dims) (i32.load offset=4 (local.get $i))))
        (local.set $c (call $rotation (local.get $row2) (local.get $dims) (i32.load offset=8 (local.get $i))))
        (local.set $d (call $rotation (local.get $row2) (local.get $dims) (i32.load offset=12 (local.get $i))))
        (local.set $off (i32.const 0))
        (loop $lanesQuad
          (local.set $sum (i32x4.add
            (i32x4.add (v128.load (i32.add (local.get $a) (local.get $off))) (v128.load (i32.add (local.get $b) (local.get $off))))
            (i32x4.add (v128.load (i32.add (local.get $c) (local.get $off))) (v128.load (i32.add (local.get $d) (local.get $off))))))
          (local.set $at (i32.add (local.get $acc) (local.get $off)))
          (v128.store (local.get $at) (i32x4.add (v128.load (local.get $at))
            (i32x4.sub (v128.xor (local.get $sum) (local.get $m)) (local.get $m))))
          (br_if $lanesQuad (i32.lt_u (local.tee $off (i32.add (local.get $off) (i32.const 16))) (local.get $bytes))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $quads)))
    ;; the rest one at a time
    (block $onesDone
      (loop $ones
        (br_if $onesDone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $a (call $rotation (local.get $row2) (local.get $dims) (i32.load (local.get $i))))
        (local.set $off (i32.const 0))
        (loop $lanesOne
          (local.set $at (i32.add (local.get $acc) (local.get $off)))
          (v128.store (local.get $at) (i32x4.add (v128.load (local.get $at))
            (i32x4.sub (v128.xor (v128.load (i32.add (local.get $a) (local.get $off))) (local.get $m)) (local.get $m))))
          (br_if $lanesOne (i32.lt_u (local.tee $off (i32.add (local.get $off) (i32.const 16))) (local.get $bytes))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $ones))))

  ;; Byte offset of row2[dims - p], where the rotation by p starts.
  (func $rotation (param $row2 i32) (param $dims i32) (param $p i32) (result i32)
    (i32.add (local.get $row2) (i32.shl (i32.sub (local.get $dims) (local.get $p)) (i32.const 2))))

  ;; ---------------------------------------------------------------------------------------------
  ;; scan: dot products of `count` index entries against `qCount` queries, emitting the entries whose
  ;; approximate score dot·invNorm reaches the query's threshold (the host then ranks them exactly).
  ;;   qp      queries, each split into nibbles: per 16-byte chunk [s_lo s_hi n_lo n_hi] (64 bytes),
  ;;           query stride 4*pb
  ;;   e       entries, each [sign pb][nonzero pb]
  ;;   thr     f32 threshold per query; inv f32 inverse norm per entry (0 for an all-zero entry)
  ;;   out     emitted records (slot i32, query i32, dot i32); returns how many
  ;;   scr     scratch of 4*pb bytes for the current entry split into nibbles
  ;; dot = popcount(c) - 2 popcount(c & (s_e ^ s_q)) with c = n_e & n_q, popcounts from 16-entry
  ;; nibble tables (i8x16.swizzle): lut counts bits of c, lut2 holds -2 × the bits of the disagreement.
  ;; Byte lanes add at most 8 per chunk, so they are widened every 14 chunks (896 scratch bytes).
  (func (export "scan")
      (param $qp i32) (param $qCount i32) (param $e i32) (param $count i32) (param $pb i32)
      (param $thr i32) (param $inv i32) (param $out i32) (param $slot i32) (param $scr i32) (result i32)
    (local $end i32) (local $k i32) (local $q i32) (local $qi i32) (local $s i32) (local $sEnd i32)
    (local $gEnd i32) (local $dot i32) (local $emitted i32) (local $qStride i32) (local $stride i32)
    (local $invE f32) (local $m v128) (local $lut v128) (local $lut2 v128) (local $x v128) (local $y v128)
    (local $acc v128) (local $tot v128) (local $cl v128) (local $ch v128)
    (local.set $lut (v128.const i8x16 0 1 1 2 1 2 2 3 1 2 2 3 2 3 3 4))
    (local.set $lut2 (v128.const i8x16 0 -2 -2 -4 -2 -4 -4 -6 -2 -4 -4 -6 -4 -6 -6 -8))
    (local.set $m (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $stride (i32.shl (local.get $pb) (i32.const 1)))
    (local.set $qStride (i32.shl (local.get $pb) (i32.const 2)))
    (local.set $sEnd (i32.add (local.get $scr) (local.get $qStride)))
    (local.set $end (i32.add (local.get $e) (i32.mul (local.get $count) (local.get $stride))))
    (block $done
      (loop $entries
        (br_if $done (i32.ge_u (local.get $e) (local.get $end)))
        ;; split the entry into nibbles once, for every query
        (local.set $k (i32.const 0))
        (local.set $s (local.get $scr))
        (loop $split
          (local.set $x (v128.load (i32.add (local.get $e) (local.get $k))))
          (local.set $y (v128.load (i32.add (i32.add (local.get $e) (local.get $k)) (local.get $pb))))
          (v128.store (local.get $s) (v128.and (local.get $x) (local.get $m)))
          (v128.store offset=16 (local.get $s) (v128.and (i16x8.shr_u (local.get $x) (i32.const 4)) (local.get $m)))
          (v128.store offset=32 (local.get $s) (v128.and (local.get $y) (local.get $m)))
          (v128.store offset=48 (local.get $s) (v128.and (i16x8.shr_u (local.get $y) (i32.const 4)) (local.get $m)))
          (local.set $s (i32.add (local.get $s) (i32.const 64)))
          (br_if $split (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $pb))))
        (local.set $invE (f32.load (local.get $inv)))
        (local.set $q (local.get $qp))
        (local.set $qi (i32.const 0))
        (loop $queries
          (local.set $tot (v128.const i64x2 0 0))
          (local.set $s (local.get $scr))
          (local.set $k (local.get $q))
          (loop $groups
            (local.set $gEnd (select (i32.add (local.get $s) (i32.const 896)) (local.get $sEnd)
                               (i32.lt_u (i32.add (local.get $s) (i32.const 896)) (local.get $sEnd))))
            (local.set $acc (v128.const i64x2 0 0))
            (loop $chunks
              (local.set $cl (v128.and (v128.load offset=32 (local.get $s)) (v128.load offset=32 (local.get $k))))
              (local.set $ch (v128.and (v128.load offset=48 (local.get $s)) (v128.load offset=48 (local.get $k))))
              (local.set $acc (i8x16.add (local.get $acc) (i8x16.add
                (i8x16.add (i8x16.swizzle (local.get $lut) (local.get $cl)) (i8x16.swizzle (local.get $lut) (local.get $ch)))
                (i8x16.add
                  (i8x16.swizzle (local.get $lut2)
                    (v128.and (local.get $cl) (v128.xor (v128.load (local.get $s)) (v128.load (local.get $k)))))
                  (i8x16.swizzle (local.get $lut2)
                    (v128.and (local.get $ch) (v128.xor (v128.load offset=16 (local.get $s)) (v128.load offset=16 (local.get $k)))))))))
              (local.set $cl (v128.and (v128.load offset=96 (local.get $s)) (v128.load offset=96 (local.get $k))))
              (local.set $ch (v128.and (v128.load offset=112 (local.get $s)) (v128.load offset=112 (local.get $k))))
              (local.set $acc (i8x16.add (local.get $acc) (i8x16.add
                (i8x16.add (i8x16.swizzle (local.get $lut) (local.get $cl)) (i8x16.swizzle (local.get $lut) (local.get $ch)))
                (i8x16.add
                  (i8x16.swizzle (local.get $lut2)
                    (v128.and (local.get $cl) (v128.xor (v128.load offset=64 (local.get $s)) (v128.load offset=64 (local.get $k)))))
                  (i8x16.swizzle (local.get $lut2)
                    (v128.and (local.get $ch) (v128.xor (v128.load offset=80 (local.get $s)) (v128.load offset=80 (local.get $k)))))))))
              (local.set $k (i32.add (local.get $k) (i32.const 128)))
              (br_if $chunks (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 128))) (local.get $gEnd))))
            (local.set $tot (i32x4.add (local.get $tot)
              (i32x4.extadd_pairwise_i16x8_s (i16x8.extadd_pairwise_i8x16_s (local.get $acc)))))
            (br_if $groups (i32.lt_u (local.get $s) (local.get $sEnd))))
          (local.set $tot (i32x4.add (local.get $tot)
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $tot) (local.get $tot))))
          (local.set $dot (i32.add (i32x4.extract_lane 0 (local.get $tot)) (i32x4.extract_lane 1 (local.get $tot))))
          (if (f32.ge (f32.mul (f32.convert_i32_s (local.get $dot)) (local.get $invE))
                      (f32.load (i32.add (local.get $thr) (i32.shl (local.get $qi) (i32.const 2)))))
            (then
              (i32.store (local.get $out) (local.get $slot))
              (i32.store offset=4 (local.get $out) (local.get $qi))
              (i32.store offset=8 (local.get $out) (local.get $dot))
              (local.set $out (i32.add (local.get $out) (i32.const 12)))
              (local.set $emitted (i32.add (local.get $emitted) (i32.const 1)))))
          (local.set $q (i32.add (local.get $q) (local.get $qStride)))
          (br_if $queries (i32.lt_u (local.tee $qi (i32.add (local.get $qi) (i32.const 1))) (local.get $qCount))))
        (local.set $slot (i32.add (local.get $slot) (i32.const 1)))
        (local.set $inv (i32.add (local.get $inv) (i32.const 4)))
        (local.set $e (i32.add (local.get $e) (local.get $stride)))
        (br $entries)))
    (local.get $emitted))
)
