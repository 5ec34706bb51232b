import { economicsSweepOptions, sweep } from './sweep.js';

// economics.test.ts at scale: 200 and 300 nodes, about 1.3 and 3-7 CPU s a seed once warm with the
// nodes sharing the work of applying the same events (`SharedApply`; 4-6 and 9-12 s without), three
// seeds at 200 nodes for one at 300: 40 seeds, so 200 with economics.test.ts's.
sweep({
  scenario: 'economics',
  nodes: [200, 200, 200, 300],
  options: economicsSweepOptions,
  seedsDefault: 40,
  seedsPerTest: 2,
});
