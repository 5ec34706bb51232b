import '../src/polyfill.js';
import type { Libp2p, Stream } from '@libp2p/interface';
import { ManualClock, MemoryLogger, SystemClock } from '@trinity/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ProtocolError, type RemoteError, RequestNotSentError } from '../src/errors.js';
import { SendBudgetTimeoutError } from '../src/p2p/data-channel.js';
import { CircuitBreaker } from '../src/p2p/peer-guard.js';
import {
  type ChannelTransport,
  Libp2pProtocolServer,
  peerLimiter,
  RpcClient,
  SlotWaitTimeoutError,
} from '../src/p2p/rpc.js';
import { framed, PROTOCOLS, smallBodyBytesMax } from '../src/p2p/wire.js';
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
    await protocols.handle(`${protocol}/body`, z.object({ size: z.number() }).strict(), async (request) => ({
      body: new Uint8Array(request.size),
    }));
    rpc = testRpcClient(client, clock);
    await client.dial(server.getMultiaddrs()[0]!);
  }, 60_000);

  it('refuses a reply body larger than the request declared, and takes one within it', async () => {
    const call = (size: number, replyBytesMax: number) =>
      rpc.call(server.peerId.toString(), `${protocol}/body`, { size }, undefined, { replyBytesMax });
    await expect(call(4096, 4095)).rejects.toBeInstanceOf(ProtocolError);
    expect((await call(4096, 4096)).body).toHaveLength(4096);
  });

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

