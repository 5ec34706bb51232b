import { createHash, randomBytes } from 'node:crypto';
import type { ObjectEntry, PartRecord, UploadRange, UploadRecord } from './backend.js';
import { parseRange } from './conditions.js';
import {
  bucketOf,
  freePieces,
  header,
  keyOf,
  objectHeaders,
  ownedBucket,
  readXmlText,
  requestBody,
  type S3Context,
  sendEmpty,
  sendXml,
} from './context.js';
import { S3Error } from './errors.js';
import { compareKeys, prefixSuccessor } from './keys.js';
import { s3Limits } from './limits.js';
import { commonPrefixOf } from './listing.js';
import { copyBytes, copySource } from './object-ops.js';
import { uriEncode } from './sigv4.js';
import { childArray, childText, parseXmlBody, type XmlObject } from './xml.js';

/**
 * Multipart uploads. Parts are stored as they arrive and recorded in the index under their upload;
 * CompleteMultipartUpload only writes metadata (the object is its parts' pieces, in order), so it is
 * cheap for any size. Abort, and a part replaced by a re-upload, free their pieces at once.
 */

/** Time-ordered upload ids: 12 hex digits of milliseconds, then 20 random hex digits. */
function newUploadId(nowMs: number): string {
  return nowMs.toString(16).padStart(12, '0') + randomBytes(10).toString('hex');
}

const uploadIdPattern = /^[0-9a-f]{32}$/;

async function uploadOf(ctx: S3Context): Promise<UploadRecord> {
  const uploadId = ctx.routed.query.get('uploadId') ?? '';
  const missing = new S3Error('NoSuchUpload', 'the specified multipart upload does not exist', {
    UploadId: uploadId.slice(0, 64),
  });
  if (!uploadIdPattern.test(uploadId)) throw missing;
  const upload = await ctx.deps.index.getUpload(bucketOf(ctx), uploadId);
  if (upload === undefined || upload.key !== keyOf(ctx) || upload.owner !== ctx.owner) throw missing;
  return upload;
}

export async function createMultipartUpload(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  await ownedBucket(ctx);
  const upload: UploadRecord = {
    uploadId: newUploadId(ctx.nowMs),
    key: keyOf(ctx),
    owner: ctx.owner,
    initiatedMs: ctx.nowMs,
    ...objectHeaders(ctx, s3Limits.userMetadataBytesMax),
  };
  await ctx.deps.index.createUpload(bucket, upload);
  sendXml(ctx, 'InitiateMultipartUploadResult', {
    Bucket: bucket,
    Key: upload.key,
    UploadId: upload.uploadId,
  });
}

function partNumberOf(ctx: S3Context): number {
  const text = ctx.routed.query.get('partNumber') ?? '';
  const n = /^\d{1,5}$/.test(text) ? Number(text) : 0;
  if (n < 1 || n > s3Limits.partNumberMax) {
    throw new S3Error(
      'InvalidArgument',
      `part number must be an integer between 1 and ${s3Limits.partNumberMax}`,
    );
  }
  return n;
}

/** Records a stored part; if the upload went away meanwhile, frees it and fails. */
async function recordPart(ctx: S3Context, upload: UploadRecord, part: PartRecord): Promise<void> {
  let replaced: PartRecord | undefined;
  try {
    replaced = await ctx.deps.index.putPart(bucketOf(ctx), upload.uploadId, part);
  } catch (error) {
    await freePieces(ctx.deps, [part.piece]);
    throw error;
  }
  if (replaced !== undefined) await freePieces(ctx.deps, [replaced.piece]);
}

export async function uploadPart(ctx: S3Context): Promise<void> {
  // Recording the part checks the bucket and the upload again, atomically.
  await ownedBucket(ctx, bucketOf(ctx), { mayBeStale: true });
  const partNumber = partNumberOf(ctx);
  const upload = await uploadOf(ctx);
  const { body, stream } = requestBody(ctx, s3Limits.partBytesMax);
  const piece = await ctx.deps.backend.putObject(ctx.owner, stream, { sizeBytes: body.declaredBytes });
  const etag = body.result.md5.toString('hex');
  await recordPart(ctx, upload, { partNumber, piece, etag, lastModifiedMs: ctx.deps.clock.nowMs() });
  sendEmpty(ctx, 200, { etag: `"${etag}"` });
}

