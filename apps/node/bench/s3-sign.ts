import { canonicalRequest, formatAmzDate, hmacHex, signingKey, stringToSign } from '../src/s3/sigv4.js';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretKey: string;
}

/** SigV4 headers (UNSIGNED-PAYLOAD, region us-east-1) for one request to a gateway on 127.0.0.1:`port`. */
export function s3Headers(
  method: string,
  path: string,
  port: number,
  key: Credentials,
  extra: Record<string, string>,
  rawQuery = '',
): Record<string, string> {
  const amzDate = formatAmzDate(Date.now());
  const scope = { date: amzDate.slice(0, 8), region: 'us-east-1', service: 's3' };
  const headers: Record<string, string> = {
    ...extra,
    host: `127.0.0.1:${port}`,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
  };
  const names = Object.keys(headers).sort();
  const parts = {
    method,
    rawPath: path,
    rawQuery,
    headers: new Map(names.map((n) => [n, [headers[n]!]])),
  };
  const signature = hmacHex(
    signingKey(key.secretKey, scope),
    stringToSign(amzDate, scope, canonicalRequest(parts, names, 'UNSIGNED-PAYLOAD')),
  );
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${key.accessKeyId}/${scope.date}/us-east-1/s3/aws4_request, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}
