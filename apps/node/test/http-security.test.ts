import '../src/polyfill.js';
import { execFile, execFileSync } from 'node:child_process';
import { chmod, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ConfigError, MemoryLogger, SystemClock } from '@trinity/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostPolicy, parseHostHeader } from '../src/http/guards.js';
import { ClientRateLimiter, clientKey } from '../src/http/rate-limit.js';
import { type ApiServer, type ApiServerInit, apiServer, handled, type Route } from '../src/http/server.js';
import { loadOrCreateApiToken, tokenMatches } from '../src/stores/api-token.js';
import { cliPath, tempDir, until } from './helpers.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/** One request with full control of its headers (fetch will not send a foreign Host). */
function send(
  url: string,
  options: {
    method?: string;
    path?: string;
    headers?: Record<string, string | number>;
    body?: string | Buffer;
    ca?: Buffer;
  } = {},
): Promise<Answer> {
  const base = new URL(url);
  const request = base.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: options.headers ?? {},
        ...(options.ca === undefined ? {} : { ca: options.ca, servername: 'localhost' }),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = {};
          try {
            json = text === '' ? {} : JSON.parse(text);
          } catch {
            json = {};
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Routes that say what reached them: the checks under test run before any of these. */
function testRoutes(log: { calls: string[]; uploadErrors: unknown[] }): Route[] {
  return [
    { method: 'GET', path: '/health', open: true, handler: async () => ({ ok: true }) },
    {
      method: 'GET',
      path: '/v1/echo',
      handler: async () => {
        log.calls.push('GET /v1/echo');
        return { echoed: true };
      },
    },
    {
      method: 'POST',
      path: '/v1/echo',
      handler: async (request) => {
        log.calls.push('POST /v1/echo');
        let bytes = 0;
        for await (const chunk of request as AsyncIterable<Buffer>) bytes += chunk.length;
        return { bytes };
      },
    },
    {
      method: 'PUT',
      path: '/v1/upload',
      streaming: true,
      handler: async (request, response) => {
        log.calls.push('PUT /v1/upload');
        try {
          let bytes = 0;
          for await (const chunk of request as AsyncIterable<Buffer>) bytes += chunk.length;
          response.writeHead(201, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ bytes }));
          return handled;
        } catch (error) {
          // What an upload's clean-up sees: the body stream failed.
          log.uploadErrors.push(error);
          throw error;
        }
      },
    },
    {
      method: 'GET',
      path: '/v1/big',
      streaming: true,
      handler: async (_request, response) => {
        // 256 MiB in 1 MiB writes, each waiting for 'drain': far more than socket buffers hold.
        response.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': 256 * 1024 * 1024,
        });
        const chunk = Buffer.alloc(1024 * 1024);
        try {
          for (let i = 0; i < 256; i++) {
            if (!response.write(chunk))
              await new Promise<void>((resolve, reject) => {
                response.once('drain', resolve);
                response.once('close', () => reject(new Error('closed')));
              });
          }
          response.end();
        } catch (error) {
          log.uploadErrors.push(error);
        }
        return handled;
      },
    },
    {
      method: 'GET',
      path: '/v1/objects',
      handler: async () => ({ objects: [{ id: 'ab'.repeat(32), size: 5, name: 'listed.txt' }] }),
    },
    {
      method: 'GET',
      path: '/v1/never',
      handler: () => new Promise(() => {}),
    },
  ];
}

async function startServer(
  dir: string,
  init: Partial<ApiServerInit> = {},
): Promise<{ server: ApiServer; log: { calls: string[]; uploadErrors: unknown[] }; logger: MemoryLogger }> {
  const log = { calls: [] as string[], uploadErrors: [] as unknown[] };
  const logger = new MemoryLogger();
  const server = apiServer({ host: '127.0.0.1', port: 0, tokenPath: join(dir, 'api-token'), ...init })({
    routes: testRoutes(log),
    clock: new SystemClock(),
    logger,
  });
  await server.start();
  return { server, log, logger };
}

