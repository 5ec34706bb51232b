/** The vsa browser test page (bundled by test/browser.test.ts, run in headless Chromium). */
import { publishPageResult } from '../../../../scripts/browser-page.ts';
import { wasmKernelAvailable } from '../../dist/index.js';
import { runKernel, saveAndLoadCodes } from './workload.ts';

publishPageResult(async () => ({
  crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated,
  wasmKernelAvailable: wasmKernelAvailable(),
  kernels: [runKernel('wasm'), runKernel('js')],
  files: await saveAndLoadCodes(),
}));
