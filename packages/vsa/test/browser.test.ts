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
import { type KernelResult, runKernel } from './browser/workload.ts';
import VECTORS from './vectors/fingerprint.json' with { type: 'json' };

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const chromium = findChromium();
const missing = 'missing' in chromium ? chromium.missing : undefined;
/** Launching Chromium and running a page take seconds, minutes on a loaded machine: no tight bound. */
const browserStepMs = 300_000;

interface PageResult {
  readonly crossOriginIsolated: boolean;
  readonly wasmKernelAvailable: boolean;
  readonly kernels: KernelResult[];
  readonly files: { save?: string; load?: string };
}

// CI installs chromium (.ci/run), so there a missing browser is a failure, not a skip.
if (missing !== undefined && process.env.CI === 'true') {
  it('headless Chromium is installed', () => {
    throw new Error(`browser tests cannot run under CI: ${missing}`);
  });
}
if (missing !== undefined) console.warn(`@trinity/vsa browser tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)(
  `in headless Chromium${missing === undefined ? '' : ` (skipped: ${missing})`}`,
  () => {
    let browser: Chromium;
    let script: string;
    const servers: PageServer[] = [];
    const node = runKernel('js');

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

        it('runs where the headers say, with the WebAssembly SIMD kernel', () => {
          expect(result.crossOriginIsolated).toBe(isolated);
          expect(result.wasmKernelAvailable).toBe(true);
          expect(result.kernels.map((k) => k.kernel)).toEqual(['wasm', 'js']);
        });

        it('both kernels give the known answers and the search results Node gives', () => {
          for (const kernel of result.kernels) {
            expect(kernel.codebook1024byte0).toBe(VECTORS.codebook1024byte0);
            expect(kernel.codebook1024byte255).toBe(VECTORS.codebook1024byte255);
            expect(kernel.helloWorld1024).toBe(VECTORS.helloWorld1024);
            expect(kernel.hits, kernel.kernel).toEqual(node.hits);
            expect(kernel.editedFindsOriginal).toBe(true);
          }
          expect(node.hits[0]![0]).toBe('3:1.000000');
        });

        it('save and load fail with a typed error where there is no node:fs', () => {
          expect(result.files).toEqual({ save: 'INDEX_FILE_UNAVAILABLE', load: 'INDEX_FILE_UNAVAILABLE' });
        });
      });
    }
  },
);
