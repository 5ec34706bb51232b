import { assert, describe } from '@trinity/core';

/** A value the canonical encoding accepts: safe integers, strings, arrays and plain objects. */
export type CanonicalValue = number | string | boolean | readonly CanonicalValue[] | CanonicalObject;
export interface CanonicalObject {
  readonly [key: string]: CanonicalValue | undefined;
}

/** Nesting deeper than this is refused (manifests need 5 levels). */
const depthMax = 16;

/**
 * Canonical JSON text: the RFC 8785 (JCS) form restricted to safe integers, booleans, strings,
 * arrays and objects. Object keys sorted by UTF-16 code units, no whitespace, strings escaped as
 * ECMAScript JSON.stringify does, keys whose value is undefined left out. The same value always
 * gives the same text, on every platform.
 */
export function canonicalJson(value: CanonicalValue): string {
  return encode(value, 0);
}

function encode(value: CanonicalValue, depth: number): string {
  assert(depth <= depthMax, 'canonicalJson: nested too deeply');
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) throw new RangeError(`canonicalJson: ${value} is not a safe integer`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => encode(item, depth + 1)).join(',')}]`;
      if (
        value === null ||
        (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
      ) {
        throw new TypeError(`canonicalJson: cannot encode ${describe(value)}`);
      }
      const object = value as CanonicalObject;
      const parts: string[] = [];
      for (const key of Object.keys(object).sort()) {
        const item = object[key];
        if (item !== undefined) parts.push(`${JSON.stringify(key)}:${encode(item, depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode ${describe(value)}`);
  }
}
