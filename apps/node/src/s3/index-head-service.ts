import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Logger } from '@trinity/core';
import { z } from 'zod';
import { ObjectNotFoundError } from '../errors.js';
import type { PeerRpc, ProtocolServer, RpcReply } from '../p2p/rpc.js';
import { PROTOCOLS } from '../p2p/wire.js';
import type { Startable } from '../startable.js';
import {
  FileHeadStore,
  HeadReplica,
  type HeadReply,
  type HeadRequest,
  type HeadTransport,
  headGroupMax,
  headLogBytesMax,
} from './index-heads.js';
import type { IndexBlobs } from './network-index.js';
import type { S3ObjectStore } from './trinity-backend.js';

const owner = z.string().regex(/^[0-9a-f]{64}$/);
const nodeId = z.string().min(1).max(128);
const headSchema = z
  .object({
    owner,
    seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    root: z.string().min(1).max(128),
    log: z.string().min(1).max(headLogBytesMax).optional(),
    group: z.array(nodeId).min(1).max(headGroupMax),
    sig: z.string().regex(/^[0-9a-f]{128}$/),
  })
  .strict();
const ballotSchema = z
  .object({
    n: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    by: z.string().regex(/^[0-9a-f]{1,64}$/),
  })
  .strict();

/** The head protocol's requests (/trinity/s3-index-head/1.0.0). Anyone may send them (see README). */
export const headRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('get'), owner }).strict(),
  z.object({ op: z.literal('prepare'), owner, ballot: ballotSchema }).strict(),
  z
    .object({
      op: z.literal('accept'),
      owner,
      ballot: ballotSchema,
      head: headSchema,
      next: ballotSchema.optional(),
    })
    .strict(),
  z.object({ op: z.literal('learn'), owner, head: headSchema }).strict(),
]);

const headReplySchema = z.object({
  ok: z.boolean(),
  state: z.object({
    promised: ballotSchema.optional(),
    accepted: z.object({ ballot: ballotSchema, head: headSchema }).optional(),
    learned: headSchema.optional(),
  }),
});

/** Asks one replica at most this long. */
const headCallTimeoutMs = 5_000;

export interface S3IndexHeadServiceComponents {
  readonly selfId: string;
  readonly rpc: PeerRpc;
  readonly server: ProtocolServer;
  readonly nodes: { liveNodes(): ReadonlyArray<{ readonly id: string }> };
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Every node is a replica of the S3 index heads that rendezvous hashing places on it (README "The
 * network index"), whether or not it serves S3 itself: it keeps them under `<dataDir>/s3/index-heads/`
 * and answers /trinity/s3-index-head/1.0.0. `transport` is how a gateway on this node reaches them.
 */
export class S3IndexHeadService implements Startable, HeadTransport {
  readonly #dir: string;
  readonly #c: S3IndexHeadServiceComponents;
  readonly #replica: HeadReplica;

  /** `options.fsync`: the node's `fsync` setting (false only for throwaway data in tests). */
  constructor(
    dataDir: string,
    components: S3IndexHeadServiceComponents,
    options: { readonly fsync?: boolean } = {},
  ) {
    this.#dir = join(dataDir, 's3', 'index-heads');
    this.#c = components;
    this.#replica = new HeadReplica(new FileHeadStore(this.#dir, options));
  }

  async start(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await this.#c.server.handle(
      PROTOCOLS.s3IndexHead,
      headRequestSchema,
      async (request): Promise<RpcReply> => ({ value: await this.#replica.handle(request as HeadRequest) }),
    );
  }

  async stop(): Promise<void> {
    await this.#c.server.unhandle(PROTOCOLS.s3IndexHead);
  }

  nodes(): string[] {
    return this.#c.nodes.liveNodes().map((node) => node.id);
  }

  async call(node: string, request: HeadRequest): Promise<HeadReply> {
    if (node === this.#c.selfId) return this.#replica.handle(request);
    const reply = await this.#c.rpc.call(node, PROTOCOLS.s3IndexHead, request, undefined, {
      timeoutMs: headCallTimeoutMs,
    });
    return headReplySchema.parse(reply.value) as HeadReply;
  }
}

/** Index snapshots as ordinary Trinity objects of the node's owner: encrypted, erasure-coded, 2PC. */
export class TrinityIndexBlobs implements IndexBlobs {
  readonly #objects: S3ObjectStore;
  readonly #namePrefix: string;
  readonly #random: () => string;

  constructor(objects: S3ObjectStore, namePrefix: string, random: () => string) {
    this.#objects = objects;
    this.#namePrefix = namePrefix;
    this.#random = random;
  }

  async put(bytes: Uint8Array): Promise<string> {
    async function* once(): AsyncGenerator<Uint8Array> {
      yield bytes;
    }
    // A unique name: snapshots never contend for one object lock.
    const result = await this.#objects.put(once(), {
      name: `${this.#namePrefix}${this.#random()}`,
      sizeHint: bytes.length,
    });
    return result.id;
  }

  async get(id: string): Promise<Uint8Array> {
    const handle = await this.#objects.open(id);
    if (handle.descriptor.owner !== this.#objects.owner) {
      throw new Error(`index snapshot ${id} is not signed by this node's owner`);
    }
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.#objects.read(handle)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async delete(id: string): Promise<void> {
    try {
      await this.#objects.delete(id);
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) throw error;
    }
  }
}
