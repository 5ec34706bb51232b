import { bundleSizeTests } from '../../../scripts/browser-test.ts';

/** The budget of issue 18: the whole package, bundled for a browser and minified, in at most 80 KB (80,000 bytes). */
const bundleBytesMax = 80_000;

bundleSizeTests(new URL('..', import.meta.url), bundleBytesMax);
