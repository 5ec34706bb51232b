import { Agent, request } from 'node:http';
import * as prom from 'prom-client';
import { PrometheusMetrics, registerTrinityMetrics, startMetricsServer } from '../src/index.js';

/**
 * Recording cost (our checked wrapper vs prom-client called directly), rendering a node's page with
 * N labelled series, and scrapes per second over loopback with the 5 s cache and without it.
 */
interface Row {
  bench: string;
  impl: string;
  params: Record<string, number | string>;
  value: number;
  unit: string;
}

const json = process.argv.includes('--json');

function opsPerSecond(fn: (i: number) => void, minMs = 300): number {
  for (let i = 0; i < 1_000; i++) fn(i);
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) for (let i = 0; i < 1_000; i++) fn(calls++);
  return (calls / (performance.now() - start)) * 1_000;
}

async function recordBench(): Promise<Row[]> {
  const ours = new PrometheusMetrics({ collectDefaultMetrics: false });
  const oursCounter = ours.counter({ name: 'trinity_bench_total', help: 'Bench.', labelNames: ['peer'] });
  const registry = new prom.Registry();
  const raw = new prom.Counter({
    name: 'trinity_bench_total',
    help: 'Bench.',
    labelNames: ['peer'],
    registers: [registry],
  });
  const peers = Array.from({ length: 100 }, (_, i) => ({
    peer: `peer-${i.toString(36)}-${Math.random().toString(36).slice(2)}`,
  }));
  const params = { labels: 1, series: 100 };
  return [
    {
      bench: 'counter inc',
      impl: '@trinity/metrics',
      params,
      value: opsPerSecond((i) => oursCounter.inc(1, peers[i % 100])),
      unit: 'ops/s',
    },
    {
      bench: 'counter inc',
      impl: 'prom-client',
      params,
      value: opsPerSecond((i) => raw.inc(peers[i % 100]!, 1)),
      unit: 'ops/s',
    },
  ];
}

async function renderBench(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const series of [100, 1_000, 10_000]) {
    const metrics = new PrometheusMetrics({ maxSeriesPerMetric: 100_000 });
    const node = registerTrinityMetrics(metrics);
    for (let i = 0; i < series; i++) node.regionNodes.set(Math.random() * 100, { region: `r${i}` });
    node.txDurationSeconds.observe(Math.random());
    let renders = 0;
    const start = performance.now();
    while (performance.now() - start < 500) {
      await metrics.render();
      renders++;
    }
    rows.push({
      bench: 'render page',
      impl: '@trinity/metrics',
      params: { series },
      value: (performance.now() - start) / renders,
      unit: 'ms',
    });
  }
  return rows;
}

function scrape(port: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serveBench(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const cacheTtlMs of [5_000, 0]) {
    const metrics = new PrometheusMetrics();
    const node = registerTrinityMetrics(metrics);
    for (let i = 0; i < 1_000; i++) node.regionNodes.set(i, { region: `r${i}` });
    const server = await startMetricsServer({ metrics, port: 0, cacheTtlMs, maxConnections: 1_000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    let done = 0;
    const start = performance.now();
    // Bounded: 8 concurrent scrapers for one second, loopback only.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() - start < 1_000) {
          if ((await scrape(server.port, agent)) !== 200) throw new Error('scrape failed');
          done++;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1_000;
    agent.destroy();
    await server.close();
    const impl = cacheTtlMs > 0 ? '@trinity/metrics, 5 s cache' : '@trinity/metrics, no cache';
    rows.push({
      bench: 'scrape /metrics',
      impl,
      params: { series: 1_000, clients: 8 },
      value: done / seconds,
      unit: 'req/s',
    });
  }
  return rows;
}

const rows = [...(await recordBench()), ...(await renderBench()), ...(await serveBench())];
if (json) for (const row of rows) console.log(JSON.stringify(row));
else {
  console.log('| bench | impl | params | value | unit |\n|---|---|---|---|---|');
  for (const row of rows) {
    const params = Object.entries(row.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const value = row.value >= 100 ? row.value.toFixed(0) : row.value.toPrecision(3);
    console.log(`| ${row.bench} | ${row.impl} | ${params} | ${value} | ${row.unit} |`);
  }
}
