import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PrometheusMetrics, registerTrinityMetrics, startMetricsServer } from '../src/index.js';

const probe = spawnSync('prometheus', ['--version']);
const hasPrometheus = probe.error === undefined && probe.status === 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function query(
  apiPort: number,
  promql: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const url = `http://127.0.0.1:${apiPort}/api/v1/query?query=${encodeURIComponent(promql)}`;
  const body = (await (await fetch(url)).json()) as { data?: { result?: [] } };
  return body.data?.result ?? [];
}

/** Undone after the file, last first, even when the test failed: Prometheus, its temp dir, our server. */
const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

/** Prometheus starts (Go, a fresh TSDB) and scrapes every second; on a busy machine starting alone can take
 * tens of seconds, so the waits below are bounded by attempts that add up to minutes, not seconds. */
const POLL_MS = 250;

describe('a real Prometheus server', () => {
  it.skipIf(!hasPrometheus)(
    'scrapes /metrics and stores the samples (skipped when prometheus is not installed: apt-get install prometheus)',
    async () => {
      const metrics = new PrometheusMetrics();
      const node = registerTrinityMetrics(metrics);
      node.nodes.set(42);
      node.routeDecisions.inc(3, { locality: 'near' });
      const server = await startMetricsServer({ metrics, port: 0, cacheTtlMs: 500 });
      cleanup.push(() => server.close());
      const dir = mkdtempSync(join(tmpdir(), 'trinity-prometheus-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const config = join(dir, 'prometheus.yml');
      writeFileSync(
        config,
        `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: trinity\n    static_configs:\n      - targets: ['127.0.0.1:${server.port}']\n`,
      );
      const apiPort = await freePort();
      const child: ChildProcess = spawn(
        'prometheus',
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${apiPort}`,
          '--log.level=warn',
        ],
        { stdio: 'ignore' },
      );
      cleanup.push(
        () =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
            child.once('exit', resolve);
            child.kill('SIGKILL');
          }),
      );
      // Bounded wait: at most 2 minutes for Prometheus to start and store its first scrape.
      let nodes: Awaited<ReturnType<typeof query>> = [];
      for (let attempt = 0; attempt < 480 && nodes.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        nodes = await query(apiPort, 'trinity_nodes').catch(() => []);
      }
      expect(nodes[0]?.value[1]).toBe('42');
      const up = await query(apiPort, 'up{job="trinity"}');
      expect(up[0]?.value[1]).toBe('1');
      const routed = await query(apiPort, 'trinity_route_decisions_total');
      expect(routed[0]).toMatchObject({ metric: { locality: 'near' }, value: [expect.any(Number), '3'] });
      // The listener counts each scrape after answering it, so the count shows from the next page on.
      let scrapes: Awaited<ReturnType<typeof query>> = [];
      for (let attempt = 0; attempt < 240 && scrapes.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        scrapes = await query(apiPort, 'trinity_metrics_http_requests_total{code="200"}');
      }
      expect(Number(scrapes[0]?.value[1])).toBeGreaterThanOrEqual(1);
    },
    240_000,
  );
});
