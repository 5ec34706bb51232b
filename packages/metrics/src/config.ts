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

/**
 * How a node exposes its metrics (`metricsConfigSchema`), taken by `startMetricsServer` and
 * `PrometheusMetrics`. Every field is optional.
 */
export interface MetricsConfigInput {
  /**
   * Serve GET /metrics (the daemon's --prometheus-http).
   * @defaultValue false
   */
  readonly enabled?: boolean | undefined;
  /**
   * Listen address, 1 to 255 characters; 0.0.0.0 or :: lets a remote Prometheus scrape.
   * @defaultValue '127.0.0.1'
   */
  readonly host?: string | undefined;
  /**
   * Listen port, 0 to 65,535 (0 picks a free one). Pick another if a Prometheus server runs on this host.
   * @defaultValue 9090
   */
  readonly port?: number | undefined;
  /**
   * The path served, starting with / and at most 128 URL-safe characters; every other path is a 404.
   * @defaultValue '/metrics'
   */
  readonly path?: string | undefined;
  /**
   * The exposition is regenerated at most this often, 0 to 300,000 ms; 0 regenerates on every scrape.
   * @defaultValue 5_000 (5 s)
   */
  readonly cacheTtlMs?: number | undefined;
  /**
   * Also export prom-client's process_* and nodejs_* metrics.
   * @defaultValue true
   */
  readonly collectDefaultMetrics?: boolean | undefined;
  /**
   * Label combinations kept per metric, 1 to 1,000,000; new ones beyond it are dropped and counted.
   * @defaultValue 10_000
   */
  readonly maxSeriesPerMetric?: number | undefined;
  /**
   * Every metric registered through PrometheusMetrics must start with this: empty, or snake_case
   * ending in `_`.
   * @defaultValue 'trinity_'
   */
  readonly namePrefix?: string | undefined;
  /**
   * Concurrent connections to the listener at most, 1 to 10,000.
   * @defaultValue 64
   */
  readonly maxConnections?: number | undefined;
  /**
   * A request must be complete within this time, 100 to 120,000 ms.
   * @defaultValue 10_000 (10 s)
   */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * Gzip the body for scrapers that accept it (Prometheus does).
   * @defaultValue true
   */
  readonly gzip?: boolean | undefined;
}

/** The parsed settings: `MetricsConfigInput` with every default filled in (documentation kept). */
export type MetricsConfig = {
  readonly [K in keyof MetricsConfigInput]-?: Exclude<MetricsConfigInput[K], undefined>;
};
