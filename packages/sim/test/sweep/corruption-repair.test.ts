import { sweep } from './sweep.js';

// Every node scrubs and heartbeats for the whole run: 10 s of faults and 10 s of settling instead
// of 60 s and 100 s (the default-size runs are in corruption-repair.test.ts).
sweep({
  scenario: 'corruption-repair',
  nodes: [50, 100, 200, 300],
  options: { faultsForMs: 10_000, settleMs: 10_000 },
});
