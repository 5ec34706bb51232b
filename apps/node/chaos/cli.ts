import { parseArgs } from 'node:util';
import { randomSeed } from '@trinity/core';
import '../src/polyfill.js';
import { formatSummary, runChaos } from './run.js';

/**
 * `pnpm --filter @trinity/node chaos -- --minutes 30 --seed S`: a long chaos run against six node
 * processes (build first: it starts dist/cli.js). Prints its seed first and a summary table last;
 * exits 1 on any violation.
 */
const argv = process.argv.slice(2);
const { values } = parseArgs({
  // `pnpm chaos -- --minutes 5` run inside the package passes the `--` on.
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    minutes: { type: 'string', default: '5' },
    seed: { type: 'string' },
    clients: { type: 'string', default: '4' },
  },
});
const minutes = Number(values.minutes);
const seed = values.seed === undefined ? randomSeed() : Number(values.seed);
if (!(minutes > 0 && minutes <= 24 * 60) || !Number.isInteger(seed)) {
  console.error('usage: chaos [--minutes M (0 < M ≤ 1440)] [--seed S (an integer)] [--clients C]');
  process.exit(2);
}
console.log(`chaos seed ${seed}`);
const summary = await runChaos({
  seed,
  durationMs: minutes * 60_000,
  clients: Number(values.clients),
  log: (line) => console.log(`${new Date().toISOString()} ${line}`),
});
console.log(
  formatSummary(summary, `pnpm --filter @trinity/node chaos -- --minutes ${minutes} --seed ${seed}`),
);
process.exit(summary.violations.length === 0 ? 0 : 1);
