import { ManualClock, MemoryLogger } from '@trinity/core';
import type { SignedDescriptor } from '@trinity/storage';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROTOCOLS } from '../src/p2p/wire.js';
import { type MembershipNetwork, membership } from '../src/services/membership/membership.js';
import { repairLoop } from '../src/services/repair/repair-loop.js';

/**
 * Two daemon services (membership and repair) driven entirely by core's ManualClock: time moves
 * only when the test says so, and no host timer is ever armed (the host's timer functions are
 * replaced by spies that fail the test if called).
 */

const hostTimers = ['setTimeout', 'setInterval', 'setImmediate'] as const;
let spies: ReturnType<typeof vi.spyOn>[] = [];

beforeEach(() => {
  spies = hostTimers.map((name) => vi.spyOn(globalThis, name));
});

afterEach(() => {
  for (const spy of spies) spy.mockRestore();
});

function expectNoHostTimer(): void {
  for (const [i, spy] of spies.entries()) expect(spy, hostTimers[i]).not.toHaveBeenCalled();
}

/** Lets the promise chains the services started settle (they await only in-memory fakes). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

const peerA = '12D3KooWGRUVh7v3u4vAz5H7kHWbQNsvW3cWXYW6wVDdhj9P9Dar';
const self = '12D3KooWA1dnzVQmyc1vpmf6u8pBBD3RFm6G8Y1b3yFTsWoFhHNu';

/**
 * A network of connected storage peers whose connections carry `rtt` once the test sets it (as
 * libp2p's connection monitor does); counts the pings membership sends itself.
 */
function fakeNetwork(connected: string[]) {
  const listeners = new Map<string, (event: unknown) => void>();
  const connections = connected.map((id) => ({ remotePeer: id, rtt: undefined as number | undefined }));
  const pings: string[] = [];
  const network = {
    peerId: { toString: () => self },
    addEventListener: (name: string, listener: (event: unknown) => void) => listeners.set(name, listener),
    removeEventListener: (name: string) => listeners.delete(name),
    getConnections: (peer?: { toString(): string }) =>
      connections.filter((c) => peer === undefined || c.remotePeer === peer.toString()),
    getPeers: () => connected.map((id) => ({ toString: () => id })),
    dial: async () => {
      throw new Error('no dialling in this test');
    },
    services: {
      ping: {
        ping: async (peer: { toString(): string }) => {
          pings.push(peer.toString());
          return 12;
        },
      },
    },
  } as unknown as MembershipNetwork;
  return { network, listeners, connections, pings };
}

/** An info reply for `peer`, listing `peers`. */
function infoOf(peer: string, peers: string[] = []) {
  return {
    value: {
      peerId: peer,
      region: 'eu-west',
      version: '0.1.0',
      capacityBytes: 100,
      bytesUsed: 1,
      peers: peers.map((id) => ({ id, addrs: [] })),
    },
  };
}

