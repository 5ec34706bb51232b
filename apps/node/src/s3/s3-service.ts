import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Logger } from '@trinity/core';
import { gatewaySettings, type S3NodeConfig } from '../config/s3.js';
import type { Startable } from '../startable.js';
import { Repeater } from '../timers.js';
import { ReloadingAccessKeyStore } from './access-keys.js';
import { FileS3Index } from './file-index.js';
import { S3Gateway } from './gateway.js';
import { type S3ObjectStore, TrinityS3Backend } from './trinity-backend.js';

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
}

export interface S3ServiceComponents {
  readonly objects: S3ObjectStore;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * The node's S3 gateway: the gateway over the Trinity-backed backend, this node's persistent key
 * index (`<dataDir>/s3/index.log`), the access keys at `<dataDir>/s3/access-keys.json`, and the sweep
 * of abandoned multipart uploads on the node's clock. The index is this node's only (see README).
 */
export class S3Service implements Startable {
  readonly #init: S3ServiceInit;
  readonly #components: S3ServiceComponents;
  #index: FileS3Index | undefined;
  #gateway: S3Gateway | undefined;
  #sweeper: Repeater | undefined;

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
    const index = await FileS3Index.open(join(s3Dir(dataDir), 'index.log'));
    const backend = new TrinityS3Backend({ objects, logger });
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
      await index.close();
      throw error;
    }
    this.#index = index;
    this.#gateway = gateway;
    this.#sweeper = new Repeater(clock, config.uploadSweepIntervalMs, async () => {
      try {
        const aborted = await this.sweep();
        if (aborted > 0) logger.info({ aborted }, 's3: abandoned multipart uploads aborted');
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 's3: sweep of abandoned uploads failed');
      }
    });
    this.#sweeper.start();
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

  async stop(): Promise<void> {
    await this.#sweeper?.stop();
    this.#sweeper = undefined;
    await this.#gateway?.stop();
    this.#gateway = undefined;
    await this.#index?.close();
    this.#index = undefined;
  }
}

/** js-libp2p-style factory: `s3Service(init)(components)`. */
export function s3Service(init: S3ServiceInit): (components: S3ServiceComponents) => S3Service {
  return (components) => new S3Service(init, components);
}
