import { seededRandom } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { compileKernel } from '../scripts/build-wasm.mjs';
import { vsaKernelWasmBase64 } from '../src/_generated/vsa-kernel-wasm.js';
import {
  createFingerprinter,
  FingerprintEncoder,
  fingerprint,
  hypervectorsEqual,
  KernelUnavailableError,
  SemanticIndex,
  wasmKernelAvailable,
} from '../src/index.js';

describe('the WebAssembly kernel', () => {
  it('is the one wasm/vsa-kernel.wat compiles to (the build is reproducible)', async () => {
    const fromSource = await compileKernel();
    expect(Buffer.from(fromSource).toString('base64')).toBe(vsaKernelWasmBase64);
  });

  it('runs on this host (Node ≥ 20 has WebAssembly SIMD), so the tests cover both kernels', () => {
    expect(wasmKernelAvailable()).toBe(true);
    expect(new SemanticIndex({ dims: 64 }).kernel).toBe('wasm');
    expect(new SemanticIndex({ dims: 64, kernel: 'js' }).kernel).toBe('js');
    expect(KernelUnavailableError.name).toBe('KernelUnavailableError');
  });
});

describe('fingerprints in progress on the kernel', () => {
  it('stay exact when more run at once than the kernel has counter slots, and after abort', () => {
    const random = seededRandom(21);
    const encoder = new FingerprintEncoder({ dims: 256, kernel: 'wasm' });
    const inputs = Array.from({ length: 70 }, () => random.bytes(6_000));
    const running = inputs.map((input) => encoder.createFingerprinter().update(input.subarray(0, 4_000)));
    const dropped = Array.from({ length: 10 }, () =>
      encoder.createFingerprinter().update(random.bytes(5_000)),
    );
    for (const fingerprinter of dropped) fingerprinter.abort();
    for (const [i, f] of running.entries()) f.update(inputs[i]!.subarray(4_000));
    const digests = running.map((f) => f.digest());
    for (const [i, input] of inputs.entries()) {
      expect(hypervectorsEqual(digests[i]!, fingerprint(input, { dims: 256, kernel: 'js' }))).toBe(true);
    }
    const again = createFingerprinter({ dims: 256 }).update(inputs[0]!).digest();
    expect(hypervectorsEqual(again, digests[0]!)).toBe(true);
  });
});
