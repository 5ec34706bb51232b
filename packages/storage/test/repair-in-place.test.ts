import { toHex } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { createManifest, type Holder, planRepair } from '../src/index.js';

const nodes: Holder[] = Array.from({ length: 6 }, (_, i) => ({
  nodeId: `n${i}`,
  region: ['a', 'b', 'c'][i % 3]!,
}));

function fullyPlacedManifest() {
  // RS(4,2) over exactly six nodes: every node holds one shard of the stripe, none is spare.
  return createManifest({
    size: 40,
    erasure: { dataShards: 4, parityShards: 2, shardBytes: 10 },
    stripes: [
      {
        dataBytes: 40,
        shards: nodes.map((node, i) => ({ hash: toHex(new Uint8Array(32).fill(i + 1)), holders: [node] })),
      },
    ],
    createdAtMs: 0,
  });
}

describe('planRepair: a live holder that lost its copy', () => {
  it('takes the same shard back when no other node is free', () => {
    const plan = planRepair(fullyPlacedManifest(), (_s, i) => (i === 3 ? 'corrupt' : 'ok'), {
      candidates: nodes,
    });
    expect(plan.unplaced).toEqual([]);
    expect(plan.tasks).toHaveLength(1);
    expect(plan.tasks[0]!.rebuild).toEqual([
      { shardIndex: 3, hash: toHex(new Uint8Array(32).fill(4)), target: nodes[3] },
    ]);
  });

  it('never receives a different shard of the stripe', () => {
    // Shards 1 and 2 broken; n1 and n2 are live: each takes back its own, never the other's.
    const plan = planRepair(fullyPlacedManifest(), (_s, i) => (i === 1 || i === 2 ? 'missing' : 'ok'), {
      candidates: nodes,
    });
    const targets = plan.tasks[0]!.rebuild.map((r) => [r.shardIndex, r.target.nodeId]);
    expect(targets).toEqual([
      [1, 'n1'],
      [2, 'n2'],
    ]);
  });

  it('is not used when the holder is not a candidate (down): the shard goes elsewhere or stays unplaced', () => {
    const plan = planRepair(fullyPlacedManifest(), (_s, i) => (i === 0 ? 'missing' : 'ok'), {
      candidates: nodes.slice(1),
    });
    expect(plan.unplaced).toEqual([{ stripeIndex: 0, shardIndex: 0 }]);
  });
});
