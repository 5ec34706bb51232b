import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/polyfill.js';
import { FileAccessKeyStore } from '../../src/s3/access-keys.js';
import { accessKeysPath } from '../../src/s3/s3-service.js';
import { startNodes } from '../helpers.js';
import { accessKeyId, patternBytes, secretAccessKey, startTestGateway, type TestGateway } from './helpers.js';

/**
 * Two real S3 clients from the shell against the gateway: `aws s3 sync` (botocore) and `rclone sync`
 * (aws-sdk-go) of a directory tree there and back, byte-identical. A missing client fails in CI and
 * is skipped with a message elsewhere.
 */

const run = promisify(execFile);
/** The first `name` on PATH, like `command -v`. */
function onPath(name: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, name))
    .find((path) => existsSync(path));
}

const awsPath = onPath('aws');
const rclonePath = onPath('rclone');
const inCi = process.env.CI === 'true';
for (const [name, path] of [
  ['aws', awsPath],
  ['rclone', rclonePath],
] as const) {
  if (path === undefined)
    console.warn(`${name} is not on PATH: its S3 shell-client test is ${inCi ? 'failing' : 'skipped'}`);
}

/**
 * Files in the tree; the full-size run is `TRINITY_S3_CLI_FILES=1000` (5–6 min for this
 * file on the shared 2-core VM, README "Compatibility"). The default keeps the file near 4 min there.
 */
const fileCount = Number(process.env.TRINITY_S3_CLI_FILES ?? 600);

async function makeTree(root: string): Promise<void> {
  for (let i = 0; i < fileCount; i++) {
    const sub = join(root, `d${i % 4}`, i % 3 === 0 ? 'deep' : '', i >= 100 ? `more${i % 10}` : '');
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `f${i}.bin`), patternBytes(37 * i + 1, i + 1));
  }
  await writeFile(join(root, 'space and+plus&amp.txt'), 'odd name\n');
  await writeFile(join(root, 'ünïcode-𝄞.txt'), 'unicode name\n');
  await writeFile(join(root, 'empty.txt'), '');
  // Above both clients' multipart thresholds as configured below.
  await writeFile(join(root, 'big.bin'), patternBytes(9 * 1024 * 1024 + 17, 99));
}

async function treeFiles(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(root, path), await readFile(path));
  }
  return out;
}

async function expectSameTree(a: string, b: string): Promise<void> {
  const [left, right] = [await treeFiles(a), await treeFiles(b)];
  expect([...right.keys()].sort()).toEqual([...left.keys()].sort());
  for (const [name, bytes] of left) expect(Buffer.compare(bytes, right.get(name)!), name).toBe(0);
}

/** An S3 endpoint with a bucket `shell` and a key that may use it. */
interface Target {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  stop(): Promise<void>;
}

/** The gateway alone, over the in-memory backend and index. */
async function inMemoryTarget(): Promise<Target> {
  const t: TestGateway = await startTestGateway();
  await t.client().send(new CreateBucketCommand({ Bucket: 'shell' }));
  return { endpoint: t.endpoint, accessKeyId, secretAccessKey, stop: () => t.stop() };
}

/** The gateway of a real node (Trinity backend, FileS3Index) in a 3-node in-process network. */
async function daemonTarget(): Promise<Target> {
  const { nodes, close } = await startNodes('trinity-s3-cli-daemon-', 3, (i) => ({
    erasure: { dataShards: 2, parityShards: 1, shardBytes: 256 * 1024 },
    fsync: false,
    ...(i === 2 ? { s3: { enabled: true, port: 0 } } : {}),
  }));
  try {
    const node = nodes[2]!;
    const store = await FileAccessKeyStore.open(accessKeysPath(node.config.dataDir));
    const key = await store.create(node.owner, Date.now());
    const endpoint = node.s3!.url;
    const client = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretKey },
    });
    await client.send(new CreateBucketCommand({ Bucket: 'shell' }));
    client.destroy();
    return { endpoint, accessKeyId: key.accessKeyId, secretAccessKey: key.secretKey, stop: close };
  } catch (error) {
    await close();
    throw error;
  }
}

