import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { MemoryLogger, SystemClock } from '@trinity/core';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ProtocolError, RemoteError, RequestNotSentError } from '../src/errors.js';
import {
  bindingPayload,
  buildChannelCertificate,
  ChannelAuthError,
  createChannelCredentials,
  verifyChannelCertificate,
} from '../src/p2p/channel-cert.js';
import {
  BodyPool,
  ByteBudget,
  ChannelUnavailableError,
  ConnectionWaitTimeoutError,
  DataChannel,
  FlowControl,
  parseChannelAddress,
  ReplyBodyPool,
  SendBudgetTimeoutError,
} from '../src/p2p/data-channel.js';
import {
  ChannelledProtocolServer,
  InFlight,
  type ProtocolServer,
  type TrafficListener,
} from '../src/p2p/rpc.js';
import { headerBytesMax, shardBytesMax, smallBodyBytesMax } from '../src/p2p/wire.js';
import { ForbiddenError } from '../src/services/shards/shard-service.js';
import { until } from './helpers.js';

const MiB = 1024 * 1024;
const clock = new SystemClock();

function derOf(pem: string): Uint8Array {
  return new X509Certificate(pem).raw;
}

async function identity(): Promise<{ key: PrivateKey; id: string }> {
  const key = await generateKeyPair('Ed25519');
  return { key, id: peerIdFromPrivateKey(key).toString() };
}

describe('channel certificates', () => {
  it('binds the certificate key to the libp2p key: verification yields the peer id', async () => {
    const node = await identity();
    const credentials = await createChannelCredentials(node.key, clock.nowMs());
    await expect(verifyChannelCertificate(derOf(credentials.certPem), clock.nowMs())).resolves.toBe(node.id);
  });

  it('refuses an extension signed over another certificate key, or naming another node key', async () => {
    const node = await identity();
    const other = await identity();
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const otherSpki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    const base = {
      spki,
      signer: privateKey,
      identityKey: publicKeyToProtobuf(node.key.publicKey),
      identitySignature: await node.key.sign(bindingPayload(spki)),
      notBeforeMs: clock.nowMs() - 60_000,
      notAfterMs: clock.nowMs() + 60_000,
    };
    // The honest parts verify: the refusals below are the tampering's doing.
    await expect(verifyChannelCertificate(buildChannelCertificate(base), clock.nowMs())).resolves.toBe(
      node.id,
    );
    const tampered = [
      { ...base, identitySignature: await node.key.sign(bindingPayload(otherSpki)) },
      { ...base, identityKey: publicKeyToProtobuf(other.key.publicKey) },
      { ...base, identitySignature: randomBytes(64) },
      { ...base, identityKey: randomBytes(36) },
    ];
    for (const parts of tampered) {
      await expect(verifyChannelCertificate(buildChannelCertificate(parts), clock.nowMs())).rejects.toThrow(
        ChannelAuthError,
      );
    }
    const expired = { ...base, notAfterMs: clock.nowMs() - 1000, notBeforeMs: clock.nowMs() - 60_000 };
    await expect(verifyChannelCertificate(buildChannelCertificate(expired), clock.nowMs())).rejects.toThrow(
      /expired/,
    );
  });

  it('refuses a certificate whose bytes were changed after signing', async () => {
    const node = await identity();
    const der = Uint8Array.from(derOf((await createChannelCredentials(node.key, clock.nowMs())).certPem));
    // Flip one byte of the extension's signature, found just after the libp2p key protobuf.
    const keyBytes = publicKeyToProtobuf(node.key.publicKey);
    const at = Buffer.from(der).indexOf(Buffer.from(keyBytes));
    expect(at).toBeGreaterThan(0);
    der[at + keyBytes.length + 4]! ^= 0x01;
    await expect(verifyChannelCertificate(der, clock.nowMs())).rejects.toThrow(ChannelAuthError);
    await expect(verifyChannelCertificate(randomBytes(300), clock.nowMs())).rejects.toThrow(ChannelAuthError);
  });
});

