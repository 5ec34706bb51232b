import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, createEncoder, defaultBackend } from '../src/index.js';
import { createWasmKernel } from '../src/kernel-wasm.js';
import { crossCheckKernel } from './kernel-check.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
/** Tests that run a child node (with tsx, or --jitless) allow it this long, and kill it after. */
const timeout = 150_000;
const childTest = { timeout: timeout + 30_000 };

describe('WebAssembly SIMD kernel', () => {
  it('is what the default backend picks on this host, relaxed SIMD where it validates', () => {
    expect(['wasm-simd', 'wasm-relaxed-simd']).toContain(defaultBackend());
    expect(createEncoder().backend).toBe(defaultBackend());
    expect(createEncoder({ backend: 'wasm' }).backend).toBe(defaultBackend());
    expect(createEncoder({ backend: 'wasm-simd' }).backend).toBe('wasm-simd');
    if (defaultBackend() === 'wasm-relaxed-simd') {
      expect(createEncoder({ backend: 'wasm-relaxed-simd' }).backend).toBe('wasm-relaxed-simd');
    } else {
      expect(() => createEncoder({ backend: 'wasm-relaxed-simd' })).toThrow(BackendUnavailableError);
    }
  });

  for (const shared of [true, false]) {
    it(`matches the portable kernel byte for byte (SIMD, ${shared ? 'shared' : 'plain'} memory)`, () => {
      const kernel = createWasmKernel({ relaxed: false, shared })!;
      expect(kernel.name).toBe('wasm-simd');
      for (const seed of [1, 2, 3]) expect(crossCheckKernel(kernel, seed, 25)).toBeUndefined();
    });
  }

  it(
    'matches the portable kernel with relaxed SIMD (in-process where it validates, else under the Node flag)',
    childTest,
    () => {
      const inProcess = createWasmKernel({ relaxed: true });
      if (inProcess !== undefined) {
        expect(crossCheckKernel(inProcess, 4, 25)).toBeUndefined();
        return;
      }
      const output = execFileSync(
        process.execPath,
        ['--experimental-wasm-relaxed-simd', '--import', 'tsx', here('./fixtures/relaxed-kernel.ts')],
        { encoding: 'utf8', timeout },
      );
      expect(output.trim()).toBe('wasm-relaxed-simd ok');
    },
  );

  it('lends shards in its memory only when that memory is shared (views survive growth)', () => {
    const plain = createWasmKernel({ relaxed: false, shared: false })!;
    const view = plain.allocate(64);
    expect(plain.owns(view)).toBe(false);
    const shared = createWasmKernel({ relaxed: false, shared: true })!;
    const first = shared.allocate(1000);
    first.fill(7);
    // Allocate far more than the initial 2 MiB so the memory grows; the old view must still work.
    const big = shared.allocate(40 * 1024 * 1024);
    expect(shared.owns(first) && shared.owns(big)).toBe(true);
    expect(first.length).toBe(1000);
    expect(first.every((b) => b === 7)).toBe(true);
    expect(shared.release(big)).toBe(true);
    expect(shared.release(big)).toBe(false);
    expect(shared.release(first.subarray(1))).toBe(false);
    expect(shared.release(first)).toBe(true);
    expect(shared.allocate(16).every((b) => b === 0)).toBe(true);
  });

  it('the committed WAT and embedded binaries are what the build script generates', childTest, () => {
    const output = execFileSync(
      process.execPath,
      ['--import', 'tsx', here('../scripts/build-wasm.ts'), '--check'],
      {
        encoding: 'utf8',
        timeout,
      },
    );
    expect(output).toBe('');
  });
});

describe('without WebAssembly', () => {
  it('falls back to the TypeScript kernel by itself, with the same results', childTest, () => {
    const output = execFileSync(
      process.execPath,
      ['--jitless', '--import', 'tsx', here('./fixtures/no-wasm.ts')],
      {
        encoding: 'utf8',
        timeout,
      },
    );
    expect(JSON.parse(output.trim().split('\n').at(-1)!)).toEqual({
      webAssembly: 'undefined',
      backend: 'js',
      encoder: 'js',
      parity: [
        [12, 13],
        [10, 11],
        [14, 15],
        [90, 91],
        [94, 95],
      ],
      restored: true,
      forced: 'refused',
    });
  });
});
