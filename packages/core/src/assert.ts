import { AssertionError } from './errors.js';

/** Checks an invariant. Failing means Trinity has a bug, so it throws AssertionError. */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks a branch that a switch over a closed union can never reach. */
export function unreachable(value: never, what = 'value'): never {
  throw new AssertionError(`unreachable ${what}: ${String(value)}`);
}

/** Throws TypeError unless `value` is a Uint8Array (of `length` bytes when given, RangeError if not). */
export function assertBytes(value: unknown, name: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`);
  }
}

/** Throws TypeError unless `value` is a safe integer, RangeError unless min <= value <= max. */
export function assertInt(
  value: unknown,
  name: string,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${name} must be in [${min}, ${max}], got ${value}`);
  }
}

/** Throws TypeError unless `value` is a finite number, RangeError unless min <= value <= max. */
export function assertNumber(
  value: unknown,
  name: string,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${name} must be a finite number, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${name} must be in [${min}, ${max}], got ${value}`);
  }
}

/** A short, safe description of any value for error messages (never the whole of a big buffer). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'function':
      return 'function';
    case 'symbol':
      return 'symbol';
    default:
      return (value as object).constructor?.name ?? 'object';
  }
}
