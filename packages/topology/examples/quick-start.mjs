import { detectRegion, LatencyTracker, placeStripe, planRebalance, RegionRouter } from '@trinity/topology';

// A devnet: 8 nodes in 4 regions.
const nodes = [
  { id: 'ny-1', region: 'us-east' },
  { id: 'ny-2', region: 'us-east' },
  { id: 'dub-1', region: 'eu-west' },
  { id: 'dub-2', region: 'eu-west' },
  { id: 'tok-1', region: 'asia-east' },
  { id: 'tok-2', region: 'asia-east' },
  { id: 'sp-1', region: 'south-america' },
  { id: 'sp-2', region: 'south-america' },
];

// Place one RS(4,2) stripe written from us-east: at most 2 shards per region, so losing any region is fine.
const holders = placeStripe({
  clientRegion: 'us-east',
  nodes,
  dataShards: 4,
  parityShards: 2,
  stripeKey: 'obj-1/0',
});
console.log('placement:', holders.join(' '));

// Route reads: the seed's worked example.
const router = new RegionRouter({}, { selfRegion: 'us-east' });
router.upsertNode({ id: 'A', region: 'us-east', reputation: 0.95 });
router.upsertNode({ id: 'B', region: 'eu-west', reputation: 0.9 });
router.upsertNode({ id: 'C', region: 'asia-east', reputation: 0.85 });
router.observeLatency('A', 5, 0);
router.observeLatency('B', 80, 0);
router.observeLatency('C', 180, 0);
for (const { id, score } of router.topN('us-east', 3)) console.log(`route ${id} ${score.toFixed(3)}`);

// A node with no configured region finds it from its pings.
const tracker = new LatencyTracker();
tracker.observe('ny-1', 63, 1_000);
tracker.observe('dub-1', 141, 1_000);
tracker.observe('tok-1', 118, 1_000);
const known = new Map(nodes.map((node) => [node.id, node.region]));
console.log('detected region:', detectRegion(tracker.snapshot(1_000), known)?.region);

// us-east goes down: rebuild its two shards elsewhere, still at most 2 per region.
const stripe = {
  id: 'obj-1/0',
  clientRegion: 'us-east',
  dataShards: 4,
  parityShards: 2,
  shardBytes: 1 << 20,
  holders,
};
const survivors = nodes.filter((node) => node.region !== 'us-east');
const plan = planRebalance({ stripes: [stripe], nodes: survivors });
for (const move of plan.moves)
  console.log(`${move.kind} shard ${move.shardIndex}: ${move.from} -> ${move.to}`);