describe('API token file', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('trinity-token-');
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('is created at first start with mode 0600 and 64 hex characters, and reused after', async () => {
    const path = join(dir.path, 'fresh-token');
    const token = await loadOrCreateApiToken(path);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(await readFile(path, 'utf8')).toBe(`${token}\n`);
    if (process.platform !== 'win32') expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateApiToken(path)).toBe(token);
    expect(await loadOrCreateApiToken(join(dir.path, 'other-token'))).not.toBe(token);
  });

  it.skipIf(process.platform === 'win32')(
    'refuses a file others can read, of the wrong shape, or a link',
    async () => {
      const loose = join(dir.path, 'loose-token');
      await writeFile(loose, `${'a'.repeat(64)}\n`, { mode: 0o644 });
      await chmod(loose, 0o644);
      const error = await loadOrCreateApiToken(loose).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/readable by its owner only \(chmod 600/);
      // The file was not touched: a refusal changes nothing.
      expect((await stat(loose)).mode & 0o777).toBe(0o644);

      for (const text of ['', 'short\n', `${'A'.repeat(64)}\n`, `${'a'.repeat(64)}\n\n`, 'x'.repeat(300)]) {
        const bad = join(dir.path, `bad-${text.length}-${text.charCodeAt(0) || 0}`);
        await writeFile(bad, text, { mode: 0o600 });
        await expect(loadOrCreateApiToken(bad), JSON.stringify(text.slice(0, 10))).rejects.toThrow(
          /must hold 64 hex characters/,
        );
      }
      const target = join(dir.path, 'target-token');
      await writeFile(target, `${'b'.repeat(64)}\n`, { mode: 0o600 });
      const link = join(dir.path, 'link-token');
      await symlink(target, link);
      await expect(loadOrCreateApiToken(link)).rejects.toThrow(/must be a regular file/);
    },
  );

  it('compares tokens by digest: equal only when equal, whatever the lengths', () => {
    const token = 'c'.repeat(64);
    expect(tokenMatches(token, token)).toBe(true);
    expect(tokenMatches(token, `${token}c`)).toBe(false);
    expect(tokenMatches(token, 'c'.repeat(63))).toBe(false);
    expect(tokenMatches(token, '')).toBe(false);
    expect(tokenMatches(token, `d${'c'.repeat(63)}`)).toBe(false);
  });
});

