import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Clock, Logger } from '@trinity/core';
import { isTrinityError } from '@trinity/core';
import type { z } from 'zod';
import {
  NodeError,
  PeerUnavailableError,
  ProtocolError,
  RemoteError,
  RequestNotSentError,
} from '../errors.js';
import { timeoutSignal, withTimeout } from '../timers.js';
import { type CircuitBreaker, KeyedLimiter } from './peer-guard.js';
import {
  drainUnread,
  framed,
  readBody,
  readHeader,
  replyHeaderSchema,
  smallBodyBytesMax,
  writeMessage,
} from './wire.js';

export type TransferDirection = 'upload' | 'download';

export interface RpcReply {
  readonly value?: unknown;
  readonly body?: Uint8Array;
  /**
   * Called once the body has been sent, by a transport that knows when (the data channel): the
   * handler may then reuse the body's buffer. Not called when the send failed or the transport
   * cannot tell (libp2p streams): the buffer is then left to the garbage collector.
   */
  readonly release?: () => void;
}

/** Bytes moved on the wire, per peer and direction (for the bandwidth ledger and its counters). */
export type TrafficListener = (peer: string, direction: TransferDirection, bytes: number) => void;

export interface CallOptions {
  /**
   * Bounds the wait for one of the peer's in-flight slots (SlotWaitTimeoutError), then, once a slot
   * is granted, the request itself, dial to reply: a long wait does not eat the transfer's time.
   */
  readonly timeoutMs?: number;
  /**
   * The largest reply body the request may bring (default 0). A request whose body or reply may be
   * smallBodyBytesMax or more (a shard staged or fetched, a manifest pushed or fetched, a large
   * object's stage receipts, a proof-of-storage answer) is bulk: it may not take the slots kept for
   * small requests. A reply that declares a larger body is refused unread (ProtocolError, the
   * peer's failure), so a peer cannot pass a bulk reply off as a small request's.
   */
  readonly replyBytesMax?: number;
}

/** Calls to a peer's protocol: what services get as their `rpc` component. */
export interface PeerRpc {
  /**
   * One request to `peer`'s `protocol`. `header` is its JSON header, or a function that makes it
   * when the request holds its slot (for a header that must be fresh when sent: a challenge's
   * deadline counts from then, not from a wait for a slot).
   */
  call(
    peer: string,
    protocol: string,
    header: unknown,
    body?: Uint8Array,
    options?: CallOptions,
  ): Promise<RpcReply>;
  /**
   * Gives back the body of a reply `call` returned, once the caller no longer reads it (nor any view
   * of it), for a later reply to reuse; optional, and a no-op for bodies the transport did not lend.
   */
  recycle?(body: Uint8Array): void;
}

export interface RpcClientInit {
  /** One request to a peer, dial to reply. */
  readonly requestTimeoutMs: number;
}

export interface RpcClientComponents {
  readonly libp2p: Pick<Libp2p, 'dialProtocol'>;
  readonly breaker: CircuitBreaker;
  readonly limiter: KeyedLimiter;
  readonly clock: Clock;
  readonly onTransfer?: TrafficListener;
  /** Every request's transport outcome: a well-formed error reply from the peer counts as ok. */
  readonly onOutcome?: (peer: string, ok: boolean) => void;
  /** The data channel: the protocols it carries go over it, and over libp2p where it is unavailable. */
  readonly channel?: ChannelTransport;
}

/** A transport beside libp2p for some protocols (the data channel). */
export interface ChannelTransport {
  carries(protocol: string): boolean;
  /**
   * Throws a CHANNEL_UNAVAILABLE error, having sent nothing, when libp2p must be used, and a
   * ProtocolError for a reply whose body is declared larger than `replyBytesMax`.
   */
  exchange(
    peer: string,
    protocol: string,
    header: unknown,
    body: Uint8Array | undefined,
    signal: AbortSignal,
    replyBytesMax: number,
  ): Promise<RpcReply>;
  /** Takes back a reply body `exchange` lent (see PeerRpc.recycle). */
  recycle?(body: Uint8Array): void;
}

/** Each peer's in-flight slots kept for small requests (see RpcClient): a 2PC message and a record at once. */
const smallSlotsReserved = 2;

