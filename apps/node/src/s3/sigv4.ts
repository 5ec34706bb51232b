import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from './errors.js';
import { s3Limits } from './limits.js';

/**
 * AWS Signature Version 4 as S3 uses it ("Authenticating Requests (AWS Signature Version 4)" in the
 * S3 API reference). Pure functions: the gateway passes the request's parts and `nowMs` in, looks the
 * access key up itself, and gets back what the body must still prove (its hash or chunk signatures).
 */

export const sigV4Algorithm = 'AWS4-HMAC-SHA256';
export const unsignedPayload = 'UNSIGNED-PAYLOAD';
export const streamingSignedPayload = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const streamingSignedPayloadTrailer = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const streamingUnsignedPayloadTrailer = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
export const emptySha256Hex = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The request as the signature covers it: the path and query exactly as received, headers raw. */
export interface SignedRequestParts {
  readonly method: string;
  /** The path as sent, still percent-encoded, without the query. */
  readonly rawPath: string;
  /** The query as sent, without the `?`; '' when there is none. */
  readonly rawQuery: string;
  /** Header name (lowercase) → every value received, in order. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
}

/** `<date>/<region>/<service>/aws4_request`. */
export interface CredentialScope {
  readonly date: string;
  readonly region: string;
  readonly service: string;
}

/** What a request claims about its signature, before the secret is known. */
export interface ParsedAuth {
  readonly kind: 'header' | 'presigned';
  readonly accessKeyId: string;
  readonly scope: CredentialScope;
  readonly signedHeaders: readonly string[];
  readonly signatureHex: string;
  /** `YYYYMMDDTHHMMSSZ`, as signed. */
  readonly amzDate: string;
  readonly amzDateMs: number;
  /** Presigned only: how long the URL is valid. */
  readonly expiresSeconds: number;
  /** The payload hash the signature covers: a hex SHA-256 or one of the named modes. */
  readonly payloadHash: string;
}

/** What the body must still prove once the signature of the request itself has checked out. */
export type PayloadCheck =
  | { readonly mode: 'unsigned' }
  | { readonly mode: 'sha256'; readonly sha256Hex: string }
  | {
      readonly mode: 'chunked-signed';
      readonly trailer: boolean;
      readonly signingKey: Buffer;
      readonly amzDate: string;
      readonly scope: string;
      readonly seedSignatureHex: string;
    }
  | { readonly mode: 'chunked-unsigned'; readonly trailer: true };

const amzDatePattern = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const hex64Pattern = /^[0-9a-f]{64}$/;
const accessKeyIdPattern = /^[A-Za-z0-9+/=_-]{1,128}$/;
const regionPattern = /^[a-z0-9-]{1,64}$/;
const headerNamePattern = /^[a-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const signedHeadersMax = 64;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Uint8Array | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function signingKey(secretKey: string, scope: CredentialScope): Buffer {
  const kDate = hmac(`AWS4${secretKey}`, scope.date);
  const kRegion = hmac(kDate, scope.region);
  const kService = hmac(kRegion, scope.service);
  return hmac(kService, 'aws4_request');
}

export function scopeString(scope: CredentialScope): string {
  return `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
}

/** Percent-encodes every byte of UTF-8 but `A-Za-z0-9-_.~` (and `/` when `keepSlash`), hex uppercase. */
export function uriEncode(value: string, keepSlash: boolean): string {
  const encoded = encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

/** Percent-decoding without `+` → space (SigV4 clients encode spaces as %20). Throws S3Error on bad input. */
export function uriDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new S3Error('InvalidArgument', 'malformed percent-encoding or UTF-8 in the request URI');
  }
}

/** The path re-encoded canonically: each segment decoded once and encoded once, no normalisation. */
export function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  return rawPath
    .split('/')
    .map((segment) => uriEncode(uriDecode(segment), false))
    .join('/');
}

/** Splits a raw query into decoded name/value pairs, in the order received. */
export function parseQuery(rawQuery: string): Array<[string, string]> {
  if (rawQuery === '') return [];
  return rawQuery.split('&').map((part) => {
    const eq = part.indexOf('=');
    return eq < 0 ? [uriDecode(part), ''] : [uriDecode(part.slice(0, eq)), uriDecode(part.slice(eq + 1))];
  });
}

/** Pairs encoded, sorted by name then value, joined with `&`; `exclude` drops one name (the signature). */
export function canonicalQuery(pairs: ReadonlyArray<readonly [string, string]>, exclude?: string): string {
  return pairs
    .filter(([name]) => name !== exclude)
    .map(([name, value]) => [uriEncode(name, false), uriEncode(value, false)] as const)
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function trimCollapse(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

export function canonicalHeaders(
  headers: ReadonlyMap<string, readonly string[]>,
  signedHeaders: readonly string[],
): string {
  return signedHeaders
    .map((name) => `${name}:${(headers.get(name) ?? []).map(trimCollapse).join(',')}\n`)
    .join('');
}

export function canonicalRequest(
  parts: SignedRequestParts,
  signedHeaders: readonly string[],
  payloadHash: string,
  excludeQuery?: string,
): string {
  return [
    parts.method,
    canonicalUri(parts.rawPath),
    canonicalQuery(parseQuery(parts.rawQuery), excludeQuery),
    canonicalHeaders(parts.headers, signedHeaders),
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

export function stringToSign(amzDate: string, scope: CredentialScope, canonicalRequestText: string): string {
  return [sigV4Algorithm, amzDate, scopeString(scope), sha256Hex(canonicalRequestText)].join('\n');
}

/** The string each aws-chunked chunk signs: it chains to the previous signature. */
export function chunkStringToSign(
  amzDate: string,
  scope: string,
  previousSignatureHex: string,
  chunkSha256Hex: string,
): string {
  return [
    `${sigV4Algorithm}-PAYLOAD`,
    amzDate,
    scope,
    previousSignatureHex,
    emptySha256Hex,
    chunkSha256Hex,
  ].join('\n');
}

/** The string the trailer of a signed aws-chunked body signs. */
export function trailerStringToSign(
  amzDate: string,
  scope: string,
  previousSignatureHex: string,
  trailerText: string,
): string {
  return [`${sigV4Algorithm}-TRAILER`, amzDate, scope, previousSignatureHex, sha256Hex(trailerText)].join(
    '\n',
  );
}

export function hmacHex(key: Uint8Array, data: string): string {
  return hmac(key, data).toString('hex');
}

/** Constant-time comparison of two lowercase hex signatures. */
export function signaturesEqual(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'utf8');
  const b = Buffer.from(bHex, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function parseAmzDate(value: string): number | undefined {
  const m = amzDatePattern.exec(value);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  // Rejects 20130231 and friends, which Date.UTC would roll over silently.
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59)
    return undefined;
  return ms;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * The request is signed at all (header or query, SigV2's presigned query included, which `parseAuth`
 * then refuses by name), so `parseAuth` applies; else it is anonymous.
 */
export function isSigned(parts: SignedRequestParts, query: ReadonlyMap<string, string>): boolean {
  return (
    parts.headers.has('authorization') ||
    query.has('X-Amz-Algorithm') ||
    query.has('X-Amz-Signature') ||
    isSigV2Query(query)
  );
}

/** A Signature Version 2 presigned URL (`AWSAccessKeyId`, `Signature`, `Expires`): aws CLI 1.x's default. */
function isSigV2Query(query: ReadonlyMap<string, string>): boolean {
  return query.has('AWSAccessKeyId') && query.has('Signature');
}

/**
 * Reads the claimed credential, scope, signed headers, date and payload mode from the Authorization
 * header or from the presigned query. Checks form only; `verifyAuth` checks the signature and time.
 */
export function parseAuth(parts: SignedRequestParts, query: ReadonlyMap<string, string>): ParsedAuth {
  const authorization = parts.headers.get('authorization');
  if (authorization !== undefined) {
    if (query.has('X-Amz-Signature') || query.has('X-Amz-Algorithm')) {
      throw new S3Error('InvalidArgument', 'only one authentication mechanism allowed');
    }
    return parseHeaderAuth(parts, authorization);
  }
  if (!query.has('X-Amz-Algorithm') && !query.has('X-Amz-Signature') && isSigV2Query(query)) {
    // What S3 answers in regions that only take V4.
    throw new S3Error(
      'InvalidRequest',
      `the authorization mechanism you have provided (Signature Version 2) is not supported; use ${sigV4Algorithm} (aws CLI 1.x: set s3.signature_version = s3v4)`,
    );
  }
  return parsePresignedAuth(query);
}

function parseHeaderAuth(parts: SignedRequestParts, authorization: readonly string[]): ParsedAuth {
  const malformed = (why: string) =>
    new S3Error('AuthorizationHeaderMalformed', `the authorization header is malformed: ${why}`);
  if (authorization.length !== 1) throw malformed('sent more than once');
  const value = authorization[0]!;
  if (!value.startsWith(`${sigV4Algorithm} `)) {
    throw new S3Error(
      'InvalidArgument',
      `unsupported authorization type; only ${sigV4Algorithm} is accepted`,
    );
  }
  const fields = new Map<string, string>();
  for (const item of value.slice(sigV4Algorithm.length + 1).split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) throw malformed(`bad component "${item.trim().slice(0, 40)}"`);
    fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw malformed('Credential, SignedHeaders and Signature are required');
  }
  const amzDate = singleHeader(parts, 'x-amz-date');
  if (amzDate === undefined) {
    throw new S3Error('AccessDenied', 'AWS authentication requires a valid x-amz-date header');
  }
  const payloadHash = singleHeader(parts, 'x-amz-content-sha256');
  if (payloadHash === undefined) {
    throw new S3Error('InvalidRequest', 'missing required header for this request: x-amz-content-sha256');
  }
  return finishParse('header', credential, signedHeaders, signature, amzDate, 0, payloadHash, malformed);
}

function parsePresignedAuth(query: ReadonlyMap<string, string>): ParsedAuth {
  const malformed = (why: string) =>
    new S3Error('AuthorizationQueryParametersError', `the presigned URL is malformed: ${why}`);
  if (query.get('X-Amz-Algorithm') !== sigV4Algorithm) {
    throw malformed(`X-Amz-Algorithm must be ${sigV4Algorithm}`);
  }
  const credential = query.get('X-Amz-Credential');
  const signedHeaders = query.get('X-Amz-SignedHeaders');
  const signature = query.get('X-Amz-Signature');
  const amzDate = query.get('X-Amz-Date');
  const expires = query.get('X-Amz-Expires');
  if (
    credential === undefined ||
    signedHeaders === undefined ||
    signature === undefined ||
    amzDate === undefined ||
    expires === undefined
  ) {
    throw malformed(
      'X-Amz-Credential, X-Amz-SignedHeaders, X-Amz-Signature, X-Amz-Date and X-Amz-Expires are required',
    );
  }
  if (!/^\d{1,7}$/.test(expires) || Number(expires) < 1)
    throw malformed('X-Amz-Expires must be a positive integer');
  const expiresSeconds = Number(expires);
  if (expiresSeconds > s3Limits.presignExpiresSecondsMax) {
    throw malformed(`X-Amz-Expires must be at most ${s3Limits.presignExpiresSecondsMax} seconds (7 days)`);
  }
  // A presigned URL covers no body hash unless the signer put one in the query.
  const payloadHash = query.get('X-Amz-Content-Sha256') ?? unsignedPayload;
  if (payloadHash !== unsignedPayload && !hex64Pattern.test(payloadHash)) {
    throw malformed('X-Amz-Content-Sha256 must be UNSIGNED-PAYLOAD or a hex SHA-256');
  }
  return finishParse(
    'presigned',
    credential,
    signedHeaders,
    signature,
    amzDate,
    expiresSeconds,
    payloadHash,
    malformed,
  );
}

function finishParse(
  kind: ParsedAuth['kind'],
  credential: string,
  signedHeadersText: string,
  signatureHex: string,
  amzDate: string,
  expiresSeconds: number,
  payloadHash: string,
  malformed: (why: string) => S3Error,
): ParsedAuth {
  const pieces = credential.split('/');
  if (pieces.length !== 5 || pieces[4] !== 'aws4_request') {
    throw malformed('Credential must be <key id>/<date>/<region>/<service>/aws4_request');
  }
  const [accessKeyId, date, region, service] = pieces as [string, string, string, string];
  if (!accessKeyIdPattern.test(accessKeyId)) throw malformed('bad access key id');
  if (!regionPattern.test(region)) throw malformed('bad region');
  if (service !== 's3') throw malformed(`service must be s3, not "${service.slice(0, 20)}"`);
  const amzDateMs = parseAmzDate(amzDate);
  if (amzDateMs === undefined) throw malformed('X-Amz-Date must be YYYYMMDDTHHMMSSZ');
  if (date !== amzDate.slice(0, 8)) throw malformed('the credential date does not match X-Amz-Date');
  if (!hex64Pattern.test(signatureHex)) throw malformed('Signature must be 64 lowercase hex digits');
  const signedHeaders = signedHeadersText.split(';');
  if (signedHeaders.length > signedHeadersMax || !signedHeaders.every((h) => headerNamePattern.test(h))) {
    throw malformed(`SignedHeaders must be at most ${signedHeadersMax} lowercase header names`);
  }
  if (!signedHeaders.includes('host')) throw malformed('the host header must be signed');
  return {
    kind,
    accessKeyId,
    scope: { date, region, service },
    signedHeaders,
    signatureHex,
    amzDate,
    amzDateMs,
    expiresSeconds,
    payloadHash,
  };
}

function singleHeader(parts: SignedRequestParts, name: string): string | undefined {
  const values = parts.headers.get(name);
  if (values === undefined) return undefined;
  if (values.length !== 1) throw new S3Error('InvalidArgument', `header ${name} sent more than once`);
  return values[0];
}

export interface VerifyOptions {
  readonly secretKey: string;
  readonly region: string;
  readonly nowMs: number;
}

/**
 * Checks the request's signature, its time (skew for headers, expiry for presigned URLs) and which
 * headers it left unsigned; returns what the body must still prove. Throws S3Error on any failure.
 */
export function verifyAuth(
  parts: SignedRequestParts,
  auth: ParsedAuth,
  options: VerifyOptions,
): PayloadCheck {
  if (auth.scope.region !== options.region) {
    throw new S3Error(
      auth.kind === 'header' ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError',
      `the credential scope names region "${auth.scope.region}"; this gateway is "${options.region}"`,
      { Region: options.region },
    );
  }
  checkTime(auth, options.nowMs);
  if (auth.kind === 'header') checkUnsignedAmzHeaders(parts, auth.signedHeaders);
  const key = signingKey(options.secretKey, auth.scope);
  const request = canonicalRequest(
    parts,
    auth.signedHeaders,
    auth.payloadHash,
    auth.kind === 'presigned' ? 'X-Amz-Signature' : undefined,
  );
  const expected = hmacHex(key, stringToSign(auth.amzDate, auth.scope, request));
  if (!signaturesEqual(expected, auth.signatureHex)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'the request signature we calculated does not match the signature you provided; check your key and signing method',
    );
  }
  return payloadCheck(auth, key);
}

function checkTime(auth: ParsedAuth, nowMs: number): void {
  if (auth.kind === 'header') {
    if (Math.abs(nowMs - auth.amzDateMs) > s3Limits.clockSkewMsMax) {
      throw new S3Error(
        'RequestTimeTooSkewed',
        'the difference between the request time and the current time is too large',
        { RequestTime: auth.amzDate, ServerTime: new Date(nowMs).toISOString() },
      );
    }
    return;
  }
  if (auth.amzDateMs - nowMs > s3Limits.clockSkewMsMax) {
    throw new S3Error('AccessDenied', 'request is not valid yet');
  }
  if (nowMs > auth.amzDateMs + auth.expiresSeconds * 1000) {
    throw new S3Error('AccessDenied', 'request has expired', {
      Expires: new Date(auth.amzDateMs + auth.expiresSeconds * 1000).toISOString(),
      ServerTime: new Date(nowMs).toISOString(),
    });
  }
}

/** S3 refuses a header-signed request carrying x-amz-* headers it did not sign. */
function checkUnsignedAmzHeaders(parts: SignedRequestParts, signedHeaders: readonly string[]): void {
  for (const name of parts.headers.keys()) {
    if (name.startsWith('x-amz-') && !signedHeaders.includes(name)) {
      throw new S3Error(
        'AccessDenied',
        `there were headers present in the request which were not signed: ${name}`,
      );
    }
  }
}

function payloadCheck(auth: ParsedAuth, key: Buffer): PayloadCheck {
  const hash = auth.payloadHash;
  if (hash === unsignedPayload) return { mode: 'unsigned' };
  if (hex64Pattern.test(hash)) return { mode: 'sha256', sha256Hex: hash };
  if (hash === streamingSignedPayload || hash === streamingSignedPayloadTrailer) {
    return {
      mode: 'chunked-signed',
      trailer: hash === streamingSignedPayloadTrailer,
      signingKey: key,
      amzDate: auth.amzDate,
      scope: scopeString(auth.scope),
      seedSignatureHex: auth.signatureHex,
    };
  }
  if (hash === streamingUnsignedPayloadTrailer) return { mode: 'chunked-unsigned', trailer: true };
  throw new S3Error('InvalidArgument', `unsupported x-amz-content-sha256 value "${hash.slice(0, 64)}"`);
}