export async function uploadPartCopy(ctx: S3Context): Promise<void> {
  await ownedBucket(ctx);
  const partNumber = partNumberOf(ctx);
  const upload = await uploadOf(ctx);
  const source = await copySource(ctx);
  const rangeHeader = header(ctx, 'x-amz-copy-source-range');
  let offsetBytes = 0;
  let lengthBytes = source.entry.sizeBytes;
  if (rangeHeader !== undefined) {
    const m = /^bytes=(\d{1,20})-(\d{1,20})$/.exec(rangeHeader);
    const range = m === null ? undefined : parseRange(rangeHeader, source.entry.sizeBytes);
    if (m === null || range === undefined || Number(m[2]) >= source.entry.sizeBytes) {
      throw new S3Error(
        'InvalidArgument',
        'x-amz-copy-source-range must be bytes=first-last within the source object',
      );
    }
    ({ offsetBytes, lengthBytes } = range);
  }
  if (lengthBytes > s3Limits.partBytesMax) throw new S3Error('EntityTooLarge', 'a part is at most 5 GiB');
  const { piece, md5Hex } = await copyBytes(ctx, source.entry, offsetBytes, lengthBytes);
  const lastModifiedMs = ctx.deps.clock.nowMs();
  await recordPart(ctx, upload, { partNumber, piece, etag: md5Hex, lastModifiedMs });
  sendXml(ctx, 'CopyPartResult', {
    LastModified: new Date(lastModifiedMs).toISOString(),
    ETag: `"${md5Hex}"`,
  });
}

/** The parts a CompleteMultipartUpload body lists, in order, with their ETags unquoted. */
function requestedParts(doc: XmlObject): Array<{ partNumber: number; etag: string }> {
  const parts = childArray(doc, 'Part');
  if (parts.length === 0 || parts.length > s3Limits.partNumberMax) {
    throw new S3Error(
      'MalformedXML',
      `CompleteMultipartUpload must list 1 to ${s3Limits.partNumberMax} parts`,
    );
  }
  let previous = 0;
  return parts.map((part) => {
    const numberText = childText(part, 'PartNumber') ?? '';
    const etag = (childText(part, 'ETag') ?? '').trim().replace(/^"(.*)"$/, '$1');
    const partNumber = /^\d{1,5}$/.test(numberText) ? Number(numberText) : 0;
    if (partNumber < 1 || partNumber > s3Limits.partNumberMax)
      throw new S3Error('InvalidPart', `bad part number "${numberText.slice(0, 12)}"`);
    if (partNumber <= previous) {
      throw new S3Error(
        'InvalidPartOrder',
        'the list of parts was not in ascending order; parts must be ordered by part number',
      );
    }
    previous = partNumber;
    return { partNumber, etag };
  });
}

