import { sweep } from './sweep.js';

// proof-of-storage.test.ts at the scenario's maximum, 150 nodes: about 15 CPU s a seed, so one.
sweep({ scenario: 'proof-of-storage', nodes: [150], seedsDefault: 1, seedsPerTest: 1 });
