/**
 * What the packages' browser tests share: a browser bundle of a package (esbuild, minified, as a
 * user's bundler would make it), a page server on 127.0.0.1 with or without the cross-origin
 * isolation headers, headless Chromium driven by puppeteer-core, and the two suites built on them
 * (describeInChromium, bundleSizeTests). esbuild and puppeteer-core are resolved from the calling
 * package (each lists them as devDependencies), so this file needs none.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** What esbuild's build gives back, as far as these tests read it. */
interface EsbuildResult {
  outputFiles: { contents: Uint8Array; text: string }[];
  metafile: { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> };
}
interface Esbuild {
  build(options: Record<string, unknown>): Promise<EsbuildResult>;
}

/** A minified browser bundle and the bytes each input file put into it. */
export interface BrowserBundle {
  readonly code: string;
  readonly bytes: number;
  readonly inputs: ReadonlyMap<string, number>;
}

async function importFrom<T>(packageDir: string, name: string): Promise<T> {
  const require = createRequire(join(packageDir, 'package.json'));
  return (await import(require.resolve(name))) as T;
}

/**
 * Bundles `entry` (a file, or `contents` standing for one in `packageDir`) for browsers the way a
 * user's bundler would: ESM, minified, tree-shaken, node: built-ins refused.
 */
export async function browserBundle(
  packageDir: string,
  entry: { file: string } | { contents: string },
): Promise<BrowserBundle> {
  const esbuild = await importFrom<Esbuild>(packageDir, 'esbuild');
  const input =
    'file' in entry
      ? { entryPoints: [entry.file] }
      : { stdin: { contents: entry.contents, resolveDir: packageDir, loader: 'ts' } };
  const result = await esbuild.build({
    ...input,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const output = result.outputFiles[0]!;
  const inputs = new Map<string, number>();
  for (const info of Object.values(result.metafile.outputs)) {
    for (const [file, { bytesInOutput }] of Object.entries(info.inputs)) inputs.set(file, bytesInOutput);
  }
  return { code: output.text, bytes: output.contents.length, inputs };
}

/** Bytes per group of inputs (zod, @noble/hashes, each @trinity package), for failure messages. */
export function bundleBreakdown(bundle: BrowserBundle): string {
  const groups = new Map<string, number>();
  for (const [file, bytes] of bundle.inputs) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)|packages\/([^/]+)/.exec(file);
    const group = match?.[1] ?? (match?.[2] === undefined ? file : `@trinity/${match[2]}`);
    groups.set(group, (groups.get(group) ?? 0) + bytes);
  }
  return [...groups]
    .sort((a, b) => b[1] - a[1])
    .map(([group, bytes]) => `${group} ${bytes}`)
    .join(', ');
}

/**
 * The Chromium binary to drive: $CHROMIUM_PATH, else Debian's `chromium` (or `chromium-browser`,
 * `google-chrome`) on the PATH; undefined with the reason when there is none.
 */
export function findChromium(): { path: string } | { missing: string } {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    return existsSync(fromEnv) ? { path: fromEnv } : { missing: `CHROMIUM_PATH=${fromEnv} does not exist` };
  }
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      const path = execFileSync('which', [name], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      if (path !== '') return { path };
    } catch {
      // not this one
    }
  }
  return { missing: 'no chromium on the PATH (Debian: apt-get install chromium; or set CHROMIUM_PATH)' };
}

/** A page server: `/` is a page that loads `/page.js`, the given script. */
export interface PageServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `script` as a page on 127.0.0.1 (a free port). With `isolated`, every response carries
 * COOP: same-origin and COEP: require-corp, so the page is cross-origin isolated.
 */
