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
const jsChunkBytes = 8192;

/**
 * The portable kernel: one 256-entry row of the product table per coefficient, column chunk by
 * column chunk so that each output chunk stays in cache while every input is folded into it.
 */
export function createJsKernel(mulTable: Uint8Array): Kernel {
  function multiplyChunk(
    rows: CodingRows,
    inputs: readonly Uint8Array[],
    output: Uint8Array,
    r: number,
    start: number,
    end: number,
  ): void {
    const { cols, coefficients } = rows;
    let first = true;
    for (let i = 0; i < cols; i++) {
      const c = coefficients[r * cols + i]!;
      const input = inputs[i]!;
      if (c === 0) continue;
      if (first) {
        if (c === 1) output.set(input.subarray(start, end), start);
        else for (let j = start; j < end; j++) output[j] = mulTable[(c << 8) | input[j]!]!;
        first = false;
      } else if (c === 1) {
        for (let j = start; j < end; j++) output[j]! ^= input[j]!;
      } else {
        const base = c << 8;
        for (let j = start; j < end; j++) output[j]! ^= mulTable[base | input[j]!]!;
      }
    }
    if (first) output.fill(0, start, end);
  }

  return {
    name: 'js',
    multiply(rows, inputs, outputs, length) {
      for (let start = 0; start < length; start += jsChunkBytes) {
        const end = Math.min(length, start + jsChunkBytes);
        for (let r = 0; r < rows.rows; r++) multiplyChunk(rows, inputs, outputs[r]!, r, start, end);
      }
    },
    allocate: (bytes) => new Uint8Array(bytes),
    release: () => false,
    owns: () => false,
  };
}
