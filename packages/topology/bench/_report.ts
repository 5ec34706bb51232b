/** Bench output: a table for people, or with --json one JSON object per line for tools. */
export interface Row {
  readonly bench: string;
  readonly impl: string;
  readonly params: Record<string, number | string>;
  readonly value: number;
  readonly unit: string;
}

export const jsonOutput = process.argv.includes('--json');

export function report(rows: readonly Row[]): void {
  if (jsonOutput) {
    for (const row of rows) console.log(JSON.stringify(row));
    return;
  }
  const lines = rows.map((row) => [
    row.bench,
    row.impl,
    Object.entries(row.params)
      .map(([key, value]) => `${key}=${value}`)
      .join(' '),
    formatValue(row.value),
    row.unit,
  ]);
  const header = ['bench', 'impl', 'params', 'value', 'unit'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]!.length)));
  const print = (cells: string[]) =>
    console.log(`| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`);
  print(header);
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const line of lines) print(line);
}

function formatValue(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** Mean time per call in ms of `fn`, run for at least `minMs` after a warm-up. */
export function timeMs(fn: (i: number) => void, minMs = 300): number {
  for (let i = 0; i < 200; i++) fn(i);
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 100; i++) fn(calls++);
    elapsed = performance.now() - start;
  }
  return elapsed / calls;
}
