import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { ConfigError, ManualClock } from '@trinity/core';
import * as prom from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { lintExposition, type MetricsServer, PrometheusMetrics, startMetricsServer } from '../src/index.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(
  url: string,
  options: { method?: string; headers?: Record<string, string>; path?: string } = {},
) {
  const target = new URL(url);
  return new Promise<Reply>((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: options.path ?? target.pathname,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const servers: MetricsServer[] = [];
async function start(options: Partial<Parameters<typeof startMetricsServer>[0]> = {}) {
  const metrics = options.metrics ?? new PrometheusMetrics({ collectDefaultMetrics: false });
  const server = await startMetricsServer({ port: 0, ...options, metrics });
  servers.push(server);
  return { server, metrics };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('startMetricsServer', () => {
  it('serves GET /metrics in the Prometheus text format on a free port', async () => {
    const { server, metrics } = await start();
    metrics.gauge({ name: 'trinity_nodes', help: 'Nodes.' }).set(7);
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
    const reply = await get(server.url);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = reply.body.toString('utf8');
    expect(text).toContain('trinity_nodes 7\n');
    expect(lintExposition(text)).toEqual([]);
    expect((await get(server.url, { path: '/metrics?debug=1' })).status).toBe(200);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const { server } = await start();
    for (const path of ['/', '/metrics/', '/metricsx', '/favicon.ico']) {
      expect((await get(server.url, { path })).status).toBe(404);
    }
    const post = await get(server.url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const head = await get(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
  });

  it('regenerates at most once per cache TTL (virtual time)', async () => {
    const clock = new ManualClock(1_000);
    const { server, metrics } = await start({ clock, cacheTtlMs: 5_000 });
    const gauge = metrics.gauge({ name: 'trinity_level', help: 'Level.' });
    gauge.set(1);
    expect((await get(server.url)).body.toString()).toContain('trinity_level 1\n');
    gauge.set(2);
    clock.advance(4_999);
    expect((await get(server.url)).body.toString()).toContain('trinity_level 1\n');
    clock.advance(1);
    const fresh = (await get(server.url)).body.toString();
    expect(fresh).toContain('trinity_level 2\n');
    expect(fresh).toContain('trinity_metrics_cache_hits_total 1\n');
    expect(fresh).toContain('trinity_metrics_cache_misses_total 2\n');
  });

  it('regenerates on every scrape with a TTL of 0', async () => {
    const { server, metrics } = await start({ cacheTtlMs: 0 });
    const gauge = metrics.gauge({ name: 'trinity_level', help: 'Level.' });
    gauge.set(1);
    await get(server.url);
    gauge.set(2);
    expect((await get(server.url)).body.toString()).toContain('trinity_level 2\n');
  });

  it('shares one regeneration between concurrent scrapes', async () => {
    const metrics = new PrometheusMetrics({ collectDefaultMetrics: false });
    let collects = 0;
    new prom.Gauge({
      name: 'trinity_collects',
      help: 'Collect calls.',
      registers: [metrics.registry],
      collect() {
        collects++;
        this.set(collects);
      },
    });
    const { server } = await start({ metrics });
    const replies = await Promise.all(Array.from({ length: 8 }, () => get(server.url)));
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    expect(collects).toBe(1);
  });

  it('gzips for scrapers that accept it, and counts requests and bytes served', async () => {
    const { server, metrics } = await start();
    metrics.counter({ name: 'trinity_things_total', help: 'Things.' }).inc(5);
    const zipped = await get(server.url, { headers: { 'accept-encoding': 'gzip, deflate' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    const plain = await get(server.url);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    await get(server.url, { path: '/nope' });
    const text = await metrics.render();
    expect(text).toContain('trinity_metrics_http_requests_total{code="200"} 2');
    expect(text).toContain('trinity_metrics_http_requests_total{code="404"} 1');
    const served = Number(/trinity_metrics_served_bytes_total (\d+)/.exec(text)![1]);
    expect(served).toBe(zipped.body.length + plain.body.length);
  });

  it('answers 500 when rendering fails, and keeps serving', async () => {
    const metrics = new PrometheusMetrics({ collectDefaultMetrics: false });
    let fail = true;
    new prom.Gauge({
      name: 'trinity_flaky',
      help: 'Fails once.',
      registers: [metrics.registry],
      collect() {
        if (fail) {
          fail = false;
          throw new Error('collector broke');
        }
        this.set(1);
      },
    });
    const { server } = await start({ metrics, cacheTtlMs: 0 });
    expect((await get(server.url)).status).toBe(500);
    expect((await get(server.url)).status).toBe(200);
  });

  it('fails with a typed error when the port is taken, and frees the port on close', async () => {
    const { server } = await start();
    const metrics = new PrometheusMetrics({ collectDefaultMetrics: false });
    await expect(startMetricsServer({ metrics, port: server.port })).rejects.toMatchObject({
      code: 'METRICS_SERVER',
      message: expect.stringContaining('is in use'),
    });
    await server.close();
    await expect(get(server.url)).rejects.toThrow();
    const again = await startMetricsServer({ metrics, port: server.port });
    servers.push(again);
    expect(again.port).toBe(server.port);
  });

  it('validates its options', async () => {
    const metrics = new PrometheusMetrics({ collectDefaultMetrics: false });
    await expect(startMetricsServer({ metrics, port: 70_000 })).rejects.toThrow(ConfigError);
    await expect(startMetricsServer({ metrics, path: 'metrics' })).rejects.toThrow(ConfigError);
    await expect(startMetricsServer({ metrics, cacheTtlMs: -1 })).rejects.toThrow(ConfigError);
    await expect(startMetricsServer({ metrics: {} as PrometheusMetrics })).rejects.toThrow(TypeError);
  });
});
