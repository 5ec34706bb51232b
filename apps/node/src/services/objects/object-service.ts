import {
  type Clock,
  cipherRange,
  createDecryptor,
  createEncryptor,
  DecryptionError,
  decodeReadCap,
  encodeReadCap,
  encryptedSize,
  equalBytes,
  fromHex,
  generateObjectKey,
  isHashHex,
  type Logger,
  type Random,
  sha256,
  toHex,
  unwrapObjectKey,
  wrapObjectKey,
} from '@trinity/core';
import { createEncoder, type Encoder, encodeStripes, ShardPool } from '@trinity/erasure';
import {
  CapacityExceededError,
  type DescriptorInput,
  descriptorId,
  descriptorLimits,
  type Manifest,
  merkleRootInPlace,
  type ShardStore,
  type SignedDescriptor,
  signDescriptor,
  signPutIntent,
  signTombstone,
  stagedBundleDigest,
} from '@trinity/storage';
import {
  BadRequestError,
  InsufficientStorageError,
  NodeError,
  NotEnoughNodesError,
  ObjectNotFoundError,
  ObjectUnavailableError,
  PayloadTooLargeError,
  RemoteError,
  RequestNotSentError,
} from '../../errors.js';
import { nodeKeyOfPeerId } from '../../p2p/node-keys.js';
import type { OwnerKey } from '../../stores/owner-key.js';
import { Repeater, sleep } from '../../timers.js';
import type { NodeRef } from '../geography/placement.js';
import { type ManifestDirectory, plainSize } from '../manifests/manifest-service.js';
import type { LiveNodes } from '../membership/membership.js';
import { ForbiddenError, type ShardTransfer } from '../shards/shard-service.js';
import { objectLockKeys, type PutLock } from '../tx/object-locks.js';
import {
  TransactionAbortedError,
  TransactionConflictError,
  type Transactions,
  TransactionTooLargeError,
} from '../tx/tx-service.js';
import type { DecryptPool } from './decrypt-pool.js';
import { manifestView, type ObjectRecord, validReceipts } from './object-record.js';

export interface ErasureDefaults {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly shardBytes: number;
}

export interface ObjectServiceInit {
  readonly selfId: string;
  readonly erasure: ErasureDefaults;
  readonly maxObjectBytes: number;
  readonly maxStripesInFlight: number;
  /** Milliseconds after which a slow shard read is hedged with a request to another holder. */
  readonly hedgeAfterMs: number;
  /** Plaintext bytes per encrypted segment (AES-256-GCM STREAM, see @trinity/core). */
  readonly segmentBytes: number;
  /** How long nodes remember a delete (and refuse the object's descriptor). */
  readonly tombstoneRetentionMs: number;
  /** How long a put intent authorizes stores. */
  readonly intentLifetimeMs: number;
  /**
   * How often an upload that made progress renews its lease on the nodes holding its staged data
   * (a third of the orphan TTL: a slow but live upload is never taken for an orphan).
   */
  readonly leaseRenewMs: number;
}

/** Where shards go and whom to read them from (the geography service). */
export interface Placement {
  /** Node ids for the `count` shards of stripe `stripeIndex` of upload `uploadKey`. */
  place(uploadKey: string, stripeIndex: number, count: number, nodes: readonly NodeRef[]): string[];
  /** Orders a stripe's candidate holders, best first (latency, reputation, locality). */
  rank(nodeIds: readonly string[]): string[];
}

/** Chooses (k, m) for each new put (the health service; absent: the configured defaults). */
export interface ErasurePolicy {
  parameters(): { dataShards: number; parityShards: number };
}

/** Re-places, at once, the shards of `ids` no receipt names, on live nodes outside `exclude`. */
export interface Repairer {
  repairNow(ids: readonly string[], exclude: ReadonlySet<string>): Promise<number>;
}

/** One put in progress: its transaction, where its shards are staged, the holders it lost. */
interface PutContext {
  readonly txId: string;
  /** Node -> hashes staged there; the coordinator always keeps a copy of the records. */
  readonly staged: Map<string, Set<string>>;
  /**
   * Node -> hashes sent there, staged or not (a stage that timed out may have landed): the node
   * answers the descriptor's stage with a receipt for each, so they bound its reply.
   */
  readonly sent: Map<string, Set<string>>;
  /** Holders that failed mid-upload: they leave the transaction, their shards are re-placed. */
  readonly lost: Set<string>;
  readonly lease: UploadLease;
}

/** Told when a holder sent bytes that do not match the shard's hash. */
export interface ObjectEvents {
  onBadShard?(node: string): void;
  /** A shard fetch from another node ended: whether it gave the right bytes, and how long it took. */
  onFetch?(node: string, ok: boolean, latencyMs: number): void;
}

export interface ObjectServiceComponents {
  readonly store: ShardStore;
  readonly transfer: Pick<ShardTransfer, 'stage' | 'renew' | 'fetch' | 'has' | 'unstage' | 'heldCopies'> &
    Partial<Pick<ShardTransfer, 'recycle'>>;
  readonly directory: Pick<ManifestDirectory, 'stage' | 'publish' | 'resolve' | 'unpublish' | 'deletedBy'>;
  readonly nodes: LiveNodes;
  readonly placement: Placement;
  readonly erasurePolicy?: ErasurePolicy;
  readonly transactions: Transactions;
  /** Re-places the shards of a holder a put lost (the repair service). */
  readonly repairer?: Repairer;
  /** A similarity fingerprint of plaintext (hex), for searchable encrypted objects. */
  readonly fingerprint?: (data: Uint8Array) => string;
  /** The owner this node acts for: signs descriptors, intents and tombstones; unwraps object keys. */
  readonly owner: OwnerKey;
  /** Transaction ids are drawn from it. */
  readonly random: Pick<Random, 'bytes'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: ObjectEvents;
  /**
   * Decrypts large encrypted reads on worker threads, pipelined with fetching and sending (absent
   * or disabled: on the main thread). Reads of fewer than `minBytes` ciphertext bytes stay on the
   * main thread: a worker's round trip costs more than it saves there.
   */
  readonly decryptPool?: {
    readonly pool: Pick<DecryptPool, 'accepting' | 'decrypt'>;
    readonly minBytes: number;
  };
}