describe('membership on a manual clock', () => {
  it('refreshes at refreshMs, backs off to maxRefreshMs while nothing changes, and stops cleanly', async () => {
    const clock = new ManualClock(1_000_000);
    const { network, listeners } = fakeNetwork([peerA]);
    const asked: number[] = [];
    const rpc = {
      call: async (peer: string, protocol: string) => {
        expect(protocol).toBe(PROTOCOLS.info);
        asked.push(clock.nowMs());
        return infoOf(peer);
      },
    };
    const seen: string[] = [];
    const service = membership({ bootstrap: [], refreshMs: 2_000, maxRefreshMs: 8_000, peersMax: 16 })({
      network,
      rpc,
      clock,
      logger: new MemoryLogger(),
      locality: { region: 'us-east' },
      events: { onPeer: (record) => seen.push(`${record.id}@${record.region}`) },
    });

    await service.start();
    expect(listeners.size).toBe(2);
    expect(clock.pendingTimers).toBe(1);
    expect(service.peers()).toEqual([]);

    // Nothing happens until the clock reaches the first refresh.
    clock.advance(1_999);
    await settle();
    expect(asked).toEqual([]);

    clock.advance(1);
    await settle();
    expect(asked).toEqual([1_002_000]);
    expect(seen).toEqual([`${peerA}@eu-west`]);
    expect(service.liveNodes()).toEqual([
      { id: self, region: 'us-east' },
      { id: peerA, region: 'eu-west' },
    ]);

    // The first round found a new peer, so the next comes at the fast rate; then the interval
    // doubles per quiet round up to maxRefreshMs: 2 s, 4 s, 8 s, 8 s.
    for (const stepMs of [2_000, 4_000, 8_000, 8_000]) {
      const before = asked.length;
      clock.advance(stepMs - 1);
      await settle();
      expect(asked.length, `no round before ${stepMs} ms`).toBe(before);
      clock.advance(1);
      await settle();
      expect(asked.length, `a round after ${stepMs} ms`).toBe(before + 1);
    }
    expect(asked).toEqual([1_002_000, 1_004_000, 1_008_000, 1_016_000, 1_024_000]);

    service.stop();
    expect(listeners.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(60_000);
    await settle();
    expect(asked.length).toBe(5);
    expectNoHostTimer();
  });

  it("takes the RTT libp2p's connection monitor measured, pinging only a connection it has not measured yet; keeps the peers each info lists", async () => {
    const clock = new ManualClock(1_000_000);
    const { network, connections, pings } = fakeNetwork([peerA]);
    const rpc = { call: async (peer: string) => infoOf(peer, [self, 'peer-b']) };
    const rtts: number[] = [];
    const service = membership({ bootstrap: [], refreshMs: 2_000, peersMax: 16 })({
      network,
      rpc,
      clock,
      logger: new MemoryLogger(),
      locality: { region: 'us-east' },
      events: { onRtt: (_peer, rttMs) => rtts.push(rttMs) },
    });
    await service.start();
    clock.advance(2_000);
    await settle();
    // A new connection: the monitor has not pinged it yet, so membership does.
    expect(pings).toEqual([peerA]);
    expect(rtts).toEqual([12]);
    expect([...service.get(peerA)!.reportedPeers]).toEqual([self, 'peer-b']);

    connections[0]!.rtt = 30;
    clock.advance(2_000);
    await settle();
    expect(pings).toEqual([peerA]); // no second ping stream
    expect(rtts).toEqual([12, 30]);
    expect(service.get(peerA)!.rttMs).toBeCloseTo(12 + 0.3 * (30 - 12));
    service.stop();
  });
});

describe('repair on a manual clock', () => {
  it('runs a round every intervalMs, one at once when poked, none after stop', async () => {
    const clock = new ManualClock(0);
    const listed: number[] = [];
    const manifests = {
      listDescriptors: async () => {
        listed.push(clock.nowMs());
        return [] as string[];
      },
      getDescriptor: async (): Promise<SignedDescriptor> => {
        throw new Error('no descriptors here');
      },
      receipts: async () => [],
    };
    const service = repairLoop({
      selfId: self,
      intervalMs: 30_000,
      bytesPerSecond: 1 << 20,
      maxConcurrentStripes: 2,
      nodeLossGraceMs: 300_000,
    })({
      manifests,
      directory: { publish: async () => {}, sendRecord: async () => {} },
      transfer: {
        heldCopies: async () => new Set<string>(),
        fetch: async () => new Uint8Array(0),
        storeForRepair: async () => {
          throw new Error('nothing to repair');
        },
      },
      nodes: { liveNodes: () => [{ id: self, region: 'us-east' }] },
      clock,
      logger: new MemoryLogger(),
    });

    service.start();
    clock.advance(29_999);
    await settle();
    expect(listed).toEqual([]);
    clock.advance(1);
    await settle();
    expect(listed).toEqual([30_000]);
    expect(service.stats().rounds).toBe(1);

    // A poke (the scrubber found corruption) brings the next round forward to now.
    clock.advance(5_000);
    service.poke();
    clock.advance(0);
    await settle();
    expect(listed).toEqual([30_000, 35_000]);

    // Then the regular interval again, counted from the end of the poked round.
    clock.advance(30_000);
    await settle();
    expect(listed).toEqual([30_000, 35_000, 65_000]);
    expect(service.stats().rounds).toBe(3);

    await service.stop();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(120_000);
    await settle();
    expect(listed.length).toBe(3);
    expectNoHostTimer();
  });
});