export async function completeMultipartUpload(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  await ownedBucket(ctx);
  const upload = await uploadOf(ctx);
  const wanted = requestedParts(parseXmlBody(await readXmlText(ctx), 'CompleteMultipartUpload'));
  const stored = new Map<number, PartRecord>();
  for (let after = 0; ; ) {
    const batch = await ctx.deps.index.listParts(bucket, upload.uploadId, after, 1000);
    for (const part of batch) stored.set(part.partNumber, part);
    if (batch.length < 1000) break;
    after = batch.at(-1)!.partNumber;
  }
  const chosen = wanted.map(({ partNumber, etag }, i) => {
    const part = stored.get(partNumber);
    if (part === undefined || part.etag !== etag) {
      throw new S3Error(
        'InvalidPart',
        'one or more of the specified parts could not be found or its entity tag did not match',
        {
          PartNumber: String(partNumber),
        },
      );
    }
    if (i < wanted.length - 1 && part.piece.sizeBytes < s3Limits.partBytesMin) {
      throw new S3Error(
        'EntityTooSmall',
        'your proposed upload is smaller than the minimum allowed object size',
        {
          PartNumber: String(partNumber),
          MinSizeAllowed: String(s3Limits.partBytesMin),
        },
      );
    }
    return part;
  });
  const sizeBytes = chosen.reduce((sum, p) => sum + p.piece.sizeBytes, 0);
  if (sizeBytes > s3Limits.objectBytesMax) {
    throw new S3Error('EntityTooLarge', `an object is at most ${s3Limits.objectBytesMax} bytes`);
  }
  const entry: ObjectEntry = {
    pieces: chosen.map((p) => p.piece),
    sizeBytes,
    etag: multipartEtag(chosen.map((p) => p.etag)),
    lastModifiedMs: ctx.deps.clock.nowMs(),
    contentType: upload.contentType,
    userMetadata: upload.userMetadata,
    headers: upload.headers,
  };
  const { replaced, unusedParts } = await ctx.deps.index.completeUpload(
    bucket,
    upload.uploadId,
    upload.key,
    entry,
  );
  await freePieces(ctx.deps, [...(replaced?.pieces ?? []), ...unusedParts.map((p) => p.piece)]);
  sendXml(ctx, 'CompleteMultipartUploadResult', {
    Location: `/${bucket}/${uriEncode(upload.key, true)}`,
    Bucket: bucket,
    Key: upload.key,
    ETag: `"${entry.etag}"`,
  });
}

/** S3's multipart ETag: MD5 of the parts' binary MD5s concatenated, then `-<part count>`. */
export function multipartEtag(partEtagsHex: readonly string[]): string {
  const md5 = createHash('md5');
  for (const etag of partEtagsHex) md5.update(Buffer.from(etag, 'hex'));
  return `${md5.digest('hex')}-${partEtagsHex.length}`;
}

export async function abortMultipartUpload(ctx: S3Context): Promise<void> {
  await ownedBucket(ctx);
  const upload = await uploadOf(ctx);
  const parts = await ctx.deps.index.abortUpload(bucketOf(ctx), upload.uploadId);
  if (parts === undefined) throw new S3Error('NoSuchUpload', 'the specified multipart upload does not exist');
  await freePieces(
    ctx.deps,
    parts.map((p) => p.piece),
  );
  sendEmpty(ctx, 204);
}

