import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { browserBundle, bundleBreakdown } from '../../../scripts/browser-test.ts';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** The budget of issue 18: the whole package, bundled for a browser and minified, in at most 60 KB. */
const bundleBytesMax = 60_000;

it(`bundles for browsers (everything exported, minified) in at most ${bundleBytesMax} bytes`, async () => {
  const bundle = await browserBundle(packageDir, { contents: "export * from './dist/index.js';" });
  const files = [...bundle.inputs.keys()];
  // zod/mini only: zod classic (its locales and methods) would be most of the bundle again.
  expect(files.filter((file) => /zod\/v4\/(classic|locales)\//.test(file))).toEqual([]);
  expect(bundle.bytes, `${bundle.bytes} bytes: ${bundleBreakdown(bundle)}`).toBeLessThanOrEqual(
    bundleBytesMax,
  );
}, 300_000);

it('keeps zod out of its published types, so that a zod release cannot break its users', () => {
  const types = readFileSync(new URL('../dist/index.d.ts', import.meta.url), 'utf8');
  expect(types).not.toMatch(/from ['"]zod/);
  expect(types).not.toMatch(/import\(['"]zod/);
});
