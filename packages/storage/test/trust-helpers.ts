import { sha256, toHex } from '@trinity/core';
import fc from 'fast-check';
import { expect } from 'vitest';
import { decodeSignedDescriptor } from '../src/index.js';

export { type DescriptorInput, merkleRoot } from '../src/index.js';

export const sha256Hex = (bytes: Uint8Array): string => toHex(sha256(bytes));

type Json = string | number | boolean | Json[] | { [key: string]: Json };

/** Every path to a leaf value of a JSON object, the `signature` field left out. */
export function leafPaths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object') return [prefix];
  const entries: [string | number, Json][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value).filter(([k]) => !(prefix.length === 0 && k === 'signature'));
  return entries.flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

/** A copy of `value` with the leaf at `path` changed: one hex digit, one character or one unit. */
export function mutateAt<T>(value: T, path: (string | number)[], salt: number): T {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  const old = parent[key];
  if (typeof old === 'number') parent[key] = old + 1 + (salt % 3);
  else if (typeof old === 'boolean') parent[key] = !old;
  else if (typeof old === 'string' && /^[0-9a-f]+$/.test(old)) {
    const i = salt % old.length;
    const digit = ((Number.parseInt(old[i]!, 16) + 1 + (salt % 15)) % 16).toString(16);
    parent[key] = old.slice(0, i) + digit + old.slice(i + 1);
  } else if (typeof old === 'string') parent[key] = `${old}x`;
  return copy as T;
}

/** Arbitrary (path, salt) over the leaves of `value`. */
export const mutationArb = (value: Json) =>
  fc.record({ path: fc.constantFrom(...leafPaths(value)), salt: fc.nat() });

/** Every single flipped bit of a descriptor's stored bytes is refused, with and without its expected id. */
export function expectEveryBitFlipRefused(bytes: Uint8Array, id: string): void {
  fc.assert(
    fc.property(fc.nat(bytes.length - 1), fc.nat(7), (at, bit) => {
      const flipped = bytes.slice();
      flipped[at]! ^= 1 << bit;
      expect(() => decodeSignedDescriptor(flipped)).toThrow(/descriptor/);
      expect(() => decodeSignedDescriptor(flipped, id)).toThrow(/descriptor/);
    }),
    { numRuns: 300 },
  );
}