/**
 * The RPC client's limiter: `slots` requests in flight per peer, a quarter of them (at most
 * smallSlotsReserved; none below 4 slots, where bulk requests would be left a single one) out of
 * reach of bulk requests.
 */
export function peerLimiter(slots: number): KeyedLimiter {
  return new KeyedLimiter(slots, Math.min(smallSlotsReserved, Math.floor(slots / 4)));
}

/** A request's time ran out while it waited for one of the peer's in-flight slots: it never started. */
export class SlotWaitTimeoutError extends RequestNotSentError {
  constructor(peer: string, timeoutMs: number) {
    super('SLOT_WAIT_TIMEOUT', `request to ${peer.slice(-8)} found no free slot within ${timeoutMs} ms`, 503);
  }
}

/**
 * Request/reply over libp2p streams, one stream per request, guarded per peer by a circuit breaker
 * and a concurrency limit. Remote errors come back as RemoteError with the peer's code. Bulk
 * requests (a body of smallBodyBytesMax or more either way, see CallOptions.replyBytesMax) cannot take the
 * limiter's reserved slots; small ones can, and go first, so a 2PC vote or a staging lease renewal
 * never waits behind a full set of shard transfers, whatever protocol it is on. A request that never
 * left this node (a RequestNotSentError) says nothing of the peer.
 */
export class RpcClient implements PeerRpc {
  readonly #init: RpcClientInit;
  readonly #deps: RpcClientComponents;

  constructor(init: RpcClientInit, components: RpcClientComponents) {
    this.#init = init;
    this.#deps = components;
  }

  async call(
    peer: string,
    protocol: string,
    header: unknown,
    body?: Uint8Array,
    options: CallOptions = {},
  ): Promise<RpcReply> {
    const { breaker, clock, limiter } = this.#deps;
    const admission = breaker.admit(peer, clock.nowMs());
    if (admission.waitMs > 0) throw new PeerUnavailableError(peer, admission.waitMs);
    const timeoutMs = options.timeoutMs ?? this.#init.requestTimeoutMs;
    const bulk = Math.max(body?.length ?? 0, options.replyBytesMax ?? 0) >= smallBodyBytesMax;
    const wait = timeoutSignal(clock, timeoutMs);
    let started = false;
    try {
      const reply = await limiter.run(
        peer,
        () => {
          wait.clear();
          // Made before `started`: a header that cannot be made is this node's failure, not the peer's.
          const sent = typeof header === 'function' ? (header as () => unknown)() : header;
          started = true;
          // The exchange's own timeout, counted from when it holds a slot.
          return withTimeout(clock, timeoutMs, (signal) =>
            this.#exchange(peer, protocol, sent, body, signal, options.replyBytesMax ?? 0),
          );
        },
        { signal: wait.signal, priority: !bulk },
      );
      breaker.onSuccess(peer);
      this.#deps.onOutcome?.(peer, true);
      return reply;
    } catch (error) {
      // Refused or timed out before a slot was granted, or before the transport sent anything:
      // nothing reached the peer. (The slot wait's timer is cleared once a slot is granted.)
      if (!started || error instanceof RequestNotSentError) {
        breaker.onAbandoned(peer, admission);
        throw wait.signal.aborted ? new SlotWaitTimeoutError(peer, timeoutMs) : error;
      }
      // A peer that answers with a well-formed error is healthy; only transport failures count.
      const healthy = error instanceof RemoteError;
      if (healthy) breaker.onSuccess(peer);
      else breaker.onFailure(peer, clock.nowMs(), admission);
      this.#deps.onOutcome?.(peer, healthy);
      throw error;
    } finally {
      wait.clear();
    }
  }

  recycle(body: Uint8Array): void {
    this.#deps.channel?.recycle?.(body);
  }

