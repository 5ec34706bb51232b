#!/usr/bin/env node
/**
 * `pnpm sim <scenario> --nodes N --seed S [--json] [--seeds FIRST..LAST] [--no-faults] [--plot F.svg]`, plus
 * scenario options (`--transactions N`, `--concurrency N` for two-phase-commit). Prints a summary
 * (with `--json`, one JSON line per run on stdout and the rest on stderr); exits 1 when any check
 * failed, printing the command that replays the failing seed.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isTrinityError } from '@trinity/core';
import { SimUsageError } from './errors.js';
import { plotSvg } from './plot.js';
import { jsonLine, summaryLines } from './report.js';
import { runScenario, scenarios } from './run.js';

interface CliArgs {
  readonly scenario: string;
  readonly nodes: number;
  readonly seeds: readonly number[];
  readonly json: boolean;
  readonly faults: boolean;
  /** Where to write an SVG plot of the run's time series (scenarios that sample some). */
  readonly plot: string | undefined;
  readonly extra: Record<string, number | boolean>;
  /** Flags to repeat in a replay command. */
  readonly replayArgs: string[];
}

/** Scenario options taken as `--name N` (`--kebab-case` for a camelCase option: `--active-ms` is `activeMs`). */
const numericOptions = [
  'transactions',
  'concurrency',
  'objects',
  'requests',
  'attackers',
  'active-ms',
  'vote-every',
  'settle-delay-ms',
  'snapshot-every',
  'faults-for-ms',
  'settle-ms',
  'attacks-until-ms',
] as const;

/** `settle-delay-ms` → `settleDelayMs`. */
function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
const seedsRunMax = 100_000;

function usage(): string {
  const names = [...scenarios.values()].map((s) => `  ${s.name.padEnd(20)} ${s.description}`).join('\n');
  return `usage: pnpm sim <scenario> --nodes N --seed S [--json] [--seeds FIRST..LAST] [--no-faults] [--no-share-apply] [--plot FILE.svg] [--transactions N] [--concurrency N] [--objects N] [--requests N] [--attackers N] [--active-ms N] [--vote-every N] [--settle-delay-ms N] [--snapshot-every N] [--faults-for-ms N] [--settle-ms N] [--attacks-until-ms N]\nscenarios:\n${names}`;
}

function integer(flag: string, text: string | undefined, min: number, max: number): number {
  const value = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || value < min || value > max) {
    throw new SimUsageError(
      `${flag} takes an integer in [${min}, ${max}], got ${JSON.stringify(text ?? '')}`,
    );
  }
  return value;
}

export function parseArgs(argv: readonly string[]): CliArgs {
  let scenario: string | undefined;
  let nodes: number | undefined;
  let seeds: number[] = [];
  let json = false;
  let faults = true;
  let plot: string | undefined;
  const extra: Record<string, number | boolean> = {};
  const replayArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.slice(2);
    if (arg === '--') continue;
    if (arg === '--json') json = true;
    else if (arg === '--no-faults') {
      faults = false;
      replayArgs.push(arg);
    } else if (arg === '--no-share-apply') {
      extra.shareApply = false;
      replayArgs.push(arg);
    } else if (arg === '--plot') {
      plot = argv[++i];
      if (plot === undefined || plot.startsWith('-')) throw new SimUsageError('--plot takes a file name');
    } else if (arg === '--nodes') nodes = integer(arg, argv[++i], 1, 1_000_000);
    else if (arg === '--seed') seeds = [integer(arg, argv[++i], 0, Number.MAX_SAFE_INTEGER)];
    else if (arg === '--seeds') {
      const match = /^(\d+)\.\.(\d+)$/.exec(argv[++i] ?? '');
      if (match === null) throw new SimUsageError('--seeds takes FIRST..LAST, e.g. 1..100');
      const first = Number(match[1]);
      const last = Number(match[2]);
      if (last < first || last - first >= seedsRunMax)
        throw new SimUsageError(`--seeds: 1 to ${seedsRunMax} seeds, first <= last`);
      seeds = Array.from({ length: last - first + 1 }, (_, k) => first + k);
    } else if ((numericOptions as readonly string[]).includes(name)) {
      const option = camelCase(name);
      extra[option] = integer(arg, argv[++i], 1, 10_000_000);
      replayArgs.push(arg, String(extra[option]));
    } else if (arg.startsWith('-')) throw new SimUsageError(`unknown option ${arg}`);
    else if (scenario === undefined) scenario = arg;
    else throw new SimUsageError(`unexpected argument ${JSON.stringify(arg)}`);
  }
  if (scenario === undefined) throw new SimUsageError('no scenario named');
  if (nodes === undefined) throw new SimUsageError('--nodes is required');
  if (seeds.length === 0) throw new SimUsageError('--seed (or --seeds) is required');
  if (plot !== undefined && seeds.length > 1) throw new SimUsageError('--plot takes one seed');
  return { scenario, nodes, seeds, json, faults, plot, extra, replayArgs };
}

/** Runs the command line; returns the exit code. `out` gets stdout lines, `err` stderr lines. */
export function main(
  argv: readonly string[],
  out: (line: string) => void,
  err: (line: string) => void,
): number {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!isTrinityError(error)) throw error;
    err(`error: ${error.message}`);
    err(usage());
    return 2;
  }
  let failedSeeds = 0;
  for (const seed of args.seeds) {
    let result: ReturnType<typeof runScenario>;
    try {
      result = runScenario(args.scenario, { nodes: args.nodes, seed, faults: args.faults, ...args.extra });
    } catch (error) {
      if (!isTrinityError(error) && !(error instanceof RangeError)) throw error;
      err(`error: ${error.message}`);
      if (isTrinityError(error) && error.code === 'SIM_UNKNOWN_SCENARIO') err(usage());
      return 2;
    }
    if (result.checks.failed > 0) failedSeeds++;
    if (args.plot !== undefined) {
      if (result.series === undefined) err(`note: ${args.scenario} samples nothing to plot`);
      else {
        // `pnpm sim` runs in the repository root: a relative path is the caller's (INIT_CWD).
        const path = resolve(process.env.INIT_CWD ?? process.cwd(), args.plot);
        writeFileSync(path, plotSvg(result.series, `${args.scenario}, ${args.nodes} nodes, seed ${seed}`));
        err(`plot written to ${path}`);
      }
    }
    const lines = summaryLines(result, args.replayArgs);
    if (args.json) {
      for (const line of lines) err(line);
      out(jsonLine(result));
    } else for (const line of lines) out(line);
  }
  if (args.seeds.length > 1) {
    const line = `${args.seeds.length - failedSeeds} of ${args.seeds.length} seeds passed every check`;
    if (args.json) err(line);
    else out(line);
  }
  return failedSeeds > 0 ? 1 : 0;
}

// Run when executed (not when imported by a test).
if (process.argv[1] !== undefined && /cli\.(js|ts)$/.test(process.argv[1])) {
  process.exitCode = main(
    process.argv.slice(2),
    (line) => console.log(line),
    (line) => console.error(line),
  );
}
