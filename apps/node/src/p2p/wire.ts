import type { Stream } from '@libp2p/interface';
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils';
import { hashHexPattern, txIdPattern } from '@trinity/core';
import { manifestLimits } from '@trinity/storage';
import { z } from 'zod';
import { ProtocolError } from '../errors.js';

/** Versioned protocol ids: a breaking change to a message set gets a new id, served beside the old. */
export const PROTOCOLS = {
  shard: '/trinity/shard/2.0.0',
  manifest: '/trinity/manifest/2.0.0',
  info: '/trinity/info/1.0.0',
  tx: '/trinity/tx/1.0.0',
  semantic: '/trinity/semantic/1.0.0',
  pos: '/trinity/pos/1.0.0',
  s3IndexHead: '/trinity/s3-index-head/1.0.0',
} as const;

/**
 * Bodies below this are small (records, 2PC messages): on the data channel they are corked with
 * their message's head and held to in-flight caps of their own; the RPC client lets a request whose
 * bodies are all small take the peer slots kept from bulk transfers.
 */
export const smallBodyBytesMax = 64 * 1024;

/** Largest length-prefixed frame accepted from a peer; bodies travel as many frames of at most this. */
export const frameBytesMax = 256 * 1024;
/** Largest JSON header accepted from a peer. */
export const headerBytesMax = 64 * 1024;
/** Largest shard body accepted in one message. */
export const shardBytesMax = 16 * 1024 * 1024;
/** Largest manifest accepted in one message. */
export const manifestBytesMax = 8 * 1024 * 1024;
/**
 * The protocols the data channel carries when a peer has one: those a put or read runs for every
 * object (shards, their records, the 2PC, the S3 index head). On a pooled TLS connection a request is
 * one frame each way; on libp2p each opens a stream (a yamux SYN, a multistream-select negotiation, a
 * close), which cost a small object's put more CPU than its bytes. The rest stay on libp2p. Each
 * comes with the largest request body it takes on the channel.
 */
export const channelProtocols: Readonly<Record<string, number>> = {
  [PROTOCOLS.shard]: shardBytesMax,
  [PROTOCOLS.manifest]: manifestBytesMax,
  // 2PC messages and index heads are headers alone: a body is refused before it is read.
  [PROTOCOLS.tx]: 0,
  [PROTOCOLS.s3IndexHead]: 0,
};

/**
 * Most hashes in one `has` request: they travel in the header, so a full request must fit
 * headerBytesMax (768 hex hashes are ~52 KB of JSON; 4,096 were 270 KB, a request never sent).
 */
export const hashesPerRequestMax = 768;
/** Most hashes a node takes in one `has` request: what an older node (which sent up to 4,096) may send. */
export const hashesPerRequestAcceptedMax = 4096;
/** Object ids in one anti-entropy `deleted` query (the tombstones come back in the body). */
export const deletedQueryIdsMax = 256;
/**
 * Most bytes of one signed receipt as JSON: its four hex fields are 320 characters, its names,
 * numbers and punctuation ~110 at their largest. A manifest stage reply is at most one per shard.
 */
export const receiptJsonBytesMax = 512;

export const hexHash = z.string().regex(hashHexPattern, 'must be 64 lower-case hex characters');
const txId = z.string().regex(txIdPattern, 'must be 8-64 lower-case hex characters');

/**
 * Who may call what (every handler checks it):
 * - `stage`: anyone, for a transaction whose put intent the intent's owner signed and that names this
 *   node for this shard; bounded by the per-peer staged-bytes quota.
 * - `store` (repair): anyone, for a shard of an object whose owner-signed descriptor this node holds,
 *   at the position the descriptor names; the reply is this node's signed receipt.
 * - `fetch` / `has`: anyone (shards are ciphertext unless the owner stored the object public).
 * - `renew` (an upload's lease) and `unstage`: only the peer that staged the transaction.
 * - `release` (rebalancing): only a node holding a receipt of the object here, with the signed receipt
 *   of another node for the same shard, which must answer that it holds the shard; this node then
 *   forgets its receipt and deletes the bytes unless another object or position still uses them.
 * Deleting takes the owner's tombstone: see the manifest protocol.
 */