  async #exchange(
    peer: string,
    protocol: string,
    header: unknown,
    body: Uint8Array | undefined,
    signal: AbortSignal,
    replyBytesMax: number,
  ): Promise<RpcReply> {
    const channel = this.#deps.channel;
    if (channel?.carries(protocol) === true) {
      try {
        const reply = await channel.exchange(peer, protocol, header, body, signal, replyBytesMax);
        if (body !== undefined) this.#deps.onTransfer?.(peer, 'upload', body.length);
        if (reply.body !== undefined) this.#deps.onTransfer?.(peer, 'download', reply.body.length);
        return reply;
      } catch (error) {
        // Unreachable or unauthenticated before anything was sent: the same request over libp2p.
        if (!(isTrinityError(error) && error.code === 'CHANNEL_UNAVAILABLE')) throw error;
      }
    }
    const stream = await this.#deps.libp2p.dialProtocol(toPeerId(peer), protocol, { signal });
    try {
      const lp = framed(stream);
      await writeMessage(lp, header, body, signal);
      if (body !== undefined) this.#deps.onTransfer?.(peer, 'upload', body.length);
      const reply = await readHeader(lp, replyHeaderSchema, signal);
      if (!reply.ok) throw new RemoteError(peer, reply.code, reply.message);
      let replyBody: Uint8Array | undefined;
      if (reply.size !== undefined && reply.size > 0) {
        assertReplyWithin(reply.size, replyBytesMax);
        replyBody = await readBody(lp, reply.size, signal);
        this.#deps.onTransfer?.(peer, 'download', replyBody.length);
      }
      await stream.close({ signal }).catch(() => stream.abort(new Error('close failed')));
      return { value: reply.value, body: replyBody };
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }
}

/** Refuses, unread, a reply body larger than its request said it may bring (CallOptions.replyBytesMax). */
export function assertReplyWithin(size: number, replyBytesMax: number): void {
  if (size > replyBytesMax)
    throw new ProtocolError(`a reply body of ${size} bytes where the request allows ${replyBytesMax}`);
}

export function toPeerId(peer: string): PeerId {
  try {
    return peerIdFromString(peer);
  } catch {
    throw new ProtocolError(`not a peer id: ${peer.slice(0, 80)}`);
  }
}

/** What a protocol handler gets besides the validated request. */
export interface RpcContext {
  readonly peer: string;
  /** The libp2p connection the request came on; unset on the data channel. */
  readonly connection?: Connection;
  /** Reads exactly `size` body bytes that follow the request header. */
  readBody(size: number): Promise<Uint8Array>;
}

export interface ServeOptions {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly requestTimeoutMs: number;
  readonly maxInboundStreams?: number;
  /** Requests one peer may have in flight here over all protocols; more are refused (PEER_BUSY). */
  readonly peerInFlightMax?: number;
  readonly onTransfer?: TrafficListener;
}

/** A peer over its in-flight request quota: refused before its request is read; nothing changed. */
export class PeerBusyError extends NodeError {
  constructor(peer: string, limit: number) {
    super('PEER_BUSY', `peer ${peer.slice(-8)} has ${limit} requests in flight here already`, 429);
  }
}

/** Requests in flight per peer, over every protocol this node serves (libp2p and the data channel). */
export class InFlight {
  readonly #byPeer = new Map<string, number>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  admit(peer: string): void {
    const count = this.#byPeer.get(peer) ?? 0;
    if (count >= this.#limit) throw new PeerBusyError(peer, this.#limit);
    this.#byPeer.set(peer, count + 1);
  }

  release(peer: string): void {
    const count = (this.#byPeer.get(peer) ?? 1) - 1;
    if (count > 0) this.#byPeer.set(peer, count);
    else this.#byPeer.delete(peer);
  }
}

/** A protocol handler: gets the validated request header, returns the reply. */
export type ProtocolHandler<S extends z.ZodType> = (
  request: z.output<S>,
  context: RpcContext,
) => Promise<RpcReply>;

/** Registers this node's protocol handlers: what services get as their `server` component. */
export interface ProtocolServer {
  handle<S extends z.ZodType>(protocol: string, schema: S, handler: ProtocolHandler<S>): Promise<void>;
  unhandle(protocol: string): Promise<void>;
}

/** The libp2p-backed ProtocolServer: every handler validated, timed out and counted the same way. */
export class Libp2pProtocolServer implements ProtocolServer {
  readonly #libp2p: Pick<Libp2p, 'handle' | 'unhandle'>;
  readonly #options: ServeOptions;
  readonly #inFlight: InFlight;

  constructor(libp2p: Pick<Libp2p, 'handle' | 'unhandle'>, options: ServeOptions) {
    this.#libp2p = libp2p;
    this.#options = options;
    this.#inFlight = new InFlight(options.peerInFlightMax ?? 64);
  }

