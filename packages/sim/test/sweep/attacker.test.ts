import { sweep } from './sweep.js';

// Signature checks bound a run (every record, receipt and attack message is verified): 8 objects,
// 2 attackers and 14 s of attacks instead of a third of the nodes, 5 % and 30 s (the default-size
// runs are in attacker.test.ts).
sweep({
  scenario: 'attacker',
  nodes: [50, 100, 200, 300],
  options: { objects: 8, attackers: 2, attacksUntilMs: 14_000 },
});
