import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserBundle,
  type Chromium,
  findChromium,
  launchChromium,
  type PageServer,
  servePage,
} from '../../../scripts/browser-test.ts';
import { type BackendResult, runBackend } from './browser/workload.ts';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const chromium = findChromium();
const missing = 'missing' in chromium ? chromium.missing : undefined;
/** Launching Chromium and running a page take seconds, minutes on a loaded machine: no tight bound. */
const browserStepMs = 300_000;

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

// CI installs chromium (.ci/run), so there a missing browser is a failure, not a skip.
if (missing !== undefined && process.env.CI === 'true') {
  it('headless Chromium is installed', () => {
    throw new Error(`browser tests cannot run under CI: ${missing}`);
  });
}
if (missing !== undefined) console.warn(`@trinity/erasure browser tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)(
  `in headless Chromium${missing === undefined ? '' : ` (skipped: ${missing})`}`,
  () => {
    let browser: Chromium;
    let script: string;
    const servers: PageServer[] = [];
    const node = runBackend('js');

    beforeAll(async () => {
      script = (
        await browserBundle(packageDir, { file: fileURLToPath(new URL('browser/page.ts', import.meta.url)) })
      ).code;
      browser = await launchChromium(packageDir, (chromium as { path: string }).path);
    }, browserStepMs);
    afterAll(async () => {
      await browser?.close();
      await Promise.all(servers.map((server) => server.close()));
    }, browserStepMs);

    for (const isolated of [false, true]) {
      describe(isolated ? 'cross-origin isolated (COOP + COEP)' : 'not cross-origin isolated', () => {
        let result: PageResult;
        beforeAll(async () => {
          const server = await servePage(script, isolated);
          servers.push(server);
          result = await browser.run<PageResult>(server.url);
        }, browserStepMs);

        it('runs where the headers say', () => {
          expect(result.crossOriginIsolated).toBe(isolated);
        });

        it('every kernel, plain and relaxed SIMD, gives the known answer and the parity Node gives', () => {
          const kernels = result.backends.map((b) => b.kernel);
          expect(kernels).toEqual(['js', 'wasm-simd', 'wasm-relaxed-simd', 'wasm-relaxed-simd']);
          for (const backend of result.backends) {
            expect(backend.knownAnswer, backend.backend).toBe(true);
            expect(backend.parity, backend.backend).toEqual(node.parity);
            expect(backend.reconstructed, backend.backend).toBe(true);
          }
        });

        it('lends shared-memory shards only to an isolated page, so that posting them never throws', () => {
          const { allocated } = result;
          expect(allocated.kernel).toBe('wasm-relaxed-simd');
          expect(allocated.verified).toBe(true);
          expect(allocated.buffer).toBe(isolated ? '[object SharedArrayBuffer]' : '[object ArrayBuffer]');
          expect(allocated.postMessage).toBe('ok');
          // TextDecoder refuses views of shared memory (the README says to copy them first).
          expect(allocated.textDecoder).toBe(isolated ? 'TypeError' : 'ok');
        });
      });
    }
  },
);