  /** The per-peer in-flight count, shared with any other server of this node's protocols. */
  get inFlight(): InFlight {
    return this.#inFlight;
  }

  handle<S extends z.ZodType>(protocol: string, schema: S, handler: ProtocolHandler<S>): Promise<void> {
    return serveProtocol(this.#libp2p, protocol, schema, handler, this.#options, this.#inFlight);
  }

  async unhandle(protocol: string): Promise<void> {
    await this.#libp2p.unhandle(protocol);
  }
}

/**
 * Serves every protocol over libp2p and, for the protocols the data channel carries, over the channel
 * as well, with the same handler: every rule of who may call what holds on both transports, and a
 * peer whose channel is unreachable still gets an answer over libp2p.
 */
export class ChannelledProtocolServer implements ProtocolServer {
  readonly #libp2p: ProtocolServer;
  readonly #channel: (ProtocolServer & Pick<ChannelTransport, 'carries'>) | undefined;

  constructor(
    libp2p: ProtocolServer,
    channel: (ProtocolServer & Pick<ChannelTransport, 'carries'>) | undefined,
  ) {
    this.#libp2p = libp2p;
    this.#channel = channel;
  }

  async handle<S extends z.ZodType>(protocol: string, schema: S, handler: ProtocolHandler<S>): Promise<void> {
    await this.#libp2p.handle(protocol, schema, handler);
    if (this.#channel?.carries(protocol) === true) await this.#channel.handle(protocol, schema, handler);
  }

  async unhandle(protocol: string): Promise<void> {
    if (this.#channel?.carries(protocol) === true) await this.#channel.unhandle(protocol);
    await this.#libp2p.unhandle(protocol);
  }
}

/**
 * Serves one protocol: every request header is validated with `schema` before the handler sees it;
 * any error becomes an error reply (code + one-line message), never a crash.
 */
async function serveProtocol<S extends z.ZodType>(
  libp2p: Pick<Libp2p, 'handle'>,
  protocol: string,
  schema: S,
  handler: ProtocolHandler<S>,
  options: ServeOptions,
  inFlight: InFlight,
): Promise<void> {
  const log = options.logger.child({ protocol });
  await libp2p.handle(
    protocol,
    async (stream: Stream, connection: Connection) => {
      const peer = connection.remotePeer.toString();
      const timeout = timeoutSignal(options.clock, options.requestTimeoutMs);
      const signal = timeout.signal;
      const lp = framed(stream);
      let admitted = false;
      try {
        inFlight.admit(peer);
        admitted = true;
        const request = await readHeader(lp, schema, signal);
        const context: RpcContext = {
          peer,
          connection,
          readBody: async (size) => {
            const body = await readBody(lp, size, signal);
            options.onTransfer?.(peer, 'download', body.length);
            return body;
          },
        };
        const reply = await handler(request, context);
        const size = reply.body?.length ?? 0;
        await writeMessage(
          lp,
          { ok: true, ...(size > 0 ? { size } : {}), value: reply.value },
          reply.body,
          signal,
        );
        if (size > 0) options.onTransfer?.(peer, 'upload', size);
        await stream.close({ signal });
      } catch (error) {
        // The request is over: its slot is free before the reply and the drain, which wait on the
        // peer (a peer that never closes its side would otherwise hold the slot until the timeout).
        if (admitted) inFlight.release(peer);
        admitted = false;
        const reply = errorReply(error);
        const { code, message } = reply;
        if (!(error instanceof NodeError) || error.status >= 500)
          log.debug({ peer, code, err: message }, 'request failed');
        await writeMessage(lp, reply, undefined, signal)
          .then(() => drainUnread(stream, lp, signal))
          .then(() => stream.close({ signal }))
          .catch(() => stream.abort(new Error(message)));
      } finally {
        if (admitted) inFlight.release(peer);
        timeout.clear();
      }
    },
    { maxInboundStreams: options.maxInboundStreams ?? 256, runOnLimitedConnection: false },
  );
}

/** The error reply a handler's failure becomes: its code and the first line of its message. */
export function errorReply(error: unknown): { ok: false; code: string; message: string } {
  const code = isTrinityError(error) ? error.code : 'INTERNAL';
  const message = error instanceof Error ? error.message.split('\n')[0]!.slice(0, 1000) : String(error);
  return { ok: false, code, message };
}
