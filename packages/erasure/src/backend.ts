import type { Backend } from './config.js';
import { BackendUnavailableError } from './errors.js';
import { _mulTable } from './gf256.js';
import { createJsKernel, type Kernel, type KernelName } from './kernel.js';
import { createWasmKernel } from './kernel-wasm.js';

let jsKernel: Kernel | undefined;
const wasmKernels = new Map<'relaxed' | 'simd', Kernel | null>();

/** The portable TypeScript kernel (one per process). */
export function portableKernel(): Kernel {
  jsKernel ??= createJsKernel(_mulTable);
  return jsKernel;
}

/**
 * A WebAssembly kernel, or undefined where the host cannot run that variant. Instantiated on first
 * use (not at import) and once per process, so encoders of one variant share one memory.
 */
function wasmKernel(variant: 'relaxed' | 'simd'): Kernel | undefined {
  if (!wasmKernels.has(variant))
    wasmKernels.set(variant, createWasmKernel({ relaxed: variant === 'relaxed' }) ?? null);
  return wasmKernels.get(variant) ?? undefined;
}

/** The best WebAssembly kernel this host validates: relaxed SIMD, else SIMD. */
export function simdKernel(): Kernel | undefined {
  return wasmKernel('relaxed') ?? wasmKernel('simd');
}

function unavailable(backend: Backend, needs: string): never {
  throw new BackendUnavailableError(`backend "${backend}" needs ${needs}, which this host does not validate`);
}

/** The kernel a backend setting resolves to on this host. */
export function selectKernel(backend: Backend): Kernel {
  switch (backend) {
    case 'js':
      return portableKernel();
    case 'wasm-simd':
      return wasmKernel('simd') ?? unavailable(backend, 'WebAssembly SIMD');
    case 'wasm-relaxed-simd':
      return wasmKernel('relaxed') ?? unavailable(backend, 'WebAssembly relaxed SIMD');
    case 'wasm':
      return simdKernel() ?? unavailable(backend, 'WebAssembly SIMD');
    case 'auto':
      return simdKernel() ?? portableKernel();
  }
}

/** Which kernel `backend: 'auto'` runs on this host. */
export function defaultBackend(): KernelName {
  return selectKernel('auto').name;
}
