import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ReedSolomonErasure } from '@digitaldefiance/reed-solomon-erasure.wasm';
import { type Random, seededRandom } from '@trinity/core';
import { type Backend, defaultBackend } from '../src/index.js';

/** Every kernel a test should pass on: portable, WebAssembly SIMD, and relaxed SIMD where 'auto' picks it. */
export const backends: Backend[] =
  defaultBackend() === 'wasm-relaxed-simd' ? ['js', 'wasm-simd', 'auto'] : ['js', 'wasm-simd'];

export function randomShards(random: Random, count: number, length: number): Uint8Array[] {
  return Array.from({ length: count }, () => random.bytes(length));
}

/** A seeded Random whose seed vitest prints when the test fails (it is in the test title). */
export function seeded(seed: number): Random {
  return seededRandom(seed);
}

let rust: ReedSolomonErasure | undefined;

/** reed-solomon-erasure (Rust) compiled to wasm: an independent implementation of the same code. */
export function rustCodec(): ReedSolomonErasure {
  if (rust === undefined) {
    const path = createRequire(import.meta.url).resolve('@digitaldefiance/reed-solomon-erasure.wasm/wasm');
    rust = ReedSolomonErasure.fromBytes(readFileSync(path));
  }
  return rust;
}

/** Parity of the data shards according to the Rust codec. */
export function rustParity(k: number, m: number, data: readonly Uint8Array[]): Uint8Array[] {
  const length = data[0]!.length;
  const block = new Uint8Array((k + m) * length);
  for (const [i, shard] of data.entries()) block.set(shard, i * length);
  const result = rustCodec().encode(block, k, m);
  if (result !== ReedSolomonErasure.RESULT_OK) throw new Error(`rust encode failed: ${result}`);
  return Array.from({ length: m }, (_, j) => block.slice((k + j) * length, (k + j + 1) * length));
}
