import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lintExposition, PrometheusMetrics, registerTrinityMetrics, TRINITY_METRICS } from '../src/index.js';

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const hasPromtool = promtool.error === undefined && promtool.status === 0;

/** A registry with every trinity_* metric holding a sample (labels and histograms included). */
async function fullExposition(): Promise<string> {
  const metrics = new PrometheusMetrics();
  const node = registerTrinityMetrics(metrics) as unknown as Record<
    string,
    Record<string, (...args: unknown[]) => void>
  >;
  for (const [key, definition] of Object.entries(TRINITY_METRICS)) {
    const labelNames = definition.labelNames ?? [];
    const labels = labelNames.length > 0 ? Object.fromEntries(labelNames.map((l) => [l, 'x'])) : undefined;
    const handle = node[key]!;
    if (definition.kind === 'counter') handle.inc!(1, labels);
    else if (definition.kind === 'gauge') handle.set!(0.5, labels);
    else handle.observe!(0.01, labels);
  }
  return metrics.render();
}

describe('the exposition', () => {
  it('passes our strict checks: HELP and TYPE, _total on counters only, units in names', async () => {
    const text = await fullExposition();
    expect(lintExposition(text)).toEqual([]);
    for (const definition of Object.values(TRINITY_METRICS)) {
      expect(text).toContain(`# HELP ${definition.name} `);
      expect(text).toContain(`# TYPE ${definition.name} ${definition.kind}\n`);
    }
  });

  it('the checks catch every problem of a known-bad page', () => {
    const text = readFileSync(new URL('./vectors/bad-exposition.prom', import.meta.url), 'utf8');
    const problems = lintExposition(text);
    const expected = [
      /counter trinity_scrub_rounds must end in _total/,
      /gauge trinity_shards_total must not end in _total/,
      /trinity_nohelp: no help text/,
      /abbreviated unit "ms"/,
      /sample trinity_orphan has no TYPE or HELP/,
      /trinity_h_seconds: histogram without \+Inf bucket/,
      /bad labels/,
    ];
    for (const pattern of expected) expect(problems.some((p) => pattern.test(p))).toBe(true);
  });

  it.skipIf(!hasPromtool)(
    'promtool check metrics accepts it (skipped when promtool is not installed: apt-get install prometheus)',
    async () => {
      const text = await fullExposition();
      const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(`${result.stdout}${result.stderr}`).toBe('');
      expect(result.status).toBe(0);
      const bad = readFileSync(new URL('./vectors/bad-exposition.prom', import.meta.url), 'utf8');
      const lines = bad
        .split('\n')
        .filter((line) => !line.startsWith('trinity_orphan') && !line.includes('twelve'));
      const rejected = spawnSync('promtool', ['check', 'metrics'], {
        input: lines.join('\n'),
        encoding: 'utf8',
      });
      expect(rejected.status).not.toBe(0);
    },
  );
});
