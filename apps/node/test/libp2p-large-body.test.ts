import '../src/polyfill.js';
import { randomBytes } from 'node:crypto';
import type { Libp2p } from '@libp2p/interface';
import { MemoryLogger, SystemClock } from '@trinity/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RemoteError } from '../src/errors.js';
import { Libp2pProtocolServer, type RpcClient } from '../src/p2p/rpc.js';
import { ForbiddenError } from '../src/services/shards/shard-service.js';
import { sha256Hex } from './helpers.js';
import { loopbackLibp2p, testRpcClient } from './libp2p-pair.js';

/**
 * Shard bodies of 4 MiB and more over libp2p streams (the data channel's fallback), read by a busy
 * node: Yamux grants window as bytes arrive, not as they are read, so a reader that falls behind
 * used to buffer the whole body and reset the stream past 4 MiB.
 */
const MiB = 1024 * 1024;
const protocol = '/trinity-test/slow-sink/1.0.0';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('large bodies over libp2p streams to a reader that falls behind', () => {
  let server: Libp2p;
  let client: Libp2p;
  let rpc: RpcClient;
  const clock = new SystemClock();

  beforeAll(async () => {
    server = await loopbackLibp2p();
    client = await loopbackLibp2p();
    const protocols = new Libp2pProtocolServer(server, {
      logger: new MemoryLogger(),
      clock,
      requestTimeoutMs: 120_000,
    });
    // A busy holder: the body is read only after a while (other work, a lock), in one piece.
    await protocols.handle(
      protocol,
      z.object({ size: z.number().int().min(0), delayMs: z.number().int().min(0) }).strict(),
      async (request, context) => {
        // A refusal before the body is read (a holder without room, an intent that does not verify).
        if (request.delayMs === 0) throw new ForbiddenError('NOPE', 'refused before reading the body');
        await sleep(request.delayMs);
        const body = await context.readBody(request.size);
        return { value: sha256Hex(body), body: body.subarray(0, Math.min(body.length, 8 * MiB)) };
      },
    );
    rpc = testRpcClient(client, clock);
    await client.dial(server.getMultiaddrs()[0]!);
  }, 60_000);

  afterAll(async () => {
    await client?.stop();
    await server?.stop();
  });

  for (const mib of [4, 8, 16]) {
    it(`carries a ${mib} MiB body both ways when the reader starts a second late`, async () => {
      const body = randomBytes(mib * MiB);
      const reply = await rpc.call(
        server.peerId.toString(),
        protocol,
        { size: body.length, delayMs: 1000 },
        body,
        { replyBytesMax: body.length },
      );
      expect(reply.value).toBe(sha256Hex(body));
      expect(sha256Hex(reply.body!)).toBe(sha256Hex(body.subarray(0, Math.min(body.length, 8 * MiB))));
    }, 120_000);
  }

  it('carries four 4 MiB bodies at once to the slow reader', async () => {
    const bodies = Array.from({ length: 4 }, () => randomBytes(4 * MiB));
    const replies = await Promise.all(
      bodies.map((body) =>
        rpc.call(server.peerId.toString(), protocol, { size: body.length, delayMs: 500 }, body, {
          replyBytesMax: body.length,
        }),
      ),
    );
    expect(replies.map((r) => r.value)).toEqual(bodies.map((b) => sha256Hex(b)));
  }, 120_000);

  it('answers a refusal given before an 8 MiB body is read, without waiting for the request to time out', async () => {
    const body = randomBytes(8 * MiB);
    const started = Date.now();
    const refused = await rpc
      .call(server.peerId.toString(), protocol, { size: body.length, delayMs: 0 }, body, {
        timeoutMs: 60_000,
      })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RemoteError);
    expect((refused as RemoteError).remoteCode).toBe('NOPE');
    expect(Date.now() - started).toBeLessThan(50_000);
  }, 120_000);
});
