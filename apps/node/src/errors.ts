import { TrinityError } from '@trinity/core';

/** Base class of the daemon's own errors; `status` is the HTTP status the API answers with. */
export class NodeError extends TrinityError {
  readonly status: number;

  constructor(code: string, message: string, status = 500, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.status = status;
  }
}

/** The caller sent something malformed (bad id, bad body, bad query). */
export class BadRequestError extends NodeError {
  constructor(message: string) {
    super('BAD_REQUEST', message, 400);
  }
}

export class ObjectNotFoundError extends NodeError {
  constructor(id: string) {
    super('OBJECT_NOT_FOUND', `object ${id} not found`, 404);
  }
}

/** Too few reachable storage nodes to place or read an object. */
export class NotEnoughNodesError extends NodeError {
  constructor(message: string) {
    super('NOT_ENOUGH_NODES', message, 503);
  }
}

/** No node that could take a shard had room for it: their disks or configured capacities are full. */
export class InsufficientStorageError extends NodeError {
  constructor(message: string) {
    super('INSUFFICIENT_STORAGE', message, 507);
  }
}

/** An object could not be read back: fewer than k valid shards of a stripe were reachable. */
export class ObjectUnavailableError extends NodeError {
  constructor(message: string) {
    super('OBJECT_UNAVAILABLE', message, 503);
  }
}

/** A peer broke the wire protocol: malformed, oversized or unexpected message. */
export class ProtocolError extends NodeError {
  constructor(message: string) {
    super('PROTOCOL_ERROR', message, 502);
  }
}

/** A peer answered a request with an error of its own. */
export class RemoteError extends NodeError {
  readonly remoteCode: string;

  constructor(peer: string, remoteCode: string, message: string) {
    super('REMOTE_ERROR', `peer ${peer.slice(-8)}: ${message}`, 502);
    this.remoteCode = remoteCode;
  }
}

/**
 * A request to a peer that never left this node (held back by the peer's circuit breaker or by its
 * in-flight slots): nothing reached the peer, so it says nothing of the peer's health or answers.
 */
export abstract class RequestNotSentError extends NodeError {}

/** The peer's circuit breaker is open: it failed recently and is skipped until its back-off ends. */
export class PeerUnavailableError extends RequestNotSentError {
  constructor(peer: string, retryInMs: number) {
    super('PEER_UNAVAILABLE', `peer ${peer.slice(-8)} is backing off for ${Math.ceil(retryInMs)} ms`, 503);
  }
}

/** The request body was larger than the configured limit. */
export class PayloadTooLargeError extends NodeError {
  constructor(limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', `body exceeds the limit of ${limitBytes} bytes`, 413);
  }
}

/** The node is shutting down and takes no new work. */
export class ShuttingDownError extends NodeError {
  constructor() {
    super('SHUTTING_DOWN', 'node is shutting down', 503);
  }
}
