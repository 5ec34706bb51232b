import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Clock, ConfigError, type Logger, type TimerHandle } from '@trinity/core';
import { isLoopbackHost } from '../config/config.js';
import { BadRequestError, ShuttingDownError } from '../errors.js';
import type { Startable } from '../startable.js';
import { loadOrCreateApiToken, readPem, tokenMatches } from '../stores/api-token.js';
import { errorStatus } from './error-status.js';
import {
  AuthInvalidError,
  AuthRequiredError,
  BodyTimeoutError,
  HostNotAllowedError,
  HttpRefusalError,
  OriginNotAllowedError,
  RateLimitedError,
  RequestTimeoutError,
} from './errors.js';
import { HostPolicy } from './guards.js';
import { ClientRateLimiter, clientKey } from './rate-limit.js';

/** One route's handler: returns a JSON-able value (sent with `status`), or writes the response itself. */
export type RouteHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  params: Record<string, string>,
  url: URL,
) => Promise<unknown>;

export interface Route {
  readonly method: string;
  /** `/v1/objects/:id`: `:name` segments become params. */
  readonly path: string;
  readonly handler: RouteHandler;
  /**
   * A GET route's answer to HEAD. Without one, HEAD runs `handler` and node:http drops the body
   * (same status and headers); a route whose body is costly to make (an object's bytes) gives one.
   */
  readonly head?: RouteHandler;
  readonly status?: number;
  /**
   * An object upload or download: it may take as long as its bytes keep moving, so only the body
   * idle timeout applies to it, not the request timeout.
   */
  readonly streaming?: boolean;
  /** Served without a token and whatever the `Host` (`GET /health`). */
  readonly open?: boolean;
}

type Found =
  | { kind: 'route'; route: Route; params: Record<string, string>; handler: RouteHandler }
  | { kind: 'method'; allow: string[] }
  | { kind: 'unknown' };

/** Marks a handler result as already written to the response. */
export const handled = Symbol('handled');

/** The params of `pathname` under `route`'s path, or undefined when the path does not match. */
function match(route: Route, pathname: string): Record<string, string> | undefined {
  const want = route.path.split('/');
  const got = pathname.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!;
    if (segment.startsWith(':')) params[segment.slice(1)] = decodeURIComponent(got[i]!);
    else if (segment !== got[i]) return undefined;
  }
  return params;
}

export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

export interface ApiServerInit {
  readonly host: string;
  readonly port: number;
  /** The bearer token file: read, or created (mode 0600) at start. */
  readonly tokenPath: string;
  /** Names besides the loopback ones a request's `Host` may carry (`name` or `name:port`). */
  readonly allowedHosts?: readonly string[];
  /** Web origins served with CORS headers; a request with another `Origin` is refused. */
  readonly corsOrigins?: readonly string[];
  /** PEM files: with both, the API is served over HTTPS. */
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
  /** Plain HTTP on a non-loopback address (a warning at start); without it, start refuses. */
  readonly insecureHttp?: boolean;
  readonly headersTimeoutMs?: number;
  readonly bodyIdleTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly maxConnections?: number;
  readonly rateLimit?: { readonly requestsPerSecond: number; readonly burst: number };
  /** How long a stop waits for requests in progress before cutting their connections. */
  readonly drainTimeoutMs?: number;
}

export interface ApiServerComponents {
  readonly routes: readonly Route[];
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The HTTP API's factory: `apiServer(init)(components)`. */
export function apiServer(init: ApiServerInit): (components: ApiServerComponents) => ApiServer {
  return (components) => new ApiServer(init, components);
}

/** Headers a browser may send cross-origin (answered in a preflight for an allowed origin). */
const corsAllowHeaders =
  'authorization, content-type, range, if-match, if-none-match, if-modified-since, if-unmodified-since';
/** Response headers a page of an allowed origin may read. */
const corsExposeHeaders =
  'etag, last-modified, content-length, content-range, accept-ranges, x-trinity-name, retry-after, www-authenticate';

/** The one-line reason phrases of the statuses written by hand to a socket. */
const reasons: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/**
 * A small JSON API server on node:http (or node:https): routes matched by method and path, every
 * error answered as JSON with a code and one-line message (4xx for the caller's mistakes), and a
 * drain for shutdown. Before any route runs, a request passes, in order: the per-address rate
 * limit, the `Host` check, the `Origin` check (CORS preflights are answered there) and the bearer
 * token; `GET /health` needs neither token nor a known `Host`. Bodies that stall are aborted.
 */
export class ApiServer implements Startable {
  readonly #init: ApiServerInit;
  readonly #routes: readonly Route[];
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #corsOrigins: ReadonlySet<string>;
  readonly #rateLimiter: ClientRateLimiter;
  readonly #bodyIdleTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  #server: Server | undefined;
  #hosts: HostPolicy | undefined;
  #token = '';
  #closing = false;
  #url = '';

