import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/bytes.js';
import { _ed25519Der, _ed25519KeyImport, ed25519, ed25519Portable, KeyFormatError } from '../src/ed25519.js';

// RFC 8032 section 7.1, tests 1 and 2.
const vectors = [
  {
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

describe.each([
  ['host', ed25519],
  ['host, keys imported as DER', _ed25519Der!],
  ['portable', ed25519Portable],
])('ed25519 (%s)', (_name, impl) => {
  it('matches the RFC 8032 vectors', () => {
    for (const v of vectors) {
      const secret = fromHex(v.secret);
      expect(toHex(impl.publicKey(secret))).toBe(v.public);
      const sig = impl.sign(fromHex(v.message), secret);
      expect(toHex(sig)).toBe(v.signature);
      expect(impl.verify(sig, fromHex(v.message), fromHex(v.public))).toBe(true);
    }
  });

  it('hands out a public key of its own at every call (the host keeps the derived key)', () => {
    const secret = fromHex(vectors[0]!.secret);
    const first = impl.publicKey(secret);
    first.fill(0);
    expect(toHex(impl.publicKey(secret))).toBe(vectors[0]!.public);
    expect(impl.publicKey(secret)).not.toBe(impl.publicKey(secret));
  });

  it('refuses a flipped bit in signature, message or key, and malformed input', () => {
    const v = vectors[1]!;
    const sig = fromHex(v.signature);
    const msg = fromHex(v.message);
    const pub = fromHex(v.public);
    for (const [s, m, p] of [
      [Uint8Array.from(sig, (b, i) => (i === 10 ? b ^ 1 : b)), msg, pub],
      [sig, Uint8Array.of(0x73), pub],
      [sig, msg, Uint8Array.from(pub, (b, i) => (i === 0 ? b ^ 1 : b))],
      [sig.subarray(0, 63), msg, pub],
      [sig, msg, pub.subarray(0, 31)],
      [sig, msg, new Uint8Array(32).fill(0xff)],
    ] as const) {
      expect(impl.verify(s, m, p)).toBe(false);
    }
    expect(impl.verify('x' as unknown as Uint8Array, msg, pub)).toBe(false);
  });

  it('verifier(key) answers as verify(…, key) does, malformed input included', () => {
    const v = vectors[1]!;
    const sig = fromHex(v.signature);
    const msg = fromHex(v.message);
    const pub = fromHex(v.public);
    const check = impl.verifier!(pub);
    expect(check(sig, msg)).toBe(true);
    expect(check(sig, fromHex(vectors[0]!.message))).toBe(false);
    expect(
      check(
        Uint8Array.from(sig, (b, i) => (i === 10 ? b ^ 1 : b)),
        msg,
      ),
    ).toBe(false);
    expect(check(sig.subarray(0, 63), msg)).toBe(false);
    expect(check('x' as unknown as Uint8Array, msg)).toBe(false);
    expect(impl.verifier!(Uint8Array.from(pub, (b, i) => (i === 0 ? b ^ 1 : b)))(sig, msg)).toBe(false);
    expect(impl.verifier!(pub.subarray(0, 31))(sig, msg)).toBe(false);
    expect(impl.verifier!(new Uint8Array(32).fill(0xff))(sig, msg)).toBe(false);
    // The key is taken at once: changing the caller's array afterwards changes nothing.
    const copy = pub.slice();
    const bound = impl.verifier!(copy);
    copy.fill(0);
    expect(bound(sig, msg)).toBe(true);
  });

  it('throws a typed error for a secret key of the wrong length', () => {
    expect(() => impl.sign(new Uint8Array(1), new Uint8Array(31))).toThrow(KeyFormatError);
    expect(() => impl.publicKey(new Uint8Array(33))).toThrow(KeyFormatError);
  });

  it('gives fresh random keys', () => {
    const a = impl.randomSecretKey();
    expect(a.length).toBe(32);
    expect(toHex(a)).not.toBe(toHex(impl.randomSecretKey()));
  });
});

describe('ed25519 backends agree', () => {
  it('same keys and signatures, each verifies the other (property)', () => {
    agreesWith(ed25519Portable);
  });

  it('agree on random (mostly invalid) signatures', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (sig, pub) => {
          const msg = Uint8Array.of(1, 2, 3);
          expect(ed25519.verify(sig, msg, pub)).toBe(ed25519Portable.verify(sig, msg, pub));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('uses node:crypto on Node, keys imported as JWK (DER costs more than a signature)', () => {
    expect(ed25519.backend).toBe('node:crypto');
    expect(_ed25519KeyImport).toBe('jwk');
  });

  it('JWK and DER key import give the same public keys and signatures (property)', () => {
    agreesWith(_ed25519Der!);
  });
});

/**
 * `other` derives the public key and signs as `ed25519` does, each verifies the other's signature,
 * and both refuse it with one bit flipped (property).
 */
function agreesWith(other: Pick<typeof ed25519, 'publicKey' | 'sign' | 'verify'>): void {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 300 }),
      (secret, message) => {
        const pub = ed25519.publicKey(secret);
        expect(toHex(other.publicKey(secret))).toBe(toHex(pub));
        const sig = ed25519.sign(message, secret);
        expect(toHex(other.sign(message, secret))).toBe(toHex(sig));
        expect(other.verify(sig, message, pub)).toBe(true);
        expect(ed25519.verify(other.sign(message, secret), message, pub)).toBe(true);
        const flipped = sig.slice();
        flipped[message.length % 64]! ^= 1;
        expect(ed25519.verify(flipped, message, pub)).toBe(false);
        expect(other.verify(flipped, message, pub)).toBe(false);
      },
    ),
    { numRuns: 60 },
  );
}
