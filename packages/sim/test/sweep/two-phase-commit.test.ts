import { sweep } from './sweep.js';

sweep({ scenario: 'two-phase-commit', nodes: [50, 100, 200, 300] });
