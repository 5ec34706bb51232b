import { expect, it } from 'vitest';
import { describeInChromium } from '../../../scripts/browser-test.ts';
import { type BackendResult, runBackend } from './browser/workload.ts';

interface PageResult {
  readonly crossOriginIsolated: boolean;
  readonly backends: BackendResult[];
  readonly allocated: {
    kernel: string;
    buffer: string;
    verified: boolean;
    postMessage: string;
    textDecoder: string;
  };
}

/** What Node computes for the same workload: every kernel in the page must give the same. */
const node = runBackend('js');

describeInChromium<PageResult>(
  {
    packageName: '@trinity/erasure',
    packageUrl: new URL('..', import.meta.url),
    pageFile: new URL('browser/page.ts', import.meta.url),
  },
  (isolated, result) => {
    it('runs where the headers say', () => {
      expect(result().crossOriginIsolated).toBe(isolated);
    });

    it('every kernel, plain and relaxed SIMD, gives the known answer and the parity Node gives', () => {
      const kernels = result().backends.map((b) => b.kernel);
      expect(kernels).toEqual(['js', 'wasm-simd', 'wasm-relaxed-simd', 'wasm-relaxed-simd']);
      for (const backend of result().backends) {
        expect(backend.knownAnswer, backend.backend).toBe(true);
        expect(backend.parity, backend.backend).toEqual(node.parity);
        expect(backend.reconstructed, backend.backend).toBe(true);
      }
    });

    it('lends shared-memory shards only to an isolated page, so that posting them never throws', () => {
      const { allocated } = result();
      expect(allocated.kernel).toBe('wasm-relaxed-simd');
      expect(allocated.verified).toBe(true);
      expect(allocated.buffer).toBe(isolated ? '[object SharedArrayBuffer]' : '[object ArrayBuffer]');
      expect(allocated.postMessage).toBe('ok');
      // TextDecoder refuses views of shared memory (the README says to copy them first).
      expect(allocated.textDecoder).toBe(isolated ? 'TypeError' : 'ok');
    });
  },
);
