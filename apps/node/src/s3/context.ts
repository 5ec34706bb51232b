import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Clock, Logger } from '@trinity/core';
import type { AccessKeyStore, BucketRecord, S3Backend, S3Index, StoredPiece } from './backend.js';
import { declaredChecksum, VerifiedBody } from './body.js';
import type { S3GatewayConfig } from './config.js';
import { S3Error } from './errors.js';
import type { RoutedRequest } from './request.js';
import type { PayloadCheck } from './sigv4.js';
import { toXml, type XmlObject } from './xml.js';

/** What every operation handler works with: the storage below, and one authenticated request. */
export interface GatewayDeps {
  readonly backend: S3Backend;
  readonly index: S3Index;
  readonly accessKeys: AccessKeyStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly actsFor?: (owner: string) => boolean;
  readonly config: S3GatewayConfig;
}

export interface S3Context {
  readonly deps: GatewayDeps;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly routed: RoutedRequest;
  /** The owner public key the access key acts for. */
  readonly owner: string;
  readonly accessKeyId: string;
  readonly payload: PayloadCheck;
  readonly requestId: string;
  readonly nowMs: number;
}

export function header(ctx: S3Context, name: string): string | undefined {
  return ctx.routed.parts.headers.get(name)?.[0];
}

export function bucketOf(ctx: S3Context): string {
  const bucket = ctx.routed.bucket;
  if (bucket === undefined) throw new Error('routing gave a bucket operation no bucket');
  return bucket;
}

export function keyOf(ctx: S3Context): string {
  const key = ctx.routed.key;
  if (key === undefined) throw new Error('routing gave an object operation no key');
  return key;
}

/**
 * The bucket, which must exist and belong to the caller (buckets have no ACLs: owner only).
 * `mayBeStale`: see `S3Index.getBucket` (only before a mutation that checks the bucket again).
 */
export async function ownedBucket(
  ctx: S3Context,
  name: string = bucketOf(ctx),
  options: { readonly mayBeStale?: boolean } = {},
): Promise<BucketRecord> {
  return checkOwned(ctx, name, await ctx.deps.index.getBucket(name, options));
}

/** `record` (the bucket `name` as the index gave it) exists and belongs to the caller. */
export function checkOwned(ctx: S3Context, name: string, record: BucketRecord | undefined): BucketRecord {
  if (record === undefined)
    throw new S3Error('NoSuchBucket', 'the specified bucket does not exist', { BucketName: name });
  if (record.owner !== ctx.owner) throw new S3Error('AccessDenied', 'access denied');
  return record;
}

/**
 * The request body as a verified stream; see VerifiedBody. `bytesMax` bounds the decoded size. Object
 * and part uploads must declare their length (`lengthRequired`); a bodiless request (no
 * Content-Length, no Transfer-Encoding) has an empty body.
 */
export function requestBody(
  ctx: S3Context,
  bytesMax: number,
  lengthRequired = true,
): { body: VerifiedBody; stream: AsyncIterable<Uint8Array> } {
  const headers = ctx.routed.parts.headers;
  const chunked = ctx.payload.mode === 'chunked-signed' || ctx.payload.mode === 'chunked-unsigned';
  const lengthHeader = header(ctx, chunked ? 'x-amz-decoded-content-length' : 'content-length');
  if (lengthHeader === undefined && (chunked || (lengthRequired && !headers.has('transfer-encoding')))) {
    throw new S3Error('MissingContentLength', 'you must provide the Content-Length HTTP header');
  }
  const declaredBytes = lengthHeader === undefined ? undefined : Number(lengthHeader);
  if (
    declaredBytes !== undefined &&
    !(Number.isSafeInteger(declaredBytes) && /^\d{1,16}$/.test(lengthHeader!))
  ) {
    throw new S3Error('InvalidArgument', 'bad content length');
  }
  if (declaredBytes !== undefined && declaredBytes > bytesMax) {
    throw new S3Error(
      'EntityTooLarge',
      `your proposed upload exceeds the maximum allowed size of ${bytesMax} bytes`,
    );
  }
  const md5Header = header(ctx, 'content-md5');
  const contentMd5 = md5Header === undefined ? undefined : Buffer.from(md5Header, 'base64');
  if (contentMd5 !== undefined && (contentMd5.length !== 16 || contentMd5.toString('base64') !== md5Header)) {
    throw new S3Error('InvalidDigest', 'the Content-MD5 you specified is not valid');
  }
  const body = new VerifiedBody({
    check: ctx.payload,
    chunked,
    declaredBytes,
    bytesMax,
    contentMd5,
    checksum: declaredChecksum(headers),
  });
  return { body, stream: body.stream(ctx.req) };
}

