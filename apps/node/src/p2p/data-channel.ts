import { isIPv6, type OnReadOpts } from 'node:net';
import {
  type ConnectionOptions,
  connect,
  createSecureContext,
  createServer,
  type SecureContext,
  type Server,
  type TLSSocket,
} from 'node:tls';
import type { PrivateKey } from '@libp2p/interface';
import type { Clock, Logger } from '@trinity/core';
import { z } from 'zod';
import { NodeError, ProtocolError, RemoteError, RequestNotSentError } from '../errors.js';
import type { Startable } from '../startable.js';
import {
  type ChannelCredentials,
  createChannelCredentials,
  verifyChannelCertificate,
} from './channel-cert.js';
import {
  assertReplyWithin,
  errorReply,
  type InFlight,
  type ProtocolHandler,
  type ProtocolServer,
  type RpcContext,
  type RpcReply,
  type TrafficListener,
} from './rpc.js';
import { waitInLine } from './wait-queue.js';
import {
  headerBytesMax,
  parseHeader,
  replyHeaderSchema,
  shardBytesMax,
  smallBodyBytesMax,
  validateHeader,
} from './wire.js';

/**
 * The data channel: shard bytes and the other per-object protocols (`channelProtocols`) between nodes
 * over TLS 1.3 (node:tls), beside libp2p. Each end shows a certificate bound to its libp2p key (see
 * channel-cert.ts) and checks the other's, so a request comes from exactly the peer id libp2p knows.
 * Connections are persistent and pooled per peer; one request at a time per connection, so no stream
 * is negotiated per request.
 *
 * A message is an 8-byte prefix (header length, body length: u32 big-endian), a JSON header of at
 * most headerBytesMax and a body of at most shardBytesMax. A request's header is
 * `{ protocol, request }`; a reply's is the libp2p protocols' reply header, its `size` the body's.
 * Any prefix over the limits closes the connection before a byte of it is buffered.
 *
 * Flow control: bytes in flight are capped per peer and per node, separately for what this node
 * sends and what it receives, and for small bodies and large ones (FlowControl); a reader waiting for
 * budget stops reading its socket, so TCP holds the sender back.
 */

/** The channel cannot be used to reach a peer (no address, refused, unauthenticated): use libp2p. */
export class ChannelUnavailableError extends NodeError {
  constructor(peer: string, reason: string) {
    super('CHANNEL_UNAVAILABLE', `data channel to ${peer.slice(-8)}: ${reason}`, 503);
  }
}

/** A request's time ran out while its body waited for room among this node's bodies in flight: nothing was sent. */
export class SendBudgetTimeoutError extends RequestNotSentError {
  constructor(peer: string) {
    super('SEND_BUDGET_TIMEOUT', `request to ${peer.slice(-8)} timed out waiting to send its body`, 503);
  }
}

/** A request's time ran out while it waited for one of this node's pooled connections to the peer: nothing was sent. */
export class ConnectionWaitTimeoutError extends RequestNotSentError {
  constructor(peer: string) {
    super('CONNECTION_WAIT_TIMEOUT', `request to ${peer.slice(-8)} found no free connection in time`, 503);
  }
}

/**
 * `wait` for something of this node's own (a pooled connection, room to send), before a byte of the
 * request left: `signal` aborting meanwhile makes it `notSent()`, no mark against the peer.
 */
function beforeSending<T>(
  wait: Promise<T>,
  signal: AbortSignal,
  notSent: () => RequestNotSentError,
): Promise<T> {
  return wait.catch((error: unknown) => {
    throw signal.aborted ? notSent() : error;
  });
}

/** A request body over its protocol's limit on the channel: refused unread, nothing acted on it. */
export class RequestBodyTooLargeError extends NodeError {
  constructor(protocol: string, bodyBytes: number, bodyBytesMax: number) {
    super(
      'REQUEST_BODY_TOO_LARGE',
      `${protocol.slice(0, 64)} takes a request body of at most ${bodyBytesMax} bytes, not ${bodyBytes}`,
      413,
    );
  }
}

/** A request for a protocol this node does not serve on its channel: refused before anything acted on it. */
export class ProtocolNotServedError extends NodeError {
  constructor(protocol: string) {
    super('PROTOCOL_NOT_SERVED', notServedMessage(protocol), 502);
  }
}

/**
 * Whether an error reply says the peer does not serve the protocol on its channel (so nothing acted on
 * the request, and libp2p may carry it). Releases before `PROTOCOL_NOT_SERVED` answered a
 * PROTOCOL_ERROR with the same message: a peer not yet upgraded to carry a protocol here.
 */
function notServed(reply: { code: string; message: string }, protocol: string): boolean {
  return (
    reply.code === 'PROTOCOL_NOT_SERVED' ||
    (reply.code === 'PROTOCOL_ERROR' && reply.message === notServedMessage(protocol))
  );
}

function notServedMessage(protocol: string): string {
  return `protocol ${protocol.slice(0, 64)} is not served here`;
}

