/**
 * The checks the browser test runs in Chromium and, for the results to compare, in Node too: the
 * same code over the built package in both.
 */
import { isTrinityError, seededRandom, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { Codebook, fingerprint, SemanticIndex, serializeHypervector } from '../../dist/index.js';

/** What one kernel did: known answers, and the hits of a search over seeded shards. */
export interface KernelResult {
  readonly kernel: string;
  /** First 16 bytes (hex) of SHA-256 over the serialized vectors, as in test/vectors/fingerprint.json. */
  readonly codebook1024byte0: string;
  readonly codebook1024byte255: string;
  readonly helloWorld1024: string;
  /** Per query: the hits (shard index and similarity to 6 digits), best first. */
  readonly hits: string[][];
  /** Shard 7, edited by 10 %, is its own best match. */
  readonly editedFindsOriginal: boolean;
}

function pin(bytes: Uint8Array): string {
  return toHex(sha256(bytes).subarray(0, 16));
}

export function runKernel(kernel: 'js' | 'wasm'): KernelResult {
  const codebook = new Codebook(1024);
  const random = seededRandom(2026);
  const index = new SemanticIndex({ kernel, initialCapacity: 16 });
  const shards = Array.from({ length: 300 }, () => random.bytes(4096));
  const hashes = shards.map((shard) => toHex(sha256(shard)));
  for (const shard of shards) index.add(sha256(shard), shard);
  const queries = [shards[3]!, random.bytes(4096), utf8ToBytes('Hello, World!')];
  const hits = index
    .searchBatch(queries, { topK: 5 })
    .map((list) => list.map((hit) => `${hashes.indexOf(toHex(hit.shardHash))}:${hit.similarity.toFixed(6)}`));
  const edited = shards[7]!.slice();
  for (let i = 0; i < edited.length; i += 10) edited[i] = random.int(0, 255);
  const [best] = index.search(edited, { topK: 1 });
  return {
    kernel: index.kernel,
    codebook1024byte0: pin(serializeHypervector(codebook.vector(0))),
    codebook1024byte255: pin(serializeHypervector(codebook.vector(255))),
    helloWorld1024: pin(serializeHypervector(fingerprint(utf8ToBytes('Hello, World!'), { kernel }))),
    hits,
    editedFindsOriginal: best !== undefined && toHex(best.shardHash) === hashes[7],
  };
}

/** The code `save` and `load` fail with here (undefined when they did not fail). */
export async function saveAndLoadCodes(): Promise<{ save?: string; load?: string }> {
  const index = new SemanticIndex();
  const code = async (action: () => Promise<unknown>) => {
    try {
      await action();
      return undefined;
    } catch (error) {
      return isTrinityError(error) ? error.code : String(error);
    }
  };
  return {
    save: await code(() => index.save('shards.idx')),
    load: await code(() => SemanticIndex.load('shards.idx')),
  };
}
