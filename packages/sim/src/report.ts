import type { ScenarioResult } from './scenario.js';

/** The command that replays a run exactly: same scenario, nodes, seed and options. */
export function replayCommand(result: ScenarioResult, extraArgs: readonly string[] = []): string {
  return [
    'pnpm sim',
    result.scenario,
    '--nodes',
    String(result.nodes),
    '--seed',
    String(result.seed),
    ...extraArgs,
  ].join(' ');
}

/** The one JSON line `--json` ends with. */
export function jsonLine(result: ScenarioResult): string {
  return JSON.stringify({
    scenario: result.scenario,
    nodes: result.nodes,
    seed: result.seed,
    events: result.events,
    eventsPerSec: Math.round(result.eventsPerSec),
    traceHash: result.traceHash,
    checks: { passed: result.checks.passed, failed: result.checks.failed },
  });
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function formatMs(ms: number): string {
  if (ms < 1_000) return `${ms.toFixed(0)} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

const number = (n: number) => Math.round(n).toLocaleString('en-US');

/** The human summary: what was simulated, what was injected, what held; failures and the replay command last. */
export function summaryLines(result: ScenarioResult, extraArgs: readonly string[] = []): string[] {
  const faults = Object.entries(result.faults)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${kind} ${number(count)}`);
  const totalFaults = Object.values(result.faults).reduce((sum, n) => sum + n, 0);
  const counts = Object.entries(result.counts).map(([name, count]) => `${name} ${number(count)}`);
  const lines = [
    `scenario ${result.scenario}: ${number(result.nodes)} nodes, seed ${result.seed}`,
    `  ${counts.join(', ')}`,
    `  faults injected: ${number(totalFaults)}${faults.length > 0 ? ` (${faults.join(', ')})` : ''}`,
  ];
  for (const [name, tally] of Object.entries(result.checksByName)) {
    lines.push(
      `  check ${name}: ${number(tally.passed)} passed${tally.failed > 0 ? `, ${number(tally.failed)} FAILED` : ''}`,
    );
  }
  for (const failure of result.failures) lines.push(`  FAIL ${failure}`);
  lines.push(
    `summary: virtual time ${formatMs(result.virtualMs)}, ${number(result.events)} events ` +
      `(${number(result.eventsPerSec)}/s over ${formatMs(result.wallMs)} wall), ${number(result.messages)} messages, ` +
      `${formatBytes(result.bytes)}, ${number(totalFaults)} faults injected, ` +
      `checks ${number(result.checks.passed)} passed / ${number(result.checks.failed)} failed, trace ${result.traceHash}`,
  );
  if (result.checks.failed > 0) lines.push(`replay: ${replayCommand(result, extraArgs)}`);
  return lines;
}
