import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TRINITY_METRICS } from '../src/index.js';

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string }[];
}

const dashboard = JSON.parse(readFileSync(new URL('../grafana/dashboard.json', import.meta.url), 'utf8')) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string }[] };
};
const expressions = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
const kinds = new Map<string, string>(Object.values(TRINITY_METRICS).map((d) => [d.name, d.kind]));
for (const name of ['http_requests', 'cache_hits', 'cache_misses', 'served_bytes', 'series_dropped']) {
  kinds.set(`trinity_metrics_${name}_total`, 'counter');
}
kinds.set('trinity_metrics_render_seconds', 'gauge');
kinds.set('process_resident_memory_bytes', 'gauge');
kinds.set('process_cpu_seconds_total', 'counter');

const promtool = spawnSync('promtool', ['--version']);
const hasPromtool = promtool.error === undefined && promtool.status === 0;

describe('the Grafana dashboard', () => {
  it('is a dashboard with a data source and node variables, every panel on that data source', () => {
    expect(dashboard.uid).toBe('trinity-nodes');
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'job', 'instance']);
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource?.uid, panel.title).toBe(`\${datasource}`);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
  });

  it('queries only metrics we export, counters through rate/increase and histograms through their buckets', () => {
    for (const expr of expressions) {
      for (const match of expr.matchAll(/\b((?:trinity|process)_[a-z0-9_]+)(\{|\[|\))/g)) {
        const series = match[1]!;
        const base = series.replace(/_bucket$/, '');
        const kind = kinds.get(base);
        expect(kind, `${series} in ${expr}`).toBeDefined();
        if (kind === 'histogram') expect(series, expr).toMatch(/_bucket$/);
        if (kind === 'counter') {
          const before = expr.slice(0, match.index);
          expect(before, `${series} must be rated in ${expr}`).toMatch(/(rate|increase)\($/);
        }
      }
    }
  });

  it('shows every trinity_* metric somewhere', () => {
    const all = expressions.join('\n');
    for (const definition of Object.values(TRINITY_METRICS))
      expect(all, definition.name).toContain(definition.name);
  });

  it.skipIf(!hasPromtool)('has PromQL that promtool parses (skipped when promtool is not installed)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trinity-dashboard-'));
    try {
      const rules = expressions.map((expr, i) => {
        const concrete = expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*');
        return `      - record: trinity:panel_${i}\n        expr: ${JSON.stringify(concrete)}`;
      });
      const file = join(dir, 'rules.yml');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
      const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the devnet Prometheus config', () => {
  const config = fileURLToPath(new URL('../prometheus/devnet.yml', import.meta.url));

  it('scrapes /metrics of loopback targets', () => {
    const text = readFileSync(config, 'utf8');
    expect(text).toContain('metrics_path: /metrics');
    expect(text).toMatch(/- 127\.0\.0\.1:\d+/);
  });

  it.skipIf(!hasPromtool)(
    'is valid for promtool check config (skipped when promtool is not installed)',
    () => {
      const result = spawnSync('promtool', ['check', 'config', config], { encoding: 'utf8' });
      expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    },
  );
});
