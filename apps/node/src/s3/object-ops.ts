import { createHash } from 'node:crypto';
import type { ObjectEntry, PutCondition, StoredPiece } from './backend.js';
import { type ByteRange, conditionHolds, evaluateConditions, httpDate, parseRange } from './conditions.js';
import {
  bucketOf,
  checkOwned,
  freePieces,
  header,
  keyOf,
  objectHeaders,
  ownedBucket,
  readPieces,
  requestBody,
  type S3Context,
  sendEmpty,
  sendXml,
  streamTo,
} from './context.js';
import { S3Error } from './errors.js';
import { checkBucketName, checkKey } from './keys.js';
import { s3Limits } from './limits.js';
import { uriDecode } from './sigv4.js';

/** PutObject, GetObject, HeadObject, DeleteObject, CopyObject. */

/** S3 conditional writes: `If-None-Match: *` (create only) or `If-Match: <etag>` (replace that version). */
function putCondition(ctx: S3Context): PutCondition | undefined {
  const ifNoneMatch = header(ctx, 'if-none-match');
  const ifMatch = header(ctx, 'if-match');
  if (ifNoneMatch !== undefined && ifMatch !== undefined) {
    throw new S3Error('NotImplemented', 'If-Match and If-None-Match together are not supported on writes');
  }
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') throw new S3Error('NotImplemented', 'If-None-Match on a write must be *');
    return { ifNoneMatch: true };
  }
  return ifMatch === undefined ? undefined : { ifMatchEtag: ifMatch.trim().replace(/^"(.*)"$/, '$1') };
}

export async function putObject(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  // The index write below checks the bucket again, atomically.
  await ownedBucket(ctx, bucket, { mayBeStale: true });
  const condition = putCondition(ctx);
  if (condition !== undefined) {
    // Fail fast before the body is stored; the index checks again, atomically, when it is published.
    const current = await ctx.deps.index.getObject(bucket, keyOf(ctx));
    if (!conditionHolds(condition, current)) {
      throw new S3Error(
        'PreconditionFailed',
        'at least one of the pre-conditions you specified did not hold',
      );
    }
  }
  const meta = objectHeaders(ctx, s3Limits.userMetadataBytesMax);
  const { body, stream } = requestBody(ctx, s3Limits.putObjectBytesMax);
  const piece = await ctx.deps.backend.putObject(ctx.owner, stream, { sizeBytes: body.declaredBytes });
  const { md5, checksum } = body.result;
  const entry: ObjectEntry = {
    pieces: [piece],
    sizeBytes: piece.sizeBytes,
    etag: md5.toString('hex'),
    lastModifiedMs: ctx.deps.clock.nowMs(),
    ...meta,
    ...(checksum === undefined ? {} : { checksum }),
  };
  await publish(ctx, bucket, keyOf(ctx), entry, condition);
  sendEmpty(ctx, 200, {
    etag: `"${entry.etag}"`,
    ...(checksum === undefined ? {} : { [`x-amz-checksum-${checksum.algorithm}`]: checksum.valueBase64 }),
  });
}

/** Sets the key, then frees what it replaced; if the index refuses, frees the new pieces instead. */
async function publish(
  ctx: S3Context,
  bucket: string,
  key: string,
  entry: ObjectEntry,
  condition?: PutCondition,
): Promise<void> {
  let replaced: ObjectEntry | undefined;
  try {
    replaced = await ctx.deps.index.putObject(bucket, key, entry, condition);
  } catch (error) {
    await freePieces(ctx.deps, entry.pieces);
    throw error;
  }
  if (replaced !== undefined) await freePieces(ctx.deps, unshared(replaced.pieces, entry.pieces));
}

function unshared(old: readonly StoredPiece[], kept: readonly StoredPiece[]): StoredPiece[] {
  const ids = new Set(kept.map((p) => p.id));
  return old.filter((p) => !ids.has(p.id));
}

/** The entry of `key` in `bucket`, which must be the caller's: bucket and key in one index read. */
async function existingEntry(ctx: S3Context, bucket: string, key: string): Promise<ObjectEntry> {
  const found = await ctx.deps.index.getBucketObject(bucket, key);
  checkOwned(ctx, bucket, found?.bucket);
  const entry = found?.entry;
  if (entry === undefined) throw new S3Error('NoSuchKey', 'the specified key does not exist', { Key: key });
  return entry;
}

