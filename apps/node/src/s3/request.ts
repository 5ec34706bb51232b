import { S3Error } from './errors.js';
import { checkBucketName, checkKey } from './keys.js';
import { parseQuery, type SignedRequestParts, uriDecode } from './sigv4.js';

/**
 * Routing: which bucket and key a request names (path style `/<bucket>/<key>` or virtual-host style
 * `Host: <bucket>.<baseDomain>`), and which S3 operation it is. Pure: no sockets.
 */

export interface RoutedRequest {
  readonly parts: SignedRequestParts;
  /** Decoded query names → first value. */
  readonly query: ReadonlyMap<string, string>;
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  readonly operation: Operation;
}

export type Operation =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'HeadBucket'
  | 'DeleteBucket'
  | 'GetBucketLocation'
  | 'GetBucketVersioning'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'ListMultipartUploads'
  | 'DeleteObjects'
  | 'PutObject'
  | 'CopyObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts';

/** Subresources S3 has and this gateway does not: answered NotImplemented, never mistaken for a plain GET. */
const unsupportedSubresources = [
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'cors',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'tagging',
  'torrent',
  'versionId',
  'versions',
  'website',
];

/** Query parameters a request may carry at most. */
const queryParamsMax = 64;

export function routeRequest(
  method: string,
  rawUrl: string,
  headers: ReadonlyMap<string, readonly string[]>,
  baseDomain: string,
): RoutedRequest {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
  if (!rawPath.startsWith('/'))
    throw new S3Error('InvalidRequest', 'the request target must be an absolute path');
  const pairs = parseQuery(rawQuery);
  if (pairs.length > queryParamsMax)
    throw new S3Error('InvalidArgument', `at most ${queryParamsMax} query parameters`);
  const query = new Map<string, string>();
  for (const [name, value] of pairs) if (!query.has(name)) query.set(name, value);
  const parts: SignedRequestParts = { method, rawPath, rawQuery, headers };
  const { bucket, key } = bucketAndKey(rawPath, hostBucket(headers.get('host')?.[0] ?? '', baseDomain));
  if (bucket !== undefined) checkBucketName(bucket);
  if (key !== undefined) checkKey(key);
  return { parts, query, bucket, key, operation: operationOf(method, bucket, key, query, headers) };
}

/** The bucket named by a virtual-host-style Host header, if it is one. */
export function hostBucket(host: string, baseDomain: string): string | undefined {
  if (baseDomain === '') return undefined;
  const name = host.toLowerCase().replace(/:\d+$/, '');
  const suffix = `.${baseDomain}`;
  return name.endsWith(suffix) && name.length > suffix.length ? name.slice(0, -suffix.length) : undefined;
}

function bucketAndKey(
  rawPath: string,
  virtualBucket: string | undefined,
): { bucket: string | undefined; key: string | undefined } {
  const path = rawPath.slice(1);
  if (virtualBucket !== undefined) {
    return { bucket: virtualBucket, key: path === '' ? undefined : uriDecode(path) };
  }
  if (path === '') return { bucket: undefined, key: undefined };
  const slash = path.indexOf('/');
  if (slash < 0) return { bucket: uriDecode(path), key: undefined };
  const key = path.slice(slash + 1);
  return { bucket: uriDecode(path.slice(0, slash)), key: key === '' ? undefined : uriDecode(key) };
}

function operationOf(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  query: ReadonlyMap<string, string>,
  headers: ReadonlyMap<string, readonly string[]>,
): Operation {
  const unsupported = unsupportedSubresources.find((name) => query.has(name));
  if (unsupported !== undefined) {
    throw new S3Error('NotImplemented', `the ${unsupported} subresource is not implemented by this gateway`);
  }
  const op =
    bucket === undefined
      ? serviceOperation(method)
      : key === undefined
        ? bucketOperation(method, query)
        : objectOperation(method, query, headers.has('x-amz-copy-source'));
  if (op === undefined)
    throw new S3Error('MethodNotAllowed', `${method} is not allowed against this resource`);
  return op;
}

function serviceOperation(method: string): Operation | undefined {
  return method === 'GET' ? 'ListBuckets' : undefined;
}

function bucketOperation(method: string, query: ReadonlyMap<string, string>): Operation | undefined {
  switch (method) {
    case 'GET':
      if (query.has('location')) return 'GetBucketLocation';
      if (query.has('versioning')) return 'GetBucketVersioning';
      if (query.has('uploads')) return 'ListMultipartUploads';
      return query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    case 'PUT':
      return query.has('versioning') ? undefined : 'CreateBucket';
    case 'HEAD':
      return 'HeadBucket';
    case 'DELETE':
      return 'DeleteBucket';
    case 'POST':
      return query.has('delete') ? 'DeleteObjects' : undefined;
    default:
      return undefined;
  }
}

function objectOperation(
  method: string,
  query: ReadonlyMap<string, string>,
  copy: boolean,
): Operation | undefined {
  const upload = query.has('uploadId');
  switch (method) {
    case 'GET':
      return upload ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      if (upload || query.has('partNumber')) return copy ? 'UploadPartCopy' : 'UploadPart';
      return copy ? 'CopyObject' : 'PutObject';
    case 'DELETE':
      return upload ? 'AbortMultipartUpload' : 'DeleteObject';
    case 'POST':
      if (query.has('uploads')) return 'CreateMultipartUpload';
      return upload ? 'CompleteMultipartUpload' : undefined;
    default:
      return undefined;
  }
}

/** Header name (lowercase) → values, from node:http's `rawHeaders` (which keeps repeats apart). */
export function headerMap(rawHeaders: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const values = map.get(name);
    if (values === undefined) map.set(name, [rawHeaders[i + 1]!]);
    else values.push(rawHeaders[i + 1]!);
  }
  return map;
}
