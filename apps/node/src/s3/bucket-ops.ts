import type { ObjectEntry } from './backend.js';
import {
  bucketOf,
  freePieces,
  ownedBucket,
  readXmlText,
  type S3Context,
  sendEmpty,
  sendXml,
} from './context.js';
import { S3Error } from './errors.js';
import { checkKey } from './keys.js';
import { s3Limits } from './limits.js';
import { decodeContinuationToken, encodeContinuationToken, listPage } from './listing.js';
import { uriEncode } from './sigv4.js';
import { childArray, childText, parseXmlBody, type XmlObject } from './xml.js';

/** Bucket operations and listings. */

function ownerXml(owner: string): XmlObject {
  return { ID: owner, DisplayName: owner.slice(0, 16) };
}

export async function listBuckets(ctx: S3Context): Promise<void> {
  const buckets = await ctx.deps.index.listBuckets(ctx.owner);
  sendXml(ctx, 'ListAllMyBucketsResult', {
    Owner: ownerXml(ctx.owner),
    Buckets: {
      Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: new Date(b.createdMs).toISOString() })),
    },
  });
}

export async function createBucket(ctx: S3Context): Promise<void> {
  const name = bucketOf(ctx);
  const text = await readXmlText(ctx);
  if (text.trim() !== '') {
    const config = parseXmlBody(text, 'CreateBucketConfiguration');
    const location = childText(config, 'LocationConstraint');
    if (location !== undefined && location !== '' && location !== ctx.deps.config.region) {
      throw new S3Error(
        'InvalidArgument',
        `LocationConstraint must be this gateway's region, ${ctx.deps.config.region}`,
      );
    }
  }
  const existing = await ctx.deps.index.createBucket({ name, owner: ctx.owner, createdMs: ctx.nowMs });
  if (existing !== undefined) {
    throw existing.owner === ctx.owner
      ? new S3Error(
          'BucketAlreadyOwnedByYou',
          'your previous request to create the named bucket succeeded and you already own it',
          { BucketName: name },
        )
      : new S3Error('BucketAlreadyExists', 'the requested bucket name is not available', {
          BucketName: name,
        });
  }
  sendEmpty(ctx, 200, { location: `/${name}` });
}

export async function headBucket(ctx: S3Context): Promise<void> {
  await ownedBucket(ctx);
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': ctx.deps.config.region });
}

export async function deleteBucket(ctx: S3Context): Promise<void> {
  const name = bucketOf(ctx);
  await ownedBucket(ctx);
  const outcome = await ctx.deps.index.deleteBucket(name);
  if (!outcome.deleted) {
    throw new S3Error('BucketNotEmpty', 'the bucket you tried to delete is not empty', { BucketName: name });
  }
  await freePieces(
    ctx.deps,
    outcome.parts.map((p) => p.piece),
  );
  sendEmpty(ctx, 204);
}

export async function getBucketLocation(ctx: S3Context): Promise<void> {
  await ownedBucket(ctx);
  // us-east-1 is answered as an empty constraint, as S3 does; clients map it back.
  const region = ctx.deps.config.region;
  sendXml(ctx, 'LocationConstraint', region === 'us-east-1' ? {} : { '#text': region });
}

export async function getBucketVersioning(ctx: S3Context): Promise<void> {
  await ownedBucket(ctx);
  sendXml(ctx, 'VersioningConfiguration', {});
}

interface ListQuery {
  readonly prefix: string;
  readonly delimiter: string;
  readonly maxKeys: number;
  readonly urlEncoded: boolean;
}

function listQuery(ctx: S3Context): ListQuery {
  const q = ctx.routed.query;
  const maxKeysText = q.get('max-keys') ?? '1000';
  if (!/^\d{1,9}$/.test(maxKeysText))
    throw new S3Error('InvalidArgument', 'max-keys must be a non-negative integer');
  const encoding = q.get('encoding-type');
  if (encoding !== undefined && encoding !== 'url')
    throw new S3Error('InvalidArgument', 'invalid encoding-type');
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  if (
    Buffer.byteLength(prefix) > s3Limits.keyBytesMax ||
    Buffer.byteLength(delimiter) > s3Limits.keyBytesMax
  ) {
    throw new S3Error('KeyTooLongError', 'prefix and delimiter are at most 1,024 bytes');
  }
  return {
    prefix,
    delimiter,
    maxKeys: Math.min(Number(maxKeysText), s3Limits.listKeysMax),
    urlEncoded: encoding === 'url',
  };
}

