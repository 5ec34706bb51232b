import { MemoryMetrics } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BandwidthLedger, TokenBucket } from '../src/index.js';

describe('BandwidthLedger', () => {
  it('accounts per peer and in total, and counts metrics', () => {
    const metrics = new MemoryMetrics();
    const ledger = new BandwidthLedger({}, { metrics });
    ledger.recordUpload('peer-a', 100, 1);
    ledger.recordDownload('peer-a', 40, 2);
    ledger.recordUpload('peer-b', 7, 3);
    expect(ledger.peer('peer-a')).toEqual({ uploadedBytes: 100, downloadedBytes: 40 });
    expect(ledger.peer('nobody')).toEqual({ uploadedBytes: 0, downloadedBytes: 0 });
    expect(ledger.totals()).toEqual({ uploadedBytes: 107, downloadedBytes: 40, peers: 2, evictedPeers: 0 });
    expect(ledger.peers().map((p) => p.peerId)).toEqual(['peer-b', 'peer-a']);
    expect(ledger.peers()[1]).toMatchObject({ firstSeenMs: 1, lastSeenMs: 2 });
    expect(metrics.value('trinity_bandwidth_upload_bytes_total')).toBe(107);
    expect(metrics.value('trinity_bandwidth_download_bytes_total')).toBe(40);
  });

  it('evicts the least recently active peer past maxPeers, keeping the totals', () => {
    const ledger = new BandwidthLedger({ maxPeers: 2 });
    ledger.recordUpload('a', 1, 1);
    ledger.recordUpload('b', 1, 2);
    ledger.recordDownload('a', 1, 3); // a is now more recent than b
    ledger.recordUpload('c', 1, 4);
    expect(ledger.peers().map((p) => p.peerId)).toEqual(['c', 'a']);
    expect(ledger.totals()).toMatchObject({
      uploadedBytes: 3,
      downloadedBytes: 1,
      peers: 2,
      evictedPeers: 1,
    });
  });

  it('rejects bad input', () => {
    const ledger = new BandwidthLedger();
    expect(() => ledger.recordUpload('', 1, 0)).toThrow(TypeError);
    expect(() => ledger.recordUpload('x'.repeat(257), 1, 0)).toThrow(TypeError);
    expect(() => ledger.recordUpload('a', -1, 0)).toThrow(RangeError);
    expect(() => ledger.recordUpload('a', 1.5, 0)).toThrow(TypeError);
    expect(() => ledger.recordDownload('a', 1, Number.NaN)).toThrow(TypeError);
    expect(() => new BandwidthLedger({ maxPeers: 0 })).toThrow(/maxPeers/);
  });

  it('totals equal the sum over peers while nothing is evicted (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.boolean(), fc.nat(1e6))), (events) => {
        const ledger = new BandwidthLedger();
        for (const [i, [peer, up, bytes]] of events.entries()) {
          if (up) ledger.recordUpload(peer, bytes, i);
          else ledger.recordDownload(peer, bytes, i);
        }
        const peers = ledger.peers();
        expect(peers.reduce((s, p) => s + p.uploadedBytes, 0)).toBe(ledger.totals().uploadedBytes);
        expect(peers.reduce((s, p) => s + p.downloadedBytes, 0)).toBe(ledger.totals().downloadedBytes);
      }),
    );
  });
});

describe('TokenBucket', () => {
  it('never lets more than burst + rate × elapsed through (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(fc.tuple(fc.nat(1000), fc.integer({ min: 1, max: 10_000 }))),
        (rate, burst, steps) => {
          const bucket = new TokenBucket({ ratePerSecond: rate, burst }, 0);
          let nowMs = 0;
          let taken = 0;
          for (const [delta, amount] of steps) {
            nowMs += delta;
            const wait = bucket.waitMs(amount, nowMs);
            if (bucket.tryTake(amount, nowMs)) {
              expect(wait).toBe(0);
              taken += amount;
              if (amount <= burst) expect(taken).toBeLessThanOrEqual(burst + (rate * nowMs) / 1000 + 1e-6);
            } else {
              expect(wait).toBeGreaterThan(0);
              expect(bucket.tryTake(amount, nowMs + wait)).toBe(true);
              nowMs += wait;
              taken += amount;
            }
          }
          // Long run: what was taken beyond one burst (and one oversized item) was paid for by time.
          const maxItem = Math.max(0, ...steps.map(([, a]) => a));
          expect(taken).toBeLessThanOrEqual(Math.max(burst, maxItem) + burst + (rate * nowMs) / 1000 + 1e-6);
        },
      ),
    );
  });

  it('does not refill when the clock steps backwards', () => {
    const bucket = new TokenBucket({ ratePerSecond: 1000, burst: 1000 }, 1000);
    expect(bucket.tryTake(1000, 1000)).toBe(true);
    expect(bucket.available(500)).toBe(0);
    expect(bucket.available(1500)).toBe(500);
  });
});
