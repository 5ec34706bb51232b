import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, parseArgs } from '../src/cli.js';

function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(
    argv,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out, err };
}

describe('sim CLI', () => {
  it('--json ends stdout with the one result line, the summary on stderr', () => {
    const { code, out, err } = run([
      'two-phase-commit',
      '--nodes',
      '50',
      '--seed',
      '4',
      '--json',
      '--transactions',
      '60',
    ]);
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    const line = JSON.parse(out[0]!);
    expect(Object.keys(line)).toEqual([
      'scenario',
      'nodes',
      'seed',
      'events',
      'eventsPerSec',
      'traceHash',
      'checks',
    ]);
    expect(line).toMatchObject({ scenario: 'two-phase-commit', nodes: 50, seed: 4, checks: { failed: 0 } });
    expect(line.traceHash).toMatch(/^[0-9a-f]{16}$/);
    expect(err.at(-1)).toMatch(
      /^summary: virtual time .* events .* messages, .* faults injected, checks [\d,]+ passed \/ 0 failed/,
    );
  });

  it('prints the summary and, for several seeds, how many passed', () => {
    const { code, out } = run([
      'two-phase-commit',
      '--nodes',
      '50',
      '--seeds',
      '1..2',
      '--transactions',
      '60',
    ]);
    expect(code).toBe(0);
    expect(out.filter((l) => l.startsWith('summary:'))).toHaveLength(2);
    expect(out.at(-1)).toBe('2 of 2 seeds passed every check');
  });

  it('refuses bad usage with exit code 2', () => {
    expect(run(['two-phase-commit', '--seed', '1']).code).toBe(2);
    expect(run(['two-phase-commit', '--nodes', 'x', '--seed', '1']).err[0]).toMatch(
      /--nodes takes an integer/,
    );
    expect(run(['nope', '--nodes', '10', '--seed', '1']).err[0]).toMatch(/unknown scenario/);
    expect(run(['two-phase-commit', '--nodes', '10', '--seed', '1', '--bogus']).code).toBe(2);
    expect(parseArgs(['x', '--nodes', '5', '--seeds', '3..5']).seeds).toEqual([3, 4, 5]);
  });

  it('--plot writes an SVG of the repair backlog over virtual time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trinity-sim-plot-'));
    try {
      const file = join(dir, 'repair.svg');
      const { code, err } = run(['corruption-repair', '--nodes', '30', '--seed', '2', '--plot', file]);
      expect(code).toBe(0);
      expect(err.some((l) => l.startsWith('plot written to'))).toBe(true);
      const svg = readFileSync(file, 'utf8');
      expect(svg).toMatch(/^<svg /);
      expect(svg.match(/<polyline /g)).toHaveLength(3);
      expect(svg).toContain('repair backlog');
      expect(run(['corruption-repair', '--nodes', '30', '--seeds', '1..2', '--plot', file]).code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
