import { generateKeyPairSync, type KeyObject, randomBytes, sign, X509Certificate } from 'node:crypto';
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { NodeError } from '../errors.js';

/**
 * Certificates of the data channel, bound to a node's libp2p identity as the libp2p TLS handshake
 * specification binds them: a self-signed X.509 certificate on a fresh key, carrying the extension
 * 1.3.6.1.4.1.53594.1.1 = SignedKey { publicKey: the libp2p public key protobuf, signature: the
 * node key's signature over "libp2p-tls-handshake:" || the certificate's SubjectPublicKeyInfo DER }.
 * Whoever presents such a certificate holds the node key of the peer id it names.
 */

/** A peer's channel certificate is missing, malformed, expired or not bound to the key it claims. */
export class ChannelAuthError extends NodeError {
  constructor(message: string) {
    super('CHANNEL_AUTH', message, 502);
  }
}

export const libp2pExtensionOid = '1.3.6.1.4.1.53594.1.1';
const signaturePrefix = new TextEncoder().encode('libp2p-tls-handshake:');
const ecdsaWithSha256Oid = '1.2.840.10045.4.3.2';
const commonNameOid = '2.5.4.3';
/** A certificate lives a year; a node makes a new one at every start. */
const certLifetimeMs = 365 * 24 * 3_600_000;
/** Tolerated clock skew between two nodes at the start of a certificate's validity. */
const clockSkewMs = 3_600_000;

/** The PEM key and certificate a TLS context of the channel is made from. */
export interface ChannelCredentials {
  readonly keyPem: string;
  readonly certPem: string;
}

// DER (ITU-T X.690), only what a certificate needs.
const tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
  explicit0: 0xa0,
  explicit3: 0xa3,
} as const;

function der(type: number, ...contents: Uint8Array[]): Uint8Array {
  const length = contents.reduce((sum, part) => sum + part.length, 0);
  let head: number[];
  if (length < 0x80) head = [type, length];
  else {
    const bytes: number[] = [];
    for (let left = length; left > 0; left = Math.floor(left / 256)) bytes.unshift(left & 0xff);
    head = [type, 0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Uint8Array.from(head), ...contents]);
}

function derOid(oid: string): Uint8Array {
  const parts = oid.split('.').map(Number);
  const bytes = [parts[0]! * 40 + parts[1]!];
  for (const part of parts.slice(2)) {
    const base128: number[] = [part & 0x7f];
    for (let left = Math.floor(part / 128); left > 0; left = Math.floor(left / 128))
      base128.unshift(0x80 | (left & 0x7f));
    bytes.push(...base128);
  }
  return der(tag.oid, Uint8Array.from(bytes));
}

function derTime(ms: number): Uint8Array {
  const iso = new Date(ms).toISOString(); // 2026-12-05T07:00:00.000Z
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = new Date(ms).getUTCFullYear();
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return year < 2050
    ? der(tag.utcTime, Buffer.from(digits.slice(2)))
    : der(tag.generalizedTime, Buffer.from(digits));
}

/** One parsed DER element: its tag, its content, and the whole encoding. */
interface DerNode {
  readonly type: number;
  readonly content: Uint8Array;
  readonly raw: Uint8Array;
}

function readDer(bytes: Uint8Array, offset: number): DerNode {
  if (offset + 2 > bytes.length) throw new ChannelAuthError('certificate: truncated DER');
  const type = bytes[offset]!;
  let length = bytes[offset + 1]!;
  let start = offset + 2;
  if (length >= 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > bytes.length)
      throw new ChannelAuthError('certificate: bad DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i]!;
    start += count;
  }
  if (start + length > bytes.length) throw new ChannelAuthError('certificate: DER element overruns');
  return {
    type,
    content: bytes.subarray(start, start + length),
    raw: bytes.subarray(offset, start + length),
  };
}

function derChildren(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  for (let offset = 0; offset < node.content.length; ) {
    const child = readDer(node.content, offset);
    out.push(child);
    offset += child.raw.length;
  }
  return out;
}