const responseOverrides = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
] as const;

function entryHeaders(ctx: S3Context, entry: ObjectEntry): Record<string, string> {
  const headers: Record<string, string> = {
    etag: `"${entry.etag}"`,
    'last-modified': httpDate(entry.lastModifiedMs),
    'content-type': entry.contentType,
    'accept-ranges': 'bytes',
    ...entry.headers,
  };
  for (const [name, value] of Object.entries(entry.userMetadata)) headers[`x-amz-meta-${name}`] = value;
  for (const [param, name] of responseOverrides) {
    const value = ctx.routed.query.get(param);
    if (value === undefined) continue;
    // A header value must be visible Latin-1; anything else cannot be sent (RFC 9110 field-value).
    if (value.length > 1024 || !/^[\t\x20-\x7e\x80-\xff]*$/.test(value)) {
      throw new S3Error('InvalidArgument', `${param} is not a valid header value`);
    }
    headers[name] = value;
  }
  if (entry.pieces.length > 1) headers['x-amz-mp-parts-count'] = String(entry.pieces.length);
  return headers;
}

/** GetObject and HeadObject: conditions, then the whole object or one range. */
export async function getObject(ctx: S3Context, head: boolean): Promise<void> {
  const bucket = bucketOf(ctx);
  const entry = await existingEntry(ctx, bucket, keyOf(ctx));
  const headers = entryHeaders(ctx, entry);
  const outcome = evaluateConditions((n) => header(ctx, n), '', entry.etag, entry.lastModifiedMs);
  if (outcome === 'precondition-failed') {
    throw new S3Error('PreconditionFailed', 'at least one of the pre-conditions you specified did not hold', {
      Condition: 'If-Match',
    });
  }
  if (outcome === 'not-modified') {
    sendEmpty(ctx, 304, { etag: headers.etag!, 'last-modified': headers['last-modified']! });
    return;
  }
  const range = partRange(ctx, entry) ?? parseRange(header(ctx, 'range'), entry.sizeBytes);
  const offsetBytes = range?.offsetBytes ?? 0;
  const lengthBytes = range?.lengthBytes ?? entry.sizeBytes;
  headers['content-length'] = String(lengthBytes);
  if (
    range === undefined &&
    entry.checksum !== undefined &&
    header(ctx, 'x-amz-checksum-mode') === 'ENABLED'
  ) {
    // Only for the whole object: a checksum of the whole says nothing about a range of it.
    headers[`x-amz-checksum-${entry.checksum.algorithm}`] = entry.checksum.valueBase64;
  }
  const partial = range !== undefined && lengthBytes > 0;
  if (partial) {
    headers['content-range'] = `bytes ${offsetBytes}-${offsetBytes + lengthBytes - 1}/${entry.sizeBytes}`;
  }
  ctx.res.writeHead(partial ? 206 : 200, headers);
  if (head || lengthBytes === 0) {
    ctx.res.end();
    return;
  }
  await streamTo(ctx.res, readPieces(ctx.deps.backend, entry.pieces, offsetBytes, lengthBytes));
}

/**
 * `?partNumber=N`: the bytes of the object's N-th piece (its N-th part, counted in the order the
 * parts were completed; a single-part object has only part 1).
 */
function partRange(ctx: S3Context, entry: ObjectEntry): ByteRange | undefined {
  const text = ctx.routed.query.get('partNumber');
  if (text === undefined) return undefined;
  if (header(ctx, 'range') !== undefined) {
    throw new S3Error(
      'InvalidRequest',
      'cannot specify both a Range header and a partNumber query parameter',
    );
  }
  const n = /^\d{1,5}$/.test(text) ? Number(text) : 0;
  if (n < 1 || n > s3Limits.partNumberMax) {
    throw new S3Error(
      'InvalidArgument',
      `part number must be an integer between 1 and ${s3Limits.partNumberMax}`,
    );
  }
  if (n > entry.pieces.length)
    throw new S3Error('InvalidPartNumber', 'the requested part number is not satisfiable');
  const offsetBytes = entry.pieces.slice(0, n - 1).reduce((sum, p) => sum + p.sizeBytes, 0);
  return { offsetBytes, lengthBytes: entry.pieces[n - 1]!.sizeBytes };
}