export async function servePage(script: string, isolated: boolean): Promise<PageServer> {
  const html =
    '<!doctype html><meta charset="utf-8"><title>trinity browser test</title><script type="module" src="/page.js"></script>';
  const server: Server = createServer((request, response) => {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (isolated) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    if (request.url === '/') {
      response.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else if (request.url === '/page.js') {
      response.writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    } else {
      response.writeHead(404, headers).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface PuppeteerPage {
  goto(url: string, options?: Record<string, unknown>): Promise<unknown>;
  waitForFunction(fn: string, options?: Record<string, unknown>): Promise<unknown>;
  evaluate<T>(expression: string): Promise<T>;
  on(event: 'pageerror' | 'console', handler: (value: unknown) => void): void;
  close(): Promise<void>;
}
interface PuppeteerBrowser {
  newPage(): Promise<PuppeteerPage>;
  close(): Promise<void>;
}
interface Puppeteer {
  launch(options: Record<string, unknown>): Promise<PuppeteerBrowser>;
}

/** A headless Chromium; `run` opens a page, waits for the script's `window.pageResult` and returns it. */
export interface Chromium {
  run<T>(url: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium through puppeteer-core. `--no-sandbox` because CI runs as root; the
 * pages are our own, served from 127.0.0.1.
 */
export async function launchChromium(packageDir: string, executablePath: string): Promise<Chromium> {
  const puppeteer = (await importFrom<{ default: Puppeteer }>(packageDir, 'puppeteer-core')).default;
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  return {
    async run<T>(url: string): Promise<T> {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      try {
        await page.goto(url, { waitUntil: 'load' });
        await page.waitForFunction('window.pageResult !== undefined || window.pageError !== undefined', {
          timeout: 120_000,
        });
        const error = await page.evaluate<string | undefined>('window.pageError');
        if (error !== undefined || errors.length > 0)
          throw new Error(`page failed: ${error ?? errors.join('; ')}`);
        return await page.evaluate<T>('window.pageResult');
      } finally {
        await page.close();
      }
    },
    close: () => browser.close(),
  };
}

/** Launching Chromium and running a page take seconds, minutes on a loaded machine: no tight bound. */
const browserStepMs = 300_000;

/**
 * A package's browser suite: bundles the page `pageFile` (a file URL; it reports through
 * browser-page.ts), launches Chromium, serves the page twice, not cross-origin isolated and isolated
 * (COOP + COEP), and runs `tests(isolated, result)` against each page's result. Skipped with a
 * warning when there is no Chromium, except under CI (which installs it), where that fails.
 */
export function describeInChromium<R>(
  options: { packageName: string; packageUrl: URL; pageFile: URL },
  tests: (isolated: boolean, result: () => R) => void,
): void {
  const packageDir = fileURLToPath(options.packageUrl);
  const chromium = findChromium();
  const missing = 'missing' in chromium ? chromium.missing : undefined;
  if (missing !== undefined && process.env.CI === 'true') {
    it('headless Chromium is installed', () => {
      throw new Error(`browser tests cannot run under CI: ${missing}`);
    });
  }
  if (missing !== undefined) console.warn(`${options.packageName} browser tests skipped: ${missing}`);

  describe.skipIf(missing !== undefined)(
    `in headless Chromium${missing === undefined ? '' : ` (skipped: ${missing})`}`,
    () => {
      let browser: Chromium;
      let script: string;
      const servers: PageServer[] = [];

      beforeAll(async () => {
        script = (await browserBundle(packageDir, { file: fileURLToPath(options.pageFile) })).code;
        browser = await launchChromium(packageDir, (chromium as { path: string }).path);
      }, browserStepMs);
      afterAll(async () => {
        await browser?.close();
        await Promise.all(servers.map((server) => server.close()));
      }, browserStepMs);

      for (const isolated of [false, true]) {
        describe(isolated ? 'cross-origin isolated (COOP + COEP)' : 'not cross-origin isolated', () => {
          let result: R;
          beforeAll(async () => {
            const server = await servePage(script, isolated);
            servers.push(server);
            result = await browser.run<R>(server.url);
          }, browserStepMs);
          tests(isolated, () => result);
        });
      }
    },
  );
}

/**
 * A package's bundle budget: everything it exports, bundled for a browser and minified, within
 * `bundleBytesMax` bytes with zod/mini only (zod classic, its locales and methods, would be most of
 * the bundle again), and no zod in its published types (so a zod release cannot break its users).
 * Run after the package's build (it reads dist/).
 */
export function bundleSizeTests(packageUrl: URL, bundleBytesMax: number): void {
  it(
    `bundles for browsers (everything exported, minified) in at most ${bundleBytesMax} bytes`,
    async () => {
      const bundle = await browserBundle(fileURLToPath(packageUrl), {
        contents: "export * from './dist/index.js';",
      });
      const files = [...bundle.inputs.keys()];
      expect(files.filter((file) => /zod\/v4\/(classic|locales)\//.test(file))).toEqual([]);
      expect(bundle.bytes, `${bundle.bytes} bytes: ${bundleBreakdown(bundle)}`).toBeLessThanOrEqual(
        bundleBytesMax,
      );
    },
    browserStepMs,
  );

  it('keeps zod out of its published types, so that a zod release cannot break its users', () => {
    const types = readFileSync(new URL('dist/index.d.ts', packageUrl), 'utf8');
    expect(types).not.toMatch(/from ['"]zod/);
    expect(types).not.toMatch(/import\(['"]zod/);
  });
}
