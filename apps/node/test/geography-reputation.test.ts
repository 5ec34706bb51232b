import { MemoryLogger } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { geography } from '../src/services/geography/geography.js';

const nodes = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => ({ id, region: 'us-east' }));

function make(fallbacks: string[] = []) {
  return geography({
    selfId: 'a',
    region: 'us-east',
    regionTopology: false,
    dataShards: 2,
    parityShards: 1,
    shardBytes: 4096,
  })({ logger: new MemoryLogger(), events: { onPlacementFallback: (rule) => fallbacks.push(rule) } });
}

/** The network's reputation (from the economics service) is the router's and the placer's input. */
describe('geography reputation', () => {
  it('takes every score from setReputations, the prior for a peer without evidence', () => {
    const geo = make();
    expect(geo.reputation('b')).toBe(0.4);
    geo.setReputations(new Map([['b', 0.9]]), 0.5);
    expect(geo.reputation('b')).toBe(0.9);
    expect(geo.reputation('c')).toBe(0.5);
    geo.setReputations(new Map(), 0.4);
    expect(geo.reputation('b')).toBe(0.4);
  });

  it('places no shard on a node below the router’s floor while enough others remain', () => {
    const fallbacks: string[] = [];
    const geo = make(fallbacks);
    geo.setReputations(new Map([['c', 0.1]]), 0.4);
    for (let stripe = 0; stripe < 20; stripe++) expect(geo.place('up', stripe, 3, nodes)).not.toContain('c');
    expect(fallbacks).toEqual([]);
    // Too few reputable nodes for a stripe: all of them are used, and the fallback is counted.
    geo.setReputations(new Map(nodes.slice(1).map((n) => [n.id, 0.1])), 0.4);
    expect(geo.place('up', 0, 3, nodes.slice(0, 3))).toHaveLength(3);
    expect(fallbacks).toEqual(['reputation']);
  });
});
