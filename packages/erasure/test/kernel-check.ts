import { type Random, seededRandom } from '@trinity/core';
import { _mulTable } from '../src/gf256.js';
import { createJsKernel, type Kernel } from '../src/kernel.js';

const jsKernel = createJsKernel(_mulTable);

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/**
 * Runs `kernel` and the portable kernel on random matrices, shard lengths and buffer placements
 * (in the kernel's memory or not), returning a description of the first mismatch, or undefined.
 */
export function crossCheckKernel(kernel: Kernel, seed: number, rounds: number): string | undefined {
  const random: Random = seededRandom(seed);
  for (let round = 0; round < rounds; round++) {
    const rowCount = random.int(1, 11);
    const cols = random.int(1, 30);
    const length = random.pick([1, 31, 32, 33, 64, 100, 4096, 16_416, 40_000 + random.int(0, 99)]);
    const coefficients = random.bytes(rowCount * cols);
    if (random.chance(0.2)) coefficients.fill(0, 0, random.int(0, coefficients.length));
    const place = (): Uint8Array => (random.chance(0.5) ? kernel.allocate(length) : new Uint8Array(length));
    const inputs = Array.from({ length: cols }, () => random.fill(place()));
    const outputs = Array.from({ length: rowCount }, () => random.fill(place()));
    const expected = Array.from({ length: rowCount }, () => new Uint8Array(length));
    jsKernel.multiply({ rows: rowCount, cols, coefficients }, inputs, expected, length);
    kernel.multiply({ rows: rowCount, cols, coefficients }, inputs, outputs, length);
    const bad = outputs.findIndex((output, r) => !bytesEqual(output, expected[r]!));
    for (const view of [...inputs, ...outputs]) kernel.release(view);
    if (bad >= 0)
      return `seed ${seed} round ${round}: ${rowCount}x${cols} length ${length}, row ${bad} differs`;
  }
  return undefined;
}
