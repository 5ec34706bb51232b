import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bytesToUtf8, toHex, utf8ToBytes } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  createManifest,
  decodeManifest,
  encodeManifest,
  type Manifest,
  type ManifestInput,
  ManifestInvalidError,
  objectId,
  updateHolders,
} from '../src/index.js';

const h = (n: number): string => n.toString(16).padStart(2, '0').repeat(32);

/** A tiny RS(2,1) object of 5 bytes in one stripe. */
const small: ManifestInput = {
  name: 'hello.txt',
  size: 5,
  erasure: { dataShards: 2, parityShards: 1, shardBytes: 3 },
  stripes: [
    {
      dataBytes: 5,
      shards: [
        {
          hash: h(1),
          holders: [
            { nodeId: 'node-b', region: 'eu-west' },
            { nodeId: 'node-a', region: 'us-east' },
          ],
        },
        { hash: h(2), holders: [{ nodeId: 'node-c', region: 'asia-east' }] },
        { hash: h(3), holders: [{ nodeId: 'node-d', region: 'us-west' }] },
      ],
    },
  ],
  createdAtMs: 1_700_000_000_000,
};

describe('manifest canonical encoding', () => {
  it('matches the documented canonical form byte for byte (known answer)', () => {
    const expected =
      '{"createdAtMs":1700000000000,"erasure":{"dataShards":2,"parityShards":1,"shardBytes":3},"format":1,' +
      '"name":"hello.txt","size":5,"stripes":[{"dataBytes":5,"shards":[' +
      `{"hash":"${h(1)}","holders":[{"nodeId":"node-a","region":"us-east"},{"nodeId":"node-b","region":"eu-west"}]},` +
      `{"hash":"${h(2)}","holders":[{"nodeId":"node-c","region":"asia-east"}]},` +
      `{"hash":"${h(3)}","holders":[{"nodeId":"node-d","region":"us-west"}]}]}],"version":1}`;
    expect(bytesToUtf8(encodeManifest(createManifest(small)))).toBe(expected);
  });

  it('has a stable object id (vectors in test/vectors/manifests.json)', () => {
    const vectors = JSON.parse(
      readFileSync(new URL('./vectors/manifests.json', import.meta.url), 'utf8'),
    ) as {
      input: ManifestInput;
      idContent: string;
      objectId: string;
    }[];
    expect(vectors.length).toBeGreaterThan(0);
    for (const vector of vectors) {
      const manifest = createManifest(vector.input);
      expect(objectId(manifest)).toBe(vector.objectId);
      // The id is the plain SHA-256 of the documented content description.
      expect(canonicalJson(JSON.parse(vector.idContent))).toBe(vector.idContent);
      expect(createHash('sha256').update(vector.idContent).digest('hex')).toBe(vector.objectId);
    }
  });

  it('round-trips and checks the expected id', () => {
    const manifest = createManifest(small);
    const bytes = encodeManifest(manifest);
    const id = objectId(manifest);
    expect(decodeManifest(bytes, id)).toEqual(manifest);
    const other = h(9);
    expect(() => decodeManifest(bytes, other)).toThrow(ManifestInvalidError);
    expect(() => decodeManifest(bytes, '../etc/passwd')).toThrow(ManifestInvalidError);
  });

  it('keeps the object id when holders, version or createdAtMs change', () => {
    const manifest = createManifest(small);
    const moved = updateHolders(manifest, [
      { stripeIndex: 0, shardIndex: 1, holders: [{ nodeId: 'node-z', region: 'oceania' }] },
    ]);
    expect(moved.version).toBe(2);
    expect(moved.stripes[0]!.shards[1]!.holders).toEqual([{ nodeId: 'node-z', region: 'oceania' }]);
    expect(objectId(moved)).toBe(objectId(manifest));
    expect(objectId(createManifest({ ...small, createdAtMs: 1 }))).toBe(objectId(manifest));
    expect(toHex(encodeManifest(moved))).not.toBe(toHex(encodeManifest(manifest)));
    // Content changes do change it.
    expect(objectId(createManifest({ ...small, name: 'other.txt' }))).not.toBe(objectId(manifest));
    expect(() => updateHolders(manifest, [{ stripeIndex: 3, shardIndex: 0, holders: [] }])).toThrow(
      ManifestInvalidError,
    );
  });

  it('rejects bad input with ManifestInvalidError', () => {
    const good = encodeManifest(createManifest(small));
    const text = bytesToUtf8(good);
    const bad: [string, Uint8Array][] = [
      ['whitespace', utf8ToBytes(JSON.stringify(JSON.parse(text), null, 1))],
      ['invalid utf-8', Uint8Array.of(0xff, 0xfe)],
      ['not json', utf8ToBytes('{"format":1')],
      ['extra field', utf8ToBytes(text.replace('"format":1', '"evil":1,"format":1'))],
      ['path-like hash', utf8ToBytes(text.replace(h(1), `../${h(1).slice(3)}`))],
      ['upper-case hash', utf8ToBytes(text.replace(h(1), 'AB'.repeat(32)))],
      ['size mismatch', utf8ToBytes(text.replace('"size":5', '"size":6'))],
      [
        'holders unsorted',
        utf8ToBytes(
          text.replace(
            '"node-a","region":"us-east"},{"nodeId":"node-b","region":"eu-west"',
            '"node-b","region":"eu-west"},{"nodeId":"node-a","region":"us-east"',
          ),
        ),
      ],
      ['float', utf8ToBytes(text.replace('"size":5', '"size":5.0'))],
      ['array', utf8ToBytes('[]')],
      ['null', utf8ToBytes('null')],
    ];
    for (const [label, bytes] of bad) {
      expect(() => decodeManifest(bytes), label).toThrow(ManifestInvalidError);
    }
    expect(() => decodeManifest(good, undefined, { maxBytes: 100 })).toThrow(/over the limit/);
    expect(() => decodeManifest('x' as unknown as Uint8Array)).toThrow(ManifestInvalidError);
  });

  it('checks the stripe rules when creating', () => {
    const cases: [string, Partial<ManifestInput>][] = [
      [
        'wrong shard count',
        { stripes: [{ ...small.stripes[0]!, shards: small.stripes[0]!.shards.slice(0, 2) }] },
      ],
      ['dataBytes too big', { size: 7, stripes: [{ ...small.stripes[0]!, dataBytes: 7 }] }],
      ['k + m > 256', { erasure: { dataShards: 200, parityShards: 57, shardBytes: 3 } }],
      [
        'duplicate holders',
        {
          stripes: [
            {
              ...small.stripes[0]!,
              shards: [
                {
                  hash: h(1),
                  holders: [
                    { nodeId: 'a', region: 'r' },
                    { nodeId: 'a', region: 'r' },
                  ],
                },
                ...small.stripes[0]!.shards.slice(1),
              ],
            },
          ],
        },
      ],
      [
        'no holders',
        {
          stripes: [
            {
              ...small.stripes[0]!,
              shards: [{ hash: h(1), holders: [] }, ...small.stripes[0]!.shards.slice(1)],
            },
          ],
        },
      ],
      [
        'bad node id',
        {
          stripes: [
            {
              ...small.stripes[0]!,
              shards: [
                { hash: h(1), holders: [{ nodeId: '../x', region: 'r' }] },
                ...small.stripes[0]!.shards.slice(1),
              ],
            },
          ],
        },
      ],
      ['short middle stripe', { size: 10, stripes: [small.stripes[0]!, small.stripes[0]!] }],
      ['negative size', { size: -1 }],
    ];
    for (const [label, change] of cases) {
      expect(() => createManifest({ ...small, ...change }), label).toThrow(ManifestInvalidError);
    }
    expect(() => createManifest(null as unknown as ManifestInput)).toThrow(ManifestInvalidError);
    // An empty object has no stripes.
    expect(createManifest({ ...small, size: 0, stripes: [] }).stripes).toEqual([]);
  });
});

