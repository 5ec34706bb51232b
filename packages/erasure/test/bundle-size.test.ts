import { bundleSizeTests } from '../../../scripts/browser-test.ts';

/** The budget of issue 18: the whole package, bundled for a browser and minified, in at most 60 KB. */
const bundleBytesMax = 60_000;

bundleSizeTests(new URL('..', import.meta.url), bundleBytesMax);
