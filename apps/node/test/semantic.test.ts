import '../src/polyfill.js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrinityNode } from '../src/node/trinity-node.js';
import { apiFetch, putObject, startNodes, until } from './helpers.js';

interface Hit {
  objectId: string;
  name?: string;
  score: number;
}

/** Text-like data: words drawn from a small vocabulary, so edits keep most n-grams. */
function prose(words: number, seed: number): Buffer {
  const vocabulary = [
    'storage',
    'shard',
    'region',
    'node',
    'erasure',
    'stripe',
    'parity',
    'repair',
    'commit',
    'ledger',
  ];
  let x = seed;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    out.push(vocabulary[x % vocabulary.length]!);
  }
  return Buffer.from(out.join(' '));
}

describe('semantic search across a 3-node network (--semantic)', () => {
  let nodes: TrinityNode[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    // One node without the index: a search still reaches the others.
    ({ nodes, close } = await startNodes('trinity-semantic-', 3, (i) => ({
      semantic: i !== 2,
      erasure: { dataShards: 2, parityShards: 1, shardBytes: 64 * 1024 },
    })));
  }, 300_000);

  afterAll(async () => {
    await close?.();
  });

  it('ranks the object a query was edited from first, above unrelated objects', async () => {
    const original = prose(6_000, 1);
    const edited = Buffer.from(original);
    for (let i = 0; i < edited.length; i += 97) edited[i] = 0x2a; // about 1 % of bytes changed
    const ids = {
      original: await putObject(nodes[0]!.apiUrl, original, 'original.txt', { public: true }),
      other: await putObject(nodes[1]!.apiUrl, prose(6_000, 999), 'other.txt', { public: true }),
      noise: await putObject(nodes[0]!.apiUrl, randomBytes(40_000), 'noise.bin', { public: true }),
    };
    await until(
      'every shard to be indexed',
      async () => (nodes[0]!.semantic!.size >= 3 && nodes[1]!.semantic!.size >= 3 ? true : undefined),
      90_000,
    );
    const response = await apiFetch(`${nodes[0]!.apiUrl}/v1/search?top=3`, { method: 'POST', body: edited });
    expect(response.status).toBe(200);
    const { results } = (await response.json()) as { results: Hit[] };
    expect(results[0]!.objectId).toBe(ids.original);
    expect(results[0]!.name).toBe('original.txt');
    expect(results[0]!.score).toBeGreaterThan(0.5);
    const noise = results.find((hit) => hit.objectId === ids.noise);
    if (noise !== undefined) expect(noise.score).toBeLessThan(results[0]!.score - 0.3);
  });

  it('finds an encrypted object its owner made searchable, by fingerprints made before encryption', async () => {
    const secret = prose(5_000, 7);
    const put = async (query: string, body: Buffer) => {
      const response = await apiFetch(`${nodes[1]!.apiUrl}/v1/objects?${query}`, { method: 'PUT', body });
      expect(response.status).toBe(201);
      return ((await response.json()) as { id: string; encrypted: boolean }).id;
    };
    const searchable = await put('name=searchable.txt&searchable=1', secret);
    const hidden = await put('name=hidden.txt', prose(5_000, 8));
    const { record } = await nodes[0]!.objects.describe(searchable);
    expect(record.descriptor.encryption).toBeDefined();
    expect(record.descriptor.fingerprints!.length).toBeGreaterThan(0);
    expect((await nodes[0]!.objects.describe(hidden)).record.descriptor.fingerprints).toBeUndefined();
    const edited = Buffer.from(secret);
    for (let i = 0; i < edited.length; i += 89) edited[i] = 0x2a;
    const search = async (body: Buffer) => {
      const response = await apiFetch(`${nodes[0]!.apiUrl}/v1/search?top=10&threshold=0`, {
        method: 'POST',
        body,
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { results: Hit[] }).results;
    };
    const found = await until(
      'the searchable object to be indexed',
      async () => {
        const results = await search(edited);
        return results[0]?.objectId === searchable ? results : undefined;
      },
      90_000,
    );
    expect(found[0]!.name).toBe('searchable.txt');
    expect(found[0]!.score).toBeGreaterThan(0.5);
    // Its shards are ciphertext and it has no fingerprints: the other one is never found.
    expect((await search(prose(5_000, 8))).map((hit) => hit.objectId)).not.toContain(hidden);
  });

  it('a node without --semantic says so; bad parameters are 400', async () => {
    expect((await apiFetch(`${nodes[2]!.apiUrl}/v1/search`, { method: 'POST', body: 'x' })).status).toBe(501);
    expect(
      (await apiFetch(`${nodes[0]!.apiUrl}/v1/search?top=0`, { method: 'POST', body: 'x' })).status,
    ).toBe(400);
    expect(
      (await apiFetch(`${nodes[0]!.apiUrl}/v1/search?threshold=7`, { method: 'POST', body: 'x' })).status,
    ).toBe(400);
  });
});