export const shardRequestSchema = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('stage'),
      hash: hexHash,
      size: z.number().int().min(0).max(shardBytesMax),
      txId,
      /** The owner's signed put intent (checked by authorizeStore). */
      intent: z.unknown(),
    })
    .strict(),
  z
    .object({
      op: z.literal('store'),
      hash: hexHash,
      size: z.number().int().min(0).max(shardBytesMax),
      objectId: hexHash,
      stripe: z.number().int().min(0).max(manifestLimits.maxStripes),
      shard: z.number().int().min(0).max(manifestLimits.maxShardsPerStripe),
    })
    .strict(),
  z.object({ op: z.literal('fetch'), hash: hexHash }).strict(),
  z.object({ op: z.literal('has'), hashes: z.array(hexHash).max(hashesPerRequestAcceptedMax) }).strict(),
  /** The coordinator's upload under `txId` is making progress: its staged data is not an orphan. */
  z.object({ op: z.literal('renew'), txId }).strict(),
  /** Drops what an unfinished upload staged under `txId` before any prepare (the put failed). */
  z.object({ op: z.literal('unstage'), txId }).strict(),
  /** Drops this node's copy of one shard that `successor` (a signed receipt) now holds. */
  z
    .object({
      op: z.literal('release'),
      objectId: hexHash,
      stripe: z.number().int().min(0).max(manifestLimits.maxStripes),
      shard: z.number().int().min(0).max(manifestLimits.maxShardsPerStripe),
      /** The receipt of the node that holds the shard instead (checked against the descriptor). */
      successor: z.unknown(),
    })
    .strict(),
]);
export type ShardRequest = z.infer<typeof shardRequestSchema>;

/**
 * Object records (descriptor + holder receipts). Who may call what:
 * - `put` (a record): anyone; the descriptor must verify and not be deleted, receipts that fail are dropped.
 * - `get`: anyone; a node back from a restart, before its first tombstone sync, first checks the
 *   object with its peers (refuses with NOT_SYNCED when it cannot tell whether it was deleted).
 * - `delete` (a delete record): only with the owner's tombstone for that descriptor.
 * - `deleted` (which of these ids were deleted): anyone; tombstones are owner-signed and public.
 * - `stage`: only the peer that staged the transaction's shards, with a descriptor signed by the
 *   owner of the transaction's put intents; the reply is this node's receipts for its shards.
 */
export const manifestRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('put'), size: z.number().int().min(1).max(manifestBytesMax) }).strict(),
  z.object({ op: z.literal('get'), id: hexHash }).strict(),
  z
    .object({ op: z.literal('delete'), id: hexHash, size: z.number().int().min(1).max(manifestBytesMax) })
    .strict(),
  /** Which of `ids` were deleted: the reply body is the owners' tombstones this node holds for them. */
  z.object({ op: z.literal('deleted'), ids: z.array(hexHash).min(1).max(deletedQueryIdsMax) }).strict(),
  /** A descriptor that becomes visible only if transaction `txId` commits. */
  z
    .object({
      op: z.literal('stage'),
      txId,
      id: hexHash,
      size: z.number().int().min(1).max(manifestBytesMax),
    })
    .strict(),
]);
export type ManifestRequest = z.infer<typeof manifestRequestSchema>;

export const infoRequestSchema = z.object({ op: z.literal('info') }).strict();

export const nodeInfoSchema = z
  .object({
    peerId: z.string().min(1).max(128),
    region: z.string().max(32).optional(),
    apiUrl: z.string().max(256).optional(),
    /** Where this node's data channel listens ("host:port"); unset: shards go over libp2p. */
    dataChannel: z.string().max(256).optional(),
    version: z.string().max(32),
    capacityBytes: z.number().int().min(0),
    bytesUsed: z.number().int().min(0),
    peers: z
      .array(
        z.object({ id: z.string().min(1).max(128), addrs: z.array(z.string().max(256)).max(8) }).strict(),
      )
      .max(64),
  })
  .strict();
export type NodeInfo = z.infer<typeof nodeInfoSchema>;

/** Every reply starts with this header; `size` > 0 means a body of that many bytes follows. */
export const replyHeaderSchema = z.union([
  z
    .object({
      ok: z.literal(true),
      size: z.number().int().min(0).max(shardBytesMax).optional(),
      value: z.unknown().optional(),
    })
    .strict(),
  z.object({ ok: z.literal(false), code: z.string().max(64), message: z.string().max(1024) }).strict(),
]);
export type ReplyHeader = z.infer<typeof replyHeaderSchema>;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Unread bytes a stream buffers before it is paused (its Yamux window then stops growing back). */
export const readAheadBytes = 1024 * 1024;
/**
 * Most bytes a framed stream holds unread: the read-ahead, then what the sender may still send into
 * the window it was granted before the pause (Yamux windows are at most 4 MiB, see network.ts), and
 * one frame of slack. A peer that sends past that is reset.
 */
export const streamBufferBytesMax = readAheadBytes + 4 * 1024 * 1024 + frameBytesMax;

/**
 * Wraps a libp2p stream for framed messages with Trinity's limits, and with backpressure: Yamux
 * grants window as bytes arrive, not as they are read, so a reader that falls behind (a busy node,
 * a handler that reads its body late) would buffer a whole body, and lpStream resets a stream past
 * its buffer limit (4 MiB shards then failed). Past readAheadBytes unread the stream is paused, so
 * Yamux stops granting window and the sender waits; reading resumes it.
 */
