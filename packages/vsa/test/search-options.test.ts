import { ConfigError, isTrinityError } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { IndexFileUnavailableError, SemanticIndex } from '../src/index.js';

describe('search options', () => {
  const index = new SemanticIndex({ dims: 256 });
  index.add(new Uint8Array(32).fill(1), new Uint8Array([1, 2, 3, 4]));

  it('refuses a key it does not know, as the erasure options do, naming it', () => {
    for (const search of [
      () => index.search(new Uint8Array([1, 2, 3]), { topk: 3 } as never),
      () => index.searchBatch([new Uint8Array([1, 2, 3])], { topK: 1, limit: 2 } as never),
    ]) {
      expect(search).toThrow(ConfigError);
      expect(search).toThrow(/invalid search options: \(root\): Unrecognized key: "(topk|limit)"/);
    }
  });

  it('still takes the documented ones', () => {
    const hits = index.search(new Uint8Array([1, 2, 3, 4]), { topK: 1, threshold: 0.5, maxResults: 1 });
    expect(hits.map((hit) => hit.similarity)).toEqual([1]);
  });
});

describe('save and load', () => {
  it('refuse an empty path with TypeError', async () => {
    const index = new SemanticIndex({ dims: 256 });
    await expect(index.save('')).rejects.toThrow(TypeError);
    await expect(SemanticIndex.load('')).rejects.toThrow(/path must be a non-empty string/);
  });
});

describe('save and load without node:fs', () => {
  it('throw IndexFileUnavailableError, not a plain Error', async () => {
    const process = globalThis.process;
    const getBuiltinModule = process.getBuiltinModule;
    // What a browser looks like to the check: no process.getBuiltinModule.
    (process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;
    try {
      const index = new SemanticIndex({ dims: 256 });
      await expect(index.save('x.idx')).rejects.toThrow(IndexFileUnavailableError);
      const error = await SemanticIndex.load('x.idx').catch((caught: unknown) => caught);
      expect(isTrinityError(error, 'INDEX_FILE_UNAVAILABLE')).toBe(true);
      expect((error as Error).message).toMatch(/SemanticIndex\.load needs node:fs/);
    } finally {
      (process as { getBuiltinModule?: unknown }).getBuiltinModule = getBuiltinModule;
    }
  });
});