type ObjectServiceDeps = ObjectServiceInit & ObjectServiceComponents;

/** The object service's factory: `objectService(init)(components)`. */
export function objectService(
  init: ObjectServiceInit,
): (components: ObjectServiceComponents) => ObjectService {
  return (components) => new ObjectService(init, components);
}

/** How many shards of each stripe are held intact right now. */
export interface ObjectHealth {
  readonly id: string;
  readonly minHealthy: number;
  readonly stripes: { healthy: number; total: number }[];
}

export interface PutOptions {
  readonly name?: string;
  /** Store the bytes unencrypted, on purpose (default: encrypted with a fresh key). */
  readonly public?: boolean;
  /**
   * An encrypted object whose owner wants it found by semantic search: fingerprints of its plaintext
   * are made here, before encryption, and published in its signed descriptor.
   */
  readonly searchable?: boolean;
  /** Called after each stripe is stored, with the object bytes stored so far. */
  readonly onProgress?: (bytes: number) => void;
}

export interface BatchItem {
  readonly source: AsyncIterable<Uint8Array>;
  readonly name?: string;
  /** The object's size when known up front (Content-Length): small objects then get small shards. */
  readonly sizeHint?: number;
  readonly public?: boolean;
  readonly searchable?: boolean;
}

/** An object opened for reading: its verified record, its working view and (if encrypted) its key. */
export interface ObjectHandle {
  readonly id: string;
  readonly descriptor: SignedDescriptor;
  /** Stripes with the holders receipts prove: what the read and health paths use. */
  readonly manifest: Manifest;
  /** Bytes as the owner stored them. */
  readonly size: number;
  readonly name: string | undefined;
  readonly createdAtMs: number;
  readonly encrypted: boolean;
  readonly key: Uint8Array | undefined;
}

/** Shard sizes are multiples of this (and at least this). */
const shardBytesStep = 4096;

/**
 * The shard size for an object: the smallest multiple of 4 KiB that holds it in as few stripes as
 * the configured size does (the configured size for one of unknown size). The last stripe is padded
 * to whole shards, so with the configured size an object just over a whole number of stripes paid a
 * stripe of padding: an encrypted 256 MiB object (its AEAD header and tags add 64 KiB) took a 17th
 * stripe of 4 MiB shards, 24 MiB encoded, sent, hashed and fsynced for 64 KiB. Now the padding is
 * under 4 KiB per data shard.
 */
export function shardBytesFor(
  sizeHint: number | undefined,
  dataShards: number,
  shardBytesMax: number,
): number {
  if (sizeHint === undefined) return shardBytesMax;
  const stripes = Math.max(1, Math.ceil(sizeHint / (dataShards * shardBytesMax)));
  const perShard = Math.ceil(Math.max(1, sizeHint) / (stripes * dataShards));
  return Math.min(shardBytesMax, Math.ceil(perShard / shardBytesStep) * shardBytesStep);
}

/** How many times a put checks that a holder applied its commit (about 5 s in all). */
const applyPollsMax = 30;

/** Most objects in one atomic batch. */
export const batchObjectsMax = 64;

export interface PutResult {
  readonly id: string;
  /** Bytes as stored by the owner. */
  readonly size: number;
  readonly stripes: number;
  readonly encrypted: boolean;
}

/** Tries to store one shard before the put fails: the placed node twice, then spares. */
const storeAttemptsMax = 4;

type StripeInput = DescriptorInput['stripes'][number];

/** The algorithm id the descriptor names for @trinity/core's segmented AES-256-GCM. */
export const encryptionAlgorithm = 'aes-256-gcm/stream-v1';

/** A wrong key or damaged ciphertext, as the API reports it. */
function decryptionFailure(error: DecryptionError, id: string): NodeError {
  if (error.code === 'DECRYPT_WRONG_KEY')
    return new NodeError('WRONG_KEY', `the key does not open object ${id}`, 403);
  return new NodeError('OBJECT_DAMAGED', `object ${id} failed authentication: ${error.message}`, 502);
}

/**
 * Objects over the network: put encrypts a body (unless public), erasure-codes it stripe by stripe,
 * stages each stripe's shards on distinct nodes under the owner's signed put intents, signs the
 * descriptor and commits it all by 2PC; get resolves the verified record, reads each stripe from the
 * best k holders its receipts prove (hedging slow ones, finding lost shards by hash), and decrypts.
 */
export class ObjectService {
  readonly #deps: ObjectServiceDeps;
  readonly #encoders = new Map<string, Encoder>();
  #uploads = 0;

  constructor(init: ObjectServiceInit, components: ObjectServiceComponents) {
    this.#deps = { ...init, ...components };
  }

  /** The owner this node acts for (hex public key). */
  get owner(): string {
    return this.#deps.owner.publicKey;
  }

  /** How many shards of each stripe are held intact right now, asked of every live holder. */
  async health(id: string): Promise<ObjectHealth> {
    const { manifest } = await this.describe(id);
    const live = new Set(this.#deps.nodes.liveNodes().map((node) => node.id));
    const held = await this.#deps.transfer.heldCopies(manifest, (node) => live.has(node));
    // Counted per shard index: a stripe of a small object can hold the same (padding) shard twice.
    const stripes = manifest.stripes.map((entry) => ({
      healthy: entry.shards.filter((shard) =>
        shard.holders.some((holder) => held.has(`${holder.nodeId} ${shard.hash}`)),
      ).length,
      total: entry.shards.length,
    }));
    const minHealthy = stripes.length === 0 ? 0 : Math.min(...stripes.map((s) => s.healthy));
    return { id, minHealthy, stripes };
  }

  /** Stores one object atomically (a batch of one). */
  async put(
    source: AsyncIterable<Uint8Array>,
    options: PutOptions & { sizeHint?: number } = {},
  ): Promise<PutResult> {
    const item: BatchItem = {
      source,
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.sizeHint === undefined ? {} : { sizeHint: options.sizeHint }),
      ...(options.public === undefined ? {} : { public: options.public }),
      ...(options.searchable === undefined ? {} : { searchable: options.searchable }),
    };
    const [result] = await this.putBatch([item], options);
    return result!;
  }