export async function deleteObject(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  await ownedBucket(ctx);
  const removed = await ctx.deps.index.deleteObject(bucket, keyOf(ctx));
  if (removed !== undefined) await freePieces(ctx.deps, removed.pieces);
  sendEmpty(ctx, 204);
}

/** The object named by `x-amz-copy-source` (`[/]bucket/key`, URL-encoded), checked like a GET of it. */
export async function copySource(
  ctx: S3Context,
): Promise<{ bucket: string; key: string; entry: ObjectEntry }> {
  const raw = header(ctx, 'x-amz-copy-source') ?? '';
  const withoutQuery = raw.split('?')[0]!;
  if (raw.includes('?') && !/\?versionId=null$/.test(raw)) {
    throw new S3Error('NotImplemented', 'copying a specific version is not implemented');
  }
  const path = uriDecode(withoutQuery.replace(/^\//, ''));
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) {
    throw new S3Error('InvalidArgument', 'x-amz-copy-source must be <bucket>/<key>');
  }
  const bucket = path.slice(0, slash);
  const key = path.slice(slash + 1);
  checkBucketName(bucket);
  checkKey(key);
  const entry = await existingEntry(ctx, bucket, key);
  const outcome = evaluateConditions(
    (n) => header(ctx, n),
    'x-amz-copy-source-',
    entry.etag,
    entry.lastModifiedMs,
  );
  if (outcome !== 'proceed') {
    throw new S3Error('PreconditionFailed', 'at least one of the pre-conditions you specified did not hold');
  }
  return { bucket, key, entry };
}

/** Copies `lengthBytes` from `offsetBytes` of an entry into a new stored piece, with its MD5. */
export async function copyBytes(
  ctx: S3Context,
  entry: ObjectEntry,
  offsetBytes: number,
  lengthBytes: number,
): Promise<{ piece: StoredPiece; md5Hex: string }> {
  const md5 = createHash('md5');
  const source = readPieces(ctx.deps.backend, entry.pieces, offsetBytes, lengthBytes);
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const piece of source) {
      md5.update(piece);
      yield piece;
    }
  }
  const piece = await ctx.deps.backend.putObject(ctx.owner, hashed(), { sizeBytes: lengthBytes });
  return { piece, md5Hex: md5.digest('hex') };
}

export async function copyObject(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  await ownedBucket(ctx);
  const source = await copySource(ctx);
  const directive = header(ctx, 'x-amz-metadata-directive') ?? 'COPY';
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', 'x-amz-metadata-directive must be COPY or REPLACE');
  }
  if (source.bucket === bucket && source.key === key && directive === 'COPY') {
    throw new S3Error(
      'InvalidRequest',
      'this copy request is illegal because it is trying to copy an object to itself without changing the metadata',
    );
  }
  if (source.entry.sizeBytes > s3Limits.putObjectBytesMax) {
    throw new S3Error('InvalidRequest', 'the source is larger than the maximum allowed size for a copy');
  }
  const meta =
    directive === 'REPLACE'
      ? objectHeaders(ctx, s3Limits.userMetadataBytesMax)
      : {
          contentType: source.entry.contentType,
          userMetadata: source.entry.userMetadata,
          headers: source.entry.headers,
        };
  const { piece, md5Hex } = await copyBytes(ctx, source.entry, 0, source.entry.sizeBytes);
  const entry: ObjectEntry = {
    pieces: [piece],
    sizeBytes: piece.sizeBytes,
    etag: md5Hex,
    lastModifiedMs: ctx.deps.clock.nowMs(),
    ...meta,
  };
  await publish(ctx, bucket, key, entry);
  sendXml(ctx, 'CopyObjectResult', {
    LastModified: new Date(entry.lastModifiedMs).toISOString(),
    ETag: `"${entry.etag}"`,
  });
}