export const channelPrefixBytes = 8;
/** Bytes of small bodies in flight with one peer, each direction: 16 at the largest. */
const smallPeerInFlightBytesMax = 1024 * 1024;
/** Bytes of small bodies in flight with all peers, each direction. */
const smallNodeInFlightBytesMax = 16 * 1024 * 1024;
/** Bytes a connection buffers before anyone asks for them. */
const readAheadBytes = 256 * 1024;
/** The buffer a dialled connection reads into (a TLS record is at most 16 KiB). */
const directReadBytes = 64 * 1024;
/** Free reply bodies a node keeps for reuse (32 one-MiB shards: the default read-ahead's 24 and more). */
const replyBodiesFreeBytesMax = 32 * 1024 * 1024;

export interface DataChannelInit {
  /** Address to listen on; port 0 picks a free one. */
  readonly host: string;
  readonly port: number;
  /** "host:port" advertised to peers; default: the listening host and bound port. */
  readonly announce?: string;
  /**
   * Protocols served and carried over the channel (the rest stay on libp2p), each with the largest
   * request body it takes: a larger one is refused (REQUEST_BODY_TOO_LARGE) before it is read.
   */
  readonly protocols: Readonly<Record<string, number>>;
  /** Bytes this node has in flight with one peer, each direction. */
  readonly peerInFlightBytesMax: number;
  /** Bytes this node has in flight with all peers, each direction. */
  readonly nodeInFlightBytesMax: number;
  /** Pooled connections to one peer (and twice this accepted from one). */
  readonly connectionsPerPeerMax?: number;
  /** Connections accepted from all peers. */
  readonly inboundConnectionsMax?: number;
  /** A connection idle this long is closed (the dialling side closes at half of it). */
  readonly idleTimeoutMs?: number;
  /** A TLS handshake slower than this fails. */
  readonly handshakeTimeoutMs?: number;
  /** After a failed dial, a peer is reached over libp2p for this long before the channel is tried again. */
  readonly retryAfterMs?: number;
}

export interface DataChannelComponents {
  /** The node's libp2p identity: the channel certificate is bound to it. */
  readonly identity: PrivateKey;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The channel address a peer advertised, if any. */
  readonly addressOf: (peer: string) => string | undefined;
  /** Requests in flight per peer, shared with the libp2p server. */
  readonly inFlight: InFlight;
  readonly onTransfer?: TrafficListener;
}

export interface DataChannelStats {
  readonly address: string | null;
  readonly connectionsOut: number;
  readonly connectionsIn: number;
  readonly requestsOut: number;
  readonly requestsIn: number;
  /** Dials that failed (the request then went over libp2p). */
  readonly unavailable: number;
}

/** Bytes in flight under a cap; waiters are served in order. A request over the cap takes it whole. */
export class ByteBudget {
  readonly #max: number;
  #used = 0;
  readonly #waiters: { bytes: number; grant: () => void }[] = [];

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`byte budget must be ≥ 1, got ${max}`);
    this.#max = max;
  }

  get used(): number {
    return this.#used;
  }

  get idle(): boolean {
    return this.#used === 0 && this.#waiters.length === 0;
  }

  /**
   * Waits until `bytes` (at most the cap) fit, then holds them; returns what was taken. When `signal`
   * aborts first, leaves the queue holding nothing and rejects with its reason.
   */
  async acquire(bytes: number, signal?: AbortSignal): Promise<number> {
    const take = Math.min(bytes, this.#max);
    if (take <= 0) return 0;
    signal?.throwIfAborted();
    if (this.#waiters.length === 0 && this.#used + take <= this.#max) {
      this.#used += take;
      return take;
    }
    // The first in line gone: those behind it may fit.
    await waitInLine(
      this.#waiters,
      (grant) => ({ bytes: take, grant }),
      signal,
      () => this.#grant(),
    );
    return take;
  }

  release(bytes: number): void {
    this.#used -= bytes;
    if (this.#used < 0) throw new Error('byte budget released more than it held');
    this.#grant();
  }

  #grant(): void {
    while (this.#waiters.length > 0 && this.#used + this.#waiters[0]!.bytes <= this.#max) {
      const next = this.#waiters.shift()!;
      this.#used += next.bytes;
      next.grant();
    }
  }
}

/**
 * Request bodies a served connection reads into, reused from one request to the next: the shards of
 * the objects being moved at a time come in a few sizes (each object's own: see shardBytesFor), and
 * a new megabyte per request wakes the garbage collector (external memory) every few dozen requests.
 * The sizes used least recently make way for new ones, so a long-running node keeps pooling as
 * objects of other sizes come and go. A body goes back only once the reply to its request is sent;
 * handlers served on the channel must not keep a request body past their reply (the shard handler
 * hashes and writes it before answering). Bodies under 64 KiB are not pooled.
 */
export class BodyPool {
  readonly #free = new Map<number, Uint8Array[]>();
  readonly #keepPerSize: number;
  readonly #sizesMax: number;
  readonly #freeBytesMax: number;
  #freeBytes = 0;

  /** At most `keepPerSize` free bodies of each of `sizesMax` sizes, `freeBytesMax` bytes in all. */
  constructor(keepPerSize: number, sizesMax = 4, freeBytesMax = Number.POSITIVE_INFINITY) {
    this.#keepPerSize = keepPerSize;
    this.#sizesMax = sizesMax;
    this.#freeBytesMax = freeBytesMax;
  }

  static readonly pooledBytesMin = 64 * 1024;

