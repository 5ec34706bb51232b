import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock, Logger } from '@trinity/core';
import { BadRequestError, ShuttingDownError } from '../errors.js';
import type { Startable } from '../startable.js';
import { errorStatus } from './error-status.js';

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

/**
 * A small JSON API server on node:http: routes matched by method and path, every error answered as
 * JSON with a code and one-line message (4xx for the caller's mistakes), and a drain for shutdown.
 */
export class ApiServer implements Startable {
  readonly #init: ApiServerInit;
  readonly #routes: readonly Route[];
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #server: Server;
  #closing = false;
  #url = '';

  constructor(init: ApiServerInit, components: ApiServerComponents) {
    this.#init = init;
    this.#routes = components.routes;
    this.#clock = components.clock;
    this.#logger = components.logger;
    this.#server = createServer((request, response) => void this.#handle(request, response));
    this.#server.headersTimeout = 30_000;
    this.#server.requestTimeout = 0; // uploads and downloads of big objects take as long as they take
    this.#server.keepAliveTimeout = 5_000;
  }

  /** `http://host:port` once started; '' before. */
  get url(): string {
    return this.#url;
  }

  async start(): Promise<void> {
    this.#url = await this.#listen(this.#init.host, this.#init.port);
  }

  /** Stops taking requests and waits (at most `drainTimeoutMs`) for those in progress. */
  async stop(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = this.#clock.setTimeout(
      () => this.#server.closeAllConnections(),
      this.#init.drainTimeoutMs ?? 10_000,
    );
    await closed;
    this.#clock.clearTimeout(timer);
  }

  async #listen(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${shownHost}:${address.port}`;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const startedMs = this.#clock.nowMs();
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      sendJson(response, 400, { error: { code: 'BAD_REQUEST', message: 'malformed URL' } });
      return;
    }
    try {
      if (this.#closing) throw new ShuttingDownError();
      const method = request.method ?? 'GET';
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
      const result = await found.handler(request, response, found.params, url);
      if (result !== handled) sendJson(response, found.route.status ?? 200, result);
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
        sendJson(response, status, { error: { code, message } });
      } else response.destroy(error instanceof Error ? error : new Error(message));
    } finally {
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
