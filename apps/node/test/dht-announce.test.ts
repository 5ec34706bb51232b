import { describe, expect, it } from 'vitest';
import { everyNodeTook } from '../src/services/manifests/manifest-service.js';
import type { PeerRecord } from '../src/services/membership/membership.js';

/** A peer as membership knows it, naming `reported` as its own peers. */
function peer(id: string, reported: readonly string[]): PeerRecord {
  return {
    id,
    region: undefined,
    apiUrl: undefined,
    dataChannel: undefined,
    capacityBytes: 0,
    bytesUsed: 0,
    version: 'test',
    lastSeenMs: 0,
    rttMs: undefined,
    reportedPeers: new Set(reported),
  };
}

describe('whether a put may skip the DHT announcement of its record', () => {
  const self = 'self';

  it('skips only when every known peer took it and each names only known peers', () => {
    const peers = [peer('a', [self, 'b']), peer('b', [self, 'a'])];
    expect(everyNodeTook(peers, new Set(['a', 'b']), self)).toBe(true);
  });

  it('announces when a peer did not take it', () => {
    const peers = [peer('a', [self, 'b']), peer('b', [self, 'a'])];
    expect(everyNodeTook(peers, new Set(['a']), self)).toBe(false);
  });

  it('announces when this node knows nobody yet (after a restart)', () => {
    expect(everyNodeTook([], new Set(), self)).toBe(false);
  });

  it('announces when a peer names a node unknown here (a partial view)', () => {
    const peers = [peer('a', [self, 'b', 'elsewhere']), peer('b', [self, 'a'])];
    expect(everyNodeTook(peers, new Set(['a', 'b']), self)).toBe(false);
  });

  it('announces when a peer has not answered with its own peers yet', () => {
    const peers = [peer('a', []), peer('b', [self, 'a'])];
    expect(everyNodeTook(peers, new Set(['a', 'b']), self)).toBe(false);
  });
});
