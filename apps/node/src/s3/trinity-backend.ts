import { randomBytes } from 'node:crypto';
import type { Logger } from '@trinity/core';
import { NodeError, ObjectNotFoundError } from '../errors.js';
import type { ObjectService } from '../services/objects/object-service.js';
import type { PutHints, S3Backend, StoredPiece } from './backend.js';
import { S3Error } from './errors.js';

/** What the backend uses of the object service. */
export type S3ObjectStore = Pick<ObjectService, 'owner' | 'put' | 'open' | 'read' | 'delete'>;

export interface TrinityS3BackendComponents {
  readonly objects: S3ObjectStore;
  readonly logger: Logger;
  /**
   * Names this gateway's pieces `s3-piece/<pieceTag>/<random>`, so its orphaned-piece sweep knows
   * them and never touches another gateway's (default: no name, and no sweep can find them).
   */
  readonly pieceTag?: string;
}

/** The name prefix of the pieces a gateway tagged `tag` stores. */
export function piecePrefix(tag: string): string {
  return `s3-piece/${tag}/`;
}

/**
 * The daemon's `S3Backend`: every piece of an S3 object is an ordinary Trinity object, put through
 * the node's ObjectService, so it is owned and signed by the node's owner key, encrypted with a fresh
 * object key wrapped for that owner, erasure-coded and committed by 2PC like any object put through
 * the REST API. Bodies stream through (the object service holds at most `maxStripesInFlight` stripes);
 * ranged reads fetch only the stripes and segments they span.
 *
 * The node acts for exactly one owner key: an access key bound to any other owner is refused with
 * AccessDenied (it could not sign or decrypt as that owner), and so is a read or delete of an object
 * another owner signed.
 */
export class TrinityS3Backend implements S3Backend {
  readonly #objects: S3ObjectStore;
  readonly #logger: Logger;
  readonly #pieceTag: string | undefined;

  constructor(components: TrinityS3BackendComponents) {
    this.#objects = components.objects;
    this.#logger = components.logger;
    this.#pieceTag = components.pieceTag;
  }

  /** Whether this node can store, sign and decrypt objects as `owner` (a hex public key). */
  actsFor(owner: string): boolean {
    return owner === this.#objects.owner;
  }

  async putObject(owner: string, bytes: AsyncIterable<Uint8Array>, hints?: PutHints): Promise<StoredPiece> {
    if (!this.actsFor(owner)) throw notActingFor();
    const size = hints?.sizeBytes;
    try {
      // A unique name: pieces never contend for one object lock, and S3 keys never reach holders.
      const name =
        this.#pieceTag === undefined
          ? undefined
          : `${piecePrefix(this.#pieceTag)}${randomBytes(12).toString('hex')}`;
      const result = await this.#objects.put(bytes, {
        ...(size === undefined ? {} : { sizeHint: size }),
        ...(name === undefined ? {} : { name }),
      });
      return { id: result.id, sizeBytes: result.size };
    } catch (error) {
      throw translate(error);
    }
  }

  async *getObject(id: string, offsetBytes: number, lengthBytes: number): AsyncGenerator<Uint8Array> {
    let handle: Awaited<ReturnType<S3ObjectStore['open']>>;
    try {
      handle = await this.#objects.open(id);
    } catch (error) {
      throw translate(error);
    }
    if (!this.actsFor(handle.descriptor.owner)) throw notActingFor();
    if (lengthBytes === 0) return;
    try {
      yield* this.#objects.read(handle, { start: offsetBytes, end: offsetBytes + lengthBytes - 1 });
    } catch (error) {
      throw translate(error);
    }
  }

  async deleteObject(id: string): Promise<void> {
    try {
      await this.#objects.delete(id);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return;
      this.#logger.warn({ id, err: (error as Error).message }, 's3: could not delete a piece');
      throw translate(error);
    }
  }
}

function notActingFor(): S3Error {
  return new S3Error(
    'AccessDenied',
    'this node does not act for the owner key your access key is bound to; use a key bound to its owner',
  );
}

/** The object service's errors as the S3 answers clients expect; others pass through (500). */
function translate(error: unknown): unknown {
  if (error instanceof S3Error || !(error instanceof NodeError)) return error;
  if (error.status === 403) return new S3Error('AccessDenied', error.message);
  if (error.status === 404)
    return new S3Error('NoSuchKey', 'the object the key names is gone from the network');
  if (error.status === 413) return new S3Error('EntityTooLarge', error.message);
  if (error.status === 503 || error.status === 507) return new S3Error('ServiceUnavailable', error.message);
  return error;
}