describe('Host and rate-limit policies', () => {
  it('parses Host headers and refuses malformed ones', () => {
    expect(parseHostHeader('LocalHost:7070')).toEqual({ name: 'localhost', port: 7070 });
    expect(parseHostHeader('[::1]:80')).toEqual({ name: '[::1]', port: 80 });
    expect(parseHostHeader('node.example.com.')).toEqual({ name: 'node.example.com', port: undefined });
    for (const bad of ['', ':80', 'a:b', 'a:99999', '::1', 'a b', 'x:1:2'])
      expect(parseHostHeader(bad), bad).toBe(undefined);
  });

  it('answers to loopback names at the bound port and to configured names', () => {
    const policy = new HostPolicy({
      boundHost: '0.0.0.0',
      boundPort: 7070,
      defaultPort: 80,
      allowedHosts: ['node.example.com', 'proxy.example.com:443'],
    });
    for (const ok of [
      'localhost:7070',
      '127.0.0.1:7070',
      '[::1]:7070',
      'node.example.com',
      'node.example.com:1',
      'proxy.example.com:443',
    ])
      expect(policy.allows(ok), ok).toBe(true);
    for (const no of [
      undefined,
      'evil.example',
      'evil.example:7070',
      'localhost:7071',
      'localhost',
      '0.0.0.0:7070',
      'proxy.example.com',
      'proxy.example.com:80',
      'node.example.com.evil.example',
    ])
      expect(policy.allows(no), String(no)).toBe(false);
    // A node bound to a specific address answers to it, too.
    expect(
      new HostPolicy({ boundHost: '10.0.0.2', boundPort: 443, defaultPort: 443, allowedHosts: [] }).allows(
        '10.0.0.2',
      ),
    ).toBe(true);
  });

  it('keys IPv4 clients by address and IPv6 clients by their /64', () => {
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('limits each client address to its bucket and tells when to come back', () => {
    const limiter = new ClientRateLimiter({ requestsPerSecond: 2, burst: 3, clientsMax: 2 });
    expect([0, 0, 0].map(() => limiter.take('a', 1_000))).toEqual([0, 0, 0]);
    expect(limiter.take('a', 1_000)).toBe(500);
    expect(limiter.take('b', 1_000)).toBe(0); // another client has its own bucket
    expect(limiter.take('a', 1_500)).toBe(0); // half a second refills one request
    expect(limiter.take('a', 1_500)).toBe(500);
    limiter.take('c', 1_500); // the table holds two clients: the least recently seen (b) goes
    expect(limiter.clients).toBe(2);
    expect(limiter.take('a', 1_500)).toBe(500); // a was not forgotten: still limited
  });
});

describe('API server: who may call it', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ApiServer;
  let log: { calls: string[]; uploadErrors: unknown[] };
  const auth = () => ({ authorization: `Bearer ${server.token}` });

  beforeAll(async () => {
    dir = await tempDir('trinity-api-security-');
    ({ server, log } = await startServer(dir.path, {
      corsOrigins: ['https://app.example.com'],
      allowedHosts: ['node.example.com'],
    }));
  });
  afterAll(async () => {
    await server?.stop();
    await dir?.remove();
  });

  it('serves /health with no token and any Host', async () => {
    expect((await send(server.url, { path: '/health' })).json).toEqual({ ok: true });
    expect((await send(server.url, { path: '/health', headers: { host: 'evil.example' } })).status).toBe(200);
    expect((await send(server.url, { method: 'HEAD', path: '/health' })).status).toBe(200);
  });

  it('refuses a missing token with 401 and WWW-Authenticate, a wrong one with 401 AUTH_INVALID', async () => {
    const calls = log.calls.length;
    const missing = await send(server.url, { path: '/v1/echo' });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="trinity"');
    expect(missing.json.error?.code).toBe('AUTH_REQUIRED');
    for (const authorization of [
      'Bearer nope',
      `Bearer ${server.token.slice(0, 63)}`,
      `Bearer ${server.token}x`,
      `Basic ${server.token}`,
      'Bearer',
      `Bearer ${server.token} extra`,
    ]) {
      const wrong = await send(server.url, { path: '/v1/echo', headers: { authorization } });
      expect(wrong.status, authorization).toBe(401);
      expect(wrong.json.error?.code, authorization).toBe('AUTH_INVALID');
      expect(wrong.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    }
    // Unknown paths are no way around it either.
    expect((await send(server.url, { path: '/v2/anything' })).status).toBe(401);
    expect(log.calls.length).toBe(calls);
    const ok = await send(server.url, {
      path: '/v1/echo',
      headers: { authorization: `bearer  ${server.token}` },
    });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ echoed: true });
  });

  it('refuses a foreign Host with 421 before any handler runs (no DNS rebinding)', async () => {
    const calls = log.calls.length;
    const port = new URL(server.url).port;
    for (const host of [
      'evil.example',
      `evil.example:${port}`,
      `localhost:${Number(port) + 1}`,
      `127.0.0.1.evil.example:${port}`,
    ]) {
      const answer = await send(server.url, { path: '/v1/echo', headers: { ...auth(), host } });
      expect(answer.status, host).toBe(421);
      expect(answer.json.error?.code).toBe('HOST_NOT_ALLOWED');
    }
    expect(log.calls.length).toBe(calls);
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      'node.example.com',
      `NODE.example.com:${port}`,
    ]) {
      expect((await send(server.url, { path: '/v1/echo', headers: { ...auth(), host } })).status, host).toBe(
        200,
      );
    }
  });

  it('refuses a cross-site Origin with 403 before any handler runs, even a text/plain POST with the token', async () => {
    const calls = log.calls.length;
    for (const origin of [
      'https://evil.example',
      'null',
      'https://app.example.com:8443',
      'http://app.example.com',
    ]) {
      const answer = await send(server.url, {
        method: 'POST',
        path: '/v1/echo',
        headers: { ...auth(), origin, 'content-type': 'text/plain' },
        body: 'hello',
      });
      expect(answer.status, origin).toBe(403);
      expect(answer.json.error?.code).toBe('ORIGIN_NOT_ALLOWED');
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect(log.calls.length).toBe(calls);
  });

  it('answers a configured origin with CORS headers and its preflight without a token', async () => {
    const origin = 'https://app.example.com';
    const preflight = await send(server.url, {
      method: 'OPTIONS',
      path: '/v1/echo',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(origin);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/);
    expect(preflight.headers['access-control-allow-methods']).toMatch(/PUT/);
    const answer = await send(server.url, { path: '/v1/echo', headers: { ...auth(), origin } });
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBe(origin);
    expect(answer.headers.vary).toBe('Origin');
    // The origin still needs the token.
    expect((await send(server.url, { path: '/v1/echo', headers: { origin } })).status).toBe(401);
  });

  it('answers what node:http cannot parse with a JSON 4xx, never a 500', async () => {
    const huge = await send(server.url, {
      path: '/v1/echo',
      headers: { ...auth(), 'x-big': 'x'.repeat(64 * 1024) },
    });
    expect(huge.status).toBe(431);
    expect(huge.json.error?.code).toBe('HEADERS_TOO_LARGE');
    const garbage = await new Promise<string>((resolve, reject) => {
      const url = new URL(server.url);
      const socket = connect(Number(url.port), url.hostname, () => socket.end('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString('utf8');
      });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(garbage).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(garbage).toMatch(/"code":"BAD_REQUEST"/);
    for (const path of ['/v1/objects/%E0%A4%A', '/v1/objects/%ED%A0%80', '/v1/objects/%']) {
      const answer = await send(server.url, { path, headers: auth() });
      expect(answer.status, path).toBeLessThan(500);
      expect(answer.json.error?.code, path).toMatch(/^[A-Z_]+$/);
    }
  });

  it('serves the token from the file, the same after a restart', async () => {
    const file = (await readFile(join(dir.path, 'api-token'), 'utf8')).trim();
    expect(file).toBe(server.token);
    const again = await startServer(dir.path);
    try {
      expect(again.server.token).toBe(server.token);
    } finally {
      await again.server.stop();
    }
  });
});

describe('API server: limits', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('trinity-api-limits-');
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('answers a client over its rate with 429 and Retry-After, other routes included', async () => {
    const { server } = await startServer(dir.path, { rateLimit: { requestsPerSecond: 0.5, burst: 3 } });
    try {
      const auth = { authorization: `Bearer ${server.token}` };
      const statuses = [];
      for (let i = 0; i < 5; i++)
        statuses.push((await send(server.url, { path: '/v1/echo', headers: auth })).status);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      const limited = await send(server.url, { path: '/v1/echo', headers: auth });
      expect(limited.status).toBe(429);
      expect(limited.json.error?.code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Unauthenticated guesses count against the same bucket.
      expect((await send(server.url, { path: '/v1/echo' })).status).toBe(429);
    } finally {
      await server.stop();
    }
  });

  it('caps open connections', async () => {
    const { server } = await startServer(dir.path, { maxConnections: 2 });
    const url = new URL(server.url);
    const sockets = [0, 1].map(() => connect(Number(url.port), url.hostname));
    try {
      await Promise.all(sockets.map((s) => new Promise((resolve) => s.once('connect', resolve))));
      // Give the server the time to accept both before the third arrives.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const third = await send(server.url, { path: '/health' }).then(
        (answer) => answer.status,
        (error: NodeJS.ErrnoException) => error.code,
      );
      expect(['ECONNRESET', 'EPIPE', 'ECONNREFUSED']).toContain(third);
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.stop();
    }
  });

  it('aborts an upload whose body stalls: the handler stream fails with BODY_TIMEOUT and the connection closes', async () => {
    const { server, log } = await startServer(dir.path, { bodyIdleTimeoutMs: 1_000 });
    try {
      const url = new URL(server.url);
      const startedMs = Date.now();
      const outcome = await new Promise<{ status?: number; closed: boolean }>((resolve) => {
        const req = httpRequest({
          host: url.hostname,
          port: url.port,
          method: 'PUT',
          path: '/v1/upload',
          headers: { authorization: `Bearer ${server.token}`, 'content-length': 1_000_000 },
          agent: false,
        });
        req.on('response', (res) => {
          res.resume();
          res.on('close', () => resolve({ status: res.statusCode, closed: true }));
        });
        req.on('error', () => resolve({ closed: true }));
        req.write(Buffer.alloc(100_000)); // then nothing more: the body stalls
      });
      expect(outcome.closed).toBe(true);
      if (outcome.status !== undefined) expect(outcome.status).toBe(408);
      // Generous: the point is that it ends, not how fast on a loaded machine.
      expect(Date.now() - startedMs).toBeLessThan(60_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(log.uploadErrors).toHaveLength(1);
      expect(log.uploadErrors[0]).toMatchObject({ code: 'BODY_TIMEOUT' });
    } finally {
      await server.stop();
    }
  });

  it('cuts a download the client stopped reading', async () => {
    const { server, log } = await startServer(dir.path, { bodyIdleTimeoutMs: 1_000 });
    const url = new URL(server.url);
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: '/v1/big',
      headers: { authorization: `Bearer ${server.token}` },
      agent: false,
    });
    try {
      const received = await new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          // The first bytes, then never another read: the node's writes wait for 'drain' for ever.
          res.once('data', (chunk: Buffer) => {
            res.pause();
            resolve(chunk.length);
          });
        });
        req.on('error', reject);
        req.end();
      });
      expect(received).toBeGreaterThan(0);
      // A paused client never reads the close, so the node's side tells: its handler's write fails.
      await until(
        'the node to cut the stalled download',
        async () => (log.uploadErrors.length > 0 ? true : undefined),
        60_000,
        100,
      );
    } finally {
      req.destroy();
      await server.stop();
    }
  });

  it('lets a slow but moving upload through', async () => {
    const { server } = await startServer(dir.path, { bodyIdleTimeoutMs: 1_000 });
    try {
      const url = new URL(server.url);
      const answer = await new Promise<string>((resolve, reject) => {
        const req = httpRequest({
          host: url.hostname,
          port: url.port,
          method: 'PUT',
          path: '/v1/upload',
          headers: { authorization: `Bearer ${server.token}`, 'content-length': 4 * 1000 },
          agent: false,
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        let sent = 0;
        const tick = setInterval(() => {
          req.write(Buffer.alloc(1000));
          if (++sent === 4) {
            clearInterval(tick);
            req.end();
          }
        }, 400);
      });
      expect(JSON.parse(answer)).toEqual({ bytes: 4000 });
    } finally {
      await server.stop();
    }
  });

  it('closes a connection whose headers do not arrive in time with 408 HEADERS_TIMEOUT', async () => {
    const { server } = await startServer(dir.path, { headersTimeoutMs: 1_000 });
    try {
      const url = new URL(server.url);
      const text = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname, () =>
          socket.write('GET /v1/echo HTTP/1.1\r\nHost: localhost\r\n'),
        );
        let received = '';
        socket.on('data', (chunk) => {
          received += chunk.toString('utf8');
        });
        socket.on('close', () => resolve(received));
        socket.on('error', reject);
      });
      expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(text).toMatch(/"code":"HEADERS_TIMEOUT"/);
    } finally {
      await server.stop();
    }
  });

  it('answers a request past the request timeout with 503 REQUEST_TIMEOUT', async () => {
    const { server } = await startServer(dir.path, { requestTimeoutMs: 1_000 });
    try {
      const answer = await send(server.url, {
        path: '/v1/never',
        headers: { authorization: `Bearer ${server.token}` },
      });
      expect(answer.status).toBe(503);
      expect(answer.json.error?.code).toBe('REQUEST_TIMEOUT');
    } finally {
      await server.stop();
    }
  });
});

