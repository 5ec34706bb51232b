import { sameBytes } from './_bytes.js';

/**
 * Descriptors that passed the full check (fields, bounds, the owner's signature, the id), kept so a
 * node checks one descriptor once, not once per record, stage, store and read-back of it.
 *
 * What makes a hit as safe as the full check: the check is a deterministic function of the value's
 * JSON structure. A value hits only when it is structurally identical to one that passed: plain
 * objects and arrays only, the same own keys in the same order, every leaf the same type and
 * `Object.is`-equal (so -0 is not 0 and NaN matches nothing JSON could carry). Bytes hit only when
 * they are byte for byte (SHA-256 and a full compare) what a full decode accepted. A requested id
 * must equal the one computed by that check; anything else runs the full check again. Entries are
 * deep-frozen: callers share them, and none can change what the next caller gets.
 *
 * Bounded: at most `entriesMax` descriptors and `stripesMax` stripes among them (least recently
 * used out first); a descriptor larger than that is never kept. Values are meant to be what
 * JSON.parse makes; a value with getters or proxies gets no guarantee the full check does not
 * also lack.
 */
export interface VerifiedDescriptor<D> {
  readonly descriptor: D;
  readonly id: string;
  /** The canonical encoding, once something encoded or decoded it. */
  encoded?: Uint8Array;
  /** SHA-256 hex of `encoded` (its key in the bytes index). */
  encodedKey?: string;
  readonly stripes: number;
}

export class VerifiedDescriptors<
  D extends { readonly signature: string; readonly stripes: readonly unknown[] },
> {
  readonly #bySignature = new Map<string, VerifiedDescriptor<D>>();
  readonly #byBytes = new Map<string, VerifiedDescriptor<D>>();
  readonly #byObject = new WeakMap<object, VerifiedDescriptor<D>>();
  readonly #entriesMax: number;
  readonly #stripesMax: number;
  #stripes = 0;

  constructor(entriesMax: number, stripesMax: number) {
    this.#entriesMax = entriesMax;
    this.#stripesMax = stripesMax;
  }

  get size(): number {
    return this.#bySignature.size;
  }

  /** The entry `value` is structurally identical to, if any. */
  lookup(value: unknown): VerifiedDescriptor<D> | undefined {
    if (!isPlainObject(value)) return undefined;
    const signature = value.signature;
    if (typeof signature !== 'string') return undefined;
    const entry = this.#bySignature.get(signature);
    if (entry === undefined || !sameJson(value, entry.descriptor)) return undefined;
    this.#touch(signature, entry);
    return entry;
  }

  /** The entry of exactly these bytes (as decoded before), if any. */
  lookupBytes(bytes: Uint8Array, key: string): VerifiedDescriptor<D> | undefined {
    const entry = this.#byBytes.get(key);
    if (entry?.encoded === undefined || !sameBytes(entry.encoded, bytes)) return undefined;
    this.#touch(entry.descriptor.signature, entry);
    return entry;
  }

  /** The entry whose (frozen) descriptor object this is, if any: for encoding it again. */
  ofObject(descriptor: object): VerifiedDescriptor<D> | undefined {
    return this.#byObject.get(descriptor);
  }

  /**
   * Keeps `output` (what the full check returned for `input`) when `input` is structurally the same
   * value (so a later value identical to `output` would have passed too); returns the entry, or
   * undefined when not kept.
   */
  remember(input: unknown, output: D, id: string): VerifiedDescriptor<D> | undefined {
    const stripes = output.stripes.length;
    if (stripes > this.#stripesMax || this.#entriesMax < 1) return undefined;
    const known = this.#bySignature.get(output.signature);
    if (known !== undefined && known.id === id && sameJson(output, known.descriptor)) return known;
    if (!sameJson(input, output)) return undefined;
    if (known !== undefined) this.#drop(output.signature, known);
    deepFreeze(output);
    const entry: VerifiedDescriptor<D> = { descriptor: output, id, stripes };
    this.#bySignature.set(output.signature, entry);
    this.#byObject.set(output, entry);
    this.#stripes += stripes;
    while (this.#bySignature.size > this.#entriesMax || this.#stripes > this.#stripesMax) {
      const [oldestKey, oldest] = this.#bySignature.entries().next().value as [string, VerifiedDescriptor<D>];
      this.#drop(oldestKey, oldest);
    }
    return entry;
  }

  /** Records the canonical bytes of an entry (a copy), indexed by their SHA-256 `key`. */
  rememberBytes(entry: VerifiedDescriptor<D>, bytes: Uint8Array, key: string): void {
    if (this.#bySignature.get(entry.descriptor.signature) !== entry || entry.encoded !== undefined) return;
    entry.encoded = bytes.slice();
    entry.encodedKey = key;
    this.#byBytes.set(key, entry);
  }

  clear(): void {
    this.#bySignature.clear();
    this.#byBytes.clear();
    this.#stripes = 0;
  }

  #touch(signature: string, entry: VerifiedDescriptor<D>): void {
    this.#bySignature.delete(signature);
    this.#bySignature.set(signature, entry);
  }

  #drop(signature: string, entry: VerifiedDescriptor<D>): void {
    this.#bySignature.delete(signature);
    this.#byObject.delete(entry.descriptor);
    if (entry.encodedKey !== undefined && this.#byBytes.get(entry.encodedKey) === entry)
      this.#byBytes.delete(entry.encodedKey);
    this.#stripes -= entry.stripes;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * True when `a` and `b` are the same JSON-like value: plain objects with the same own keys in the
 * same order, arrays of the same length, leaves of the same type and `Object.is`-equal. Anything
 * else (class instances, functions, symbols, typed arrays) is never the same.
 */
export function sameJson(a: unknown, b: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (typeof a !== 'object' || a === null) {
    return typeof a === typeof b && typeof a !== 'function' && typeof a !== 'symbol' && Object.is(a, b);
  }
  if (typeof b !== 'object' || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || Object.getPrototypeOf(a) !== Array.prototype) return false;
    if (Object.getPrototypeOf(b) !== Array.prototype || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (!(i in a) || !(i in b) || !sameJson(a[i], b[i], depth + 1)) return false;
    }
    return Object.keys(a).length === a.length && Object.keys(b).length === b.length;
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keys = Object.keys(a);
  const other = Object.keys(b);
  if (keys.length !== other.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key !== other[i] || !sameJson(a[key], b[key], depth + 1)) return false;
  }
  return true;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
}