  /**
   * Stores several objects as one transaction: every shard is staged on its holder under one txId
   * (each stage authorized by the owner's put intent), the signed descriptors are staged beside them
   * (each holder answers with its receipts), and a two-phase commit over the holders (one
   * participant per node: its whole bundle) makes all of it visible, or none of it.
   */
  async putBatch(
    items: AsyncIterable<BatchItem> | Iterable<BatchItem>,
    options: PutOptions = {},
  ): Promise<PutResult[]> {
    const txId = toHex(this.#deps.random.bytes(16));
    const staged = new Map<string, Set<string>>([[this.#deps.selfId, new Set()]]);
    const objects: { id: string; descriptor: SignedDescriptor; receipts: unknown[] }[] = [];
    let bytesBefore = 0;
    // Renewals are not awaited: a holder that does not answer must not hold up the others' leases.
    const lease = new UploadLease(this.#deps.clock, this.#deps.leaseRenewMs, (nodes) => {
      void Promise.allSettled(nodes.map((node) => this.#deps.transfer.renew(node, txId)));
    });
    const put: PutContext = { txId, staged, sent: new Map(), lost: new Set(), lease };
    lease.start(() => [...staged.keys()].filter((node) => !put.lost.has(node)));
    try {
      for await (const item of items) {
        if (objects.length >= batchObjectsMax)
          throw new BadRequestError(`a batch holds at most ${batchObjectsMax} objects`);
        const descriptor = await this.#upload(item, put, (bytes) =>
          options.onProgress?.(bytesBefore + bytes),
        );
        bytesBefore += descriptor.size;
        objects.push({ id: descriptorId(descriptor), descriptor, receipts: [] });
        // Every holder locks every object: a batch past the lock limit is refused as soon as it is.
        const lockCount = staged.size * objects.length;
        if (lockCount > this.#deps.transactions.maxLocksPerTransaction)
          throw new TransactionTooLargeError(lockCount, this.#deps.transactions.maxLocksPerTransaction);
      }
      if (objects.length === 0) throw new BadRequestError('a batch holds at least one object');
      await this.#stageRecords(put, objects);
    } catch (error) {
      await lease.stop();
      await Promise.allSettled([...staged.keys()].map((node) => this.#deps.transfer.unstage(node, txId)));
      throw error;
    }
    await lease.stop();
    const ids = objects.map((object) => object.id);
    // Every holder locks each object of the batch (its owner and name): two puts of one object
    // contend on the holders they share, the coordinator always among them.
    const locked = objects.map(({ id, descriptor }) => ({
      id,
      owner: descriptor.owner,
      name: descriptor.name,
    }));
    const locks: PutLock[] = [...staged].flatMap(([node, hashes]) => {
      const ref = stagedBundleDigest(txId, node, [...hashes], ids);
      return objectLockKeys(node, locked).map((shardHash) => ({ node, shardHash, ref }));
    });
    const result = await this.#deps.transactions.execute(txId, locks);
    if (result.outcome !== 'committed') {
      if (result.conflict === true) throw new TransactionConflictError(txId, result.reason);
      throw new TransactionAbortedError(txId, result.reason);
    }
    await this.#awaitApplied(staged);
    // Every holder gets every receipt, so any of them can answer a read with all the holders.
    const nowMs = this.#deps.clock.nowMs();
    await Promise.all(
      objects.map((object) =>
        this.#deps.directory.publish(object.id, {
          descriptor: object.descriptor,
          receipts: validReceipts(object.id, object.descriptor, object.receipts, nowMs),
        }),
      ),
    );
    if (put.lost.size > 0) await this.#replace(ids, put.lost);
    this.#deps.logger.info({ txId, objects: ids }, 'objects stored');
    return objects.map(({ id, descriptor }) => ({
      id,
      size: plainSize(descriptor),
      stripes: descriptor.stripes.length,
      encrypted: descriptor.encryption !== undefined,
    }));
  }

  /**
   * Stages the signed descriptors beside the shards on every holder (each answers with its
   * receipts). A holder that fails here, or failed during the upload, leaves the transaction (its
   * lease lapses and it drops what it staged); the put goes on while every stripe keeps k shards.
   */
  async #stageRecords(
    put: PutContext,
    objects: { id: string; descriptor: SignedDescriptor; receipts: unknown[] }[],
  ): Promise<void> {
    const { selfId, directory, clock } = this.#deps;
    for (const node of put.lost) put.staged.delete(node);
    const results = await Promise.all(
      [...put.staged.keys()].map(async (node) => {
        try {
          const receipts = await Promise.all(
            objects.map((object) =>
              directory.stage(node, put.txId, object.id, object.descriptor, put.sent.get(node) ?? new Set()),
            ),
          );
          return { node, receipts };
        } catch (error) {
          // A refusal is an answer (the put fails on it); only a holder that does not answer is lost.
          if (node === selfId || error instanceof RemoteError) throw error;
          this.#deps.logger.warn({ node, err: (error as Error).message }, 'holder lost before commit');
          return { node, receipts: undefined };
        }
      }),
    );
    for (const { node, receipts } of results) {
      if (receipts === undefined) {
        put.lost.add(node);
        put.staged.delete(node);
      } else {
        for (const [i, list] of receipts.entries()) objects[i]!.receipts.push(...list);
      }
    }
    if (put.lost.size === 0) return;
    // What the lost holders had is re-placed after the commit; until then each stripe needs k shards.
    const nowMs = clock.nowMs();
    for (const object of objects) {
      const held = new Set(
        validReceipts(object.id, object.descriptor, object.receipts, nowMs).map(
          (r) => `${r.stripe} ${r.shard}`,
        ),
      );
      object.descriptor.stripes.forEach((stripe, s) => {
        const stored = stripe.shards.filter((_, i) => held.has(`${s} ${i}`)).length;
        if (stored < object.descriptor.erasure.dataShards) {
          throw new NotEnoughNodesError(
            `stripe ${s}: ${stored} of its shards are left after ${put.lost.size} holders failed; ${object.descriptor.erasure.dataShards} are needed`,
          );
        }
      });
    }
  }

  /** Rebuilds the shards the lost holders had on other nodes before the put answers. */
  async #replace(ids: readonly string[], lost: ReadonlySet<string>): Promise<void> {
    const repairer = this.#deps.repairer;
    if (repairer === undefined) return;
    try {
      const rebuilt = await repairer.repairNow(ids, lost);
      this.#deps.logger.info({ ids, lost: [...lost], rebuilt }, "re-placed a lost holder's shards");
    } catch (error) {
      // Committed with k or more shards per stripe: the repair loop finishes what this could not.
      this.#deps.logger.warn({ ids, err: (error as Error).message }, 're-placing lost shards failed');
    }
  }

  /**
   * Participants acknowledge a commit once it is durable in their log and apply it right after; a
   * put returns only when every holder shows its shards, so the caller can read its write anywhere.
   */
  async #awaitApplied(staged: Map<string, Set<string>>): Promise<void> {
    await Promise.all(
      [...staged].map(async ([node, hashes]) => {
        const wanted = [...hashes].map(fromHex);
        for (let attempt = 0; wanted.length > 0 && attempt < applyPollsMax; attempt++) {
          const held = await this.#deps.transfer.has(node, wanted).catch(() => [] as boolean[]);
          if (held.length === wanted.length && held.every(Boolean)) return;
          await sleep(this.#deps.clock, Math.min(200, 10 * 2 ** attempt));
        }
        // Committed all the same: the holder applies it when it can (or on restart, from its log).
        if (wanted.length > 0) this.#deps.logger.warn({ node }, 'holder has not applied a committed put yet');
      }),
    );
  }

  /**
   * Encrypts (unless public) and encodes one object, stages its shards on their holders under
   * `txId`, and returns its signed descriptor.
   */
  async #upload(
    item: BatchItem,
    put: PutContext,
    onProgress: (bytes: number) => void,
  ): Promise<SignedDescriptor> {
    const { owner, segmentBytes } = this.#deps;
    const key = item.public === true ? undefined : generateObjectKey();
    const sizeHint =
      item.sizeHint === undefined || key === undefined
        ? item.sizeHint
        : encryptedSize(item.sizeHint, segmentBytes);
    const { dataShards, parityShards } = this.#deps.erasurePolicy?.parameters() ?? this.#deps.erasure;
    const erasure = {
      dataShards,
      parityShards,
      shardBytes: shardBytesFor(sizeHint, dataShards, this.#deps.erasure.shardBytes),
    };
    const stripes: StripeInput[] = [];
    let size = 0;
    const window = new TaskWindow(this.#deps.maxStripesInFlight);
    const uploadKey = `${put.txId}-${this.#uploads++}`;
    const fingerprints =
      key !== undefined && item.searchable === true && this.#deps.fingerprint !== undefined
        ? new ChunkFingerprints(
            this.#deps.fingerprint,
            // Cut where a public object of this size would cut its data shards (and a query its chunks).
            shardBytesFor(item.sizeHint, dataShards, this.#deps.erasure.shardBytes),
          )
        : undefined;
    const plain = this.#limit(item.source, put.lease, fingerprints);
    const body = key === undefined ? plain : encryptStream(plain, key, segmentBytes);
    // Each stripe's shards go back to the pool once every holder has them (a failed put drops them):
    // an upload cuts its stripes into a window of buffers, not a megabyte of new ones per shard.
    const pool = new ShardPool((this.#deps.maxStripesInFlight + 1) * (dataShards + parityShards));
    try {
      for await (const stripe of encodeStripes(body, erasure, pool)) {
        const nodes = this.#deps.nodes.liveNodes().filter((node) => !put.lost.has(node.id));
        const targets = this.#deps.placement.place(uploadKey, stripe.index, stripe.shards.length, nodes);
        const entry: StripeInput = {
          dataBytes: stripe.dataBytes,
          shards: stripe.shards.map((shard, i) => ({
            hash: toHex(stripe.hashes[i]!),
            // In place (merkleRootInPlace writes into the byte before each leaf and puts it back): safe
            // only because nothing else reads these buffers yet. They come from this upload's own
            // pool, the roots are taken before #stageStripe starts any write of them (the local one
            // goes to a file on libuv's threads), and they go back to the pool only after every
            // stage settled. Keep all three if this changes (e.g. writing the local shard earlier).
            merkleRoot: toHex(merkleRootInPlace(shard)),
          })),
        };
        stripes.push(entry);
        size += stripe.dataBytes;
        const bytesSoFar = size;
        await window.add(
          // #stageStripe settles only when every stage did: no write of these buffers is pending.
          this.#stageStripe(stripe, targets, nodes, put).then(() => {
            pool.give(stripe.shards);
            onProgress(bytesSoFar);
          }),
        );
      }
      await window.drain();
    } catch (error) {
      await window.settle();
      throw error;
    }
    const encryption =
      key === undefined
        ? undefined
        : {
            algorithm: encryptionAlgorithm,
            segmentBytes,
            wrappedKey: toHex(
              await wrapObjectKey(key, {
                ownerSecretKey: owner.secretKey,
                context: fromHex(owner.publicKey),
              }),
            ),
          };
    return signDescriptor(
      {
        ...(item.name === undefined ? {} : { name: item.name }),
        size,
        createdAtMs: this.#deps.clock.nowMs(),
        erasure,
        ...(encryption === undefined ? {} : { encryption }),
        ...(fingerprints === undefined ? {} : { fingerprints: fingerprints.finish() }),
        stripes,
      },
      owner.secretKey,
    );
  }

  /** The verified record of `id` and its working view, or ObjectNotFoundError. */
  async describe(id: string): Promise<{ record: ObjectRecord; manifest: Manifest }> {
    if (!isHashHex(id)) throw new BadRequestError('object id must be 64 lower-case hex characters');
    const record = await this.#deps.directory.resolve(id);
    if (record === undefined) throw new ObjectNotFoundError(id);
    const regions = new Map(this.#deps.nodes.liveNodes().map((node) => [node.id, node.region]));
    return { record, manifest: manifestView(record, (node) => regions.get(node)) };
  }

  /**
   * Opens `id` for reading. An encrypted object needs its key: this node's owner unwraps it from
   * the descriptor; anyone else passes the object's read capability (`readCap`).
   */
  async open(id: string, readCap?: string): Promise<ObjectHandle> {
    const { record, manifest } = await this.describe(id);
    const { descriptor } = record;
    let key: Uint8Array | undefined;
    if (descriptor.encryption !== undefined) {
      if (readCap !== undefined) {
        const cap = decodeReadCap(readCap);
        if (cap.objectId !== id)
          throw new BadRequestError(`the read capability is for object ${cap.objectId}`);
        key = cap.key;
      } else if (descriptor.owner === this.#deps.owner.publicKey) {
        key = await unwrapObjectKey(fromHex(descriptor.encryption.wrappedKey), {
          ownerSecretKey: this.#deps.owner.secretKey,
          context: fromHex(descriptor.owner),
        });
      } else {
        throw new ForbiddenError(
          'KEY_REQUIRED',
          `object ${id} is encrypted for another owner: read it with its read capability`,
        );
      }
    }
    return {
      id,
      descriptor,
      manifest,
      size: plainSize(descriptor),
      name: descriptor.name,
      createdAtMs: descriptor.createdAtMs,
      encrypted: descriptor.encryption !== undefined,
      key,
    };
  }

  /** The read capability of one of this owner's objects: its id and key, for anyone to read it. */
  async readCap(id: string): Promise<string> {
    const handle = await this.open(id);
    if (handle.key === undefined)
      throw new BadRequestError(`object ${id} is public: its id is enough to read it`);
    return encodeReadCap({ objectId: id, key: handle.key });
  }

  /**
   * The object's bytes in order (decrypted), with stripes fetched ahead. With a `range` (offsets
   * `start` to `end`, both inclusive, within the object), only the stripes (and, for an encrypted
   * object, the segments) holding those bytes are fetched and opened.
   *
   * `transient`: the caller is done with each chunk (and every view of it) when it asks for the next
   * one, so the buffers of a public object's fetched shards are given back for reuse then. Without
   * it, chunks stay valid. An encrypted object's chunks are fresh plaintext either way (its fetched
   * shards are given back once decrypted).
   */
  async *read(
    handle: ObjectHandle,
    range?: { start: number; end: number },
    options: { transient?: boolean } = {},
  ): AsyncGenerator<Uint8Array> {
    const start = range?.start ?? 0;
    const end = range?.end ?? handle.size - 1; // inclusive
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end >= handle.size) {
      if (handle.size === 0 && range === undefined) return;
      throw new BadRequestError(`byte range ${start}-${end} is outside the object's ${handle.size} bytes`);
    }
    if (end < start) return;
    const { encryption } = handle.descriptor;
    if (encryption === undefined || handle.key === undefined) {
      yield* this.#readStored(handle.manifest, start, end, options.transient === true);
      return;
    }
    const span = cipherRange(start, end, handle.size, encryption.segmentBytes);
    const init = {
      key: handle.key,
      segmentBytesMax: encryption.segmentBytes,
      firstSegment: span.firstSegment,
      endsAtFinal: span.endsAtFinal,
    };
    let skip = span.skip;
    let left = span.length;
    const emit = function* (pieces: Uint8Array[]) {
      for (const piece of pieces) {
        if (left <= 0) return;
        if (skip >= piece.length) {
          skip -= piece.length;
          continue;
        }
        const out = piece.subarray(skip, Math.min(piece.length, skip + left));
        skip = 0;
        left -= out.length;
        yield out;
      }
    };
    try {
      const headerBytes = 32;
      const chunks =
        span.cipherStart === headerBytes
          ? this.#readStored(handle.manifest, 0, span.cipherEnd, true)
          : concatStreams(
              this.#readStored(handle.manifest, 0, headerBytes - 1, true),
              this.#readStored(handle.manifest, span.cipherStart, span.cipherEnd, true),
            );
      const offload = this.#deps.decryptPool;
      if (offload?.pool.accepting === true && span.cipherEnd - span.cipherStart + 1 >= offload.minBytes) {
        // The pool copies each chunk before it asks for the next, so the shards may be recycled.
        for await (const piece of offload.pool.decrypt(chunks, init)) yield* emit([piece]);
        return;
      }
      const decryptor = await createDecryptor(init);
      // The decryptor is done with a chunk when its update resolves (it copies what it holds back).
      for await (const chunk of chunks) yield* emit(await decryptor.update(chunk));
      yield* emit(await decryptor.final());
    } catch (error) {
      if (error instanceof DecryptionError) throw decryptionFailure(error, handle.id);
      throw error;
    }
  }

  /**
   * The stored bytes [start, end] (inclusive) of the object, stripe by stripe, with read-ahead.
   * `recycle`: the consumer is done with a chunk when it asks for the next one, so a stripe's fetched
   * shards go back to the transfer's pool once it asks past the stripe's last part (not when it stops
   * early or fails: those are left to the collector).
   */
  async *#readStored(
    manifest: Manifest,
    start: number,
    end: number,
    recycle: boolean,
  ): AsyncGenerator<Uint8Array> {
    // Stripes are independent units: find the first one holding `start` and the last holding `end`.
    let first = 0;
    let firstOffset = 0; // the object offset of stripe `first`'s first byte
    while (firstOffset + manifest.stripes[first]!.dataBytes <= start) {
      firstOffset += manifest.stripes[first]!.dataBytes;
      first++;
    }
    let last = first;
    let lastOffset = firstOffset;
    while (lastOffset + manifest.stripes[last]!.dataBytes <= end) {
      lastOffset += manifest.stripes[last]!.dataBytes;
      last++;
    }
    const ahead: Promise<{ parts: Uint8Array[]; held: Uint8Array[] }>[] = [];
    let next = first;
    const launch = () => {
      while (next <= last && ahead.length < this.#deps.maxStripesInFlight) {
        const held: Uint8Array[] = [];
        const promise = this.fetchStripeParts(manifest, next++, held).then((parts) => ({ parts, held }));
        promise.catch(() => {}); // awaited in order below; this only keeps early failures from going unhandled
        ahead.push(promise);
      }
    };
    launch();
    let offset = firstOffset; // the object offset of the next part's first byte
    while (ahead.length > 0) {
      const { parts, held } = await ahead.shift()!;
      launch();
      for (const part of parts) {
        const from = Math.max(start - offset, 0);
        const to = Math.min(end + 1 - offset, part.length);
        offset += part.length;
        if (to <= from) continue;
        yield from === 0 && to === part.length ? part : part.subarray(from, to);
      }
      // The consumer asked for more after the stripe's last part: it no longer reads any of them.
      if (recycle) for (const shard of held) this.#deps.transfer.recycle?.(shard);
    }
  }

  /**
   * Deletes one of this owner's objects: a tombstone signed by the owner goes to every node (each
   * checks it against the descriptor, remembers it, and drops the object's shards) and the DHT.
   * Idempotent for the owner: a retry through a node that holds the owner's tombstone succeeds
   * (peers that missed the first attempt learn the tombstone by anti-entropy).
   */
  async delete(id: string): Promise<void> {
    const { owner, clock } = this.#deps;
    let record: ObjectRecord;
    try {
      ({ record } = await this.describe(id));
    } catch (error) {
      if (error instanceof ObjectNotFoundError && this.#deps.directory.deletedBy(id) === owner.publicKey) {
        this.#deps.logger.info({ id }, 'object already deleted');
        return;
      }
      throw error;
    }
    if (record.descriptor.owner !== owner.publicKey) {
      throw new ForbiddenError('NOT_OWNER', `object ${id} belongs to another owner`);
    }
    const tombstone = signTombstone(
      { objectId: id, deletedAtMs: clock.nowMs(), retentionMs: this.#deps.tombstoneRetentionMs },
      owner.secretKey,
    );
    const result = await this.#deps.directory.unpublish({ id, tombstone, descriptor: record.descriptor });
    this.#deps.logger.info({ id, ...result }, 'object deleted');
  }

  /** Fetches any k valid shards of one stripe and returns its data bytes. */
  async fetchStripe(manifest: Manifest, stripeIndex: number): Promise<Uint8Array> {
    const parts = await this.fetchStripeParts(manifest, stripeIndex);
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  /**
   * Fetches any k valid shards of one stripe; its data bytes are the returned parts in order. When
   * the holders the receipts name cannot give k, the stripe's shards are looked for by hash on
   * every live node. `held`, when given, receives every shard buffer the parts were made from (the
   * parity shards a reconstruction read included), for the caller to recycle once done with the parts.
   */
  async fetchStripeParts(
    manifest: Manifest,
    stripeIndex: number,
    held?: Uint8Array[],
  ): Promise<Uint8Array[]> {
    const stripe = manifest.stripes[stripeIndex]!;
    const { dataShards, parityShards } = manifest.erasure;
    let shards: (Uint8Array | null)[];
    try {
      shards = await new StripeFetch(this.#deps, manifest, stripeIndex).run();
    } catch (error) {
      if (!(error instanceof ObjectUnavailableError)) throw error;
      shards = await new StripeFetch(
        this.#deps,
        await this.#findByHash(manifest, stripeIndex),
        stripeIndex,
      ).run();
    }
    let dataComplete = true;
    for (let i = 0; i < dataShards; i++) if (shards[i] === null) dataComplete = false;
    if (!dataComplete) this.#encoder(dataShards, parityShards).reconstructData(shards);
    if (held !== undefined) for (const shard of shards) if (shard !== null) held.push(shard);
    const parts: Uint8Array[] = [];
    let left = stripe.dataBytes;
    for (let i = 0; i < dataShards && left > 0; i++) {
      const shard = shards[i]!;
      const take = Math.min(left, shard.length);
      parts.push(take === shard.length ? shard : shard.subarray(0, take));
      left -= take;
    }
    if (left > 0)
      throw new ObjectUnavailableError(
        `stripe ${stripeIndex}: shards hold fewer bytes than the manifest says`,
      );
    return parts;
  }

  /** The manifest with stripe `stripeIndex`'s holders replaced by every live node that has its shards. */
  async #findByHash(manifest: Manifest, stripeIndex: number): Promise<Manifest> {
    const stripe = manifest.stripes[stripeIndex]!;
    const hashes = stripe.shards.map((shard) => fromHex(shard.hash));
    const found = stripe.shards.map((shard) => [...shard.holders]);
    await Promise.allSettled(
      this.#deps.nodes.liveNodes().map(async (node) => {
        const held = await this.#deps.transfer.has(node.id, hashes);
        held.forEach((yes, i) => {
          if (yes && !found[i]!.some((h) => h.nodeId === node.id))
            found[i]!.push({ nodeId: node.id, region: node.region ?? 'unknown' });
        });
      }),
    );
    const stripes = manifest.stripes.slice();
    stripes[stripeIndex] = {
      dataBytes: stripe.dataBytes,
      shards: stripe.shards.map((shard, i) => ({ hash: shard.hash, holders: found[i]! })),
    };
    return { ...manifest, stripes };
  }

  #encoder(dataShards: number, parityShards: number): Encoder {
    const key = `${dataShards}+${parityShards}`;
    let encoder = this.#encoders.get(key);
    if (encoder === undefined) {
      encoder = createEncoder({ dataShards, parityShards });
      this.#encoders.set(key, encoder);
    }
    return encoder;
  }

  /** A put intent, signed by the owner, for `shards` (hash -> node ids) under `txId`. */
  #intent(txId: string, shards: Map<string, Set<string>>) {
    const nowMs = this.#deps.clock.nowMs();
    return signPutIntent(
      {
        txId,
        createdAtMs: nowMs,
        expiresAtMs: nowMs + this.#deps.intentLifetimeMs,
        shards: [...shards].map(([shardHash, nodes]) => ({
          shardHash,
          holders: [...nodes].map((node) => {
            const key = nodeKeyOfPeerId(node);
            if (key === undefined) throw new NotEnoughNodesError(`node ${node} has no Ed25519 key`);
            return key;
          }),
        })),
      },
      this.#deps.owner.secretKey,
    );
  }

  async #stageStripe(
    stripe: { index: number; shards: Uint8Array[]; hashes: Uint8Array[] },
    targets: readonly string[],
    nodes: readonly NodeRef[],
    put: PutContext,
  ): Promise<void> {
    const { txId, staged, sent, lost } = put;
    const used = new Set(targets);
    // One intent for the stripe as placed (a small object's padding shards can repeat a hash).
    const placed = new Map<string, Set<string>>();
    stripe.hashes.forEach((hash, i) => {
      const hex = toHex(hash);
      const set = placed.get(hex) ?? new Set<string>();
      set.add(targets[i]!);
      placed.set(hex, set);
    });
    const stripeIntent = this.#intent(txId, placed);
    // The stripe fails with its first failure, but only once every stage of it has ended: the put
    // then unstages on every holder, and a stage still on its way would land after that unstage
    // and leave its shards staged on the holder until their lease ran out.
    const stageOne = async (shard: Uint8Array, i: number): Promise<void> => {
      const hash = stripe.hashes[i]!;
      let node = targets[i]!;
      let intent = stripeIntent;
      for (let attempt = 1; ; attempt++) {
        try {
          // Marked before the call: a store that fails after staging must still be unstaged.
          if (!staged.has(node)) staged.set(node, new Set());
          if (!sent.has(node)) sent.set(node, new Set());
          sent.get(node)!.add(toHex(hash));
          await this.#deps.transfer.stage(node, txId, hash, shard, intent);
          staged.get(node)!.add(toHex(hash));
          return;
        } catch (error) {
          // A full holder will not have room on a retry: go to a spare at once, and if none is
          // left the put fails as "insufficient storage" (507), not as a missing node.
          const full = isCapacityError(error);
          if (attempt >= storeAttemptsMax || (full && nodes.every((candidate) => used.has(candidate.id)))) {
            const message = `stripe ${stripe.index}: could not store shard ${i} (${(error as Error).message})`;
            throw full ? new InsufficientStorageError(message) : new NotEnoughNodesError(message);
          }
          // Try the same node once more (a reset stream is usually transient), then a spare if any.
          const spare = attempt >= 2 || full ? nodes.find((candidate) => !used.has(candidate.id)) : undefined;
          this.#deps.logger.warn(
            { node, attempt, err: (error as Error).message },
            'shard store failed; retrying',
          );
          if (spare !== undefined) {
            // The node failed twice without answering (an answer is a refusal, not a loss): it
            // leaves this put, and what it already holds is re-placed.
            if (node !== this.#deps.selfId && !full && !(error instanceof RemoteError)) lost.add(node);
            used.add(spare.id);
            node = spare.id;
            intent = this.#intent(txId, new Map([[toHex(hash), new Set([node])]]));
          }
          await sleep(this.#deps.clock, 50 * attempt);
        }
      }
    };
    let failure: { error: unknown } | undefined;
    const stages = stripe.shards.map(async (shard, i) => {
      try {
        await stageOne(shard, i);
      } catch (error) {
        failure ??= { error };
      }
    });
    await Promise.all(stages);
    if (failure !== undefined) throw failure.error;
  }

  async *#limit(
    source: AsyncIterable<Uint8Array>,
    lease: UploadLease,
    fingerprints?: ChunkFingerprints,
  ): AsyncGenerator<Uint8Array> {
    let total = 0;
    for await (const chunk of source) {
      lease.progressed();
      total += chunk.length;
      if (total > this.#deps.maxObjectBytes) throw new PayloadTooLargeError(this.#deps.maxObjectBytes);
      fingerprints?.push(chunk);
      yield chunk;
    }
  }
}

/**
 * Fingerprints of plaintext cut into chunks of `chunkBytes`, at most descriptorLimits.maxFingerprints
 * of them (the first ones: a search by any part of a larger object may miss it). Holds one chunk.
 */
class ChunkFingerprints {
  readonly #fingerprint: (data: Uint8Array) => string;
  readonly #chunk: Uint8Array;
  readonly #out: string[] = [];
  #filled = 0;

  constructor(fingerprint: (data: Uint8Array) => string, chunkBytes: number) {
    this.#fingerprint = fingerprint;
    this.#chunk = new Uint8Array(chunkBytes);
  }

  push(data: Uint8Array): void {
    for (let offset = 0; offset < data.length && this.#out.length < descriptorLimits.maxFingerprints; ) {
      const take = Math.min(data.length - offset, this.#chunk.length - this.#filled);
      this.#chunk.set(data.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === this.#chunk.length) this.#flush();
    }
  }

  /** Every fingerprint, the last (partial) chunk's included; undefined for an empty object. */
  finish(): string[] | undefined {
    if (this.#filled > 0 && this.#out.length < descriptorLimits.maxFingerprints) this.#flush();
    return this.#out.length === 0 ? undefined : this.#out;
  }

  #flush(): void {
    this.#out.push(this.#fingerprint(this.#chunk.subarray(0, this.#filled)));
    this.#filled = 0;
  }
}

/**
 * The lease of one upload: every `renewMs`, if the upload read more of its body since the last
 * tick, the nodes holding its staged data are told it is alive. A stalled upload stops renewing, and
 * once its lease lapses (tx.orphanTtlMs) those nodes collect what it staged.
 */
class UploadLease {
  readonly #repeater: Repeater;
  #nodes: () => string[] = () => [];
  #progressed = false;

  constructor(clock: Clock, renewMs: number, renew: (nodes: string[]) => void) {
    this.#repeater = new Repeater(clock, renewMs, () => {
      if (!this.#progressed) return;
      this.#progressed = false;
      renew(this.#nodes());
    });
  }

  start(nodes: () => string[]): void {
    this.#nodes = nodes;
    this.#repeater.start();
  }

  progressed(): void {
    this.#progressed = true;
  }

  stop(): Promise<void> {
    return this.#repeater.stop();
  }
}

/** `source` encrypted with `key` in segments of `segmentBytes` (header first). */
async function* encryptStream(
  source: AsyncIterable<Uint8Array>,
  key: Uint8Array,
  segmentBytes: number,
): AsyncGenerator<Uint8Array> {
  const encryptor = await createEncryptor({ key, segmentBytes });
  for await (const chunk of source) yield* await encryptor.update(chunk);
  yield* await encryptor.final();
}

async function* concatStreams(...streams: AsyncIterable<Uint8Array>[]): AsyncGenerator<Uint8Array> {
  for (const stream of streams) yield* stream;
}

/** At most `limit` tasks in flight; the first failure is rethrown by the next add() or drain(). */
class TaskWindow {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  #failure: unknown;
  #failed = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  async add(task: Promise<void>): Promise<void> {
    const tracked: Promise<void> = task.then(
      () => void this.#running.delete(tracked),
      (error: unknown) => {
        this.#running.delete(tracked);
        if (!this.#failed) {
          this.#failed = true;
          this.#failure = error;
        }
      },
    );
    this.#running.add(tracked);
    while (this.#running.size >= this.#limit && !this.#failed) await Promise.race(this.#running);
    this.#throwIfFailed();
  }

  async drain(): Promise<void> {
    await this.settle();
    this.#throwIfFailed();
  }

  async settle(): Promise<void> {
    await Promise.all(this.#running);
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#failure;
  }
}

/**
 * Reads one stripe: asks the best-ranked holders for k distinct shards at once, replaces each
 * failure or hash mismatch with the next candidate, and hedges with one extra request when a
 * read is slower than hedgeAfterMs.
 */
class StripeFetch {
  readonly #deps: ObjectServiceDeps;
  readonly #manifest: Manifest;
  readonly #stripeIndex: number;
  readonly #shards: (Uint8Array | null)[];
  readonly #candidates: { shard: number; node: string }[];
  readonly #pending = new Set<number>();
  #next = 0;
  #valid = 0;
  #running = 0;
  #extra = 0;

  constructor(deps: ObjectServiceDeps, manifest: Manifest, stripeIndex: number) {
    this.#deps = deps;
    this.#manifest = manifest;
    this.#stripeIndex = stripeIndex;
    const stripe = manifest.stripes[stripeIndex]!;
    this.#shards = stripe.shards.map(() => null);
    const ranked = deps.placement.rank([
      ...new Set(stripe.shards.flatMap((s) => s.holders.map((h) => h.nodeId))),
    ]);
    const rank = new Map(ranked.map((node, i) => [node, i]));
    const k = manifest.erasure.dataShards;
    // Data shards first (no decoding needed when they all arrive), then by holder rank.
    this.#candidates = stripe.shards
      .flatMap((shard, index) => shard.holders.map((holder) => ({ shard: index, node: holder.nodeId })))
      .filter((candidate) => rank.has(candidate.node))
      .sort((a, b) => Number(a.shard >= k) - Number(b.shard >= k) || rank.get(a.node)! - rank.get(b.node)!);
  }

  run(): Promise<(Uint8Array | null)[]> {
    return new Promise((resolve, reject) => {
      const k = this.#manifest.erasure.dataShards;
      let done = false;
      const hedge = new Repeater(this.#deps.clock, this.#deps.hedgeAfterMs, () => {
        if (!done && this.#running > 0) {
          this.#extra++;
          this.#launch(settle);
        }
      });
      hedge.start();
      const settle = () => {
        if (done) return;
        if (this.#valid >= k) {
          done = true;
          void hedge.stop();
          resolve(this.#shards);
        } else if (this.#running === 0 && this.#next >= this.#candidates.length) {
          done = true;
          void hedge.stop();
          reject(
            new ObjectUnavailableError(
              `stripe ${this.#stripeIndex}: only ${this.#valid} of ${k} needed shards could be read`,
            ),
          );
        } else {
          this.#launch(settle);
        }
      };
      this.#launch(settle);
      settle();
    });
  }

  #launch(settle: () => void): void {
    const k = this.#manifest.erasure.dataShards;
    while (this.#running < k - this.#valid + this.#extra && this.#next < this.#candidates.length) {
      const candidate = this.#candidates[this.#next++]!;
      if (this.#shards[candidate.shard] !== null || this.#pending.has(candidate.shard)) continue;
      this.#running++;
      this.#pending.add(candidate.shard);
      const expected = fromHex(this.#manifest.stripes[this.#stripeIndex]!.shards[candidate.shard]!.hash);
      const startedMs = this.#deps.clock.nowMs();
      const report = (ok: boolean) => {
        if (candidate.node === this.#deps.selfId) return;
        this.#deps.events?.onFetch?.(candidate.node, ok, this.#deps.clock.nowMs() - startedMs);
      };
      this.#deps.transfer
        .fetch(candidate.node, expected, this.#manifest.erasure.shardBytes)
        .then(
          (bytes) => {
            const intact = equalBytes(sha256(bytes), expected);
            report(intact);
            if (intact && this.#shards[candidate.shard] === null) {
              this.#shards[candidate.shard] = bytes;
              this.#valid++;
              return;
            }
            if (this.#shards[candidate.shard] === null) {
              this.#deps.logger.warn(
                { node: candidate.node, shard: toHex(expected) },
                'peer sent a shard that fails its hash',
              );
              this.#deps.events?.onBadShard?.(candidate.node);
            }
            // Refused, or a hedged duplicate: nobody reads these bytes.
            this.#deps.transfer.recycle?.(bytes);
          },
          (error: Error) => {
            // A fetch that never left this node (no slot to the peer in time, its breaker open) says
            // nothing of the peer: the router learns only from answers and their latency.
            if (!(error instanceof RequestNotSentError)) report(false);
            this.#deps.logger.debug({ node: candidate.node, err: error.message }, 'shard read failed');
          },
        )
        .finally(() => {
          this.#running--;
          this.#pending.delete(candidate.shard);
          if (this.#extra > 0) this.#extra--;
          settle();
        });
    }
  }
}

/** A store refused for lack of room, here (CapacityExceededError) or on a peer (its error code). */
function isCapacityError(error: unknown): boolean {
  return (
    error instanceof CapacityExceededError ||
    (error instanceof RemoteError && error.remoteCode === 'CAPACITY_EXCEEDED')
  );
}
