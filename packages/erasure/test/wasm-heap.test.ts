import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wasmApi } from '../src/wasm-api.js';
import { WasmHeap } from '../src/wasm-heap.js';

function heap(pages = 1, maximum = 64): WasmHeap {
  return new WasmHeap(new wasmApi!.Memory({ initial: pages, maximum, shared: true }), true, maximum);
}

describe('WasmHeap', () => {
  it('hands out aligned, disjoint blocks and reuses freed space', () => {
    const h = heap();
    const a = h.alloc(10)!;
    const b = h.alloc(100)!;
    expect(a % 64).toBe(0);
    expect(b).toBe(a + 64);
    expect(h.free(a)).toBe(true);
    expect(h.free(a)).toBe(false);
    expect(h.alloc(64)).toBe(a);
    expect(h.usedBytes).toBe(64 + 128);
  });

  it('grows the memory when full, and refuses beyond its maximum', () => {
    const h = heap(1, 4);
    const big = h.alloc(200_000);
    expect(big).toBeDefined();
    expect(h.bytes.length).toBeGreaterThanOrEqual(200_064);
    expect(h.alloc(300_000)).toBeUndefined();
    expect(h.ownsBuffer(h.bytes.buffer)).toBe(true);
    expect(h.ownsBuffer(new ArrayBuffer(8))).toBe(false);
  });

  it('never overlaps live blocks and coalesces everything back (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 20_000 }), fc.nat()), { maxLength: 80 }),
        (operations) => {
          const h = heap(1, 64);
          const live: [number, number][] = [];
          for (const [allocate, size, pick] of operations) {
            if (allocate || live.length === 0) {
              const offset = h.alloc(size);
              if (offset === undefined) continue;
              for (const [o, s] of live) expect(offset + size <= o || o + s <= offset).toBe(true);
              live.push([offset, size]);
            } else {
              const [offset] = live.splice(pick % live.length, 1)[0]!;
              expect(h.free(offset)).toBe(true);
            }
          }
          for (const [offset] of live) h.free(offset);
          expect(h.usedBytes).toBe(0);
          // Fully coalesced: one block covering the whole heap can be allocated again.
          expect(h.alloc(h.bytes.length - 64)).toBe(64);
        },
      ),
      { numRuns: 100 },
    );
  });
});
