import { NodeError } from '../errors.js';

/**
 * The S3 error codes the gateway answers with, and the HTTP status of each, as Amazon S3 documents
 * them ("Error responses" in the S3 API reference). Clients branch on these strings.
 */
export const s3ErrorStatus = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyExists: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartNumber: 416,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  RequestHeaderSectionTooLarge: 400,
  RequestTimeTooSkewed: 403,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
} as const;

export type S3ErrorCode = keyof typeof s3ErrorStatus;

/**
 * An error the gateway answers in S3's XML form. `s3Code` is the S3 code clients match on; `code`
 * (the TrinityError code) is its stable upper-snake form, e.g. `S3_NO_SUCH_KEY`.
 */
export class S3Error extends NodeError {
  readonly s3Code: S3ErrorCode;
  /** Extra elements of the XML error body, e.g. `{ BucketName: 'photos' }`. */
  readonly xmlFields: Readonly<Record<string, string>>;

  constructor(s3Code: S3ErrorCode, message: string, xmlFields: Record<string, string> = {}) {
    super(`S3_${upperSnake(s3Code)}`, message, s3ErrorStatus[s3Code]);
    this.s3Code = s3Code;
    this.xmlFields = xmlFields;
  }
}

function upperSnake(code: string): string {
  return code.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}
