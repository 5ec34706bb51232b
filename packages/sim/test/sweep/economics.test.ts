import { economicsSweepOptions, sweep } from './sweep.js';

// Every node applies every event, so without help a run costs about nodes² (and a bit more: a late
// event re-executes the ledger). The nodes share that work (`SharedApply` of @trinity/economics:
// a ledger made once per event for every node that applies it in the same order, decoding and
// signature checks once per event), so what is left per node is its own bookkeeping: about 0.3 CPU s
// a seed at 50 nodes, 0.45 s at 100 once warm. The sweep's options (`economicsSweepOptions`): 5 s of
// observations (with 1 s the cheaters-less-reputable comparison is noise: 5 of 200 seeds failed it),
// every 4th node voting (the quorum is 10 % of the voters), a 10 s settle delay (late events
// re-execute the ledger) and no snapshots between (100,000 events). 200 and 300 nodes are in
// economics-large.test.ts (80 + 80 + 40 = 200 seeds), the default-size runs in test/economics.test.ts.
sweep({
  scenario: 'economics',
  nodes: [100],
  options: economicsSweepOptions,
  seedsDefault: 80,
  seedsPerTest: 8,
});

// At 50 nodes 5 s of observations are too few for cheaters-less-reputable (a handful of cheaters
// and reporters: seed 29 fails it, cheaters averaging 0.447 against the honest nodes' 0.440; with
// 8 s seed 85 still does), so these run 10 s.
sweep({
  scenario: 'economics',
  nodes: [50],
  options: { ...economicsSweepOptions, activeMs: 10_000 },
  seedsDefault: 80,
  seedsPerTest: 10,
});