  constructor(init: ApiServerInit, components: ApiServerComponents) {
    this.#init = init;
    this.#routes = components.routes;
    this.#clock = components.clock;
    this.#logger = components.logger;
    this.#corsOrigins = new Set(init.corsOrigins ?? []);
    this.#rateLimiter = new ClientRateLimiter(init.rateLimit ?? { requestsPerSecond: 100, burst: 200 });
    this.#bodyIdleTimeoutMs = init.bodyIdleTimeoutMs ?? 30_000;
    this.#requestTimeoutMs = init.requestTimeoutMs ?? 120_000;
  }

  /** `http://host:port` (or `https://`) once started; '' before. */
  get url(): string {
    return this.#url;
  }

  /** The bearer token requests must carry; '' before start. */
  get token(): string {
    return this.#token;
  }

  /** Where the token is kept. */
  get tokenPath(): string {
    return this.#init.tokenPath;
  }

  async start(): Promise<void> {
    const { host, tlsCertFile, tlsKeyFile } = this.#init;
    const tls = tlsCertFile !== undefined && tlsKeyFile !== undefined;
    if (!tls && !isLoopbackHost(host)) {
      if (!this.#init.insecureHttp) {
        throw new ConfigError(
          `the API on ${host} (not loopback) needs TLS (--tls-cert and --tls-key) or --insecure-http`,
          [{ path: 'api.host', rule: 'a non-loopback address needs TLS or insecureHttp', received: host }],
        );
      }
      this.#logger.warn(
        { host },
        'the HTTP API listens on a non-loopback address WITHOUT TLS (--insecure-http): the API token and every byte cross the network in the clear',
      );
    }
    this.#token = await loadOrCreateApiToken(this.#init.tokenPath);
    const options: ServerOptions = {
      headersTimeout: this.#init.headersTimeoutMs ?? 30_000,
      // Uploads and downloads of big objects take as long as they take: the body idle timeout and
      // the request timeout of non-streaming routes are enforced here, per request.
      requestTimeout: 0,
      keepAliveTimeout: 5_000,
      // How often node:http looks for connections past their headers timeout.
      connectionsCheckingInterval: 1_000,
    };
    const handler = (request: IncomingMessage, response: ServerResponse) =>
      void this.#handle(request, response);
    const server = tls
      ? createHttpsServer(
          {
            ...options,
            cert: await readPem(tlsCertFile, 'api.tlsCertFile'),
            key: await readPem(tlsKeyFile, 'api.tlsKeyFile'),
          },
          handler,
        )
      : createServer(options, handler);
    server.maxConnections = this.#init.maxConnections ?? 256;
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) =>
      this.#clientError(error, socket),
    );
    this.#server = server;
    this.#url = await this.#listen(server, host, this.#init.port, tls);
  }

  /** Stops taking requests and waits (at most `drainTimeoutMs`) for those in progress. */
  async stop(): Promise<void> {
    this.#closing = true;
    const server = this.#server;
    if (server === undefined || !server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = this.#clock.setTimeout(
      () => server.closeAllConnections(),
      this.#init.drainTimeoutMs ?? 10_000,
    );
    await closed;
    this.#clock.clearTimeout(timer);
  }

  async #listen(server: Server, host: string, port: number, tls: boolean): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    this.#hosts = new HostPolicy({
      boundHost: address.address,
      boundPort: address.port,
      defaultPort: tls ? 443 : 80,
      allowedHosts: this.#init.allowedHosts ?? [],
    });
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `${tls ? 'https' : 'http'}://${shownHost}:${address.port}`;
  }

  /**
   * A request node:http could not parse (headers too large, a malformed request line, headers
   * that took too long): answered with the API's JSON error shape, then the connection is closed.
   */
  #clientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    const busy = (socket as Duplex & { _httpMessage?: unknown })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || busy) {
      socket.destroy();
      return;
    }
    const [status, code, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', 'the request headers are larger than the node takes']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'HEADERS_TIMEOUT', 'the request headers did not arrive in time']
          : [400, 'BAD_REQUEST', 'malformed HTTP request'];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${reasons[status]}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const startedMs = this.#clock.nowMs();
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      if (!request.complete) response.setHeader('connection', 'close');
      sendJson(response, 400, { error: { code: 'BAD_REQUEST', message: 'malformed URL' } });
      return;
    }
    const stopTimers = this.#watch(request, response);
    try {
      if (this.#closing) throw new ShuttingDownError();
      const method = request.method ?? 'GET';
      const open = this.#isOpen(method, url.pathname);
      this.#admit(request, response, open);
      if (this.#preflight(request, response)) return;
      if (!open) this.#authenticate(request);
      const found = this.#find(method, url.pathname);
      if (found.kind === 'unknown') {
        sendJson(response, 404, {
          error: { code: 'NOT_FOUND', message: `no route for ${method} ${url.pathname}` },
        });
        return;
      }
      if (found.kind === 'method') {
        const allow = found.allow.join(', ');
        // The request's body is never read: close the connection rather than parse it as the next request.
        if (!request.complete) response.setHeader('connection', 'close');
        response.setHeader('allow', allow);
        sendJson(response, 405, {
          error: {
            code: 'METHOD_NOT_ALLOWED',
            message: `${method} is not allowed on ${url.pathname} (allowed: ${allow})`,
          },
        });
        return;
      }
      if (found.route.streaming !== true) stopTimers.add(this.#deadline(request, response));
      const result = await found.handler(request, response, found.params, url);
      if (result !== handled && !response.writableEnded)
        sendJson(response, found.route.status ?? 200, result);
    } catch (error) {
      const { status, code, message } = errorStatus(error);
      if (status >= 500)
        this.#logger.warn(
          { method: request.method, path: url.pathname, code, err: message },
          'request failed',
        );
      if (!response.headersSent) {
        // An unread request body would be taken for the next request on this connection: close it.
        if (!request.complete) response.setHeader('connection', 'close');
        if (error instanceof HttpRefusalError)
          for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
        sendJson(response, status, { error: { code, message } });
      } else if (!response.writableEnded)
        response.destroy(error instanceof Error ? error : new Error(message));
    } finally {
      for (const stop of stopTimers) stop();
      this.#logger.debug(
        {
          method: request.method,
          path: url.pathname,
          status: response.statusCode,
          ms: this.#clock.nowMs() - startedMs,
        },
        'http',
      );
    }
  }

  /** Whether `method` on `pathname` is an open route's (served without a token, whatever the Host). */
  #isOpen(method: string, pathname: string): boolean {
    if (method !== 'GET' && method !== 'HEAD') return false;
    return this.#routes.some(
      (route) => route.open === true && route.method === 'GET' && route.path === pathname,
    );
  }

  /**
   * The checks before any route: the client's rate, the `Host` (unless the route is open), the
   * `Origin`. CORS headers are set for an allowed origin.
   */
  #admit(request: IncomingMessage, response: ServerResponse, open: boolean): void {
    const client = clientKey(request.socket.remoteAddress ?? 'unknown');
    const waitMs = this.#rateLimiter.take(client, this.#clock.nowMs());
    if (waitMs > 0) throw new RateLimitedError(waitMs);
    if (!open && !this.#hosts!.allows(request.headers.host)) {
      throw new HostNotAllowedError(request.headers.host ?? '(none)');
    }
    const origin = request.headers.origin;
    if (origin === undefined) return;
    if (!this.#corsOrigins.has(origin)) throw new OriginNotAllowedError(origin);
    response.setHeader('access-control-allow-origin', origin);
    response.setHeader('access-control-expose-headers', corsExposeHeaders);
    response.setHeader('vary', 'Origin');
  }

  /** Answers a CORS preflight of an allowed origin (it carries no token); true when it did. */
  #preflight(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.method !== 'OPTIONS' || request.headers.origin === undefined) return false;
    if (request.headers['access-control-request-method'] === undefined) return false;
    response.writeHead(204, {
      'access-control-allow-methods': 'GET, HEAD, PUT, POST, DELETE',
      'access-control-allow-headers': corsAllowHeaders,
      'access-control-max-age': '600',
    });
    response.end();
    return true;
  }

  #authenticate(request: IncomingMessage): void {
    const header = request.headers.authorization;
    if (header === undefined) throw new AuthRequiredError();
    const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
    if (match === null || !tokenMatches(this.#token, match[1]!)) throw new AuthInvalidError();
  }

  /**
   * Watches the bytes of a request's body and of its response: a body the client stops sending,
   * or a response it stops reading, for `bodyIdleTimeoutMs` aborts the request. Its stream then
   * fails with BodyTimeoutError, so the handler's clean-up runs. Bytes waiting for the handler to
   * read them are the node's delay, not the client's, and never count as idle.
   */
  #watch(request: IncomingMessage, response: ServerResponse): Set<() => void> {
    const socket = request.socket as Socket;
    const idleMs = this.#bodyIdleTimeoutMs;
    const checkMs = Math.max(100, Math.min(1_000, Math.floor(idleMs / 4)));
    let lastRead = socket.bytesRead;
    let lastWritten = socket.bytesWritten;
    let movedMs = this.#clock.nowMs();
    let timer: TimerHandle | undefined;
    const check = () => {
      timer = undefined;
      if (response.writableFinished || socket.destroyed) return;
      const nowMs = this.#clock.nowMs();
      const waitingForClient =
        (!request.complete && request.readableLength === 0) || response.writableNeedDrain;
      if (socket.bytesRead !== lastRead || socket.bytesWritten !== lastWritten || !waitingForClient) {
        lastRead = socket.bytesRead;
        lastWritten = socket.bytesWritten;
        movedMs = nowMs;
      } else if (nowMs - movedMs >= idleMs) {
        this.#abort(request, response, new BodyTimeoutError(idleMs));
        return;
      }
      timer = this.#clock.setTimeout(check, checkMs);
    };
    timer = this.#clock.setTimeout(check, checkMs);
    const stop = () => {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
      timer = undefined;
    };
    response.once('close', stop);
    return new Set([stop]);
  }

  /** The request timeout of a route that is not an upload or download. */
  #deadline(request: IncomingMessage, response: ServerResponse): () => void {
    const timeoutMs = this.#requestTimeoutMs;
    const timer = this.#clock.setTimeout(
      () => this.#abort(request, response, new RequestTimeoutError(timeoutMs)),
      timeoutMs,
    );
    return () => this.#clock.clearTimeout(timer);
  }

  /**
   * Ends a request the node gives up on: its error is answered when nothing was sent yet, then the
   * request is destroyed, which fails the body stream the handler reads and closes the connection.
   */
  #abort(request: IncomingMessage, response: ServerResponse, error: HttpRefusalError): void {
    if (response.writableEnded) return;
    this.#logger.info(
      { method: request.method, path: request.url?.slice(0, 200), code: error.code },
      'request aborted',
    );
    if (!response.headersSent) {
      response.setHeader('connection', 'close');
      sendJson(response, error.status, { error: { code: error.code, message: error.message } });
    }
    request.destroy(error);
    response.destroy(error);
  }

  /**
   * The route for `method` on `pathname`: HEAD is served by a GET route. A path some route has
   * but not for this method is answered with 405 and the methods it allows; any other with 404.
   */
  #find(method: string, pathname: string): Found {
    const allowed = new Set<string>();
    for (const route of this.#routes) {
      let params: Record<string, string> | undefined;
      try {
        params = match(route, pathname);
      } catch {
        throw new BadRequestError('malformed path');
      }
      if (params === undefined) continue;
      if (route.method === method) return { kind: 'route', route, params, handler: route.handler };
      if (method === 'HEAD' && route.method === 'GET') {
        return { kind: 'route', route, params, handler: route.head ?? route.handler };
      }
      allowed.add(route.method);
      if (route.method === 'GET') allowed.add('HEAD');
    }
    return allowed.size === 0 ? { kind: 'unknown' } : { kind: 'method', allow: [...allowed].sort() };
  }
}
