import type { Checks, CheckTally } from './checks.js';

/** What every scenario takes. */
export interface ScenarioOptions {
  /** Nodes in the simulated network. */
  readonly nodes: number;
  /** The seed every random choice of the run derives from. */
  readonly seed: number;
  /** Inject faults (crashes, drops, partitions, outages); without, a fault-free baseline. */
  readonly faults?: boolean;
}

/** What every run counts, the same with the same seed. */
export interface RunTotals {
  readonly events: number;
  readonly virtualMs: number;
  readonly traceHash: string;
  readonly messages: number;
  readonly bytes: number;
  /** Faults injected, by kind. */
  readonly faults: Readonly<Record<string, number>>;
  /** Scenario-specific counts (transactions committed, objects placed, ...). */
  readonly counts: Readonly<Record<string, number>>;
}

/** What a scenario's run reports; `runScenario` adds the timing and identity fields. */
export interface ScenarioOutcome extends RunTotals {
  readonly checks: Checks;
  /** Quantities sampled over virtual time, for a plot (`--plot`). */
  readonly series?: TimeSeries;
}

/** Named quantities sampled at the same virtual times. */
export interface TimeSeries {
  readonly timesMs: readonly number[];
  readonly lines: Readonly<Record<string, readonly number[]>>;
}

/** The outcome of one run, as the CLI prints it and tests assert on it. */
export interface ScenarioResult extends RunTotals {
  readonly scenario: string;
  readonly nodes: number;
  readonly seed: number;
  readonly eventsPerSec: number;
  readonly wallMs: number;
  readonly checks: { readonly passed: number; readonly failed: number };
  readonly checksByName: Readonly<Record<string, Omit<CheckTally, 'failures'>>>;
  /** The first failures, `check: line` each. */
  readonly failures: readonly string[];
  readonly series: TimeSeries | undefined;
}

/** A registered scenario. */
export interface Scenario<O extends ScenarioOptions = ScenarioOptions> {
  readonly name: string;
  readonly description: string;
  /** Fewest nodes it runs with. */
  readonly nodesMin: number;
  readonly nodesMax: number;
  run(options: O): ScenarioOutcome;
}
