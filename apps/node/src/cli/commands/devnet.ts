import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Devnet } from '../devnet.js';
import { formatBytes } from '../progress.js';
import { dataDirCandidates } from './client.js';
import { intFlag, parseFlags } from './flags.js';

export const devnetHelp = `Usage: trinity devnet [options]

Starts a local Trinity network: separate node processes on 127.0.0.1, spread over regions.
Ctrl-C stops them all cleanly. Data is kept between runs unless --fresh is given. Every node gets
1,000,000 base units, 100,000 of them staked, from the devnet's economics genesis (DIR/genesis.json)
and takes part in escrow governance (--escrow): try "trinity stake 500", "trinity escrows".

  --nodes N          how many nodes (default 6)
  --data-dir DIR     where node data lives (default .trinity/devnet)
  --base-port P      node i serves its API on P+i, peers on P+100+i, metrics on P+200+i (default
                     7070); node 0 serves S3 on P+300 (7370)
  --fresh            wipe the data directory first
  --demo             once up, store a demo file and read it back
  --semantic         run every node with --semantic (enables "trinity search")
  -h, --help         this help
`;

const flags = {
  nodes: { type: 'string' },
  'data-dir': { type: 'string' },
  'base-port': { type: 'string' },
  fresh: { type: 'boolean' },
  demo: { type: 'boolean' },
  semantic: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function demo(devnet: Devnet): Promise<void> {
  const text = new TextEncoder().encode(`Hello from Trinity at ${new Date().toISOString()}\n`);
  const data = Buffer.concat([text, randomBytes(8 * 1024 * 1024)]);
  const readerIndex = devnet.nodes.length - 1;
  const started = performance.now();
  const put = await devnet.fetch(0, '/v1/objects?name=demo.bin', { method: 'PUT', body: data });
  if (!put.ok) throw new Error(`demo put failed: ${await put.text()}`);
  const { id } = (await put.json()) as { id: string };
  const putMs = performance.now() - started;
  const got = await devnet.fetch(readerIndex, `/v1/objects/${id}`);
  if (!got.ok) throw new Error(`demo get failed: ${await got.text()}`);
  const back = Buffer.from(await got.arrayBuffer());
  const getMs = performance.now() - started - putMs;
  if (!back.equals(data)) throw new Error('demo get returned different bytes');
  console.log(
    `\ndemo: stored ${formatBytes(data.length)} through node 0 in ${putMs.toFixed(0)} ms, encrypted for the devnet's owner key`,
  );
  console.log(
    `      read it back through node ${devnet.nodes.length - 1} in ${getMs.toFixed(0)} ms: byte-identical`,
  );
  console.log(`      object id ${id}`);
  console.log('\nTry it yourself (in another terminal):');
  console.log('  pnpm -s trinity put ./some-file       # prints the object id (-s: nothing else on stdout)');
  console.log(`  pnpm -s trinity get ${id} > copy.bin`);
  console.log(`  pnpm -s trinity share ${id}   # a read capability: anyone holding it can read the object`);
  console.log('  pnpm -s trinity ls');
  console.log('  pnpm -s trinity status');
}

async function statusLine(devnet: Devnet): Promise<string> {
  const statuses = await Promise.all(
    devnet.nodes.map(async (node) => {
      try {
        const response = await devnet.fetch(node.index, '/v1/status', { signal: AbortSignal.timeout(2_000) });
        return (await response.json()) as { store: { shardCount: number; bytesUsed: number } };
      } catch {
        return undefined;
      }
    }),
  );
  const up = statuses.filter((s) => s !== undefined);
  const shards = up.reduce((sum, s) => sum + s.store.shardCount, 0);
  const bytes = up.reduce((sum, s) => sum + s.store.bytesUsed, 0);
  return `${up.length}/${devnet.nodes.length} nodes up · ${shards} shards · ${formatBytes(bytes)} stored`;
}

export async function devnetCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('devnet', () =>
    parseArgs({ args: argv, options: flags, strict: true, allowPositionals: false }),
  );
  if (values.help) {
    process.stdout.write(devnetHelp);
    return 0;
  }
  const dataDir = resolve(values['data-dir'] ?? '.trinity/devnet');
  if (values.fresh) await rm(dataDir, { recursive: true, force: true });
  const devnet = new Devnet({
    nodes: intFlag(values.nodes, 'nodes') ?? 6,
    dataDir,
    basePort: intFlag(values['base-port'], 'base-port') ?? 7070,
    cliPath: fileURLToPath(new URL('./cli.js', import.meta.url)),
    nodeArgs: values.semantic ? ['--semantic'] : [],
    s3: true,
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the devnet…\n');
    await devnet.stop();
    process.stdout.write('all nodes stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  console.log(`starting ${devnet.nodes.length} nodes in ${dataDir}`);
  const startedMs = performance.now();
  const seconds = () => `${((performance.now() - startedMs) / 1000).toFixed(1)} s`;
  const startNode = async (index: number) => {
    await devnet.startNode(index);
    console.log(`  node ${index} up (${seconds()})`);
  };
  try {
    // The first node, then the rest in parallel (they bootstrap through each other), then the mesh.
    await startNode(0);
    await Promise.all(devnet.nodes.slice(1).map((node) => startNode(node.index)));
    console.log(`waiting until every node sees the others…`);
    await devnet.waitForMesh();
    console.log(`devnet up in ${seconds()}`);
  } catch (error) {
    await devnet.stop();
    throw error;
  }
  for (const node of devnet.nodes) {
    console.log(
      `  node ${node.index}  ${node.region.padEnd(10)} ${devnet.apiUrl(node.index)}  metrics :${node.metricsPort}  …${node.ready?.peerId.slice(-10)}  logs: ${node.dataDir}/node.log`,
    );
    console.log(`          API token: ${node.tokenPath}`);
  }
  const s3Key = await devnet.s3AccessKey();
  console.log(`\nS3 gateway (node 0): ${devnet.s3Url}  region us-east-1, path style`);
  console.log(`  export AWS_ACCESS_KEY_ID=${s3Key.accessKeyId} AWS_SECRET_ACCESS_KEY=${s3Key.secretKey}`);
  console.log(`  aws --endpoint-url ${devnet.s3Url} --region us-east-1 s3 mb s3://demo`);
  console.log("  (its buckets and keys are node 0's index: other nodes do not see them yet)");
  if (values.demo) await demo(devnet);
  // The CLI finds a node's token by itself in the default data directories; elsewhere it is told.
  const found = dataDirCandidates.some((candidate) => resolve(candidate) === dataDir);
  const exports = [
    ...(devnet.apiUrl(0) === 'http://127.0.0.1:7070' ? [] : [`TRINITY_API=${devnet.apiUrl(0)}`]),
    ...(found ? [] : [`TRINITY_API_TOKEN_FILE=${devnet.nodes[0]!.tokenPath}`]),
  ];
  if (exports.length > 0) console.log(`\nPoint the CLI at it: export ${exports.join(' ')}`);
  console.log('\nPress Ctrl-C to stop.');
  for (;;) {
    if (stopping) return 0;
    const line = await statusLine(devnet);
    if (process.stdout.isTTY) process.stdout.write(`\r${line}\u001b[K`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}
