import { builtinTopology, REGIONS } from '@trinity/topology';
import { describe, expect, it } from 'vitest';
import type { NetworkConfig } from '../src/index.js';
import { Scheduler, SimNetwork, SimRandom } from '../src/index.js';

const topology = builtinTopology();
const region = (name: string) => REGIONS.indexOf(name as (typeof REGIONS)[number]);

function world(regionOf: number[], config: Partial<NetworkConfig> = {}, seed = 1) {
  const scheduler = new Scheduler();
  const arrivals: { to: number; from: number; message: string; atMs: number }[] = [];
  const network = new SimNetwork<string>({
    scheduler,
    random: new SimRandom(seed),
    topology,
    regionOf,
    config,
    deliver: (to, from, message) => arrivals.push({ to, from, message, atMs: scheduler.nowMs }),
  });
  return { scheduler, network, arrivals };
}

describe('SimNetwork', () => {
  it('takes half the matrix round trip between regions, plus bounded jitter and transmission', () => {
    const { scheduler, network, arrivals } = world(
      [region('us-east'), region('eu-west'), region('us-east')],
      {
        jitterFraction: 0.1,
        jitterMsMax: 1,
        uplinkBytesPerMs: 1_000,
      },
    );
    network.send(0, 1, 'far', 500);
    network.send(2, 0, 'local', 0);
    scheduler.run();
    const far = arrivals.find((a) => a.message === 'far')!;
    // us-east <-> eu-west is 80 ms round trip: 40 one way, + 0.5 ms on a 1,000 B/ms uplink.
    expect(far.atMs).toBeGreaterThanOrEqual(40.5);
    expect(far.atMs).toBeLessThanOrEqual(40.5 + 4 + 1);
    const local = arrivals.find((a) => a.message === 'local')!;
    expect(local.atMs).toBeGreaterThanOrEqual(1); // intra-region 2 ms round trip
    expect(local.atMs).toBeLessThanOrEqual(1 + 0.1 + 1);
  });

  it('queues a sender’s messages on its uplink (bandwidth)', () => {
    const { scheduler, network, arrivals } = world([0, 0], {
      uplinkBytesPerMs: 100,
      jitterFraction: 0,
      jitterMsMax: 0,
    });
    for (let i = 0; i < 5; i++) network.send(0, 1, `m${i}`, 1_000);
    scheduler.run();
    // 10 ms each on the uplink, 1 ms one way.
    expect(arrivals.map((a) => a.atMs)).toEqual([11, 21, 31, 41, 51]);
  });

  it('drops, duplicates and reorders at about the configured rates, reproducibly', () => {
    const run = (seed: number) => {
      const { scheduler, network, arrivals } = world(
        [0, 1],
        { dropRate: 0.2, duplicateRate: 0.1, reorderRate: 0.1 },
        seed,
      );
      for (let i = 0; i < 5_000; i++) {
        network.send(0, 1, String(i), 100);
        scheduler.run(scheduler.nowMs + 0.01);
      }
      scheduler.run();
      return { stats: { ...network.stats }, order: arrivals.map((a) => a.message) };
    };
    const a = run(3);
    expect(a).toEqual(run(3));
    expect(a.stats.dropped / 5_000).toBeGreaterThan(0.17);
    expect(a.stats.dropped / 5_000).toBeLessThan(0.23);
    expect(a.stats.duplicated / a.stats.sent).toBeGreaterThan(0.06);
    expect(a.stats.delivered).toBe(a.order.length);
    // Reordered: some message arrives after one sent later.
    const sentOrder = a.order.map(Number);
    expect(sentOrder.some((v, i) => i > 0 && v < sentOrder[i - 1]!)).toBe(true);
    expect(run(4).order).not.toEqual(a.order);
  });

  it('partitions cut messages both ways until healed, also those in flight', () => {
    const { scheduler, network, arrivals } = world([0, 0, 0]);
    network.partition([0, 0, 1]);
    expect(network.send(0, 2, 'cut', 10)).toBe(false);
    expect(network.send(0, 1, 'same-side', 10)).toBe(true);
    network.heal();
    network.send(2, 0, 'in-flight', 10);
    network.partition([0, 0, 1]);
    scheduler.run();
    expect(arrivals.map((a) => a.message)).toEqual(['same-side']);
    expect(network.stats.cut).toBe(2);
  });

  it('a dark region neither sends nor receives; a down node receives nothing', () => {
    const { scheduler, network, arrivals } = world([
      region('us-east'),
      region('asia-east'),
      region('us-east'),
    ]);
    network.setRegionDark(region('asia-east'), true);
    expect(network.send(0, 1, 'to-dark', 1)).toBe(false);
    expect(network.send(1, 0, 'from-dark', 1)).toBe(false);
    network.setRegionDark(region('asia-east'), false);
    network.setUp(2, false);
    network.send(0, 2, 'to-down', 1);
    network.send(0, 1, 'ok', 1);
    scheduler.run();
    expect(arrivals.map((a) => a.message)).toEqual(['ok']);
    expect(network.stats.toDownNode).toBe(1);
  });

  it('rejects bad config and oversized messages', () => {
    expect(() => world([0], { dropRate: 1.5 })).toThrow(RangeError);
    const { network } = world([0, 0], { messageBytesMax: 100 });
    expect(() => network.send(0, 1, 'big', 101)).toThrow(RangeError);
  });
});
