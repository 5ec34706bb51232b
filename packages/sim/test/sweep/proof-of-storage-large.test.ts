import { sweep } from './sweep.js';

// proof-of-storage.test.ts at the scenario's maximum, 150 nodes: about 4.8 CPU s a seed (5.4 s before
// the answers got cheaper, 11 s before the nodes shared the economics work), so two (a third would
// take more than the CPU the answers saved here).
sweep({ scenario: 'proof-of-storage', nodes: [150], seedsDefault: 2, seedsPerTest: 1 });
