// One side of the raw libp2p throughput measurement: `sink` prints its address and counts what
// arrives on /bench/sink/1.0.0; run from put-get.bench.ts in a separate process.
import '../src/polyfill.js';
import { lpStream } from '@libp2p/utils';
import { createLibp2p } from 'libp2p';
import { coalesceSocketWrites, transportOptions } from '../src/p2p/network.js';

export const sinkProtocol = '/bench/sink/1.0.0';

/** A libp2p node with exactly the transport stack of a Trinity node (the ceiling must not differ). */
export async function benchNode() {
  const node = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, ...transportOptions() });
  coalesceSocketWrites(node);
  return node;
}

if (process.argv[2] === 'sink') {
  const node = await benchNode();
  await node.handle(sinkProtocol, async (stream) => {
    // Yamux grants window as data arrives, not as it is read: a sink that falls behind (a busy
    // machine) buffers the whole window and more, and lpStream's default 4 MiB buffer would reset
    // the stream. Room for 64 MiB keeps the ceiling measurable under load.
    const lp = lpStream(stream, { maxDataLength: 4 * 1024 * 1024, maxBufferSize: 64 * 1024 * 1024 });
    let total = 0;
    for (;;) {
      const frame = await lp.read();
      if (frame.byteLength === 1) break;
      total += frame.byteLength;
    }
    await lp.write(new TextEncoder().encode(String(total)));
    await stream.close();
  });
  process.stdout.write(`${node.getMultiaddrs()[0]!.toString()}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void Promise.resolve(node.stop()).then(() => process.exit(0)));
}
