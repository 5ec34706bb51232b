import { expect, it } from 'vitest';
import { describeInChromium } from '../../../scripts/browser-test.ts';
import { type KernelResult, runKernel } from './browser/workload.ts';
import VECTORS from './vectors/fingerprint.json' with { type: 'json' };

interface PageResult {
  readonly crossOriginIsolated: boolean;
  readonly wasmKernelAvailable: boolean;
  readonly kernels: KernelResult[];
  readonly files: { save?: string; load?: string };
}

/** What Node computes for the same workload: every kernel in the page must give the same. */
const node = runKernel('js');

describeInChromium<PageResult>(
  {
    packageName: '@trinity/vsa',
    packageUrl: new URL('..', import.meta.url),
    pageFile: new URL('browser/page.ts', import.meta.url),
  },
  (isolated, result) => {
    it('runs where the headers say, with the WebAssembly SIMD kernel', () => {
      expect(result().crossOriginIsolated).toBe(isolated);
      expect(result().wasmKernelAvailable).toBe(true);
      expect(result().kernels.map((k) => k.kernel)).toEqual(['wasm', 'js']);
    });

    it('both kernels give the known answers and the search results Node gives', () => {
      for (const kernel of result().kernels) {
        expect(kernel.codebook1024byte0).toBe(VECTORS.codebook1024byte0);
        expect(kernel.codebook1024byte255).toBe(VECTORS.codebook1024byte255);
        expect(kernel.helloWorld1024).toBe(VECTORS.helloWorld1024);
        expect(kernel.hits, kernel.kernel).toEqual(node.hits);
        expect(kernel.editedFindsOriginal).toBe(true);
      }
      expect(node.hits[0]![0]).toBe('3:1.000000');
    });

    it('save and load fail with a typed error where there is no node:fs', () => {
      expect(result().files).toEqual({ save: 'INDEX_FILE_UNAVAILABLE', load: 'INDEX_FILE_UNAVAILABLE' });
    });
  },
);