  /** A buffer of exactly `size` bytes: a given-back one (with its old bytes) or a new one. */
  take(size: number): Uint8Array {
    const list = this.#free.get(size);
    const reused = list?.pop();
    if (reused === undefined) return Buffer.allocUnsafe(size);
    this.#freeBytes -= size;
    this.#touch(size, list!);
    return reused;
  }

  /** Keeps `body` for a later take, unless it is small, a view, or over a bound; whether it was kept. */
  give(body: Uint8Array): boolean {
    const size = body.length;
    if (size < BodyPool.pooledBytesMin || body.byteOffset !== 0 || body.buffer.byteLength !== size)
      return false;
    const list = this.#free.get(size) ?? [];
    // Not even room beside its own size's free bodies: nothing else is dropped for it.
    if (list.length >= this.#keepPerSize || size * (list.length + 1) > this.#freeBytesMax) return false;
    this.#touch(size, list);
    // Room for it: a size over the count goes whole, the one used least recently (never this one,
    // now the most recent); then free bodies of the sizes used least recently, one at a time.
    while (this.#free.size > this.#sizesMax) this.#drop(this.#free.keys().next().value!);
    while (this.#freeBytes + size > this.#freeBytesMax) {
      const [oldest, buffers] = this.#free.entries().next().value!;
      buffers.pop();
      this.#freeBytes -= oldest;
      if (buffers.length === 0) this.#free.delete(oldest);
    }
    list.push(body);
    this.#freeBytes += size;
    return true;
  }

  #drop(size: number): void {
    this.#freeBytes -= size * this.#free.get(size)!.length;
    this.#free.delete(size);
  }

  /** Makes `size` the most recently used (a Map keeps insertion order: the first is the oldest). */
  #touch(size: number, list: Uint8Array[]): void {
    this.#free.delete(size);
    this.#free.set(size, list);
  }

  /** Free buffers held now. */
  get size(): number {
    let count = 0;
    for (const list of this.#free.values()) count += list.length;
    return count;
  }

  /** Free bytes held now. */
  get freeBytes(): number {
    return this.#freeBytes;
  }
}

/**
 * Reply bodies the dialling side reads fetched shards into, lent out and given back by whoever
 * consumed them (the reading node, once the object bytes made from a shard are written or copied).
 * Only a buffer this pool lent is taken back, once: a body given back twice, or any other buffer,
 * is ignored, so a stray give cannot put a buffer in two hands. Bodies never given back are left to
 * the collector. At most `freeBytesMax` bytes are kept free, of at most 4 sizes.
 */
export class ReplyBodyPool {
  readonly #free: BodyPool;
  readonly #lent = new WeakSet<Uint8Array>();

  constructor(freeBytesMax: number) {
    this.#free = new BodyPool(Number.POSITIVE_INFINITY, 4, freeBytesMax);
  }

  /** A buffer of exactly `size` bytes (a given-back one, with its old bytes, or a new one), lent. */
  take(size: number): Uint8Array {
    const body = this.#free.take(size);
    if (size >= BodyPool.pooledBytesMin) this.#lent.add(body);
    return body;
  }

  /** Takes back a body it lent (the caller no longer reads it); whether it was kept. */
  give(body: Uint8Array): boolean {
    return this.#lent.delete(body) && this.#free.give(body);
  }

  /** Free bytes held now. */
  get freeBytes(): number {
    return this.#free.freeBytes;
  }
}

/** A node-wide budget with one budget per peer under it (peer first, so one peer cannot hog the node). */
class FlowLane {
  readonly #node: ByteBudget;
  readonly #peers = new Map<string, ByteBudget>();
  readonly #peerMax: number;

  constructor(peerMax: number, nodeMax: number) {
    this.#peerMax = peerMax;
    this.#node = new ByteBudget(nodeMax);
  }

  async acquire(peer: string, bytes: number, signal?: AbortSignal): Promise<() => void> {
    let budget = this.#peers.get(peer);
    if (budget === undefined) this.#peers.set(peer, (budget = new ByteBudget(this.#peerMax)));
    const forget = () => {
      if (budget.idle && this.#peers.get(peer) === budget) this.#peers.delete(peer);
    };
    let peerBytes: number;
    let nodeBytes: number;
    try {
      peerBytes = await budget.acquire(bytes, signal);
    } catch (error) {
      forget();
      throw error;
    }
    try {
      nodeBytes = await this.#node.acquire(bytes, signal);
    } catch (error) {
      budget.release(peerBytes);
      forget();
      throw error;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#node.release(nodeBytes);
      budget.release(peerBytes);
      forget();
    };
  }
}

/**
 * Bytes in flight, one direction: bodies of at least smallBodyBytesMax under the configured caps, the
 * smaller ones (records, 2PC messages) under caps of their own (at most smallPeerInFlightBytesMax per
 * peer and smallNodeInFlightBytesMax per node), so a KiB-sized request never waits in line behind
 * MiBs of shard bodies. Both lanes are bounded: in all, at most the sum of their caps is in flight.
 */
export class FlowControl {
  readonly #bulk: FlowLane;
  readonly #small: FlowLane;

  constructor(peerMax: number, nodeMax: number) {
    this.#bulk = new FlowLane(peerMax, nodeMax);
    this.#small = new FlowLane(
      Math.min(peerMax, smallPeerInFlightBytesMax),
      Math.min(nodeMax, smallNodeInFlightBytesMax),
    );
  }

