/**
 * The checks the browser test runs in Chromium and, for the parity digests, in Node too: the same
 * code over the built package in both, so "identical to Node" is compared on equal footing.
 */
import { isTrinityError, seededRandom, sha256, toHex } from '@trinity/core';
import { type Backend, createEncoder } from '../../dist/index.js';
import oneEncode from '../vectors/klauspost-one-encode.json' with { type: 'json' };

/** The kernels the workload tries one by one ('auto' picks the best that validates). */
export const workloadBackends = ['js', 'wasm-simd', 'wasm-relaxed-simd', 'auto'] as const satisfies Backend[];

/** What one backend did: its kernel, the known answer, the parity digests and reconstruct. */
export interface BackendResult {
  readonly backend: string;
  /** The error code when the backend is unavailable here. */
  readonly unavailable?: string;
  readonly kernel?: string;
  readonly knownAnswer?: boolean;
  /** SHA-256 of all parity shards, per shape `k/m/shardBytes`. */
  readonly parity?: Record<string, string>;
  readonly reconstructed?: boolean;
}

const shapes = [
  [10, 4, 4099],
  [5, 3, 65_536],
  [17, 7, 1000],
] as const;

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function knownAnswer(backend: Backend): boolean {
  const rs = createEncoder({ dataShards: 5, parityShards: 5, backend });
  const shards = [...oneEncode.data, ...oneEncode.parity.map(() => [0, 0])].map((s) => Uint8Array.from(s));
  rs.encode(shards);
  return JSON.stringify(shards.slice(5).map((s) => [...s])) === JSON.stringify(oneEncode.parity);
}

/** Encodes seeded random shapes, then loses m shards of each and rebuilds them. */
export function runBackend(backend: Backend): BackendResult {
  let kernel: string;
  try {
    kernel = createEncoder({ backend }).backend;
  } catch (error) {
    if (isTrinityError(error)) return { backend, unavailable: error.code };
    throw error;
  }
  const random = seededRandom(2026);
  const parity: Record<string, string> = {};
  let reconstructed = true;
  for (const [k, m, shardBytes] of shapes) {
    const rs = createEncoder({ dataShards: k, parityShards: m, backend });
    const shards = Array.from({ length: k + m }, (_, i) =>
      i < k ? random.bytes(shardBytes) : new Uint8Array(shardBytes),
    );
    rs.encode(shards);
    parity[`${k}/${m}/${shardBytes}`] = toHex(sha256(concat(shards.slice(k))));
    const damaged: (Uint8Array | null)[] = shards.map((s) => s.slice());
    for (const lost of random.shuffle(Array.from({ length: k + m }, (_, i) => i)).slice(0, m))
      damaged[lost] = null;
    const rebuilt = rs.reconstruct(damaged);
    reconstructed &&= rebuilt.every((s, i) => toHex(s) === toHex(shards[i]!));
  }
  return { backend, kernel, knownAnswer: knownAnswer(backend), parity, reconstructed };
}
