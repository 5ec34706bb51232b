import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Logger } from '@trinity/core';
import { gatewaySettings, type S3NodeConfig } from '../config/s3.js';
import type { Startable } from '../startable.js';
import { Repeater } from '../timers.js';
import { ReloadingAccessKeyStore } from './access-keys.js';
import type { S3Index, StoredPiece } from './backend.js';
import { FileS3Index } from './file-index.js';
import { S3Gateway } from './gateway.js';
import { TrinityIndexBlobs } from './index-head-service.js';
import { type HeadTransport, ReplicatedHeads } from './index-heads.js';
import type { IndexRecord } from './memory.js';
import { NetworkS3Index, ownerLogCipher } from './network-index.js';
import { piecePrefix, type S3ObjectStore, TrinityS3Backend } from './trinity-backend.js';

/** Where a node keeps its S3 state: `<dataDir>/s3/`. */
export function s3Dir(dataDir: string): string {
  return join(dataDir, 's3');
}

/** The access keys `trinity s3 keys create` writes and the node's gateway reads. */
export function accessKeysPath(dataDir: string): string {
  return join(s3Dir(dataDir), 'access-keys.json');
}

export interface S3ServiceInit {
  readonly config: S3NodeConfig;
  readonly dataDir: string;
  /** Tags this gateway's pieces (see TrinityS3Backend): the node's id, so two gateways never sweep each other's. */
  readonly pieceTag?: string;
}

export interface S3ServiceComponents {
  readonly objects: S3ObjectStore;
  /** The objects this node knows of (the orphaned-piece sweep looks for its own pieces there). */
  readonly listing?: {
    list(limit: number, owner?: string): Promise<Array<{ id: string; name?: string }>>;
  };
  readonly clock: Clock;
  readonly logger: Logger;
  /** The index head replicas (`s3.index: network`): every node runs them (S3IndexHeadService). */
  readonly heads?: HeadTransport;
  /** The owner key the node acts for: it signs the index heads (`s3.index: network`). */
  readonly ownerKey?: { readonly publicKey: string; readonly secretKey: Uint8Array };
}

/** An index the service runs: the gateway's, plus what the sweep and stop need. */
type ServiceIndex = S3Index & {
  records(): Iterable<IndexRecord> | Promise<Iterable<IndexRecord>>;
  close?(): Promise<void>;
};

/** Objects the orphaned-piece sweep looks at per round, at most. */
const sweepListMax = 100_000;

/**
 * The node's S3 gateway: the gateway over the Trinity-backed backend, the key index (`s3.index`:
 * the network index every gateway of the owner shares, or this node's own log at
 * `<dataDir>/s3/index.log`), the access keys at `<dataDir>/s3/access-keys.json`, and the sweep of
 * abandoned multipart uploads on the node's clock (see README).
 */
export class S3Service implements Startable {
  readonly #init: S3ServiceInit;
  readonly #components: S3ServiceComponents;
  #index: ServiceIndex | undefined;
  #gateway: S3Gateway | undefined;
  #sweeper: Repeater | undefined;
  /** Pieces of this gateway no index entry referred to: id → when a sweep first found them so. */
  readonly #unreferencedSince = new Map<string, number>();

  constructor(init: S3ServiceInit, components: S3ServiceComponents) {
    this.#init = init;
    this.#components = components;
  }

  /** `http://host:port` of the gateway once started. */
  get url(): string {
    const gateway = this.#gateway;
    if (gateway === undefined) throw new Error('the S3 gateway is not started');
    const host = gateway.config.host.includes(':') ? `[${gateway.config.host}]` : gateway.config.host;
    return `http://${host}:${gateway.port}`;
  }

  get region(): string {
    return this.#init.config.region;
  }

