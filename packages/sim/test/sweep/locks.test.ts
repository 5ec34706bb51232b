import { sweep } from './sweep.js';

sweep({ scenario: 'locks', nodes: [50, 100, 200, 300] });
