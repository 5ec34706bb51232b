import { sweep } from './sweep.js';

// proof-of-storage.test.ts at the scenario's maximum, 150 nodes: about 6.5 CPU s a seed (11 s before
// the nodes shared the economics work), so two.
sweep({ scenario: 'proof-of-storage', nodes: [150], seedsDefault: 2, seedsPerTest: 1 });