  async start(): Promise<void> {
    if (this.#gateway !== undefined) return;
    const { config, dataDir } = this.#init;
    const { objects, clock, logger } = this.#components;
    await mkdir(s3Dir(dataDir), { recursive: true, mode: 0o700 });
    const index = await this.#openIndex();
    const backend = new TrinityS3Backend({
      objects,
      logger,
      ...(this.#init.pieceTag === undefined ? {} : { pieceTag: this.#init.pieceTag }),
    });
    const gateway = new S3Gateway(gatewaySettings(config), {
      backend,
      index,
      accessKeys: new ReloadingAccessKeyStore(accessKeysPath(dataDir)),
      clock,
      logger,
      actsFor: (owner) => backend.actsFor(owner),
    });
    try {
      await gateway.start();
    } catch (error) {
      await index.close?.();
      throw error;
    }
    this.#index = index;
    this.#gateway = gateway;
    this.#sweeper = new Repeater(clock, config.uploadSweepIntervalMs, async () => {
      try {
        const aborted = await this.sweep();
        if (aborted > 0) logger.info({ aborted }, 's3: abandoned multipart uploads aborted');
        const freed = await this.sweepOrphanedPieces();
        if (freed > 0) logger.info({ freed }, 's3: orphaned pieces deleted');
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 's3: sweep of abandoned uploads failed');
      }
    });
    this.#sweeper.start();
  }

  /** The index's live state as records (tests, and which pieces it refers to). */
  async indexRecords(): Promise<IndexRecord[]> {
    const index = this.#index;
    if (index === undefined) throw new Error('the S3 gateway is not started');
    return [...(await index.records())];
  }

  /**
   * Aborts every multipart upload older than `abandonedUploadMs` in the buckets of the owner this
   * node acts for (the only owner whose uploads can hold parts) and frees their parts; returns how many.
   */
  async sweep(): Promise<number> {
    const index = this.#index;
    const gateway = this.#gateway;
    if (index === undefined || gateway === undefined) return 0;
    let aborted = 0;
    for (const bucket of await index.listBuckets(this.#components.objects.owner)) {
      aborted += await gateway.abortStaleUploads(bucket.name, this.#init.config.abandonedUploadMs);
    }
    return aborted;
  }

  /**
   * Deletes this gateway's pieces (named with its tag) that no index entry has referred to, and its
   * network index snapshots that are not the current one, for
   * `orphanedPieceGraceMs`, counted from the first sweep that found them so: a crash between storing
   * a piece and indexing it, or between an overwrite and freeing the replaced pieces, leaks nothing
   * for good. A piece indexed again meanwhile (a slow upload finishing) starts over. Returns how many.
   */
  async sweepOrphanedPieces(): Promise<number> {
    const index = this.#index;
    const { listing, objects, clock, logger } = this.#components;
    const tag = this.#init.pieceTag;
    if (index === undefined || listing === undefined || tag === undefined) return 0;
    const prefixes = [piecePrefix(tag), snapshotPrefix(tag)];
    // The pieces listed first, the index read after: a piece indexed in between counts as referenced.
    const mine = (await listing.list(sweepListMax, objects.owner)).filter((o) =>
      prefixes.some((prefix) => o.name?.startsWith(prefix)),
    );
    const referenced = new Set<string>();
    for (const record of await index.records())
      for (const piece of piecesOf(record)) referenced.add(piece.id);
    // The network index's current snapshot (read after the listing too); superseded ones are deleted
    // by the gateway that replaced them, so what is left here leaked (a crash before the head swap).
    const root = index instanceof NetworkS3Index ? await index.currentRoot() : undefined;
    if (root !== undefined) referenced.add(root);
    const nowMs = clock.nowMs();
    const seen = new Set<string>();
    let freed = 0;
    for (const { id } of mine) {
      if (referenced.has(id)) continue;
      seen.add(id);
      const since = this.#unreferencedSince.get(id) ?? nowMs;
      this.#unreferencedSince.set(id, since);
      if (nowMs - since < this.#init.config.orphanedPieceGraceMs) continue;
      try {
        await objects.delete(id);
        this.#unreferencedSince.delete(id);
        freed++;
      } catch (error) {
        logger.warn({ id, err: (error as Error).message }, 's3: could not delete an orphaned piece');
      }
    }
    for (const id of this.#unreferencedSince.keys()) if (!seen.has(id)) this.#unreferencedSince.delete(id);
    return freed;
  }

  async stop(): Promise<void> {
    await this.#sweeper?.stop();
    this.#sweeper = undefined;
    await this.#gateway?.stop();
    this.#gateway = undefined;
    await this.#index?.close?.();
    this.#index = undefined;
  }

  /** `s3.index`: the network index over the head replicas and Trinity objects, or this node's log. */
  async #openIndex(): Promise<ServiceIndex> {
    const { config, dataDir } = this.#init;
    if (config.index === 'local') return FileS3Index.open(join(s3Dir(dataDir), 'index.log'));
    const { heads, ownerKey, objects, logger } = this.#components;
    if (heads === undefined || ownerKey === undefined) {
      throw new Error('s3.index "network" needs the index head service and the owner key');
    }
    const tag = this.#init.pieceTag ?? 'node';
    return new NetworkS3Index({
      heads: new ReplicatedHeads(ownerKey, heads, { proposerId: randomBytes(8).toString('hex') }),
      blobs: new TrinityIndexBlobs(objects, snapshotPrefix(tag), () => randomBytes(12).toString('hex')),
      logCipher: await ownerLogCipher(ownerKey.secretKey),
      logger,
    });
  }
}

/** The name prefix of the network index snapshots a gateway tagged `tag` stores. */
export function snapshotPrefix(tag: string): string {
  return `s3-index/${tag}/`;
}

/** js-libp2p-style factory: `s3Service(init)(components)`. */
export function s3Service(init: S3ServiceInit): (components: S3ServiceComponents) => S3Service {
  return (components) => new S3Service(init, components);
}

/** The pieces an index record refers to. */
function piecesOf(record: IndexRecord): readonly StoredPiece[] {
  switch (record.op) {
    case 'putObject':
    case 'completeUpload':
      return record.entry.pieces;
    case 'putPart':
      return [record.part.piece];
    default:
      return [];
  }
}
