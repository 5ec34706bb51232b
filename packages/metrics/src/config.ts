import { z } from 'zod';

/** How a node exposes its metrics (the daemon's --prometheus-http and --prometheus-http-port). */
export const metricsConfigSchema = z
  .object({
    /** Serve GET /metrics (the seed's --prometheus-http). */
    enabled: z.boolean().default(false),
    /** Listen address; loopback by default, 0.0.0.0 or :: to let a remote Prometheus scrape. */
    host: z.string().min(1).max(255).default('127.0.0.1'),
    /** Listen port (the seed's 9090; 0 picks a free one). Pick another if a Prometheus server runs on this host. */
    port: z.number().int().min(0).max(65_535).default(9090),
    /** The path served; every other path is a 404. */
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]{0,127}$/, 'a path starting with / of at most 128 URL-safe characters')
      .default('/metrics'),
    /** The exposition is regenerated at most this often (seed: 5 s); 0 regenerates on every scrape. */
    cacheTtlMs: z.number().int().min(0).max(300_000).default(5_000),
    /** Also export prom-client's process_* and nodejs_* metrics. */
    collectDefaultMetrics: z.boolean().default(true),
    /** Label combinations kept per metric; new ones beyond it are dropped and counted. */
    maxSeriesPerMetric: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Every metric registered through PrometheusMetrics must start with this. */
    namePrefix: z
      .string()
      .regex(/^([a-z][a-z0-9_]*_)?$/, 'empty or snake_case ending in _')
      .default('trinity_'),
    /** Concurrent connections to the listener at most. */
    maxConnections: z.number().int().min(1).max(10_000).default(64),
    /** A request must be complete within this time. */
    requestTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** Gzip the body for scrapers that accept it (Prometheus does). */
    gzip: z.boolean().default(true),
  })
  .strict();

export type MetricsConfig = z.output<typeof metricsConfigSchema>;
export type MetricsConfigInput = z.input<typeof metricsConfigSchema>;
