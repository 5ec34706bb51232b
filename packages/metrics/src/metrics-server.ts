import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { type Clock, type Logger, noopLogger, parseConfig, SystemClock } from '@trinity/core';
import { type MetricsConfigInput, metricsConfigSchema } from './config.js';
import { MetricsServerError } from './errors.js';
import { PrometheusMetrics } from './prometheus-metrics.js';

export interface MetricsServerOptions
  extends Pick<
    MetricsConfigInput,
    'host' | 'port' | 'path' | 'cacheTtlMs' | 'maxConnections' | 'requestTimeoutMs' | 'gzip'
  > {
  /** What to serve; self-monitoring metrics are added to it. */
  readonly metrics: PrometheusMetrics;
  /** Time for the cache (default: the system clock). */
  readonly clock?: Clock;
  readonly logger?: Logger;
}

export interface MetricsServer {
  /** e.g. `http://127.0.0.1:9090/metrics`. */
  readonly url: string;
  readonly host: string;
  /** The bound port (the one picked when 0 was asked for). */
  readonly port: number;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

interface Cached {
  readonly body: Buffer;
  gzipped: Buffer | undefined;
  readonly generatedAtMs: number;
}

/**
 * Serves GET (and HEAD) `path` in the Prometheus text exposition format, regenerated at most every
 * `cacheTtlMs` (concurrent scrapes share one regeneration), gzipped when the scraper accepts it; 404
 * for any other path, 405 for other methods. Counts its own requests, cache hits and misses, bytes
 * served and render time. Port 0 picks a free port.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { metrics, clock = new SystemClock(), logger = noopLogger, ...rest } = options;
  if (!(metrics instanceof PrometheusMetrics)) throw new TypeError('metrics must be a PrometheusMetrics');
  const config = parseConfig(metricsConfigSchema, rest, 'metrics server config');
  const self = selfMetrics(metrics);
  const cache = new _PageCache(metrics, clock, config.cacheTtlMs, self);
  const handle = (request: IncomingMessage, response: ServerResponse) =>
    serve(request, response, {
      cache,
      path: config.path,
      gzip: config.gzip,
      self,
      contentType: metrics.contentType,
    });

  const server = createServer(
    { maxHeaderSize: 16_384, requestTimeout: config.requestTimeoutMs },
    (request, response) => {
      handle(request, response)
        .catch((error: unknown) => {
          logger.error({ err: error }, 'metrics: rendering failed');
          if (!response.headersSent) reply(response, 500, 'metrics unavailable\n');
          else response.destroy();
        })
        .finally(() => self.requests.inc(1, { code: String(response.statusCode) }));
    },
  );
  server.maxConnections = config.maxConnections;
  server.headersTimeout = Math.min(config.requestTimeoutMs, 60_000);
  server.keepAliveTimeout = 5_000;
  await listen(server, config.host, config.port);
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  logger.info({ host: config.host, port, path: config.path }, 'metrics: listening');
  return {
    url: `http://${hostInUrl}:${port}${config.path}`,
    host: config.host,
    port,
    close: () => closeServer(server),
  };
}

type SelfMetrics = ReturnType<typeof selfMetrics>;

/** Answers one request: the cached page on GET/HEAD of `path`, 404 elsewhere, 405 for other methods. */
async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  context: { cache: _PageCache; path: string; gzip: boolean; self: SelfMetrics; contentType: string },
): Promise<void> {
  request.resume();
  const path = (request.url ?? '').split('?')[0];
  if (path !== context.path) return reply(response, 404, 'not found\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return reply(response, 405, 'method not allowed\n');
  }
  const page = await context.cache.current();
  const gzip = context.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  if (gzip) page.gzipped ??= gzipSync(page.body);
  const body = gzip ? page.gzipped! : page.body;
  response.setHeader('Content-Type', context.contentType);
  response.setHeader('Vary', 'Accept-Encoding');
  if (gzip) response.setHeader('Content-Encoding', 'gzip');
  response.setHeader('Content-Length', body.length);
  response.writeHead(200);
  response.end(request.method === 'HEAD' ? undefined : body);
  if (request.method !== 'HEAD') context.self.servedBytes.inc(body.length);
}

function reply(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}

/**
 * The rendered page, kept for `ttlMs` by the injected clock (a clock that went backwards expires it);
 * a regeneration in flight is shared by every request that arrives meanwhile.
 */
class _PageCache {
  #cached: Cached | undefined;
  #pending: Promise<Cached> | undefined;

  constructor(
    readonly metrics: PrometheusMetrics,
    readonly clock: Clock,
    readonly ttlMs: number,
    readonly self: SelfMetrics,
  ) {}

  async current(): Promise<Cached> {
    const nowMs = this.clock.nowMs();
    const cached = this.#cached;
    if (cached !== undefined && nowMs - cached.generatedAtMs < this.ttlMs && nowMs >= cached.generatedAtMs) {
      this.self.cacheHits.inc();
      return cached;
    }
    this.self.cacheMisses.inc();
    this.#pending ??= this.#render().finally(() => {
      this.#pending = undefined;
    });
    this.#cached = await this.#pending;
    return this.#cached;
  }

  async #render(): Promise<Cached> {
    const startMs = performance.now();
    const body = Buffer.from(await this.metrics.render(), 'utf8');
    this.self.renderSeconds.set((performance.now() - startMs) / 1_000);
    return { body, gzipped: undefined, generatedAtMs: this.clock.nowMs() };
  }
}

function selfMetrics(metrics: PrometheusMetrics) {
  const prefix = `${metrics.namePrefix}metrics_`;
  return {
    requests: metrics.counter({
      name: `${prefix}http_requests_total`,
      help: 'Requests to the metrics listener, by HTTP status.',
      labelNames: ['code'],
    }),
    cacheHits: metrics.counter({
      name: `${prefix}cache_hits_total`,
      help: 'Scrapes answered from the cache.',
    }),
    cacheMisses: metrics.counter({
      name: `${prefix}cache_misses_total`,
      help: 'Scrapes that regenerated the page.',
    }),
    servedBytes: metrics.counter({
      name: `${prefix}served_bytes_total`,
      help: 'Bytes of metrics pages sent.',
    }),
    renderSeconds: metrics.gauge({
      name: `${prefix}render_seconds`,
      help: 'Time the last regeneration took.',
    }),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const why =
        error.code === 'EADDRINUSE' ? 'is in use' : `cannot be bound (${error.code ?? error.message})`;
      reject(
        new MetricsServerError(`metrics listener ${host}:${port} ${why}`, {
          cause: error,
          details: { host, port },
        }),
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
