/** Which implementation runs the multiply-accumulate inner loop. */
export type KernelName = 'wasm-relaxed-simd' | 'wasm-simd' | 'js';

/**
 * A rows x cols coefficient matrix as the kernels consume it: `coefficients[r * cols + i]` multiplies
 * input i into output r. `tables` caches the split-nibble lookup tables the SIMD kernel derives from
 * it (filled on first use, so a cached decode matrix pays for them once).
 */
export interface CodingRows {
  readonly rows: number;
  readonly cols: number;
  readonly coefficients: Uint8Array;
  tables?: Uint8Array;
}

/**
 * The inner loop of every encode and reconstruct:
 * `outputs[r][0, length) = XOR over i of coefficients[r][i] * inputs[i][0, length)`.
 * Outputs are overwritten (not accumulated into) and must not overlap any input.
 */
export interface Kernel {
  readonly name: KernelName;
  multiply(
    rows: CodingRows,
    inputs: readonly Uint8Array[],
    outputs: readonly Uint8Array[],
    length: number,
  ): void;
  /** A zeroed buffer of `bytes` bytes, in the kernel's own memory when it has one (zero-copy). */
  allocate(bytes: number): Uint8Array;
  /** Returns a buffer from `allocate` to the kernel; false when the kernel does not own it. */
  release(view: Uint8Array): boolean;
  /** True when `view` lies in the kernel's own memory, so the kernel reads and writes it in place. */
  owns(view: Uint8Array): boolean;
}

/** Bytes per column chunk of the scalar kernel: inputs and outputs of one chunk stay in L1/L2. */
const jsChunkBytes = 4096;

/**
 * The portable kernel: for each output row and column chunk, four inputs at a time are looked up in
 * their coefficients' 256-entry product tables and XORed together, so the output is read and
 * written once per four inputs instead of once per input.
 */
export function createJsKernel(mulTable: Uint8Array): Kernel {
  const tableOf = (c: number) => mulTable.subarray(c << 8, (c << 8) + 256);

  function multiplyRow(
    coefficients: Uint8Array,
    inputs: readonly Uint8Array[],
    output: Uint8Array,
    start: number,
    end: number,
  ): void {
    const cols = coefficients.length;
    let i = 0;
    for (; i + 4 <= cols; i += 4) {
      const [t0, t1, t2, t3] = [0, 1, 2, 3].map((d) => tableOf(coefficients[i + d]!)) as [
        Uint8Array,
        Uint8Array,
        Uint8Array,
        Uint8Array,
      ];
      const a = inputs[i]!;
      const b = inputs[i + 1]!;
      const c = inputs[i + 2]!;
      const d = inputs[i + 3]!;
      if (i === 0)
        for (let j = start; j < end; j++) output[j] = t0[a[j]!]! ^ t1[b[j]!]! ^ t2[c[j]!]! ^ t3[d[j]!]!;
      else for (let j = start; j < end; j++) output[j]! ^= t0[a[j]!]! ^ t1[b[j]!]! ^ t2[c[j]!]! ^ t3[d[j]!]!;
    }
    for (; i < cols; i++) {
      const t = tableOf(coefficients[i]!);
      const a = inputs[i]!;
      if (i === 0) for (let j = start; j < end; j++) output[j] = t[a[j]!]!;
      else for (let j = start; j < end; j++) output[j]! ^= t[a[j]!]!;
    }
  }

  return {
    name: 'js',
    multiply(rows, inputs, outputs, length) {
      const { cols, coefficients } = rows;
      const rowCoefficients = Array.from({ length: rows.rows }, (_, r) =>
        coefficients.subarray(r * cols, (r + 1) * cols),
      );
      for (let start = 0; start < length; start += jsChunkBytes) {
        const end = Math.min(length, start + jsChunkBytes);
        for (let r = 0; r < rows.rows; r++) multiplyRow(rowCoefficients[r]!, inputs, outputs[r]!, start, end);
      }
    },
    allocate: (bytes) => new Uint8Array(bytes),
    release: () => false,
    owns: () => false,
  };
}