for (const [name, makeTarget] of [
  ['gateway over the in-memory backend', inMemoryTarget],
  ['gateway of a node in a 3-node network', daemonTarget],
] as const) {
  describe(`shell clients: ${name}`, () => {
    let t: Target;
    let dir: string;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      t = await makeTarget();
      dir = await mkdtemp(join(tmpdir(), 'trinity-s3-cli-'));
      await makeTree(join(dir, 'src'));
      const { AWS_CA_BUNDLE: _ca, ...rest } = process.env;
      env = {
        ...rest,
        HOME: dir,
        AWS_ACCESS_KEY_ID: t.accessKeyId,
        AWS_SECRET_ACCESS_KEY: t.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_CONFIG_FILE: join(dir, 'aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws-credentials'),
        RCLONE_CONFIG: join(dir, 'rclone.conf'),
        RCLONE_CONFIG_T_TYPE: 's3',
        RCLONE_CONFIG_T_PROVIDER: 'Other',
        RCLONE_CONFIG_T_ACCESS_KEY_ID: t.accessKeyId,
        RCLONE_CONFIG_T_SECRET_ACCESS_KEY: t.secretAccessKey,
        RCLONE_CONFIG_T_ENDPOINT: t.endpoint,
        RCLONE_CONFIG_T_REGION: 'us-east-1',
      };
      await writeFile(env.AWS_CONFIG_FILE!, '[default]\nregion = us-east-1\n');
      await writeFile(env.RCLONE_CONFIG!, '');
    }, 300_000);

    afterAll(async () => {
      await t?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    }, 120_000);

    const options = () => ({ env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
    it.skipIf(awsPath === undefined && !inCi)(
      'aws s3 sync there and back is byte-identical',
      { timeout: 600_000 },
      async () => {
        expect(awsPath, 'the aws CLI is not installed').toBeDefined();
        const aws = (...args: string[]) => run(awsPath!, ['--endpoint-url', t.endpoint, ...args], options());
        await aws('s3', 'sync', '--no-progress', join(dir, 'src'), 's3://shell/aws');
        await aws('s3', 'sync', '--no-progress', 's3://shell/aws', join(dir, 'aws-back'));
        await expectSameTree(join(dir, 'src'), join(dir, 'aws-back'));
        const { stdout } = await aws('s3', 'ls', 's3://shell/aws/');
        expect(stdout).toMatch(/PRE d0\//);
        // A second sync after deleting one file locally removes it remotely too.
        await rm(join(dir, 'aws-back', 'd1', 'f1.bin'));
        await aws('s3', 'sync', '--no-progress', '--delete', join(dir, 'aws-back'), 's3://shell/aws');
        const listing = await aws('s3', 'ls', '--recursive', 's3://shell/aws/d1/');
        expect(listing.stdout).not.toMatch(/f1\.bin/);
        expect(listing.stdout).toMatch(/f5\.bin/);
      },
    );

    it.skipIf(rclonePath === undefined && !inCi)(
      'rclone sync there and back is byte-identical',
      { timeout: 600_000 },
      async () => {
        expect(rclonePath, 'rclone is not installed').toBeDefined();
        const rclone = (...args: string[]) => run(rclonePath!, ['--retries', '1', ...args], options());
        await rclone(
          'sync',
          join(dir, 'src'),
          't:shell/rclone',
          '--s3-upload-cutoff',
          '5M',
          '--s3-chunk-size',
          '5M',
        );
        await rclone('sync', 't:shell/rclone', join(dir, 'rclone-back'));
        await expectSameTree(join(dir, 'src'), join(dir, 'rclone-back'));
        const check = await rclone('check', join(dir, 'src'), 't:shell/rclone');
        expect(check.stderr).toMatch(/0 differences found/);
      },
    );
  });
}
