import { describe, expect, it } from 'vitest';
import { SimDisk, SimRandom } from '../src/index.js';

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('SimDisk', () => {
  it('keeps synced bytes across a crash and only a prefix (maybe torn) of the rest', () => {
    for (let seed = 0; seed < 200; seed++) {
      const disk = new SimDisk(new SimRandom(seed));
      disk.append('log', bytes(1, 2, 3));
      disk.sync('log');
      disk.append('log', bytes(4, 5, 6, 7));
      disk.append('log', bytes(8, 9));
      expect(disk.read('log')).toEqual(bytes(1, 2, 3, 4, 5, 6, 7, 8, 9));
      disk.crash();
      const after = disk.read('log');
      // A prefix of what was written, at least the synced part.
      expect(after.length).toBeGreaterThanOrEqual(3);
      expect(after).toEqual(bytes(1, 2, 3, 4, 5, 6, 7, 8, 9).subarray(0, after.length));
      expect(disk.unsyncedBytes('log')).toBe(0);
    }
  });

  it('tears writes and loses whole ones across seeds (both outcomes occur)', () => {
    const lengths = new Set<number>();
    let torn = 0;
    for (let seed = 0; seed < 200; seed++) {
      const disk = new SimDisk(new SimRandom(seed));
      disk.append('log', bytes(1, 2, 3, 4));
      disk.append('log', bytes(5, 6, 7, 8));
      disk.crash();
      lengths.add(disk.read('log').length);
      torn += disk.stats.tornWrites;
    }
    expect(lengths.has(0)).toBe(true);
    expect(lengths.has(8)).toBe(true);
    expect([1, 2, 3, 5, 6, 7].some((n) => lengths.has(n))).toBe(true);
    expect(torn).toBeGreaterThan(0);
  });

  it('flips exactly one bit of durable data', () => {
    const disk = new SimDisk(new SimRandom(9));
    const original = bytes(0, 0xff, 0x55, 0xaa, 7);
    disk.replace('shard', original);
    const offset = disk.flipBit('shard');
    const rotten = disk.read('shard');
    let diffBits = 0;
    for (let i = 0; i < original.length; i++) {
      let x = original[i]! ^ rotten[i]!;
      while (x) {
        diffBits += x & 1;
        x >>= 1;
      }
    }
    expect(diffBits).toBe(1);
    expect(rotten[offset]).not.toBe(original[offset]);
    expect(disk.flipBit('missing')).toBe(-1);
  });

  it('draws sync latencies within bounds and bounds file size', () => {
    const disk = new SimDisk(new SimRandom(1), {
      syncLatencyMsMin: 1,
      syncLatencyMsMax: 2,
      slowSyncRate: 0,
      fileBytesMax: 4,
    });
    for (let i = 0; i < 100; i++) {
      const ms = disk.syncLatencyMs();
      expect(ms >= 1 && ms <= 2).toBe(true);
    }
    disk.append('f', bytes(1, 2, 3, 4));
    expect(() => disk.append('f', bytes(5))).toThrow(RangeError);
  });

  it('readRange reads a slice of durable and cached bytes, short at the end, empty when missing', () => {
    const disk = new SimDisk(new SimRandom(1));
    disk.replace('f', bytes(1, 2, 3, 4, 5));
    expect(disk.readRange('f', 1, 3)).toEqual(bytes(2, 3, 4));
    expect(disk.readRange('f', 4, 3)).toEqual(bytes(5));
    expect(disk.readRange('f', 9, 3)).toEqual(bytes());
    disk.append('f', bytes(6, 7));
    expect(disk.readRange('f', 3, 4)).toEqual(bytes(4, 5, 6, 7));
    expect(disk.readRange('missing', 0, 4)).toEqual(bytes());
    // A copy: changing it leaves the file as it was.
    disk.readRange('f', 0, 2).fill(0);
    expect(disk.read('f')).toEqual(bytes(1, 2, 3, 4, 5, 6, 7));
  });
});
