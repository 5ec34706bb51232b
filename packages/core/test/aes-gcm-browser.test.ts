import { afterEach, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.restoreAllMocks();
  vi.resetModules();
});

it('without node:crypto (a browser), the default backend is WebCrypto and the format is unchanged', async () => {
  const reference = await import('../src/index.js');
  const key = reference.generateObjectKey();
  const noncePrefix = Uint8Array.from([1, 2, 3, 4, 5, 6, 7]);
  const plain = Uint8Array.from({ length: 1000 }, (_, i) => (i * 13) & 255);
  const expected = await reference.encrypt(plain, {
    key,
    segmentBytes: 256,
    noncePrefix,
    backend: 'node:crypto',
  });

  vi.resetModules();
  vi.spyOn(process, 'getBuiltinModule').mockReturnValue(undefined as never);
  const browser = await import('../src/index.js');
  expect(browser.aesGcmBackends()).toEqual(['webcrypto']);
  const encryptor = await browser.createEncryptor({ key, segmentBytes: 256, noncePrefix });
  expect(encryptor.backend).toBe('webcrypto');
  const sealed = await browser.encrypt(plain, { key, segmentBytes: 256, noncePrefix });
  expect(Buffer.from(sealed).equals(Buffer.from(expected))).toBe(true);
  expect(Buffer.from(await browser.decrypt(sealed, { key })).equals(Buffer.from(plain))).toBe(true);
  await expect(browser.aesGcmKey(key, 'node:crypto')).rejects.toMatchObject({
    code: 'AEAD_BACKEND_UNAVAILABLE',
  });
});
