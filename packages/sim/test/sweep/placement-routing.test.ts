import { sweep } from './sweep.js';

sweep({ scenario: 'placement-routing', nodes: [50, 100, 200, 300] });