const holderArb = fc.record({
  nodeId: fc.stringMatching(/^[a-z0-9]{1,6}$/),
  region: fc.constantFrom('us-east', 'eu-west', 'asia-east', 'oceania'),
});

export const manifestArb: fc.Arbitrary<ManifestInput> = fc
  .record({
    k: fc.integer({ min: 1, max: 4 }),
    m: fc.integer({ min: 1, max: 3 }),
    shardBytes: fc.integer({ min: 1, max: 1000 }),
    stripeCount: fc.integer({ min: 0, max: 4 }),
    lastFill: fc.double({ min: 0, max: 1, noNaN: true }),
    name: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
    createdAtMs: fc.nat(),
    seed: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
      minLength: 4 * 7 * 4,
      maxLength: 4 * 7 * 4,
    }),
    holders: fc.array(fc.uniqueArray(holderArb, { minLength: 1, maxLength: 3, selector: (x) => x.nodeId }), {
      minLength: 4 * 7,
      maxLength: 4 * 7,
    }),
  })
  .map(({ k, m, shardBytes, stripeCount, lastFill, name, createdAtMs, seed, holders }) => {
    const stripeBytes = k * shardBytes;
    const stripes = Array.from({ length: stripeCount }, (_, s) => ({
      dataBytes: s === stripeCount - 1 ? Math.max(1, Math.ceil(lastFill * stripeBytes)) : stripeBytes,
      shards: Array.from({ length: k + m }, (_, i) => ({
        hash: toHex(seed[(s * 7 + i) % seed.length]!),
        holders: holders[(s * 7 + i) % holders.length]!,
      })),
    }));
    const size = stripes.reduce((sum, stripe) => sum + stripe.dataBytes, 0);
    return { name, size, erasure: { dataShards: k, parityShards: m, shardBytes }, stripes, createdAtMs };
  });

