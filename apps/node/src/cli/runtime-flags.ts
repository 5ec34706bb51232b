import { setFlagsFromString } from 'node:v8';

// The daemon owns its process, so it may do what a library must not: turn on WebAssembly relaxed
// SIMD, on by default from Node 22 and behind this flag on Node 20. @trinity/erasure and
// @trinity/vsa detect it lazily (WebAssembly.validate) and then run their fastest kernels (about
// 1.5x on every encode and reconstruct). Harmless where the flag is already on or unknown.
setFlagsFromString('--experimental-wasm-relaxed-simd');
