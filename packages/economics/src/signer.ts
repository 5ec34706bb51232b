import { assertInt, type Ed25519, ed25519, toHex } from '@trinity/core';
import { decodeEvent, encodeUnsigned, SIGNATURE_BYTES } from './codec.js';
import type { EconomicsEvent, EventBody } from './events.js';

export interface SignEventOptions {
  /** The actor's 32-byte ed25519 secret key. */
  readonly secretKey: Uint8Array;
  /** The actor's next sequence number (its first event is 1). */
  readonly seq: number;
  /** The actor's time for the event: rules that depend on time read this, never the replaying node's clock. */
  readonly timeMs: number;
  /** Signature implementation; default core's `ed25519` (node:crypto where available). */
  readonly ed25519?: Ed25519;
}

/**
 * Signs `body` as the actor of `secretKey` and returns the event in canonical form (frozen, its
 * bytes remembered so that applying or sending it does not encode it again). Throws
 * EventFormatError for a body that breaks the schema.
 */
export function signEvent(body: EventBody, options: SignEventOptions): EconomicsEvent {
  const signer = options.ed25519 ?? ed25519;
  const actor = toHex(signer.publicKey(options.secretKey));
  return signAs(body, actor, options.secretKey, options.seq, options.timeMs, signer);
}

function signAs(
  body: EventBody,
  actor: string,
  secretKey: Uint8Array,
  seq: number,
  timeMs: number,
  signer: Ed25519,
): EconomicsEvent {
  const unsigned = encodeUnsigned({ ...body, actor, seq, timeMs } as Omit<EconomicsEvent, 'signature'>);
  const signature = signer.sign(unsigned, secretKey);
  const bytes = new Uint8Array(unsigned.length + SIGNATURE_BYTES);
  bytes.set(unsigned);
  bytes.set(signature, unsigned.length);
  return decodeEvent(bytes);
}

/**
 * One actor's event source: numbers its events 1, 2, … and signs them. A node keeps one for its
 * own key; after a restart, start it at `nextSeq` = the state's `lastSeqOf(nodeId) + 1`.
 */
export class EventSigner {
  readonly nodeId: string;
  readonly #secretKey: Uint8Array;
  readonly #ed25519: Ed25519;
  #nextSeq: number;

  constructor(secretKey: Uint8Array, options: { nextSeq?: number; ed25519?: Ed25519 } = {}) {
    this.#ed25519 = options.ed25519 ?? ed25519;
    this.#secretKey = secretKey.slice();
    this.nodeId = toHex(this.#ed25519.publicKey(this.#secretKey));
    this.#nextSeq = options.nextSeq ?? 1;
    assertInt(this.#nextSeq, 'nextSeq', 1);
  }

  /** The sequence number the next event gets. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Signs `body` at `timeMs` with the next sequence number. */
  sign(body: EventBody, timeMs: number): EconomicsEvent {
    const event = signAs(body, this.nodeId, this.#secretKey, this.#nextSeq, timeMs, this.#ed25519);
    this.#nextSeq++;
    return event;
  }
}