/** A small XML request body, read whole but bounded, with its signature's payload checks. */
export async function readXmlText(ctx: S3Context): Promise<string> {
  const { stream } = requestBody(ctx, ctx.deps.config.xmlBodyBytesMax, false);
  const pieces: Uint8Array[] = [];
  for await (const piece of stream) pieces.push(piece);
  return Buffer.concat(pieces).toString('utf8');
}

export function sendXml(ctx: S3Context, root: string, body: XmlObject, status = 200): void {
  const text = toXml(root, body);
  ctx.res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(text),
  });
  ctx.res.end(text);
}

export function sendEmpty(ctx: S3Context, status: number, headers: Record<string, string> = {}): void {
  ctx.res.writeHead(status, headers);
  ctx.res.end();
}

/** Streams `lengthBytes` from `offsetBytes` of the concatenated pieces, fetching only the pieces it spans. */
export async function* readPieces(
  backend: S3Backend,
  pieces: readonly StoredPiece[],
  offsetBytes: number,
  lengthBytes: number,
): AsyncGenerator<Uint8Array, void, undefined> {
  let skip = offsetBytes;
  let left = lengthBytes;
  for (const piece of pieces) {
    if (left === 0) return;
    if (skip >= piece.sizeBytes) {
      skip -= piece.sizeBytes;
      continue;
    }
    const take = Math.min(piece.sizeBytes - skip, left);
    yield* backend.getObject(piece.id, skip, take);
    left -= take;
    skip = 0;
  }
  if (left !== 0) throw new Error('the index entry is shorter than its recorded size');
}

export async function streamTo(res: ServerResponse, source: AsyncIterable<Uint8Array>): Promise<void> {
  await pipeline(Readable.from(source, { objectMode: false }), res);
}

/** Frees stored pieces no entry refers to any more. A failure is logged, never surfaced: the data is unreachable. */
export async function freePieces(
  deps: Pick<GatewayDeps, 'backend' | 'logger'>,
  pieces: readonly StoredPiece[],
): Promise<void> {
  for (const piece of pieces) {
    try {
      await deps.backend.deleteObject(piece.id);
    } catch (error) {
      deps.logger.warn({ pieceId: piece.id, err: String(error) }, 's3: could not free a stored piece');
    }
  }
}

/** `x-amz-meta-*` headers, checked against S3's 2 KiB limit, and the representation headers kept with an object. */
export function objectHeaders(
  ctx: S3Context,
  userMetadataBytesMax: number,
): { contentType: string; userMetadata: Record<string, string>; headers: Record<string, string> } {
  const userMetadata: Record<string, string> = {};
  let bytes = 0;
  for (const [name, values] of ctx.routed.parts.headers) {
    if (!name.startsWith('x-amz-meta-')) continue;
    const short = name.slice('x-amz-meta-'.length);
    const value = values.join(',');
    bytes += Buffer.byteLength(short) + Buffer.byteLength(value);
    userMetadata[short] = value;
  }
  if (bytes > userMetadataBytesMax) {
    throw new S3Error(
      'MetadataTooLarge',
      `your metadata headers exceed the maximum allowed metadata size of ${userMetadataBytesMax} bytes`,
    );
  }
  const headers: Record<string, string> = {};
  for (const name of storedHeaderNames) {
    let value = header(ctx, name);
    if (name === 'content-encoding' && value !== undefined) {
      value = value
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '' && v !== 'aws-chunked')
        .join(',');
    }
    if (value !== undefined && value !== '') headers[name] = value.slice(0, 1024);
  }
  return { contentType: header(ctx, 'content-type') ?? 'binary/octet-stream', userMetadata, headers };
}

export const storedHeaderNames = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
] as const;