export function framed(stream: Stream): LengthPrefixedStream<Stream> {
  const lp = lpStream(stream, { maxDataLength: frameBytesMax, maxBufferSize: streamBufferBytesMax });
  let unread = 0;
  stream.addEventListener('message', (event) => {
    unread += event.data.byteLength;
    if (unread > readAheadBytes && stream.readStatus === 'readable') stream.pause();
  });
  const read = lp.read.bind(lp);
  lp.read = async (options) => {
    const frame = await read(options);
    unread -= frame.byteLength + varintBytes(frame.byteLength);
    if (unread <= readAheadBytes && stream.readStatus === 'paused') stream.resume();
    return frame;
  };
  return lp;
}

/**
 * After an answer given before the request's body was read (a refusal), reads and drops what the
 * peer still sends, at most one largest message, until it closes or resets the stream: a sender
 * held back by a paused stream (see framed) finishes its write and then reads the answer, instead
 * of waiting for window until its request times out. Returns once the peer closes or resets its
 * side (which it does on reading the answer); at once when it has closed it already.
 */
export async function drainUnread(
  stream: Stream,
  lp: LengthPrefixedStream<Stream>,
  signal?: AbortSignal,
): Promise<void> {
  if (stream.remoteWriteStatus !== 'writable') return;
  let dropped = 0;
  while (dropped <= headerBytesMax + shardBytesMax + frameBytesMax) {
    try {
      dropped += (await lp.read({ signal })).byteLength;
    } catch {
      return; // the peer closed or reset the stream: nothing left to drain
    }
  }
  throw new ProtocolError('the peer kept sending past its answered request');
}

/** Bytes of the unsigned varint that prefixes a frame of `length` bytes. */
function varintBytes(length: number): number {
  let bytes = 1;
  for (let rest = length; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
  return bytes;
}

/** Writes a JSON header frame, then `body` (if any) as frames of at most frameBytesMax, with backpressure. */
export async function writeMessage(
  lp: LengthPrefixedStream<Stream>,
  header: unknown,
  body?: Uint8Array,
  signal?: AbortSignal,
): Promise<void> {
  const headerBytes = encoder.encode(JSON.stringify(header));
  if (headerBytes.length > headerBytesMax)
    throw new ProtocolError(`header of ${headerBytes.length} bytes is too large`);
  await lp.write(headerBytes, { signal });
  if (body === undefined) return;
  for (let offset = 0; offset < body.length; offset += frameBytesMax) {
    await lp.write(body.subarray(offset, Math.min(body.length, offset + frameBytesMax)), { signal });
  }
}

/** Reads one JSON header frame and validates it; anything malformed or oversized is a ProtocolError. */
export async function readHeader<S extends z.ZodType>(
  lp: LengthPrefixedStream<Stream>,
  schema: S,
  signal?: AbortSignal,
): Promise<z.output<S>> {
  let frame: Uint8Array;
  try {
    frame = (await lp.read({ signal })).subarray();
  } catch (error) {
    throw new ProtocolError(`cannot read message header: ${(error as Error).message}`);
  }
  if (frame.length > headerBytesMax) throw new ProtocolError(`header of ${frame.length} bytes is too large`);
  return parseHeader(frame, schema);
}

/** Parses one JSON header frame and validates it with `schema`; anything malformed is a ProtocolError. */
export function parseHeader<S extends z.ZodType>(frame: Uint8Array, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(frame));
  } catch {
    throw new ProtocolError('message header is not valid UTF-8 JSON');
  }
  return validateHeader(json, schema);
}

/** Validates a decoded header with `schema`; the first issue becomes a ProtocolError. */
export function validateHeader<S extends z.ZodType>(json: unknown, schema: S): z.output<S> {
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ProtocolError(
      `invalid message: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return result.data;
}

/** Reads exactly `size` body bytes (size already bounded by the header schema) into one buffer. */
export async function readBody(
  lp: LengthPrefixedStream<Stream>,
  size: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    let frame: Awaited<ReturnType<typeof lp.read>>;
    try {
      frame = await lp.read({ signal });
    } catch (error) {
      throw new ProtocolError(`body ended after ${filled} of ${size} bytes: ${(error as Error).message}`);
    }
    if (frame.byteLength === 0 || filled + frame.byteLength > size) {
      throw new ProtocolError(`body frame overruns the declared ${size} bytes`);
    }
    // Copy the frame's pieces straight into place: no intermediate contiguous copy.
    for (const piece of frame) {
      out.set(piece, filled);
      filled += piece.length;
    }
  }
  return out;
}
