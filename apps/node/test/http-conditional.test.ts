import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluatePreconditions, httpDate, parseRange, rangeAllowed } from '../src/http/conditional.js';

/** RFC 9110 §14.1.2 for one range-spec, written out case by case. */
function model(size: number, a: number, b: number | undefined, suffix: boolean): unknown {
  if (suffix) {
    if (a === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', range: { start: Math.max(0, size - a), end: size - 1 } };
  }
  if (b !== undefined && b < a) return { kind: 'whole' };
  if (a >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', range: { start: a, end: Math.min(b ?? size - 1, size - 1) } };
}

describe('parseRange', () => {
  it('serves the three single-range forms, clamped to the object', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ kind: 'range', range: { start: 0, end: 99 } });
    expect(parseRange('bytes=990-', 1000)).toEqual({ kind: 'range', range: { start: 990, end: 999 } });
    expect(parseRange('bytes=-10', 1000)).toEqual({ kind: 'range', range: { start: 990, end: 999 } });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ kind: 'range', range: { start: 0, end: 999 } });
    expect(parseRange('bytes=500-5000', 1000)).toEqual({ kind: 'range', range: { start: 500, end: 999 } });
    expect(parseRange('bytes=999-999', 1000)).toEqual({ kind: 'range', range: { start: 999, end: 999 } });
    expect(parseRange('Bytes = 1-2', 1000)).toEqual({ kind: 'range', range: { start: 1, end: 2 } });
    expect(parseRange('bytes=0-99999999999999999999', 10)).toEqual({
      kind: 'range',
      range: { start: 0, end: 9 },
    });
  });

  it('answers a range past the end, or the last 0 bytes, as unsatisfiable', () => {
    expect(parseRange('bytes=1000-', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=1000-2000', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=99999999999999999999-', 1000)).toEqual({ kind: 'unsatisfiable' });
  });

  it('ignores no, multiple, foreign-unit, malformed and invalid ranges, and any range of an empty object', () => {
    for (const header of [
      undefined,
      'bytes=0-1,5-6',
      'bytes=0-1, 2-3',
      'items=0-5',
      'bytes=abc',
      'bytes=5-3',
      'bytes=-',
      'bytes=1-2-3',
      'bytes=0x1-2',
      'bytes=+1-2',
      'bytes=1.5-2',
      'bytes 0-5',
      '',
      `bytes=0-${'9'.repeat(300)}`,
    ]) {
      expect(parseRange(header, 1000), String(header)).toEqual({ kind: 'whole' });
    }
    expect(parseRange('bytes=0-5', 0)).toEqual({ kind: 'whole' });
    expect(parseRange('bytes=-5', 0)).toEqual({ kind: 'whole' });
  });

  it('matches a model of RFC 9110 for every single int-range and suffix-range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.nat(20_000),
        fc.option(fc.nat(20_000), { nil: undefined }),
        fc.boolean(),
        (size, a, b, suffix) => {
          const header = suffix ? `bytes=-${a}` : `bytes=${a}-${b ?? ''}`;
          expect(parseRange(header, size)).toEqual(model(size, a, b, suffix));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('preconditions', () => {
  const modifiedMs = Date.UTC(2026, 11, 3, 12, 0, 0, 750);
  const v = { etag: '"abc"', lastModifiedMs: modifiedMs };
  const at = (deltaS: number) => new Date(Math.floor(modifiedMs / 1000) * 1000 + deltaS * 1000).toUTCString();

  it('formats Last-Modified as an IMF-fixdate of whole seconds', () => {
    expect(httpDate(modifiedMs)).toBe('Thu, 03 Dec 2026 12:00:00 GMT');
  });

  it('If-None-Match (weak comparison) and If-Modified-Since give 304', () => {
    expect(evaluatePreconditions({}, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-none-match': '"abc"' }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-none-match': 'W/"abc"' }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-none-match': '"x", "abc"' }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-none-match': '*' }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-none-match': '"x"' }, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-modified-since': at(0) }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-modified-since': at(60) }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-modified-since': at(-1) }, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-modified-since': 'not a date' }, v)).toBe('proceed');
    // If-None-Match takes precedence: If-Modified-Since is not looked at when it is present.
    expect(evaluatePreconditions({ 'if-none-match': '"x"', 'if-modified-since': at(60) }, v)).toBe('proceed');
  });

  it('If-Match (strong comparison) and If-Unmodified-Since fail with 412', () => {
    expect(evaluatePreconditions({ 'if-match': '"abc"' }, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-match': '*' }, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-match': '"x", "abc"' }, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-match': 'W/"abc"' }, v)).toBe('failed');
    expect(evaluatePreconditions({ 'if-match': '"x"' }, v)).toBe('failed');
    expect(evaluatePreconditions({ 'if-unmodified-since': at(0) }, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-unmodified-since': at(-1) }, v)).toBe('failed');
    expect(evaluatePreconditions({ 'if-unmodified-since': 'garbage' }, v)).toBe('proceed');
    // If-Match takes precedence over If-Unmodified-Since, and a failed one over If-None-Match.
    expect(evaluatePreconditions({ 'if-match': '"abc"', 'if-unmodified-since': at(-1) }, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-match': '"x"', 'if-none-match': '"abc"' }, v)).toBe('failed');
  });

  it('If-Range allows the range for a strongly matching ETag or the exact Last-Modified only', () => {
    expect(rangeAllowed({}, v)).toBe(true);
    expect(rangeAllowed({ 'if-range': '"abc"' }, v)).toBe(true);
    expect(rangeAllowed({ 'if-range': 'W/"abc"' }, v)).toBe(false);
    expect(rangeAllowed({ 'if-range': '"x"' }, v)).toBe(false);
    expect(rangeAllowed({ 'if-range': httpDate(modifiedMs) }, v)).toBe(true);
    expect(rangeAllowed({ 'if-range': at(1) }, v)).toBe(false);
    expect(rangeAllowed({ 'if-range': 'nonsense' }, v)).toBe(false);
  });
});
