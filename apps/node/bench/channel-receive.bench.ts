// The serving end of the data channel alone, as a holder receives a put's shards: one process serves
// a shard-sized-body protocol whose handler takes the body and answers empty, another sends it
// `--shards` bodies of `--shard-mib` MiB (two in flight, as a coordinator's pipeline keeps a holder
// busy); reported is the serving process's CPU per MiB received, from process.cpuUsage() around
// the measured bodies (the handshake and a warm-up of 64 bodies left out). Run it from another
// build's apps/node to compare two builds of src/p2p/data-channel.ts.
//   npx tsx bench/channel-receive.bench.ts [--shards 512] [--shard-mib 1] [--json]
import '../src/polyfill.js';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { MemoryLogger, SystemClock } from '@trinity/core';
import { z } from 'zod';
import { DataChannel } from '../src/p2p/data-channel.js';
import { InFlight } from '../src/p2p/rpc.js';
import { shardBytesMax } from '../src/p2p/wire.js';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: { shards: { type: 'string' }, 'shard-mib': { type: 'string' }, json: { type: 'boolean' } },
  allowPositionals: true,
});
const MiB = 1024 * 1024;
const protocol = '/bench/receive';
const requestSchema = z.object({ size: z.number().int().min(0) }).strict();
const clock = new SystemClock();

async function channel(addresses: Map<string, string>) {
  const key = await generateKeyPair('Ed25519');
  const made = new DataChannel(
    {
      host: '127.0.0.1',
      port: 0,
      protocols: { [protocol]: shardBytesMax },
      peerInFlightBytesMax: 64 * MiB,
      nodeInFlightBytesMax: 256 * MiB,
    },
    {
      identity: key,
      clock,
      logger: new MemoryLogger(),
      addressOf: (peer) => addresses.get(peer),
      inFlight: new InFlight(64),
    },
  );
  await made.start();
  return { channel: made, id: peerIdFromPrivateKey(key).toString() };
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** The serving process: prints its id and address, then its CPU whenever a line arrives on stdin. */
async function serve(): Promise<void> {
  const { channel: server, id } = await channel(new Map());
  await server.handle(protocol, requestSchema, async (request, context) => {
    await context.readBody(request.size);
    return {};
  });
  console.log(JSON.stringify({ id, address: server.address }));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stop') break;
    console.log(JSON.stringify({ cpuMs: cpuMs() }));
  }
  await server.stop();
  // stdin stays open (the parent's pipe) and would keep this process alive.
  process.stdin.destroy();
}

async function send(): Promise<void> {
  const shards = Number(values.shards ?? 512);
  const shardBytes = Number(values['shard-mib'] ?? 1) * MiB;
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async () => JSON.parse((await lines.next()).value as string) as Record<string, unknown>;
    const { id, address } = (await next()) as { id: string; address: string };
    const addresses = new Map([[id, address]]);
    const { channel: client } = await channel(addresses);
    // Never zeroed: four distinct random bodies, sent in turn.
    const bodies = Array.from({ length: 4 }, () => randomBytes(shardBytes));
    const run = async (count: number) => {
      let sent = 0;
      const lane = async () => {
        while (sent < count) {
          const body = bodies[sent++ % bodies.length]!;
          await client.exchange(id, protocol, { size: body.length }, body, AbortSignal.timeout(60_000));
        }
      };
      await Promise.all([lane(), lane()]);
    };
    const serverCpu = async () => {
      child.stdin!.write('cpu\n');
      return (await next()).cpuMs as number;
    };
    await run(64);
    const before = await serverCpu();
    const started = performance.now();
    await run(shards);
    const seconds = (performance.now() - started) / 1000;
    const perMiB = ((await serverCpu()) - before) / ((shards * shardBytes) / MiB);
    const mib = (shards * shardBytes) / MiB;
    if (values.json)
      console.log(
        JSON.stringify({
          bench: `channel receive ${shards}x${shardBytes / MiB}MiB`,
          value: Number(perMiB.toFixed(3)),
          unit: 'cpu-ms/MiB',
          mibPerS: Number((mib / seconds).toFixed(1)),
        }),
      );
    else
      console.log(
        `channel receive ${shards}x${shardBytes / MiB}MiB: server ${perMiB.toFixed(3)} CPU ms/MiB, ${(mib / seconds).toFixed(0)} MiB/s`,
      );
    child.stdin!.write('stop\n');
    await client.stop();
    await once(child, 'exit');
  } finally {
    if (child.exitCode === null) child.kill();
  }
}

await (positionals[0] === 'serve' ? serve() : send());