function expectType(node: DerNode | undefined, type: number, what: string): DerNode {
  if (node?.type !== type) throw new ChannelAuthError(`certificate: ${what} is malformed`);
  return node;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function toPem(label: string, bytes: Uint8Array): string {
  const base64 = Buffer.from(bytes).toString('base64');
  return `-----BEGIN ${label}-----\n${base64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/**
 * A fresh P-256 key and a self-signed certificate for it that carries `identity`'s signed libp2p
 * public key extension. `nowMs` starts its validity (less an hour of tolerated skew).
 */
export async function createChannelCredentials(
  identity: PrivateKey,
  nowMs: number,
): Promise<ChannelCredentials> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const certificate = buildChannelCertificate({
    spki,
    signer: privateKey,
    identityKey: publicKeyToProtobuf(identity.publicKey),
    identitySignature: await identity.sign(concat(signaturePrefix, spki)),
    notBeforeMs: nowMs - clockSkewMs,
    notAfterMs: nowMs + certLifetimeMs,
  });
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certPem: toPem('CERTIFICATE', certificate),
  };
}

/** The bytes a node key signs to bind a certificate key (SubjectPublicKeyInfo DER) to itself. */
export function bindingPayload(spki: Uint8Array): Uint8Array {
  return concat(signaturePrefix, spki);
}

/** Everything a channel certificate is made of (tests build broken ones from it). */
export interface CertificateParts {
  readonly spki: Uint8Array;
  /** The certificate key, which self-signs the certificate. */
  readonly signer: KeyObject;
  /** The libp2p public key protobuf of the node. */
  readonly identityKey: Uint8Array;
  /** The node key's signature over bindingPayload(spki). */
  readonly identitySignature: Uint8Array;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

/** A self-signed X.509 v3 certificate (DER) with the libp2p key extension, marked critical. */
export function buildChannelCertificate(parts: CertificateParts): Uint8Array {
  const signedKey = der(
    tag.sequence,
    der(tag.octetString, parts.identityKey),
    der(tag.octetString, parts.identitySignature),
  );
  const extensions = der(
    tag.explicit3,
    der(
      tag.sequence,
      der(
        tag.sequence,
        derOid(libp2pExtensionOid),
        der(tag.boolean, Uint8Array.of(0xff)),
        der(tag.octetString, signedKey),
      ),
    ),
  );
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // a positive INTEGER with no leading zero to strip
  const algorithm = der(tag.sequence, derOid(ecdsaWithSha256Oid));
  const name = der(
    tag.sequence,
    der(tag.set, der(tag.sequence, derOid(commonNameOid), der(tag.utf8String, Buffer.from('trinity')))),
  );
  const tbs = der(
    tag.sequence,
    der(tag.explicit0, der(tag.integer, Uint8Array.of(2))), // v3
    der(tag.integer, serial),
    algorithm,
    name,
    der(tag.sequence, derTime(parts.notBeforeMs), derTime(parts.notAfterMs)),
    name,
    parts.spki,
    extensions,
  );
  const signature = sign('sha256', tbs, parts.signer);
  return der(tag.sequence, tbs, algorithm, der(tag.bitString, Uint8Array.of(0), signature));
}

/**
 * Checks a peer's channel certificate (DER) at `nowMs`: self-signed and valid now, with a libp2p
 * extension whose key signed this certificate's public key. Returns the peer id of that key.
 */
export async function verifyChannelCertificate(certificate: Uint8Array, nowMs: number): Promise<string> {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certificate);
  } catch {
    throw new ChannelAuthError('certificate: not a parsable X.509 certificate');
  }
  if (!x509.verify(x509.publicKey)) throw new ChannelAuthError('certificate: not self-signed');
  if (nowMs < Date.parse(x509.validFrom) || nowMs > Date.parse(x509.validTo))
    throw new ChannelAuthError('certificate: expired or not yet valid');
  const top = derChildren(expectType(readDer(certificate, 0), tag.sequence, 'certificate'));
  const tbs = derChildren(expectType(top[0], tag.sequence, 'tbsCertificate'));
  const fields = tbs[0]?.type === tag.explicit0 ? tbs.slice(1) : tbs;
  // serial, signature algorithm, issuer, validity, subject, subjectPublicKeyInfo, then optional parts
  const spki = expectType(fields[5], tag.sequence, 'subjectPublicKeyInfo').raw;
  const extensionsField = fields.slice(6).find((node) => node.type === tag.explicit3);
  if (extensionsField === undefined) throw new ChannelAuthError('certificate: no extensions');
  const wantedOid = derOid(libp2pExtensionOid);
  const matches = derChildren(expectType(derChildren(extensionsField)[0], tag.sequence, 'extensions'))
    .map((extension) => derChildren(expectType(extension, tag.sequence, 'extension')))
    .filter((parts) => parts[0] !== undefined && Buffer.from(parts[0].raw).equals(wantedOid));
  if (matches.length !== 1) throw new ChannelAuthError('certificate: needs exactly one libp2p key extension');
  const value = expectType(matches[0]!.at(-1), tag.octetString, 'libp2p extension');
  const signedKey = derChildren(expectType(readDer(value.content, 0), tag.sequence, 'SignedKey'));
  const keyBytes = expectType(signedKey[0], tag.octetString, 'SignedKey.publicKey').content;
  const signature = expectType(signedKey[1], tag.octetString, 'SignedKey.signature').content;
  let key: ReturnType<typeof publicKeyFromProtobuf>;
  try {
    key = publicKeyFromProtobuf(keyBytes);
  } catch {
    throw new ChannelAuthError('certificate: the libp2p public key does not decode');
  }
  if (!(await key.verify(bindingPayload(spki), signature)))
    throw new ChannelAuthError('certificate: the libp2p key did not sign this certificate key');
  return peerIdFromPublicKey(key).toString();
}
