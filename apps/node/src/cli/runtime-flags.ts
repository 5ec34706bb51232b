import { getHeapStatistics, setFlagsFromString } from 'node:v8';

// The daemon owns its process, so it may do what a library must not: turn on WebAssembly relaxed
// SIMD, on by default from Node 22 and behind this flag on Node 20. @trinity/erasure and
// @trinity/vsa detect it lazily (WebAssembly.validate) and then run their fastest kernels (about
// 1.5x on every encode and reconstruct). Harmless where the flag is already on or unknown.
setFlagsFromString('--experimental-wasm-relaxed-simd');

// When to start a full (mark-compact) collection. By default V8 starts incremental marking as soon
// as the room left under the old generation's limit is smaller than the young generation (32 MiB):
// a node's heap holds about 32 MiB of live objects and gets a limit about twice that, so marking
// started again a few megabytes after every collection, and a node moving shard bytes spent a
// quarter of its CPU in full collections (perf: concurrent marking and sweeping, 24-30 % of the
// coordinator's and a holder's samples during a put). With these triggers marking starts once 80 %
// of that room is used (at once past 95 %); the limit itself, and so peak memory, is unchanged.
// Read by V8 at every check, so setting them here (after start-up) takes effect.
setFlagsFromString('--incremental-marking-soft-trigger=80');
setFlagsFromString('--incremental-marking-hard-trigger=95');

// How far the old generation may grow past what survived the last full collection before the next
// one: V8 picks 1.1-4x by its own heuristics, which for a node's small heap (about 32 MiB live)
// gave 24-43 MiB of room, and a put's coordinator ran 17-28 full collections per 256 MiB object.
// 3x (room of about 64 MiB) took that to one and cut a put's CPU by about a quarter (README,
// Performance). Only while the heap is small: past smallHeapBytes in use, V8's own heuristics
// again, so a node with a large heap does not keep up to three times it.
const smallHeapBytes = 256 * 1024 * 1024;
let growingPercent = -1;
function tuneHeapGrowth(): void {
  const wanted = getHeapStatistics().used_heap_size < smallHeapBytes ? 200 : 0;
  if (wanted === growingPercent) return;
  setFlagsFromString(`--heap-growing-percent=${wanted}`);
  growingPercent = wanted;
}
tuneHeapGrowth();
setInterval(tuneHeapGrowth, 10_000).unref();