describe('ByteBudget', () => {
  it('holds a request back until the bytes before it are released, in order', async () => {
    const budget = new ByteBudget(10);
    expect(await budget.acquire(6)).toBe(6);
    const order: string[] = [];
    const second = budget.acquire(6).then(() => order.push('second'));
    const third = budget.acquire(1).then(() => order.push('third'));
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(budget.used).toBe(6);
    budget.release(6);
    await Promise.all([second, third]);
    expect(order).toEqual(['second', 'third']);
    expect(budget.used).toBe(7);
    // A request over the cap takes the whole cap, not forever.
    budget.release(7);
    expect(await budget.acquire(100)).toBe(10);
  });

  it('lets a waiter whose signal aborts leave the line holding nothing; those behind it move up', async () => {
    const budget = new ByteBudget(10);
    await budget.acquire(5);
    const gaveUp = new AbortController();
    const first = budget.acquire(8, gaveUp.signal);
    const order: string[] = [];
    const second = budget.acquire(2).then(() => order.push('second')); // fits, but waits its turn
    await Promise.resolve();
    expect(order).toEqual([]);
    gaveUp.abort(new Error('timed out'));
    await expect(first).rejects.toThrow(/timed out/);
    await second;
    expect(order).toEqual(['second']);
    expect(budget.used).toBe(7);
    await expect(budget.acquire(1, gaveUp.signal)).rejects.toThrow(/timed out/);
    expect(budget.used).toBe(7);
  });
});

