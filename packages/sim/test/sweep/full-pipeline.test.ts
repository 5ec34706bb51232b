import { sweep } from './sweep.js';

sweep({ scenario: 'full-pipeline', nodes: [50, 100, 200, 300] });
