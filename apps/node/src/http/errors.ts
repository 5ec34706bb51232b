import { NodeError } from '../errors.js';

/** An HTTP refusal that carries headers of its own (`WWW-Authenticate`, `Retry-After`). */
export class HttpRefusalError extends NodeError {
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: string, message: string, status: number, headers: Record<string, string> = {}) {
    super(code, message, status);
    this.headers = headers;
  }
}

/** No `Authorization: Bearer` header on a route that needs one. */
export class AuthRequiredError extends HttpRefusalError {
  constructor() {
    super(
      'AUTH_REQUIRED',
      'this API needs "Authorization: Bearer <token>" (the node\'s api-token file)',
      401,
      {
        'www-authenticate': 'Bearer realm="trinity"',
      },
    );
  }
}

/** A bearer token that is not the node's. */
export class AuthInvalidError extends HttpRefusalError {
  constructor() {
    super('AUTH_INVALID', "the bearer token is not this node's API token", 401, {
      'www-authenticate': 'Bearer realm="trinity", error="invalid_token"',
    });
  }
}

/** A `Host` that is none of the node's names: DNS rebinding, or a misdirected request. */
export class HostNotAllowedError extends HttpRefusalError {
  constructor(host: string) {
    super(
      'HOST_NOT_ALLOWED',
      `Host "${host.slice(0, 100)}" is not a name of this node (config api.allowedHosts)`,
      421,
    );
  }
}

/** A browser request from a web origin not in `api.corsOrigins`. */
export class OriginNotAllowedError extends HttpRefusalError {
  constructor(origin: string) {
    super(
      'ORIGIN_NOT_ALLOWED',
      `requests from origin "${origin.slice(0, 100)}" are refused (config api.corsOrigins)`,
      403,
    );
  }
}

/** A client over its request rate. */
export class RateLimitedError extends HttpRefusalError {
  constructor(retryAfterMs: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super('RATE_LIMITED', `too many requests from this address; retry in ${seconds} s`, 429, {
      'retry-after': String(seconds),
    });
  }
}

/** A request (or response) body that moved no byte for too long. */
export class BodyTimeoutError extends HttpRefusalError {
  constructor(idleMs: number) {
    super('BODY_TIMEOUT', `the body moved no byte for ${idleMs} ms; request aborted`, 408);
  }
}

/** A request that took longer than the node's request timeout. */
export class RequestTimeoutError extends HttpRefusalError {
  constructor(timeoutMs: number) {
    super('REQUEST_TIMEOUT', `the request took longer than ${timeoutMs} ms`, 503);
  }
}

/** An object name the API does not take. */
export class InvalidNameError extends HttpRefusalError {
  constructor(message: string) {
    super('INVALID_NAME', message, 400);
  }
}