function boundedInt(ctx: S3Context, name: string, fallback: number, max: number): number {
  const text = ctx.routed.query.get(name);
  if (text === undefined) return fallback;
  if (!/^\d{1,9}$/.test(text)) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer`);
  return Math.min(Number(text), max);
}

export async function listParts(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  await ownedBucket(ctx);
  const upload = await uploadOf(ctx);
  const maxParts = boundedInt(ctx, 'max-parts', 1000, 1000);
  const marker = boundedInt(ctx, 'part-number-marker', 0, s3Limits.partNumberMax);
  const batch = await ctx.deps.index.listParts(bucket, upload.uploadId, marker, maxParts + 1);
  const page = batch.slice(0, maxParts);
  const truncated = batch.length > maxParts;
  sendXml(ctx, 'ListPartsResult', {
    Bucket: bucket,
    Key: upload.key,
    UploadId: upload.uploadId,
    Initiator: { ID: upload.owner, DisplayName: upload.owner.slice(0, 16) },
    Owner: { ID: upload.owner, DisplayName: upload.owner.slice(0, 16) },
    StorageClass: 'STANDARD',
    PartNumberMarker: marker,
    ...(truncated ? { NextPartNumberMarker: page.at(-1)!.partNumber } : {}),
    MaxParts: maxParts,
    IsTruncated: truncated,
    Part: page.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: new Date(p.lastModifiedMs).toISOString(),
      ETag: `"${p.etag}"`,
      Size: p.piece.sizeBytes,
    })),
  });
}

export interface UploadsPageParams {
  readonly prefix: string;
  readonly delimiter: string;
  readonly keyMarker: string;
  readonly uploadIdMarker: string;
  readonly maxUploads: number;
}

export interface UploadsPage {
  readonly uploads: UploadRecord[];
  readonly commonPrefixes: string[];
  readonly truncated: boolean;
  /** Where the next page starts: the last upload (key and id) or common prefix (key, id ''). */
  readonly next: { readonly key: string; readonly uploadId: string } | undefined;
}

/**
 * One ListMultipartUploads page over any index, with the same roll-up rules as `listPage`: common
 * prefixes count towards the maximum, are skipped in one jump, and never repeat across pages.
 */
export async function uploadsPage(
  source: (range: UploadRange) => Promise<UploadRecord[]>,
  p: UploadsPageParams,
): Promise<UploadsPage> {
  const uploads: UploadRecord[] = [];
  const commonPrefixes: string[] = [];
  let next: UploadsPage['next'];
  let afterKey = p.keyMarker;
  // Without an upload-id-marker, every upload of the marker key is before the page.
  let afterUploadId = p.keyMarker === '' || p.uploadIdMarker === '' ? '\uffff' : p.uploadIdMarker;
  const done = (truncated: boolean): UploadsPage => ({ uploads, commonPrefixes, truncated, next });
  if (p.maxUploads === 0) return done(false);
  for (;;) {
    const batch = await source({ prefix: p.prefix, afterKey, afterUploadId, limit: 1000 });
    let jumpTo: string | undefined;
    for (const upload of batch) {
      const rollUp = commonPrefixOf(upload.key, p.prefix, p.delimiter);
      if (rollUp === undefined || p.keyMarker === '' || compareKeys(rollUp, p.keyMarker) > 0) {
        if (uploads.length + commonPrefixes.length === p.maxUploads) return done(true);
        if (rollUp === undefined) {
          uploads.push(upload);
          next = { key: upload.key, uploadId: upload.uploadId };
        } else {
          commonPrefixes.push(rollUp);
          next = { key: rollUp, uploadId: '' };
        }
      }
      if (rollUp !== undefined) {
        jumpTo = prefixSuccessor(rollUp);
        if (jumpTo === undefined) return done(false);
        break;
      }
      afterKey = upload.key;
      afterUploadId = upload.uploadId;
    }
    if (jumpTo !== undefined) {
      // Keys from jumpTo on: '' sorts before every upload id.
      afterKey = jumpTo;
      afterUploadId = '';
    } else if (batch.length < 1000) {
      return done(false);
    }
  }
}

/** ListMultipartUploads with prefix, delimiter, key-marker, upload-id-marker and max-uploads. */
export async function listMultipartUploads(ctx: S3Context): Promise<void> {
  const bucket = await ownedBucket(ctx);
  const q = ctx.routed.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const uploadIdMarker = keyMarker === '' ? '' : (q.get('upload-id-marker') ?? '');
  const maxUploads = boundedInt(ctx, 'max-uploads', 1000, 1000);
  const page = await uploadsPage((range) => ctx.deps.index.listUploads(bucket.name, range), {
    prefix,
    delimiter,
    keyMarker,
    uploadIdMarker,
    maxUploads,
  });
  sendXml(ctx, 'ListMultipartUploadsResult', {
    Bucket: bucket.name,
    KeyMarker: keyMarker,
    UploadIdMarker: uploadIdMarker,
    ...(page.truncated && page.next !== undefined
      ? { NextKeyMarker: page.next.key, NextUploadIdMarker: page.next.uploadId }
      : {}),
    Prefix: prefix,
    ...(delimiter === '' ? {} : { Delimiter: delimiter }),
    MaxUploads: maxUploads,
    IsTruncated: page.truncated,
    Upload: page.uploads.map((u) => ({
      Key: u.key,
      UploadId: u.uploadId,
      Initiator: { ID: u.owner, DisplayName: u.owner.slice(0, 16) },
      Owner: { ID: u.owner, DisplayName: u.owner.slice(0, 16) },
      StorageClass: 'STANDARD',
      Initiated: new Date(u.initiatedMs).toISOString(),
    })),
    CommonPrefixes: page.commonPrefixes.map((cp) => ({ Prefix: cp })),
  });
}