describe('waiting for one of a peer’s in-flight slots', () => {
  const peer = '12D3KooWPeerUnderTest';
  const requestTimeoutMs = 60_000;

  /** An RpcClient over a channel whose exchanges are held until the test lets them go (or abort). */
  function heldClient(slots: number) {
    const clock = new ManualClock();
    const started: string[] = [];
    const held: (() => void)[] = [];
    const channel: ChannelTransport = {
      carries: () => true,
      exchange: (_peer, protocol, header, _body, signal) => {
        const op = (header as { op?: string }).op;
        started.push(op === undefined ? protocol : `${protocol} ${op}`);
        return new Promise((resolve, reject) => {
          held.push(() => resolve({ value: protocol }));
          signal.addEventListener('abort', () => reject(new Error('exchange timed out')), { once: true });
        });
      },
    };
    const breaker = new CircuitBreaker({ failureThreshold: 1, baseBackoffMs: 1000, maxBackoffMs: 1000 });
    const rpc = new RpcClient(
      { requestTimeoutMs },
      {
        libp2p: { dialProtocol: () => Promise.reject(new Error('no libp2p here')) },
        breaker,
        limiter: peerLimiter(slots),
        clock,
        channel,
      },
    );
    return { clock, started, held, breaker, rpc };
  }

  const settled = () => new Promise((resolve) => setImmediate(resolve));
  const shardBody = new Uint8Array(smallBodyBytesMax);

  it('gives a small request a reserved slot while bulk transfers fill the rest, whatever its protocol', async () => {
    const { started, held, rpc } = heldClient(8); // 2 of 8 reserved
    const stages = Array.from({ length: 6 }, () =>
      rpc.call(peer, PROTOCOLS.shard, { op: 'stage' }, shardBody),
    );
    const fetch = rpc.call(peer, PROTOCOLS.shard, { op: 'fetch' }, undefined, {
      replyBytesMax: smallBodyBytesMax,
    });
    const bigVote = rpc.call(peer, PROTOCOLS.tx, { op: 'big' }, shardBody);
    const renew = rpc.call(peer, PROTOCOLS.shard, { op: 'renew' });
    const vote = rpc.call(peer, PROTOCOLS.tx, {});
    await settled();
    // The fetch and the large tx body are bulk: they wait; the renewal and the vote take the reserved two.
    expect(started).toEqual([
      ...stages.map(() => `${PROTOCOLS.shard} stage`),
      `${PROTOCOLS.shard} renew`,
      PROTOCOLS.tx,
    ]);
    held[6]!();
    held[7]!();
    await Promise.all([renew, vote]);
    held[0]!();
    held[1]!();
    await settled();
    expect(started.slice(8)).toEqual([`${PROTOCOLS.shard} fetch`, `${PROTOCOLS.tx} big`]);
    for (const release of held.slice(2)) release();
    await Promise.all([...stages, fetch, bigVote]);
  }, 10_000);

  it('gives a request the whole timeout for its exchange once it holds a slot, after a long wait', async () => {
    const { clock, started, held, breaker, rpc } = heldClient(1);
    const running = rpc.call(peer, PROTOCOLS.shard, { op: 'stage' }, shardBody);
    const waiting = rpc.call(peer, PROTOCOLS.shard, { op: 'stage' }, shardBody, { timeoutMs: 1000 });
    await settled();
    clock.advance(999); // 1 ms of its timeout left when the slot frees
    held[0]!();
    await running;
    await settled();
    expect(started).toHaveLength(2);
    clock.advance(999); // the exchange has its own 1000 ms
    await settled();
    held[1]!();
    expect((await waiting).value).toBe(PROTOCOLS.shard);
    expect(breaker.state(peer, clock.nowMs())).toBe('closed');
  }, 10_000);

  it('makes a header given as a function when the request holds its slot, not before', async () => {
    const { clock, started, held, rpc } = heldClient(1);
    const running = rpc.call(peer, PROTOCOLS.shard, { op: 'stage' }, shardBody);
    const madeAtMs: number[] = [];
    const challenge = rpc.call(peer, PROTOCOLS.pos, () => {
      madeAtMs.push(clock.nowMs());
      return { op: 'challenge' };
    });
    await settled();
    clock.advance(2_500); // a wait for the slot longer than a challenge's deadline
    expect(madeAtMs).toEqual([]);
    held[0]!();
    await running;
    await settled();
    expect(madeAtMs).toEqual([2_500]);
    expect(started).toEqual([`${PROTOCOLS.shard} stage`, `${PROTOCOLS.pos} challenge`]);
    held[1]!();
    expect((await challenge).value).toBe(PROTOCOLS.pos);
  }, 10_000);

  it('does not count a request its transport never sent against the peer', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, baseBackoffMs: 1000, maxBackoffMs: 1000 });
    const rpc = new RpcClient(
      { requestTimeoutMs },
      {
        libp2p: { dialProtocol: () => Promise.reject(new Error('no libp2p here')) },
        breaker,
        limiter: peerLimiter(4),
        clock,
        channel: {
          carries: () => true,
          exchange: () => Promise.reject(new SendBudgetTimeoutError(peer)),
        },
      },
    );
    await expect(rpc.call(peer, PROTOCOLS.shard, { op: 'stage' }, shardBody)).rejects.toBeInstanceOf(
      SendBudgetTimeoutError,
    );
    expect(breaker.state(peer, clock.nowMs())).toBe('closed');
  });

  it('does not count a header that could not be made against the peer', async () => {
    const { clock, started, breaker, rpc } = heldClient(1);
    const call = rpc.call(peer, PROTOCOLS.pos, () => {
      throw new Error('no challenge to make');
    });
    await expect(call).rejects.toThrow(/no challenge to make/);
    expect(started).toEqual([]);
    expect(breaker.state(peer, clock.nowMs())).toBe('closed');
  }, 10_000);

  it('times a request out while it waits: it never starts, nor counts against the peer', async () => {
    const { clock, started, held, breaker, rpc } = heldClient(1);
    const running = rpc.call(peer, PROTOCOLS.tx, {});
    const waiting = rpc.call(peer, PROTOCOLS.tx, {}, undefined, { timeoutMs: 1000 }).catch((e: unknown) => e);
    await Promise.resolve();
    expect(started).toHaveLength(1);
    clock.advance(1000);
    const error = await waiting;
    expect(error).toBeInstanceOf(SlotWaitTimeoutError);
    expect(error).toBeInstanceOf(RequestNotSentError);
    held[0]!();
    await running;
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toHaveLength(1); // the slot freed later went to no one
    expect(breaker.state(peer, clock.nowMs())).toBe('closed');
    // The slot is free again for a new request.
    const next = rpc.call(peer, PROTOCOLS.tx, {});
    await Promise.resolve();
    held[1]!();
    expect((await next).value).toBe(PROTOCOLS.tx);
  }, 10_000);
});