describe('manifest properties', () => {
  it('decode(encode(m)) = m, and encoding is deterministic', () => {
    fc.assert(
      fc.property(manifestArb, (input) => {
        const manifest = createManifest(input);
        const bytes = encodeManifest(manifest);
        const decoded = decodeManifest(bytes, objectId(manifest));
        expect(decoded).toEqual(manifest);
        expect(encodeManifest(decoded)).toEqual(bytes);
        expect(encodeManifest(createManifest(structuredClone(input)))).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it('the object id ignores the order of holders and the holders themselves', () => {
    fc.assert(
      fc.property(manifestArb, (input) => {
        const reversed = structuredClone(input);
        for (const stripe of reversed.stripes)
          for (const shard of stripe.shards) (shard.holders as unknown[]).reverse();
        const a = createManifest(input);
        const b = createManifest(reversed);
        expect(encodeManifest(a)).toEqual(encodeManifest(b));
        const moved = structuredClone(input);
        for (const stripe of moved.stripes)
          for (const shard of stripe.shards)
            (shard as { holders: unknown }).holders = [{ nodeId: 'x', region: 'y' }];
        expect(objectId(createManifest(moved))).toBe(objectId(a));
      }),
      { numRuns: 100 },
    );
  });

  it('any flipped byte is rejected or keeps the object id (never a silent content change)', () => {
    fc.assert(
      fc.property(manifestArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (input, at, xor) => {
        const manifest = createManifest(input);
        const id = objectId(manifest);
        const bytes = Uint8Array.from(encodeManifest(manifest));
        bytes[at % bytes.length]! ^= xor;
        let decoded: Manifest | undefined;
        try {
          decoded = decodeManifest(bytes, id);
        } catch (error) {
          expect(error).toBeInstanceOf(ManifestInvalidError);
          return;
        }
        expect(objectId(decoded)).toBe(id);
      }),
      { numRuns: 300 },
    );
  });
});