/** Names in a listing: URL-encoded when the client asked (keys may hold characters XML cannot). */
function listedName(query: ListQuery, value: string): string {
  return query.urlEncoded ? uriEncode(value, true) : value;
}

function contentsXml(
  query: ListQuery,
  contents: ReadonlyArray<readonly [string, ObjectEntry]>,
  owner: string | undefined,
) {
  return contents.map(([key, entry]) => ({
    Key: listedName(query, key),
    LastModified: new Date(entry.lastModifiedMs).toISOString(),
    ETag: `"${entry.etag}"`,
    Size: entry.sizeBytes,
    ...(owner === undefined ? {} : { Owner: ownerXml(owner) }),
    StorageClass: 'STANDARD',
  }));
}

export async function listObjects(ctx: S3Context, v2: boolean): Promise<void> {
  const bucket = await ownedBucket(ctx);
  const query = listQuery(ctx);
  const q = ctx.routed.query;
  const token = v2 ? q.get('continuation-token') : undefined;
  const startAfter =
    token !== undefined
      ? decodeContinuationToken(token)
      : ((v2 ? q.get('start-after') : q.get('marker')) ?? '');
  const page = await listPage((range) => ctx.deps.index.listObjects(bucket.name, range), {
    prefix: query.prefix,
    delimiter: query.delimiter,
    startAfter,
    maxKeys: query.maxKeys,
  });
  const common = {
    Name: bucket.name,
    Prefix: listedName(query, query.prefix),
    ...(query.delimiter === '' ? {} : { Delimiter: listedName(query, query.delimiter) }),
    MaxKeys: query.maxKeys,
    ...(query.urlEncoded ? { EncodingType: 'url' } : {}),
    IsTruncated: page.isTruncated,
  };
  const fetchOwner = !v2 || q.get('fetch-owner') === 'true' ? bucket.owner : undefined;
  const listing = {
    Contents: contentsXml(query, page.contents, fetchOwner),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: listedName(query, p) })),
  };
  const next = page.isTruncated && page.lastItem !== undefined ? page.lastItem : undefined;
  if (v2) {
    sendXml(ctx, 'ListBucketResult', {
      ...common,
      KeyCount: page.contents.length + page.commonPrefixes.length,
      ...(token === undefined ? {} : { ContinuationToken: token }),
      ...(next === undefined ? {} : { NextContinuationToken: encodeContinuationToken(next) }),
      ...(q.has('start-after') ? { StartAfter: listedName(query, q.get('start-after')!) } : {}),
      ...listing,
    });
    return;
  }
  sendXml(ctx, 'ListBucketResult', {
    ...common,
    Marker: listedName(query, startAfter),
    ...(next === undefined ? {} : { NextMarker: listedName(query, next) }),
    ...listing,
  });
}

/** DeleteObjects: up to 1,000 keys in a bounded XML body; a key that does not exist is deleted, as S3 says. */
export async function deleteObjects(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  await ownedBucket(ctx);
  const doc = parseXmlBody(await readXmlText(ctx), 'Delete');
  const objects = childArray(doc, 'Object');
  if (objects.length === 0 || objects.length > s3Limits.deleteObjectsKeysMax) {
    throw new S3Error('MalformedXML', `Delete must name 1 to ${s3Limits.deleteObjectsKeysMax} objects`);
  }
  const quiet = childText(doc, 'Quiet') === 'true';
  const keys = objects.map((o) => {
    const key = childText(o, 'Key');
    if (key === undefined) throw new S3Error('MalformedXML', 'every Object needs a Key');
    return key;
  });
  const deleted: XmlObject[] = [];
  const errors: XmlObject[] = [];
  for (const key of keys) {
    try {
      checkKey(key);
      const removed = await ctx.deps.index.deleteObject(bucket, key);
      if (removed !== undefined) await freePieces(ctx.deps, removed.pieces);
      if (!quiet) deleted.push({ Key: key });
    } catch (error) {
      if (!(error instanceof S3Error)) throw error;
      errors.push({ Key: key, Code: error.s3Code, Message: error.message });
    }
  }
  sendXml(ctx, 'DeleteResult', { Deleted: deleted, Error: errors });
}