/** A self-signed certificate for localhost, made by openssl; undefined when openssl is missing. */
function selfSignedCert(dir: string): { cert: string; key: string } | undefined {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    return { cert, key };
  } catch {
    return undefined;
  }
}

describe('API server: TLS off loopback', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('trinity-api-tls-');
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('refuses a non-loopback address without TLS or insecureHttp, creating nothing', async () => {
    const error = await startServer(dir.path, { host: '0.0.0.0' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/needs TLS .*--insecure-http/);
    await expect(stat(join(dir.path, 'api-token'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('serves plain HTTP off loopback with insecureHttp, warning at start', async () => {
    const { server, logger } = await startServer(dir.path, { host: '0.0.0.0', insecureHttp: true });
    try {
      expect(
        logger.records.some((entry) => entry.level === 'warn' && /WITHOUT TLS/.test(entry.message ?? '')),
      ).toBe(true);
      const port = new URL(server.url).port;
      expect((await send(`http://127.0.0.1:${port}`, { path: '/health' })).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('serves HTTPS with a certificate and key, and refuses files that are not PEM', async () => {
    const pair = selfSignedCert(dir.path);
    if (pair === undefined) {
      console.log('openssl not found: HTTPS test skipped');
      return;
    }
    const { server } = await startServer(dir.path, {
      host: '0.0.0.0',
      tlsCertFile: pair.cert,
      tlsKeyFile: pair.key,
    });
    try {
      expect(server.url).toMatch(/^https:\/\//);
      const port = new URL(server.url).port;
      const ca = await readFile(pair.cert);
      const answer = await send(`https://localhost:${port}`, {
        path: '/v1/echo',
        headers: { authorization: `Bearer ${server.token}` },
        ca,
      });
      expect(answer.status).toBe(200);
      // The certificate is checked: a client that does not trust it gets no answer.
      await expect(send(`https://localhost:${port}`, { path: '/health' })).rejects.toThrow(
        /self-signed|certificate/,
      );
      // The CLI over HTTPS, trusting the certificate through NODE_EXTRA_CA_CERTS.
      const ls = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [cliPath, 'ls', '--api', `https://localhost:${port}`, '--token-file', server.tokenPath],
          { env: { ...process.env, NODE_EXTRA_CA_CERTS: pair.cert } },
          (_error, stdout, stderr) => resolve({ stdout, stderr }),
        );
      });
      expect(ls.stderr).toBe('');
      expect(ls.stdout).toMatch(/^abab.*listed\.txt\n$/);
    } finally {
      await server.stop();
    }
    await writeFile(join(dir.path, 'not.pem'), 'hello');
    await expect(
      startServer(dir.path, { tlsCertFile: join(dir.path, 'not.pem'), tlsKeyFile: pair.key }),
    ).rejects.toThrow(/api.tlsCertFile: .* is not a PEM file/);
  });
});
