// What the storage benchmarks share: rows reported as they are measured (with --json one JSON object
// per line, for tools) and a table for people at the end.

export const json = process.argv.includes('--json');

export interface Row {
  readonly bench: string;
  readonly impl: string;
  readonly params: Record<string, unknown>;
  readonly value: number;
  readonly unit: string;
}

/** Collects rows, printing each at once under --json, and prints them as a table otherwise. */
export function benchReport(): {
  report(bench: string, impl: string, params: Record<string, unknown>, value: number, unit: string): void;
  printTable(options: { params: boolean }): void;
} {
  const rows: Row[] = [];
  return {
    report(bench, impl, params, value, unit) {
      const row = { bench, impl, params, value: Math.round(value * 10) / 10, unit };
      rows.push(row);
      if (json) console.log(JSON.stringify(row));
    },
    printTable(options) {
      if (json) return;
      console.log(options.params ? '| bench | impl | params | value |' : '| bench | impl | value |');
      console.log(options.params ? '|---|---|---|---|' : '|---|---|---|');
      for (const row of rows) {
        const params = options.params ? ` ${JSON.stringify(row.params)} |` : '';
        console.log(`| ${row.bench} | ${row.impl} |${params} ${row.value} ${row.unit} |`);
      }
    },
  };
}
