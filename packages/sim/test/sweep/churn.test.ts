import { sweep } from './sweep.js';

sweep({ scenario: 'churn', nodes: [50, 100, 200, 300] });
