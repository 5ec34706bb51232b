import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, type Logger, parseConfig } from '@trinity/core';
import type { Startable } from '../startable.js';
import type { AccessKeyStore, S3Backend, S3Index } from './backend.js';
import {
  createBucket,
  deleteBucket,
  deleteObjects,
  getBucketLocation,
  getBucketVersioning,
  headBucket,
  listBuckets,
  listObjects,
} from './bucket-ops.js';
import { type S3GatewayConfig, type S3GatewayConfigInput, s3GatewayConfigSchema } from './config.js';
import type { GatewayDeps, S3Context } from './context.js';
import { S3Error } from './errors.js';
import { abortStaleUploads } from './lifecycle.js';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
  uploadPartCopy,
} from './multipart-ops.js';
import { copyObject, deleteObject, getObject, putObject } from './object-ops.js';
import { headerMap, type Operation, type RoutedRequest, routeRequest } from './request.js';
import { isSigned, parseAuth, verifyAuth } from './sigv4.js';
import { toXml } from './xml.js';

/** What the gateway is composed from; the daemon supplies the Trinity-backed implementations. */
export interface S3GatewayComponents {
  readonly backend: S3Backend;
  readonly index: S3Index;
  readonly accessKeys: AccessKeyStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Whether this gateway can act for an owner key (sign and decrypt as it). An access key bound to an
   * owner it cannot act for is refused with AccessDenied after its signature checks. Default: any.
   */
  readonly actsFor?: (owner: string) => boolean;
}

const handlers: Record<Operation, (ctx: S3Context) => Promise<void>> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  HeadBucket: headBucket,
  DeleteBucket: deleteBucket,
  GetBucketLocation: getBucketLocation,
  GetBucketVersioning: getBucketVersioning,
  ListObjects: (ctx) => listObjects(ctx, false),
  ListObjectsV2: (ctx) => listObjects(ctx, true),
  ListMultipartUploads: listMultipartUploads,
  DeleteObjects: deleteObjects,
  PutObject: putObject,
  CopyObject: copyObject,
  GetObject: (ctx) => getObject(ctx, false),
  HeadObject: (ctx) => getObject(ctx, true),
  DeleteObject: deleteObject,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  UploadPartCopy: uploadPartCopy,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
};

/**
 * The S3-compatible gateway: an HTTP server speaking the S3 REST API over a Trinity backend. Every
 * request is authenticated (SigV4, by header or presigned URL) before anything else is read; there
 * is no anonymous access. `handle` can also be mounted in another node:http server.
 */
export class S3Gateway implements Startable {
  readonly config: S3GatewayConfig;
  readonly #deps: GatewayDeps;
  #server: Server | undefined;
  #inFlight = 0;

  constructor(init: S3GatewayConfigInput, components: S3GatewayComponents) {
    this.config = parseConfig(s3GatewayConfigSchema, init, 's3 gateway config');
    this.#deps = { ...components, config: this.config };
  }

  /** The port listened on (after `start`). */
  get port(): number {
    const address = this.#server?.address();
    if (address === null || address === undefined || typeof address === 'string') {
      throw new Error('the S3 gateway is not listening');
    }
    return (address as AddressInfo).port;
  }

  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const server = createServer(
      { maxHeaderSize: this.config.requestHeaderBytesMax, requestTimeout: 0 },
      (req, res) => void this.handle(req, res),
    );
    server.headersTimeout = this.config.headersTimeoutMs;
    server.keepAliveTimeout = this.config.keepAliveTimeoutMs;
    server.timeout = this.config.idleTimeoutMs;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, this.config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Aborts the bucket's multipart uploads older than `maxAgeMs` and frees their parts; returns how many. */
  abortStaleUploads(bucket: string, maxAgeMs: number): Promise<number> {
    return abortStaleUploads(this.#deps, bucket, this.#deps.clock.nowMs(), maxAgeMs);
  }

  /** Serves one request; never rejects (every failure becomes an S3 error answer). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('server', 'TrinityS3');
    this.#inFlight++;
    try {
      if (this.#inFlight > this.config.concurrentRequestsMax) {
        throw new S3Error('ServiceUnavailable', 'too many requests at once; reduce your request rate');
      }
      const ctx = await this.#authenticate(req, res, requestId);
      await handlers[ctx.routed.operation](ctx);
    } catch (error) {
      try {
        this.#fail(req, res, requestId, error);
      } catch (failure) {
        this.#deps.logger.error({ err: String(failure), requestId }, 's3: could not answer an error');
        res.destroy();
      }
    } finally {
      this.#inFlight--;
    }
  }

  async #authenticate(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<S3Context> {
    const headers = headerMap(req.rawHeaders);
    const routed: RoutedRequest = routeRequest(
      req.method ?? 'GET',
      req.url ?? '/',
      headers,
      this.config.baseDomain,
    );
    if (!isSigned(routed.parts, routed.query)) {
      throw new S3Error(
        'AccessDenied',
        'anonymous access is not allowed; sign the request with an access key',
      );
    }
    const auth = parseAuth(routed.parts, routed.query);
    const key = await this.#deps.accessKeys.lookup(auth.accessKeyId);
    if (key === undefined) {
      throw new S3Error(
        'InvalidAccessKeyId',
        'the access key id you provided does not exist in our records',
        {
          AWSAccessKeyId: auth.accessKeyId,
        },
      );
    }
    const nowMs = this.#deps.clock.nowMs();
    const payload = verifyAuth(routed.parts, auth, {
      secretKey: key.secretKey,
      region: this.config.region,
      nowMs,
    });
    if (this.#deps.actsFor?.(key.owner) === false) {
      throw new S3Error(
        'AccessDenied',
        'this node does not act for the owner key your access key is bound to; use a key bound to its owner',
      );
    }
    return {
      deps: this.#deps,
      req,
      res,
      routed,
      owner: key.owner,
      accessKeyId: auth.accessKeyId,
      payload,
      requestId,
      nowMs,
    };
  }

  #fail(req: IncomingMessage, res: ServerResponse, requestId: string, error: unknown): void {
    const s3 = error instanceof S3Error ? error : undefined;
    const gone =
      (error as { code?: unknown } | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE' ||
      req.socket?.destroyed === true;
    if (gone) {
      // The client went away mid-request: nothing to answer, nothing wrong on our side.
      this.#deps.logger.debug({ requestId }, 's3: client closed the connection');
    } else if (s3 === undefined) {
      this.#deps.logger.error(
        { err: String(error), requestId, url: req.url?.slice(0, 200) },
        's3: request failed',
      );
    }
    if (res.headersSent) {
      // Mid-body: the only honest signal left is a broken connection.
      res.destroy();
      return;
    }
    const code = s3?.s3Code ?? 'InternalError';
    const status = s3?.status ?? 500;
    const body =
      req.method === 'HEAD'
        ? ''
        : toXml(
            'Error',
            {
              Code: code,
              Message: s3?.message ?? 'we encountered an internal error; please try again',
              ...s3?.xmlFields,
              Resource: (req.url ?? '/').split('?')[0]!.slice(0, 1100),
              RequestId: requestId,
            },
            false,
          );
    // The body may not have been read: close the connection rather than read what is left of it.
    if (!req.readableEnded) res.setHeader('connection', 'close');
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

/** js-libp2p-style factory: `s3Gateway(init)(components)`. */
export function s3Gateway(init: S3GatewayConfigInput): (components: S3GatewayComponents) => S3Gateway {
  return (components) => new S3Gateway(init, components);
}