  /**
   * Waits until `bytes` fit in their lane, then holds them; returns their release (idempotent). When
   * `signal` aborts first, holds nothing and rejects with its reason.
   */
  async acquire(peer: string, bytes: number, signal?: AbortSignal): Promise<() => void> {
    if (bytes <= 0) return () => {};
    return (bytes < smallBodyBytesMax ? this.#small : this.#bulk).acquire(peer, bytes, signal);
  }
}

/** The framed side of one TLS connection: reads whole messages, pulling from the socket on demand. */
class FramedSocket {
  readonly socket: TLSSocket;
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  #wake: (() => void) | undefined;
  #ended: Error | undefined;
  #reading = false;
  /** Where a waiting read wants its next bytes (socket reads are copied straight into it). */
  #target: { out: Uint8Array; at: number; end: number } | undefined;

  /**
   * `direct`: the socket reads into one reused buffer (`onread`, dialled connections) and hands
   * each read to `receive`; otherwise each read is a new buffer from the socket's 'data' events
   * (accepted connections: Node's TLSSocket ignores `onread` there). Either way a read that a
   * waiting read wants is copied straight into its output, which wakes only once it is full.
   */
  constructor(socket: TLSSocket, direct = false) {
    this.socket = socket;
    if (!direct)
      socket.on('data', (chunk: Buffer) => {
        const rest = this.#deliver(chunk);
        if (rest !== undefined) this.#keep(rest);
      });
    socket.on('timeout', () => this.destroy(new ProtocolError('connection idle')));
    socket.on('end', () => this.#finish(new ProtocolError('connection closed by the peer')));
    socket.on('close', () => this.#finish(new ProtocolError('connection closed')));
    socket.on('error', (error) => this.#finish(new ProtocolError(`connection failed: ${error.message}`)));
  }

  /**
   * Bytes read into the socket's reused buffer, valid only during this call: copied into the
   * waiting read's output when one waits with nothing buffered before it, the rest into a new chunk.
   */
  receive(view: Buffer): void {
    const rest = this.#deliver(view);
    if (rest !== undefined) this.#keep(Buffer.from(rest));
  }

  /**
   * Copies what the waiting read still wants of `view` into its output when nothing is buffered
   * before it (waking the read once its output is full, not once per socket read: a 1 MiB body
   * arrives in about 64 reads of 16 KiB); returns the part of `view` left over, undefined if none.
   */
  #deliver(view: Buffer): Buffer | undefined {
    const target = this.#target;
    if (target === undefined || this.#buffered !== 0 || target.at === target.end) return view;
    const take = Math.min(view.length, target.end - target.at);
    target.out.set(take === view.length ? view : view.subarray(0, take), target.at);
    target.at += take;
    if (target.at === target.end) this.#notify();
    return take === view.length ? undefined : view.subarray(take);
  }

  #keep(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    // Nobody is reading: keep at most readAheadBytes, then let TCP hold the sender back.
    if (!this.#reading && this.#buffered >= readAheadBytes) this.socket.pause();
    this.#notify();
  }

  get closed(): boolean {
    return this.#ended !== undefined || this.socket.destroyed;
  }

  #finish(error: Error): void {
    this.#ended ??= error;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #fill(): Promise<void> {
    if (this.#ended !== undefined) throw this.#ended;
    this.#reading = true;
    if (this.socket.isPaused()) this.socket.resume();
    try {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    } finally {
      this.#reading = false;
    }
  }

  /** Whether the peer closed cleanly between messages (nothing buffered). */
  async #atMessageStart(): Promise<boolean> {
    while (this.#buffered === 0) {
      if (this.#ended !== undefined) return false;
      await this.#fill().catch(() => undefined);
    }
    return true;
  }

  /** Copies the next `size` bytes into `out` at `offset`. */
  async #readInto(out: Uint8Array, offset: number, size: number): Promise<void> {
    let filled = 0;
    while (filled < size) {
      if (this.#buffered === 0) {
        // Wait for more; `#deliver` may copy them straight into `out` meanwhile.
        const target = { out, at: offset + filled, end: offset + size };
        this.#target = target;
        try {
          await this.#fill();
        } finally {
          this.#target = undefined;
          filled = target.at - offset;
        }
        continue;
      }
      const chunk = this.#chunks[0]!;
      const take = Math.min(chunk.length, size - filled);
      out.set(take === chunk.length ? chunk : chunk.subarray(0, take), offset + filled);
      filled += take;
      this.#buffered -= take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
  }

  /**
   * The next message's prefix, checked against the limits; undefined when the peer closed between
   * messages.
   */
  async readPrefix(): Promise<{ headerBytes: number; bodyBytes: number } | undefined> {
    if (!(await this.#atMessageStart())) return undefined;
    const prefix = new Uint8Array(channelPrefixBytes);
    await this.#readInto(prefix, 0, channelPrefixBytes);
    const view = new DataView(prefix.buffer);
    const headerBytes = view.getUint32(0);
    const bodyBytes = view.getUint32(4);
    if (headerBytes === 0 || headerBytes > headerBytesMax)
      throw new ProtocolError(`header of ${headerBytes} bytes is over the limit of ${headerBytesMax}`);
    if (bodyBytes > shardBytesMax)
      throw new ProtocolError(`body of ${bodyBytes} bytes is over the limit of ${shardBytesMax}`);
    return { headerBytes, bodyBytes };
  }

  /** Reads and drops the next `size` bytes, a bounded chunk at a time. */
  async skip(size: number): Promise<void> {
    const scratch = Buffer.allocUnsafe(Math.min(size, directReadBytes));
    for (let left = size; left > 0; left -= scratch.length) {
      await this.#readInto(scratch, 0, Math.min(left, scratch.length));
    }
  }

  async read(size: number, pool?: Pick<BodyPool, 'take'>): Promise<Uint8Array> {
    const out =
      pool !== undefined && size >= BodyPool.pooledBytesMin ? pool.take(size) : Buffer.allocUnsafe(size);
    await this.#readInto(out, 0, size);
    return out;
  }

  /** Writes one message; resolves when the socket took it all. */
  async write(header: unknown, body: Uint8Array | undefined): Promise<void> {
    const headerBytes = Buffer.from(JSON.stringify(header));
    if (headerBytes.length > headerBytesMax)
      throw new ProtocolError(`header of ${headerBytes.length} bytes is too large`);
    const head = Buffer.allocUnsafe(channelPrefixBytes + headerBytes.length);
    head.writeUInt32BE(headerBytes.length, 0);
    head.writeUInt32BE(body?.length ?? 0, 4);
    headerBytes.copy(head, channelPrefixBytes);
    const { socket } = this;
    if (this.closed) throw this.#ended ?? new ProtocolError('connection closed');
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(new ProtocolError(error.message)) : resolve());
      if (body === undefined || body.length === 0) {
        socket.write(head, done);
        return;
      }
      // A large body is written on its own: node's TLS copies a corked (multi-buffer) write into one
      // new buffer of the message's size before encrypting it, a megabyte per shard. A small one (a
      // record, a 2PC message) is corked with its head, so the message is one TLS record and segment.
      const corked = body.length < smallBodyBytesMax;
      if (corked) socket.cork();
      socket.write(head);
      socket.write(body, done);
      if (corked) socket.uncork();
    });
  }

  destroy(reason?: Error): void {
    this.#finish(reason ?? new ProtocolError('connection closed'));
    this.socket.destroy();
  }
}

interface PeerPool {
  readonly idle: FramedSocket[];
  total: number;
  readonly waiters: (() => void)[];
}

/** Splits "host:port" or "[v6]:port". */
export function parseChannelAddress(address: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

function formatAddress(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

interface Route {
  readonly schema: z.ZodType;
  readonly handler: ProtocolHandler<z.ZodType>;
  /** The largest request body the protocol takes (see DataChannelInit.protocols). */
  readonly bodyBytesMax: number;
}

interface RoutedRequest {
  readonly route: Route;
  /** The protocol's request header, not yet validated. */
  readonly request: unknown;
}

/** The data channel service: a server of registered protocols and a pooled client of peers' channels. */
export class DataChannel implements Startable, ProtocolServer {
  readonly #init: DataChannelInit;
  readonly #c: DataChannelComponents;
  readonly #routes = new Map<string, Route>();
  readonly #pools = new Map<string, PeerPool>();
  readonly #inbound = new Map<string, Set<FramedSocket>>();
  /** Every accepted TCP connection, authenticated or still in its handshake (closed at stop). */
  readonly #sockets = new Set<import('node:net').Socket>();
  readonly #downUntilMs = new Map<string, number>();
  readonly #sendBudget: FlowControl;
  readonly #receiveBudget: FlowControl;
  /** Bodies of served requests; a few per connection that may be serving at once. */
  readonly #bodies = new BodyPool(16);
  /** Bodies of replies (fetched shards), given back through `recycle` by their reader. */
  readonly #replyBodies = new ReplyBodyPool(replyBodiesFreeBytesMax);
  #credentials: ChannelCredentials | undefined;
  /** The dialling side's TLS context, made once (not parsed again from PEM for every connection). */
  #clientContext: SecureContext | undefined;
  #server: Server | undefined;
  #address: string | undefined;
  #stopped = true;
  #inboundCount = 0;
  #requestsOut = 0;
  #requestsIn = 0;
  #unavailable = 0;

  constructor(init: DataChannelInit, components: DataChannelComponents) {
    this.#init = init;
    this.#c = components;
    this.#sendBudget = new FlowControl(init.peerInFlightBytesMax, init.nodeInFlightBytesMax);
    this.#receiveBudget = new FlowControl(init.peerInFlightBytesMax, init.nodeInFlightBytesMax);
  }

  get #perPeerMax(): number {
    return this.#init.connectionsPerPeerMax ?? 8;
  }

  get #idleTimeoutMs(): number {
    return this.#init.idleTimeoutMs ?? 120_000;
  }

  /** The "host:port" peers reach this channel at; undefined until started. */
  get address(): string | undefined {
    return this.#address;
  }

  /** Whether `protocol` travels over the channel. */
  carries(protocol: string): boolean {
    return Object.hasOwn(this.#init.protocols, protocol);
  }

  stats(): DataChannelStats {
    let connectionsOut = 0;
    for (const pool of this.#pools.values()) connectionsOut += pool.total;
    return {
      address: this.#address ?? null,
      connectionsOut,
      connectionsIn: this.#inboundCount,
      requestsOut: this.#requestsOut,
      requestsIn: this.#requestsIn,
      unavailable: this.#unavailable,
    };
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#credentials = await createChannelCredentials(this.#c.identity, this.#c.clock.nowMs());
    this.#clientContext = createSecureContext({
      key: this.#credentials.keyPem,
      cert: this.#credentials.certPem,
      minVersion: 'TLSv1.3',
    });
    const server = createServer({
      key: this.#credentials.keyPem,
      cert: this.#credentials.certPem,
      minVersion: 'TLSv1.3',
      requestCert: true,
      // Self-signed by design: the certificate's libp2p binding is checked in #accept instead.
      rejectUnauthorized: false,
      handshakeTimeout: this.#init.handshakeTimeoutMs ?? 10_000,
    });
    server.maxConnections = this.#init.inboundConnectionsMax ?? 512;
    server.on('connection', (socket: import('node:net').Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    server.on('secureConnection', (socket) => void this.#accept(socket));
    server.on('tlsClientError', () => {}); // a failed handshake is the peer's problem
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#init.port, this.#init.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    const bound = server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : this.#init.port;
    this.#address = this.#init.announce ?? formatAddress(this.#init.host, port);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const server = this.#server;
    this.#server = undefined;
    for (const pool of this.#pools.values()) for (const conn of pool.idle) conn.destroy();
    this.#pools.clear();
    for (const set of this.#inbound.values()) for (const conn of set) conn.destroy();
    this.#inbound.clear();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Serves a protocol the channel carries (one of `DataChannelInit.protocols`). */
  handle<S extends z.ZodType>(protocol: string, schema: S, handler: ProtocolHandler<S>): Promise<void> {
    if (!this.carries(protocol))
      return Promise.reject(new RangeError(`protocol ${protocol.slice(0, 64)} is not carried here`));
    const bodyBytesMax = this.#init.protocols[protocol]!;
    this.#routes.set(protocol, { schema, handler: handler as ProtocolHandler<z.ZodType>, bodyBytesMax });
    return Promise.resolve();
  }

  unhandle(protocol: string): Promise<void> {
    this.#routes.delete(protocol);
    return Promise.resolve();
  }

  // ---- server side ----

  async #accept(socket: TLSSocket): Promise<void> {
    socket.on('error', () => {});
    const conn = new FramedSocket(socket);
    let peer: string;
    try {
      const certificate = socket.getPeerX509Certificate();
      if (certificate === undefined) throw new ProtocolError('no client certificate');
      peer = await verifyChannelCertificate(certificate.raw, this.#c.clock.nowMs());
    } catch {
      conn.destroy();
      return;
    }
    let set = this.#inbound.get(peer);
    if (
      this.#stopped ||
      this.#inboundCount >= (this.#init.inboundConnectionsMax ?? 512) ||
      (set?.size ?? 0) >= 2 * this.#perPeerMax
    ) {
      conn.destroy();
      return;
    }
    if (set === undefined) this.#inbound.set(peer, (set = new Set()));
    set.add(conn);
    this.#inboundCount++;
    socket.setNoDelay(true);
    socket.setTimeout(this.#idleTimeoutMs);
    try {
      await this.#serve(conn, peer);
    } catch (error) {
      this.#c.logger.debug({ peer, err: (error as Error).message }, 'data channel connection dropped');
    } finally {
      conn.destroy();
      set.delete(conn);
      if (set.size === 0 && this.#inbound.get(peer) === set) this.#inbound.delete(peer);
      this.#inboundCount--;
    }
  }

  /** Serves requests on one connection, one at a time, until the peer closes it. */
  async #serve(conn: FramedSocket, peer: string): Promise<void> {
    for (;;) {
      const prefix = await conn.readPrefix();
      if (prefix === undefined) return;
      const header = await conn.read(prefix.headerBytes);
      this.#requestsIn++;
      let routed: RoutedRequest;
      try {
        routed = this.#route(header, prefix.bodyBytes);
      } catch (error) {
        // Refused before its body was read: the body is dropped as it arrives (never buffered, no
        // budget held) and the connection stays in step for the next request. Its bytes still
        // crossed the wire: they count as the peer's traffic.
        await conn.write(errorReply(error), undefined);
        await conn.skip(prefix.bodyBytes);
        if (prefix.bodyBytes > 0) this.#c.onTransfer?.(peer, 'download', prefix.bodyBytes);
        continue;
      }
      const releaseBody = await this.#receiveBudget.acquire(peer, prefix.bodyBytes);
      let reply: { header: unknown; body?: Uint8Array; release?: () => void };
      let body: Uint8Array | undefined;
      try {
        body = await conn.read(prefix.bodyBytes, this.#bodies);
        if (body.length > 0) this.#c.onTransfer?.(peer, 'download', body.length);
        reply = await this.#dispatch(peer, routed, body);
      } finally {
        releaseBody();
      }
      const size = reply.body?.length ?? 0;
      const releaseReply = await this.#receiveBudget.acquire(peer, size);
      try {
        await conn.write(reply.header, reply.body);
      } finally {
        releaseReply();
      }
      // Sent (the socket took every byte): the handler may reuse the reply's buffer.
      reply.release?.();
      // Answered: the handler is done with the body (a reply never carries the request's body).
      if (reply.body !== body) this.#bodies.give(body);
      if (size > 0) this.#c.onTransfer?.(peer, 'upload', size);
    }
  }

  /**
   * The route of a request, from its header and declared body size alone: what is refused here
   * (a malformed envelope, a protocol not served, a body over the route's limit) is refused unread.
   */
  #route(headerBytes: Uint8Array, bodyBytes: number): RoutedRequest {
    const envelope = parseHeader(headerBytes, requestEnvelopeSchema);
    const route = this.#routes.get(envelope.protocol);
    if (route === undefined) throw new ProtocolNotServedError(envelope.protocol);
    if (bodyBytes > route.bodyBytesMax)
      throw new RequestBodyTooLargeError(envelope.protocol, bodyBytes, route.bodyBytesMax);
    return { route, request: envelope.request };
  }

  /** One request through the same checks as on libp2p: admission, schema, then the handler. */
  async #dispatch(
    peer: string,
    routed: RoutedRequest,
    body: Uint8Array,
  ): Promise<{ header: unknown; body?: Uint8Array; release?: () => void }> {
    const { route } = routed;
    let admitted = false;
    try {
      this.#c.inFlight.admit(peer);
      admitted = true;
      const request = validateHeader(routed.request, route.schema);
      let bodyRead = false;
      const context: RpcContext = {
        peer,
        readBody: (size) => {
          if (bodyRead || size !== body.length)
            return Promise.reject(
              new ProtocolError(`body of ${body.length} bytes where ${size} were declared`),
            );
          bodyRead = true;
          return Promise.resolve(body);
        },
      };
      const reply: RpcReply = await route.handler(request, context);
      const size = reply.body?.length ?? 0;
      return {
        header: { ok: true, ...(size > 0 ? { size } : {}), value: reply.value },
        ...(size > 0 ? { body: reply.body! } : {}),
        ...(reply.release === undefined ? {} : { release: reply.release }),
      };
    } catch (error) {
      return { header: errorReply(error) };
    } finally {
      if (admitted) this.#c.inFlight.release(peer);
    }
  }

  // ---- client side ----

  /**
   * One request to `peer` over the channel. Throws ChannelUnavailableError (nothing was sent, or the
   * peer acted on nothing) when the peer has no reachable, authentic channel or does not serve
   * `protocol` on it: the caller then uses libp2p. A peer's other error replies are RemoteErrors, as
   * on libp2p. A reply whose body is declared larger than `replyBytesMax` is refused unread
   * (ProtocolError).
   */
  async exchange(
    peer: string,
    protocol: string,
    request: unknown,
    body: Uint8Array | undefined,
    signal: AbortSignal,
    replyBytesMax = shardBytesMax,
  ): Promise<RpcReply> {
    const conn = await this.#checkout(peer, signal);
    const abort = () => conn.destroy(new ProtocolError('request timed out'));
    // Unused (nothing written) or its reply read in full: the connection goes back to the pool.
    let reusable = true;
    try {
      this.#requestsOut++;
      // Time spent waiting here for room among this node's own bodies in flight is not the peer's:
      // timing out before a byte was sent is a request never sent (no mark against the peer), and
      // leaves the connection unused, for the next request without a new handshake.
      const releaseSend = await beforeSending(
        this.#sendBudget.acquire(peer, body?.length ?? 0, signal),
        signal,
        () => new SendBudgetTimeoutError(peer),
      );
      if (signal.aborted) {
        // Aborted between the grant and here: still nothing sent, the connection still unused.
        releaseSend();
        throw new SendBudgetTimeoutError(peer);
      }
      reusable = false;
      signal.addEventListener('abort', abort, { once: true });
      try {
        await conn.write({ protocol, request }, body);
      } finally {
        releaseSend();
      }
      const prefix = await conn.readPrefix();
      if (prefix === undefined) throw new ProtocolError('connection closed before the reply');
      const reply = parseHeader(await conn.read(prefix.headerBytes), replyHeaderSchema);
      const size = reply.ok ? (reply.size ?? 0) : 0;
      if (prefix.bodyBytes !== size)
        throw new ProtocolError(`reply body of ${prefix.bodyBytes} bytes where ${size} were declared`);
      assertReplyWithin(size, replyBytesMax);
      // A request whose time runs out in this line leaves it (the abort closed its connection).
      const releaseReceive = await this.#receiveBudget.acquire(peer, size, signal);
      let replyBody: Uint8Array | undefined;
      try {
        replyBody = size > 0 ? await conn.read(size, this.#replyBodies) : undefined;
      } finally {
        releaseReceive();
      }
      reusable = !signal.aborted;
      if (!reply.ok && notServed(reply, protocol)) throw new ChannelUnavailableError(peer, reply.message);
      if (!reply.ok) throw new RemoteError(peer, reply.code, reply.message);
      return { value: reply.value, ...(replyBody === undefined ? {} : { body: replyBody }) };
    } finally {
      signal.removeEventListener('abort', abort);
      this.#checkin(peer, conn, reusable);
    }
  }

  /**
   * Gives back a reply body `exchange` returned, for a later reply to reuse: the caller must not
   * read or keep it (or a view of it) afterwards. Anything this channel did not lend is ignored.
   */
  recycle(body: Uint8Array): void {
    this.#replyBodies.give(body);
  }

  async #checkout(peer: string, signal: AbortSignal): Promise<FramedSocket> {
    if (this.#stopped) throw new ChannelUnavailableError(peer, 'the channel is stopped');
    const address = this.#c.addressOf(peer);
    if (address === undefined) throw new ChannelUnavailableError(peer, 'no channel address advertised');
    const down = this.#downUntilMs.get(peer);
    if (down !== undefined && this.#c.clock.nowMs() < down)
      throw new ChannelUnavailableError(peer, 'unreachable recently');
    let pool = this.#pools.get(peer);
    if (pool === undefined) this.#pools.set(peer, (pool = { idle: [], total: 0, waiters: [] }));
    let woken = false;
    for (;;) {
      if (signal.aborted) {
        if (woken) pool.waiters.shift()?.(); // woken, then timed out: the turn goes to the next one
        throw new ConnectionWaitTimeoutError(peer);
      }
      const idle = pool.idle.pop();
      if (idle !== undefined) {
        if (!idle.closed) {
          idle.socket.setTimeout(0);
          return idle;
        }
        continue; // its close handler already took it off the count
      }
      if (pool.total < this.#perPeerMax) break;
      // Waiting for a connection of this node's own: timing out here is a request never sent.
      await beforeSending(
        waitInLine(pool.waiters, (wake) => wake, signal),
        signal,
        () => new ConnectionWaitTimeoutError(peer),
      );
      woken = true;
    }
    pool.total++;
    try {
      return await this.#dial(peer, address, pool, signal);
    } catch (error) {
      pool.total--;
      pool.waiters.shift()?.();
      this.#unavailable++;
      this.#downUntilMs.set(peer, this.#c.clock.nowMs() + (this.#init.retryAfterMs ?? 30_000));
      const reason = error instanceof Error ? error.message : String(error);
      throw new ChannelUnavailableError(peer, reason);
    }
  }

  #checkin(peer: string, conn: FramedSocket, reusable: boolean): void {
    const pool = this.#pools.get(peer);
    if (!reusable || conn.closed || pool === undefined || this.#stopped) {
      conn.destroy();
      return;
    }
    pool.idle.push(conn);
    // The dialling side closes first, so a pooled connection is rarely found closed by the server
    // (also one handed to a waiter, which may have given up meanwhile; checkout clears the timer).
    conn.socket.setTimeout(Math.floor(this.#idleTimeoutMs / 2));
    pool.waiters.shift()?.();
  }

  async #dial(peer: string, address: string, pool: PeerPool, signal: AbortSignal): Promise<FramedSocket> {
    const target = parseChannelAddress(address);
    if (target === undefined) throw new ProtocolError(`bad channel address ${address.slice(0, 64)}`);
    const secureContext = this.#clientContext!;
    // Reads land in one buffer per connection, copied out at once (no new buffer per TLS record).
    let framed: FramedSocket | undefined;
    const early: Buffer[] = [];
    const onread = {
      buffer: Buffer.allocUnsafe(directReadBytes),
      callback: (bytes: number, buffer: Uint8Array): boolean => {
        const view = Buffer.from(buffer.buffer, buffer.byteOffset, bytes);
        if (framed !== undefined) framed.receive(view);
        else early.push(Buffer.from(view)); // before the peer was checked: a peer speaking first
        return true; // flow control pauses the socket itself (FramedSocket)
      },
    };
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      // `onread` works for tls.connect (Node ≥ 14), though @types/node lists it for net only.
      const options: ConnectionOptions & { onread: OnReadOpts } = {
        onread,
        host: target.host,
        port: target.port,
        secureContext, // this node's key and certificate, TLS 1.3 only
        // Self-signed by design: the libp2p binding and the peer id are checked below.
        rejectUnauthorized: false,
      };
      const tls = connect(options);
      tls.on('error', () => {}); // reported once through settle, or as a closed connection later
      const settle = (error?: Error) => {
        clock.clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        tls.off('error', settle);
        if (error === undefined) resolve(tls);
        else {
          tls.destroy();
          reject(error);
        }
      };
      const onAbort = () => settle(new Error('dial timed out'));
      const clock = this.#c.clock;
      const timer = clock.setTimeout(
        () => settle(new Error('handshake timed out')),
        this.#init.handshakeTimeoutMs ?? 10_000,
      );
      signal.addEventListener('abort', onAbort, { once: true });
      tls.once('error', settle);
      tls.once('secureConnect', () => settle());
    });
    socket.on('error', () => {});
    const certificate = socket.getPeerX509Certificate();
    try {
      if (certificate === undefined) throw new ProtocolError('the peer showed no certificate');
      const shown = await verifyChannelCertificate(certificate.raw, this.#c.clock.nowMs());
      if (shown !== peer) throw new ProtocolError(`the channel answered as ${shown.slice(-8)}`);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    socket.setNoDelay(true);
    const conn = new FramedSocket(socket, true);
    framed = conn;
    for (const chunk of early.splice(0)) conn.receive(chunk);
    socket.once('close', () => {
      const index = pool.idle.indexOf(conn);
      if (index >= 0) pool.idle.splice(index, 1);
      pool.total--;
      pool.waiters.shift()?.();
    });
    return conn;
  }
}

/** The header of a request on the channel: which protocol, and that protocol's request header. */
const requestEnvelopeSchema = z.object({ protocol: z.string().max(128), request: z.unknown() }).strict();
