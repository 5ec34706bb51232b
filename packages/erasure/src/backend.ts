import type { Backend } from './config.js';
import { BackendUnavailableError } from './errors.js';
import { _mulTable } from './gf256.js';
import { createJsKernel, type Kernel, type KernelName } from './kernel.js';
import { createWasmKernel } from './kernel-wasm.js';

let jsKernel: Kernel | undefined;
let wasmKernel: Kernel | null | undefined;

/** The portable TypeScript kernel (one per process). */
export function portableKernel(): Kernel {
  jsKernel ??= createJsKernel(_mulTable);
  return jsKernel;
}

/** The WebAssembly SIMD kernel, or undefined where the host cannot run it. */
export function simdKernel(): Kernel | undefined {
  // Instantiated on first use (not at import), and only once per process: one memory for all encoders.
  if (wasmKernel === undefined) wasmKernel = createWasmKernel() ?? null;
  return wasmKernel ?? undefined;
}

/** The kernel a backend setting resolves to on this host. */
export function selectKernel(backend: Backend): Kernel {
  if (backend === 'js') return portableKernel();
  const simd = simdKernel();
  if (simd !== undefined) return simd;
  if (backend === 'wasm') {
    throw new BackendUnavailableError('backend "wasm" needs WebAssembly SIMD, which this host does not have');
  }
  return portableKernel();
}

/** Which kernel `backend: 'auto'` runs on this host. */
export function defaultBackend(): KernelName {
  return selectKernel('auto').name;
}
