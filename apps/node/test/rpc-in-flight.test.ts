import '../src/polyfill.js';
import type { Libp2p, Stream } from '@libp2p/interface';
import { MemoryLogger, SystemClock } from '@trinity/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RemoteError } from '../src/errors.js';
import { Libp2pProtocolServer, type RpcClient } from '../src/p2p/rpc.js';
import { framed } from '../src/p2p/wire.js';
import { ForbiddenError } from '../src/services/shards/shard-service.js';
import { loopbackLibp2p, testRpcClient } from './libp2p-pair.js';

/**
 * The per-peer in-flight quota counts requests being served, not streams a peer leaves open: a
 * refused request whose peer never closes its side gives its slot back at once.
 */
const protocol = '/trinity-test/in-flight/1.0.0';

describe('in-flight quota of a peer whose refused requests stay open', () => {
  let server: Libp2p;
  let client: Libp2p;
  let rpc: RpcClient;
  const clock = new SystemClock();
  const open: Stream[] = [];

  beforeAll(async () => {
    server = await loopbackLibp2p();
    client = await loopbackLibp2p();
    const protocols = new Libp2pProtocolServer(server, {
      logger: new MemoryLogger(),
      clock,
      // Far longer than the test: a slot held until the timeout would show as PEER_BUSY below.
      requestTimeoutMs: 600_000,
      peerInFlightMax: 2,
    });
    await protocols.handle(protocol, z.object({ allow: z.boolean() }).strict(), async (request) => {
      if (!request.allow) throw new ForbiddenError('NOPE', 'refused');
      return { value: 'served' };
    });
    rpc = testRpcClient(client, clock);
    await client.dial(server.getMultiaddrs()[0]!);
  }, 60_000);

  afterAll(async () => {
    for (const stream of open) stream.abort(new Error('done'));
    await client?.stop();
    await server?.stop();
  });

  it('serves the peer again while its refused streams are still open', async () => {
    // Four refused requests (twice the quota), each read to its error reply, none closed by the peer.
    for (let i = 0; i < 4; i++) {
      const stream = await client.dialProtocol(server.peerId, protocol);
      open.push(stream);
      const lp = framed(stream);
      await lp.write(new TextEncoder().encode(JSON.stringify({ allow: false })));
      const reply = JSON.parse(new TextDecoder().decode((await lp.read()).subarray()));
      expect(reply).toMatchObject({ ok: false, code: 'NOPE' });
    }
    const reply = await rpc.call(server.peerId.toString(), protocol, { allow: true });
    expect(reply.value).toBe('served');
    // The quota itself still holds: the refusals were counted while they ran.
    const refused = await rpc
      .call(server.peerId.toString(), protocol, { allow: false })
      .catch((error: unknown) => error);
    expect((refused as RemoteError).remoteCode).toBe('NOPE');
  }, 120_000);
});
