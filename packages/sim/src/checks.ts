/** Failures kept per check name (the rest are counted, not kept). */
export const FAILURES_KEPT_MAX = 20;

/** One checker's tally. */
export interface CheckTally {
  passed: number;
  failed: number;
  /** The first failures, one line each. */
  readonly failures: string[];
}

/**
 * The invariant checks of one run, counted by name: every assertion a checker makes is one check,
 * passed or failed, so the summary can say how many held.
 */
export class Checks {
  readonly #tallies = new Map<string, CheckTally>();

  /** Records one check named `name`; `describe` is called only on failure. */
  check(name: string, ok: boolean, describe: () => string): boolean {
    let tally = this.#tallies.get(name);
    if (tally === undefined) {
      tally = { passed: 0, failed: 0, failures: [] };
      this.#tallies.set(name, tally);
    }
    if (ok) tally.passed++;
    else {
      tally.failed++;
      if (tally.failures.length < FAILURES_KEPT_MAX) tally.failures.push(describe());
    }
    return ok;
  }

  get passed(): number {
    let total = 0;
    for (const tally of this.#tallies.values()) total += tally.passed;
    return total;
  }

  get failed(): number {
    let total = 0;
    for (const tally of this.#tallies.values()) total += tally.failed;
    return total;
  }

  /** Each check's tally, by name (in the order checks were first made). */
  tallies(): ReadonlyMap<string, CheckTally> {
    return this.#tallies;
  }

  /** Every kept failure as `name: line`. */
  failures(): string[] {
    const lines: string[] = [];
    for (const [name, tally] of this.#tallies)
      for (const line of tally.failures) lines.push(`${name}: ${line}`);
    return lines;
  }
}
