import { economicsSweepOptions, sweep } from './sweep.js';

// economics.test.ts at scale: 200 and 300 nodes, about 3-5 and 9-10 CPU s a seed once warm (every
// node applies every event: nodes² work, and more, see there), so four seeds unless
// TRINITY_SIM_SWEEP_SEEDS says otherwise.
sweep({
  scenario: 'economics',
  nodes: [200, 300],
  options: economicsSweepOptions,
  seedsDefault: 4,
  seedsPerTest: 1,
});
