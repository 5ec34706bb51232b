import { fromHex, toHex } from '@trinity/core';
import { EVENT_BYTES_MAX } from '@trinity/economics';
import { z } from 'zod';
import { ProtocolError } from '../../errors.js';

/** The economics gossip protocol: events pushed as they are accepted, and anti-entropy by version vectors. */
export const economicsProtocol = '/trinity/economics/1.0.0';

/** Most events in one push (or one anti-entropy reply). */
export const eventsPerMessageMax = 256;
/** Most actors in one version vector (`heads`). */
export const headsMax = 100_000;
/** Most (actor, after) wants an anti-entropy reply names. */
export const wantsMax = 256;

/** Bytes per event on the wire: a u16 length, then the event's canonical bytes. */
const eventFrameBytesMax = 2 + EVENT_BYTES_MAX;
/** Bytes per head: the actor's 32-byte key and its last sequence number (u64, big-endian). */
const headBytes = 40;

/** The first 16 hex of the SHA-256 of a network's economics settings: peers with another are refused. */
const networkId = z.string().regex(/^[0-9a-f]{16}$/, '16 lower-case hex characters');

/**
 * Who may call what: any storage peer this node knows (membership), over its authenticated
 * connection, running the same economics settings (`network`: genesis and rules; events from a
 * network with other rules would have other effects, so they are refused, not mixed in). Nothing is taken on the caller's word: every event carries its actor's signature and
 * is verified before it touches the state; sizes are bounded before a body is read.
 * - `push`: up to `eventsPerMessageMax` events the caller accepted (flood). Reply: what happened.
 * - `heads`: the caller's version vector (every actor's last sequence number) in the body. Reply:
 *   the events the caller misses (up to `eventsPerMessageMax`, in the body) and the actors this
 *   node is behind on (`wants`), which the caller then pushes.
 */
export const economicsRequestSchema = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('push'),
      network: networkId,
      count: z.number().int().min(1).max(eventsPerMessageMax),
      size: z
        .number()
        .int()
        .min(1)
        .max(eventsPerMessageMax * eventFrameBytesMax),
    })
    .strict(),
  z
    .object({
      op: z.literal('heads'),
      network: networkId,
      count: z.number().int().min(0).max(headsMax),
      size: z
        .number()
        .int()
        .min(0)
        .max(headsMax * headBytes),
    })
    .strict(),
]);
export type EconomicsRequest = z.infer<typeof economicsRequestSchema>;

export const pushReplySchema = z
  .object({
    accepted: z.number().int().min(0),
    duplicates: z.number().int().min(0),
    rejected: z.number().int().min(0),
  })
  .strict();

export const headsReplySchema = z
  .object({
    count: z.number().int().min(0).max(eventsPerMessageMax),
    wants: z
      .array(
        z.tuple([z.string().regex(/^[0-9a-f]{64}$/), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)]),
      )
      .max(wantsMax),
  })
  .strict();

/** Events as one body: each a u16 length and its bytes. */
export function encodeEventFrames(events: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(events.reduce((sum, e) => sum + 2 + e.length, 0));
  let offset = 0;
  for (const event of events) {
    out[offset] = event.length >>> 8;
    out[offset + 1] = event.length & 0xff;
    out.set(event, offset + 2);
    offset += 2 + event.length;
  }
  return out;
}

/** The events of a body; exactly `count` of them, each at most EVENT_BYTES_MAX, or a ProtocolError. */
export function decodeEventFrames(body: Uint8Array, count: number): Uint8Array[] {
  const events: Uint8Array[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (offset + 2 > body.length) throw new ProtocolError('economics body ends inside a length');
    const length = (body[offset]! << 8) | body[offset + 1]!;
    if (length === 0 || length > EVENT_BYTES_MAX || offset + 2 + length > body.length)
      throw new ProtocolError(`economics event of ${length} bytes is malformed`);
    events.push(body.subarray(offset + 2, offset + 2 + length));
    offset += 2 + length;
  }
  if (events.length !== count)
    throw new ProtocolError(`economics body holds ${events.length} events, header says ${count}`);
  return events;
}

export function encodeHeads(heads: ReadonlyMap<string, number>): Uint8Array {
  const out = new Uint8Array(heads.size * headBytes);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const [actor, seq] of heads) {
    out.set(fromHex(actor), offset);
    view.setBigUint64(offset + 32, BigInt(seq));
    offset += headBytes;
  }
  return out;
}

export function decodeHeads(body: Uint8Array, count: number): Map<string, number> {
  if (body.length !== count * headBytes)
    throw new ProtocolError(`economics heads body of ${body.length} bytes for ${count} heads`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const heads = new Map<string, number>();
  for (let offset = 0; offset < body.length; offset += headBytes) {
    const seq = view.getBigUint64(offset + 32);
    if (seq > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError('economics head seq out of range');
    heads.set(toHex(body.subarray(offset, offset + 32)), Number(seq));
  }
  return heads;
}

/** A body size a header announces for `count` events: at most the frames' bound. */
export function eventFramesBytesMax(count: number): number {
  return count * eventFrameBytesMax;
}
