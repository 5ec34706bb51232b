import { jsonOutput, report } from './_report.js';
import { adaptiveBench } from './adaptive.bench.js';
import { routerBench } from './router.bench.js';

if (!jsonOutput) console.log('@trinity/topology benchmarks (lower ms is better)\n');
report(routerBench());
if (!jsonOutput) console.log('');
report(adaptiveBench());