describe('FlowControl', () => {
  const settled = async (promise: Promise<unknown>) => {
    let done = false;
    void promise.then(() => {
      done = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    return done;
  };

  it('lets a small body past a peer whose large bodies fill the budget, with caps of its own', async () => {
    const flow = new FlowControl(4 * MiB, 64 * MiB);
    const shard = await flow.acquire('p', 4 * MiB);
    const nextShard = flow.acquire('p', 4 * MiB);
    expect(await settled(nextShard)).toBe(false);
    // A 2PC message or a record: not in line behind the shards.
    const recordHeld = flow.acquire('p', 4 * 1024);
    expect(await settled(recordHeld)).toBe(true);
    const record = await recordHeld;
    // Small bodies have a bounded budget too (1 MiB per peer): with the record's 4 KiB held, the
    // 32nd of 32 KiB waits until it is released.
    await Promise.all(Array.from({ length: 31 }, () => flow.acquire('p', 32 * 1024)));
    const overSmall = flow.acquire('p', 32 * 1024);
    expect(await settled(overSmall)).toBe(false);
    record();
    expect(await settled(overSmall)).toBe(true);
    shard();
    expect(await settled(nextShard)).toBe(true);
  });
});

describe('BodyPool', () => {
  it('hands back a given body of the same size, keeps a bounded number, and skips small ones and views', () => {
    const pool = new BodyPool(2, 1);
    const a = pool.take(MiB);
    pool.give(a);
    expect(pool.take(MiB)).toBe(a);
    pool.give(Buffer.alloc(MiB));
    pool.give(Buffer.alloc(MiB));
    pool.give(Buffer.alloc(MiB));
    expect(pool.size).toBe(2);
    pool.give(Buffer.alloc(1024)); // too small to pool
    pool.give(Buffer.alloc(2 * MiB).subarray(0, MiB)); // a view into a larger buffer
    expect(pool.size).toBe(2);
    expect(pool.take(2 * MiB)).toHaveLength(2 * MiB);
  });

  it('makes way for a new size by dropping the sizes used least recently', () => {
    const pool = new BodyPool(4, 2, 5 * MiB);
    const [a, b] = [Buffer.alloc(MiB), Buffer.alloc(2 * MiB)];
    pool.give(a);
    pool.give(b);
    expect(pool.take(MiB)).toBe(a); // 1 MiB is now the size used most recently
    pool.give(a);
    const c = Buffer.alloc(3 * MiB);
    expect(pool.give(c)).toBe(true); // a third size: 2 MiB, used least recently, goes
    expect(pool.freeBytes).toBe(4 * MiB);
    expect(pool.take(2 * MiB)).not.toBe(b);
    const d = Buffer.alloc(4 * MiB);
    expect(pool.give(d)).toBe(true); // a third size again (1 MiB goes), then over the free bytes (3 MiB)
    expect(pool.freeBytes).toBe(4 * MiB);
    expect(pool.take(4 * MiB)).toBe(d);
    expect(pool.freeBytes).toBe(0);
  });

  it('makes room for a body by dropping free bodies of older sizes one at a time, not whole sizes', () => {
    const pool = new BodyPool(Number.POSITIVE_INFINITY, 4, 4 * MiB);
    for (let i = 0; i < 3; i++) pool.give(Buffer.alloc(MiB));
    expect(pool.give(Buffer.alloc(2 * MiB))).toBe(true); // one 1 MiB body makes way, two stay
    expect([pool.size, pool.freeBytes]).toEqual([3, 4 * MiB]);
    // Its own size's free bodies already fill the bytes: nothing else is dropped for it.
    expect(pool.give(Buffer.alloc(2 * MiB))).toBe(true);
    expect(pool.give(Buffer.alloc(2 * MiB))).toBe(false);
    expect([pool.size, pool.freeBytes]).toEqual([2, 4 * MiB]);
  });
});

describe('ReplyBodyPool', () => {
  it('takes back only bodies it lent, each once, and keeps at most its free bytes', () => {
    const pool = new ReplyBodyPool(2 * MiB);
    const a = pool.take(MiB);
    expect(pool.give(Buffer.alloc(MiB))).toBe(false); // never lent
    expect(pool.give(a)).toBe(true);
    expect(pool.give(a)).toBe(false); // given back twice: kept once
    expect(pool.take(MiB)).toBe(a);
    expect(pool.take(MiB)).not.toBe(a); // a was lent again: one hand at a time
    const [b, c, d] = [pool.take(MiB), pool.take(MiB), pool.take(MiB)];
    expect([pool.give(b), pool.give(c), pool.give(d)]).toEqual([true, true, false]);
    expect(pool.freeBytes).toBe(2 * MiB);
    const small = pool.take(1024); // too small to pool
    expect(pool.give(small)).toBe(false);
  });
});

describe('parseChannelAddress', () => {
  it('reads host:port and [v6]:port, refuses the rest', () => {
    expect(parseChannelAddress('127.0.0.1:7171')).toEqual({ host: '127.0.0.1', port: 7171 });
    expect(parseChannelAddress('[::1]:80')).toEqual({ host: '::1', port: 80 });
    for (const bad of ['127.0.0.1', ':80', 'host:0', 'host:70000', '::1:80', 'a:b'])
      expect(parseChannelAddress(bad)).toBeUndefined();
  });
});

const echoSchema = z.object({ op: z.string(), size: z.number().int().min(0) }).strict();

/** An empty request (`op`, echo by default) from `client` to `peer`, as most tests below send one. */
function echo(client: DataChannel, peer: string, protocol = '/test/1', op = 'echo', timeoutMs = 10_000) {
  return client.exchange(peer, protocol, { op, size: 0 }, undefined, AbortSignal.timeout(timeoutMs));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const timeout = () => AbortSignal.timeout(30_000);

/** How `promise` ends within `ms`: 'resolved', 'rejected' or still 'pending'. */
function within(promise: Promise<unknown>, ms: number): Promise<string> {
  return Promise.race([
    promise.then(
      () => 'resolved',
      () => 'rejected',
    ),
    pause(ms).then(() => 'pending'),
  ]);
}

/**
 * Fills the 1 MiB budgets between `sender` and the peer `receiverId` (`receiver`): it reads a 1 MiB
 * request body and holds it, unanswered, until `release()`.
 */
async function holdOneMiB(sender: DataChannel, receiver: DataChannel, receiverId: string) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let held = false;
  await receiver.handle('/test/2', echoSchema, async (request, context) => {
    await context.readBody(request.size);
    held = true;
    await gate;
    return {};
  });
  const request = sender.exchange(
    receiverId,
    '/test/2',
    { op: 'hold', size: MiB },
    randomBytes(MiB),
    timeout(),
  );
  await until('the 1 MiB body to be held', async () => held || undefined, 10_000);
  return {
    release: async () => {
      open();
      await request;
    },
  };
}

describe('DataChannel', () => {
  const channels: DataChannel[] = [];
  afterEach(async () => {
    await Promise.all(channels.splice(0).map((channel) => channel.stop()));
  });

  async function channel(
    key: PrivateKey,
    addresses: Map<string, string>,
    limits: {
      peerInFlightBytesMax?: number;
      connectionsPerPeerMax?: number;
      onTransfer?: TrafficListener;
    } = {},
  ): Promise<DataChannel> {
    const made = new DataChannel(
      {
        host: '127.0.0.1',
        port: 0,
        // '/test/headers' takes no body, like the 2PC and index-head protocols.
        protocols: { '/test/1': shardBytesMax, '/test/2': shardBytesMax, '/test/headers': 0 },
        peerInFlightBytesMax: limits.peerInFlightBytesMax ?? 64 * MiB,
        nodeInFlightBytesMax: 256 * MiB,
        ...(limits.connectionsPerPeerMax === undefined
          ? {}
          : { connectionsPerPeerMax: limits.connectionsPerPeerMax }),
      },
      {
        identity: key,
        clock,
        logger: new MemoryLogger(),
        addressOf: (peer) => addresses.get(peer),
        inFlight: new InFlight(64),
        ...(limits.onTransfer === undefined ? {} : { onTransfer: limits.onTransfer }),
      },
    );
    channels.push(made);
    await made.start();
    return made;
  }

  async function pair(limits: { peerInFlightBytesMax?: number; onTransfer?: TrafficListener } = {}) {
    const a = await identity();
    const b = await identity();
    const addresses = new Map<string, string>();
    const server = await channel(a.key, addresses, limits);
    const client = await channel(b.key, addresses, limits);
    addresses.set(a.id, server.address!);
    addresses.set(b.id, client.address!);
    const seen: string[] = [];
    await server.handle('/test/1', echoSchema, async (request, context) => {
      seen.push(context.peer);
      if (request.op === 'forbidden') throw new ForbiddenError('NOPE', 'not you');
      const body = await context.readBody(request.size);
      // The reply body is the request body reversed: proves the bytes arrived in order.
      return { value: { got: body.length }, body: Uint8Array.from(body).reverse() };
    });
    return { a, b, server, client, addresses, seen };
  }

  /** Two channels with one connection between them; the server answers a 'slow' echo once `open()`. */
  async function oneConnection() {
    const a = await identity();
    const b = await identity();
    const addresses = new Map<string, string>();
    const server = await channel(a.key, addresses, { connectionsPerPeerMax: 1 });
    const client = await channel(b.key, addresses, { connectionsPerPeerMax: 1 });
    addresses.set(a.id, server.address!);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    await server.handle('/test/1', echoSchema, async (request) => {
      if (request.op === 'slow') await gate;
      return { value: { op: request.op } };
    });
    return { a, client, open };
  }

  it('carries shards of 4 MiB and more both ways, authenticated as the calling node', async () => {
    const { a, b, client, seen } = await pair({ peerInFlightBytesMax: 4 * MiB });
    for (const size of [0, 1, 4 * MiB, 9 * MiB + 7]) {
      const body = randomBytes(size);
      const reply = await client.exchange(
        a.id,
        '/test/1',
        { op: 'echo', size },
        body,
        AbortSignal.timeout(30_000),
      );
      expect(reply.value).toEqual({ got: size });
      expect(Buffer.from(reply.body ?? new Uint8Array(0)).equals(Buffer.from(body).reverse())).toBe(true);
    }
    expect(seen.every((peer) => peer === b.id)).toBe(true);
    // One pooled connection served them all, one at a time.
    expect(client.stats().connectionsOut).toBe(1);
    expect(client.stats().requestsOut).toBe(4);
  });

  it('reuses request body buffers only after the reply: parallel bodies of one size stay intact', async () => {
    const { a, client, server } = await pair({ peerInFlightBytesMax: 8 * MiB });
    const hashes: string[] = [];
    // A handler that works on the body across awaits (hashing it before and after) and answers last.
    await server.handle('/test/1', echoSchema, async (request, context) => {
      const body = await context.readBody(request.size);
      const before = createHash('sha256').update(body).digest('hex');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const after = createHash('sha256').update(body).digest('hex');
      hashes.push(before === after ? after : 'changed under the handler');
      return { value: { got: body.length } };
    });
    for (let round = 0; round < 3; round++) {
      const bodies = Array.from({ length: 8 }, () => randomBytes(MiB));
      await Promise.all(
        bodies.map((body) =>
          client.exchange(a.id, '/test/1', { op: 'echo', size: MiB }, body, AbortSignal.timeout(30_000)),
        ),
      );
      const sent = bodies.map((body) => createHash('sha256').update(body).digest('hex')).sort();
      expect(hashes.splice(0).sort()).toEqual(sent);
    }
  });

  it('releases a reply body only once sent: reused reply buffers and direct reads stay intact', async () => {
    const { a, client, server } = await pair({ peerInFlightBytesMax: 8 * MiB });
    const free: Uint8Array[] = [];
    let released = 0;
    let reused = 0;
    // A holder-like handler: each reply is a pooled buffer overwritten with fresh bytes, given back
    // (and so overwritten by the next request) as soon as the channel releases it.
    await server.handle('/test/1', echoSchema, async (request) => {
      const size = request.size;
      const buffer = free.find((b) => b.length === size);
      if (buffer !== undefined) {
        free.splice(free.indexOf(buffer), 1);
        reused++;
      }
      const body = buffer ?? new Uint8Array(size);
      body.set(randomBytes(size));
      const hash = createHash('sha256').update(body).digest('hex');
      await new Promise((resolve) => setTimeout(resolve, 5));
      return {
        value: { hash },
        body,
        release: () => {
          released++;
          body.fill(0); // what reuse does to it, at once
          free.push(body);
        },
      };
    });
    for (let round = 0; round < 4; round++) {
      // Sizes that end mid-record and span many 16 KiB TLS records, read straight into the output.
      const sizes = [MiB, MiB, 4 * MiB + 3, MiB, 100_000, 16 * 1024 + 1, MiB, 7];
      const replies = await Promise.all(
        sizes.map((size) =>
          client.exchange(a.id, '/test/1', { op: 'fetch', size }, undefined, AbortSignal.timeout(30_000)),
        ),
      );
      for (const [i, reply] of replies.entries()) {
        expect(reply.body?.length).toBe(sizes[i]);
        const hash = createHash('sha256').update(reply.body!).digest('hex');
        expect(hash).toBe((reply.value as { hash: string }).hash);
      }
    }
    expect(released).toBe(32);
    expect(reused).toBeGreaterThan(0);
  });

  it('reads a reply into a recycled body only after it was given back, and never into one held', async () => {
    const { a, client } = await pair();
    const exchange = async (body: Uint8Array) =>
      client.exchange(a.id, '/test/1', { op: 'echo', size: body.length }, body, AbortSignal.timeout(30_000));
    const first = randomBytes(MiB);
    const held = (await exchange(first)).body!;
    // Not given back: the next reply gets its own buffer and `held` keeps its bytes.
    const second = (await exchange(randomBytes(MiB))).body!;
    expect(second).not.toBe(held);
    expect(Buffer.from(held).equals(Buffer.from(first).reverse())).toBe(true);
    client.recycle(held);
    client.recycle(held); // twice: still one reuse
    client.recycle(new Uint8Array(MiB)); // not the channel's: ignored
    const bodies = [randomBytes(MiB), randomBytes(MiB)];
    const replies = await Promise.all(bodies.map((body) => exchange(body)));
    expect(replies.filter((reply) => reply.body === held)).toHaveLength(1);
    for (const [i, reply] of replies.entries())
      expect(Buffer.from(reply.body!).equals(Buffer.from(bodies[i]!).reverse())).toBe(true);
  });

  it('a request that timed out waiting for a pooled connection neither hangs nor keeps the next one waiting', async () => {
    const { a, client, open } = await oneConnection();
    // The one connection is busy with a slow request.
    const slow = echo(client, a.id, '/test/1', 'slow', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // This one waits for it and times out: it must end at its timeout, not when a connection frees.
    const timedOut = echo(client, a.id, '/test/1', 'quick', 100);
    expect(await within(timedOut, 10_000)).not.toBe('pending');
    // The next one waits too; once the slow request is answered, the connection is its.
    const next = echo(client, a.id, '/test/1', 'next', 30_000);
    open();
    await slow;
    expect(await within(next, 10_000)).toBe('resolved');
    expect((await next).value).toEqual({ op: 'next' });
  });

  it("a request that timed out waiting for a pooled connection was never sent: not the peer's failure", async () => {
    const { a, client, open } = await oneConnection();
    const slow = echo(client, a.id, '/test/1', 'slow', 30_000);
    await until(
      'the slow request to hold the connection',
      async () => client.stats().requestsOut || undefined,
      10_000,
    );
    const gaveUp = new AbortController();
    const waiting = client.exchange(a.id, '/test/1', { op: 'quick', size: 0 }, undefined, gaveUp.signal);
    await pause(50);
    gaveUp.abort(new Error('timed out'));
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionWaitTimeoutError);
    expect(error).toBeInstanceOf(RequestNotSentError);
    open();
    await slow;
  });

  it('refuses, unread, a reply body larger than the request allows', async () => {
    const { a, client } = await pair();
    const body = randomBytes(4096);
    const exchange = (replyBytesMax: number) =>
      client.exchange(a.id, '/test/1', { op: 'echo', size: body.length }, body, timeout(), replyBytesMax);
    await expect(exchange(4095)).rejects.toBeInstanceOf(ProtocolError);
    expect((await exchange(4096)).body).toHaveLength(4096);
  });

  it('gives its unused connection back to the pool when a request timed out waiting to send', async () => {
    const { a, client, server } = await pair({ peerInFlightBytesMax: MiB });
    // The server holds this node's whole 1 MiB (its receive budget for the peer) until answered...
    const hold = await holdOneMiB(client, server, a.id);
    // ...so the next body is not read: its write holds this node's send budget for the peer.
    const stuck = client.exchange(
      a.id,
      '/test/1',
      { op: 'echo', size: shardBytesMax },
      randomBytes(shardBytesMax),
      timeout(),
    );
    // The server reads a request's header only once its body was granted send budget here.
    await until(
      'the stuck request to be sending',
      async () => server.stats().requestsIn >= 2 || undefined,
      10_000,
    );
    const gaveUp = new AbortController();
    const body = randomBytes(smallBodyBytesMax);
    const waiting = client.exchange(a.id, '/test/1', { op: 'echo', size: body.length }, body, gaveUp.signal);
    // Its own connection (the third) is open (the server counts it once the handshake is checked):
    // it waits for send budget now, however busy the machine.
    await until('a third connection', async () => server.stats().connectionsIn === 3 || undefined, 10_000);
    await pause(100);
    gaveUp.abort(new Error('timed out'));
    await expect(waiting).rejects.toBeInstanceOf(SendBudgetTimeoutError);
    await pause(100);
    // Its connection was not used: it is pooled, and the next request takes it (no new handshake).
    expect(client.stats().connectionsOut).toBe(3);
    expect((await echo(client, a.id, '/test/1', 'quick')).value).toEqual({ got: 0 });
    expect(client.stats().connectionsOut).toBe(3);
    await hold.release();
    await stuck;
  }, 60_000);

  it('lets a request whose time runs out waiting for room for its reply leave the line', async () => {
    const { a, b, client, server, seen } = await pair({ peerInFlightBytesMax: MiB });
    // A request from the peer fills this node's receive budget for it (1 MiB) until answered.
    const hold = await holdOneMiB(server, client, b.id);
    const gaveUp = new AbortController();
    const body = randomBytes(smallBodyBytesMax);
    const waiting = client.exchange(a.id, '/test/1', { op: 'echo', size: body.length }, body, gaveUp.signal);
    await until('the request to be served', async () => seen.length || undefined, 10_000);
    await pause(200); // its reply's head has arrived: it waits for room for the body
    gaveUp.abort(new Error('timed out'));
    expect(await within(waiting, 2_000)).toBe('rejected');
    await hold.release();
    // Nothing was left held: a reply of the full budget still comes through.
    const whole = randomBytes(MiB);
    const reply = await client.exchange(a.id, '/test/1', { op: 'echo', size: MiB }, whole, timeout());
    expect(Buffer.from(reply.body!).equals(Buffer.from(whole).reverse())).toBe(true);
  }, 60_000);

  it('runs requests in parallel over a bounded pool', async () => {
    const { a, client } = await pair({ peerInFlightBytesMax: 2 * MiB });
    const bodies = Array.from({ length: 12 }, () => randomBytes(MiB));
    const replies = await Promise.all(
      bodies.map((body) =>
        client.exchange(a.id, '/test/1', { op: 'echo', size: MiB }, body, AbortSignal.timeout(30_000)),
      ),
    );
    for (const [i, reply] of replies.entries()) {
      expect(Buffer.from(reply.body!).equals(Buffer.from(bodies[i]!).reverse())).toBe(true);
    }
    expect(client.stats().connectionsOut).toBeLessThanOrEqual(8);
  });

  it('holds a peer to its in-flight byte cap: a body waits unread until the bytes before it are done', async () => {
    const { a, client, server } = await pair({ peerInFlightBytesMax: MiB });
    let entered = 0;
    const gates: (() => void)[] = [];
    await server.handle('/test/2', echoSchema, async (request, context) => {
      await context.readBody(request.size);
      entered++;
      await new Promise<void>((resolve) => gates.push(resolve));
      return {};
    });
    const calls = Array.from({ length: 3 }, () =>
      client.exchange(
        a.id,
        '/test/2',
        { op: 'hold', size: MiB },
        randomBytes(MiB),
        AbortSignal.timeout(30_000),
      ),
    );
    for (let expected = 1; expected <= 3; expected++) {
      await until(
        `request ${expected} to reach the handler`,
        async () => (entered >= expected ? true : undefined),
        30_000,
      );
      // Time for a body the cap failed to hold back to arrive too.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(entered).toBe(expected);
      gates.shift()!();
    }
    await Promise.all(calls);
  });

  it("answers a handler's refusal as a RemoteError with its code, and the connection stays usable", async () => {
    const { a, client } = await pair();
    const error = await client
      .exchange(a.id, '/test/1', { op: 'forbidden', size: 0 }, undefined, AbortSignal.timeout(10_000))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).remoteCode).toBe('NOPE');
    const bad = await client
      .exchange(a.id, '/test/1', { op: 'echo', size: 'x' }, undefined, AbortSignal.timeout(10_000))
      .catch((e: unknown) => e);
    expect((bad as RemoteError).remoteCode).toBe('PROTOCOL_ERROR');
    const ok = await client.exchange(
      a.id,
      '/test/1',
      { op: 'echo', size: 3 },
      randomBytes(3),
      AbortSignal.timeout(10_000),
    );
    expect(ok.value).toEqual({ got: 3 });
    expect(client.stats().connectionsOut).toBe(1);
  });

  it("refuses a body over its route's limit before reading it, and serves the next request", async () => {
    const received: number[] = [];
    const { a, client, server } = await pair({
      peerInFlightBytesMax: MiB,
      onTransfer: (_peer, direction, bytes) => {
        if (direction === 'download') received.push(bytes);
      },
    });
    // A request that holds the whole 1 MiB receive budget for the peer until the gate opens: a
    // refused body that took any of that budget (or was read for the handler) would wait for it.
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    let handled = 0;
    await server.handle('/test/2', echoSchema, async (request, context) => {
      await context.readBody(request.size);
      await gate;
      return {};
    });
    await server.handle('/test/headers', echoSchema, async () => {
      handled++;
      return { value: 'served' };
    });
    const holding = client.exchange(
      a.id,
      '/test/2',
      { op: 'hold', size: MiB },
      randomBytes(MiB),
      AbortSignal.timeout(30_000),
    );
    await until('the budget to be held', async () => (received.includes(MiB) ? true : undefined), 30_000);
    for (const size of [1, 4 * MiB]) {
      const refused = await client
        .exchange(a.id, '/test/headers', { op: 'echo', size }, randomBytes(size), AbortSignal.timeout(30_000))
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RemoteError);
      expect((refused as RemoteError).remoteCode).toBe('REQUEST_BODY_TOO_LARGE');
      expect((refused as RemoteError).message).toMatch(/at most 0 bytes, not \d+$/);
    }
    expect(handled).toBe(0);
    // The skipped bodies left the connection in step: the next request on it is served.
    expect((await echo(client, a.id, '/test/headers')).value).toBe('served');
    expect(handled).toBe(1);
    open();
    await holding;
    // Skipped bytes crossed the wire all the same: they are the peer's traffic.
    await until(
      'the skipped bytes to be counted',
      async () => (received.includes(4 * MiB) ? true : undefined),
      30_000,
    );
    expect(received.sort((x, y) => x - y)).toEqual([1, MiB, 4 * MiB]);
    // A protocol the channel does not carry cannot be served on it (it would have no body limit).
    await expect(server.handle('/test/other', echoSchema, async () => ({}))).rejects.toThrow(RangeError);
  });

  it('answers a protocol it does not serve as unavailable (libp2p may carry it), then serves the rest', async () => {
    const { a, client } = await pair();
    const error = await echo(client, a.id, '/test/other').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChannelUnavailableError);
    const ok = await echo(client, a.id);
    expect(ok.value).toEqual({ got: 0 });
    expect(client.stats().connectionsOut).toBe(1);
  });

  it('serves the protocols it carries through ChannelledProtocolServer, every one over libp2p', async () => {
    const [a, b] = [await identity(), await identity()];
    const addresses = new Map<string, string>();
    const carrier = await channel(a.key, addresses);
    const client = await channel(b.key, addresses);
    addresses.set(a.id, carrier.address!);
    const onLibp2p: string[] = [];
    const libp2p: ProtocolServer = {
      handle: async (protocol) => void onLibp2p.push(protocol),
      unhandle: async (protocol) => void onLibp2p.splice(onLibp2p.indexOf(protocol), 1),
    };
    const server = new ChannelledProtocolServer(libp2p, carrier);
    const handler = async () => ({ value: 'served' });
    await server.handle('/test/1', echoSchema, handler);
    await server.handle('/test/libp2p-only', echoSchema, handler);
    expect(onLibp2p).toEqual(['/test/1', '/test/libp2p-only']);
    const ask = (protocol: string) =>
      echo(client, a.id, protocol)
        .then((reply) => reply.value)
        .catch((e: unknown) => (e as Error).name);
    expect(await ask('/test/1')).toBe('served');
    expect(await ask('/test/libp2p-only')).toBe('ChannelUnavailableError');
    await server.unhandle('/test/1');
    expect(onLibp2p).toEqual(['/test/libp2p-only']);
    expect(await ask('/test/1')).toBe('ChannelUnavailableError');
  });

  it('refuses a channel that answers as another peer id, and one with no address', async () => {
    const { a, client, addresses } = await pair();
    const impostor = await identity();
    // The impostor's address leads to a's channel: its certificate names a, not the impostor.
    addresses.set(impostor.id, addresses.get(a.id)!);
    await expect(echo(client, impostor.id)).rejects.toThrow(ChannelUnavailableError);
    const nobody = await identity();
    await expect(echo(client, nobody.id)).rejects.toThrow(ChannelUnavailableError);
    expect(client.stats().unavailable).toBe(1);
    // a itself is still reached.
    const ok = await echo(client, a.id);
    expect(ok.value).toEqual({ got: 0 });
  });

  it('closes a connection with no client certificate, or whose prefix is over the header limit', async () => {
    const { server, a } = await pair();
    const target = parseChannelAddress(server.address!)!;
    const closedAfter = (open: () => ReturnType<typeof connect>, send?: Buffer) =>
      new Promise<string>((resolve) => {
        const socket = open();
        socket.on('error', () => {});
        socket.on('secureConnect', () => {
          if (send !== undefined) socket.write(send);
        });
        let received = 0;
        socket.on('data', (chunk: Buffer) => {
          received += chunk.length;
        });
        socket.on('close', () => resolve(`closed after ${received} bytes`));
      });
    const anonymous = await closedAfter(() =>
      connect({ host: target.host, port: target.port, rejectUnauthorized: false, minVersion: 'TLSv1.3' }),
    );
    expect(anonymous).toBe('closed after 0 bytes');
    const stranger = await identity();
    const credentials = await createChannelCredentials(stranger.key, clock.nowMs());
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(headerBytesMax + 1, 0);
    const oversized = await closedAfter(() => strangerConnection(target, credentials), prefix);
    expect(oversized).toBe('closed after 0 bytes');
    const bodyPrefix = Buffer.alloc(8);
    bodyPrefix.writeUInt32BE(10, 0);
    bodyPrefix.writeUInt32BE(0xffff_ffff, 4);
    const hugeBody = await closedAfter(() => strangerConnection(target, credentials), bodyPrefix);
    expect(hugeBody).toBe('closed after 0 bytes');
    expect(server.stats().requestsIn).toBe(0);
    expect(a.id).toBeTruthy();
  });

  it('reads pipelined and fragmented requests on an accepted connection byte-exact, in order', async () => {
    const { server } = await pair();
    const target = parseChannelAddress(server.address!)!;
    const stranger = await identity();
    const credentials = await createChannelCredentials(stranger.key, clock.nowMs());
    const message = (body: Uint8Array) => {
      const header = Buffer.from(
        JSON.stringify({ protocol: '/test/1', request: { op: 'echo', size: body.length } }),
      );
      const prefix = Buffer.alloc(8);
      prefix.writeUInt32BE(header.length, 0);
      prefix.writeUInt32BE(body.length, 4);
      return Buffer.concat([prefix, header, body]);
    };
    // Bodies around the 16 KiB of a TLS record and a socket read, and one of several megabytes.
    const bodies = [1, 16 * 1024 - 1, 16 * 1024 + 1, 100_000, 3 * MiB + 5].map((size) => randomBytes(size));
    const stream = Buffer.concat(bodies.map(message));
    const socket = strangerConnection(target, credentials);
    const replies: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => replies.push(chunk));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    // The first half in pieces of 1 to 40,000 bytes, each its own write (and TLS record), with
    // turns of the event loop between some; the rest in one write: requests and their bodies split
    // anywhere, several in one read, one body over many reads.
    let at = 0;
    for (let i = 0; at < stream.length / 2; i++) {
      const size = 1 + ((i * 7919) % 40_000);
      socket.write(stream.subarray(at, at + size));
      at += size;
      if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    socket.write(stream.subarray(at));
    // Each reply: the prefix, the header `{ ok, size, value }` in the server's key order, the body.
    const replyHeader = (size: number) => JSON.stringify({ ok: true, size, value: { got: size } });
    const expected = bodies.reduce((sum, body) => sum + 8 + replyHeader(body.length).length + body.length, 0);
    await until(
      'every reply',
      async () => (Buffer.concat(replies).length >= expected ? true : undefined),
      20_000,
    );
    let reply = Buffer.concat(replies);
    for (const body of bodies) {
      const headerBytes = reply.readUInt32BE(0);
      const bodyBytes = reply.readUInt32BE(4);
      const header = JSON.parse(reply.subarray(8, 8 + headerBytes).toString()) as unknown;
      expect(header).toEqual({ ok: true, size: body.length, value: { got: body.length } });
      expect(bodyBytes).toBe(body.length);
      const echoed = reply.subarray(8 + headerBytes, 8 + headerBytes + bodyBytes);
      expect(Buffer.compare(echoed, Buffer.from(body).reverse())).toBe(0);
      reply = reply.subarray(8 + headerBytes + bodyBytes);
    }
    expect(reply.length).toBe(0);
    socket.end();
    await closed;
  });
});

/** A TLS 1.3 connection to the channel at `target` with a stranger's certificate, not checking the server's. */
function strangerConnection(
  target: { host: string; port: number },
  credentials: { keyPem: string; certPem: string },
) {
  return connect({
    host: target.host,
    port: target.port,
    key: credentials.keyPem,
    cert: credentials.certPem,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
  });
}
