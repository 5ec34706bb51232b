import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, fromHex, type Logger, SystemClock } from '@trinity/core';
import { BandwidthLedger, ManifestStore, Scrubber, type ScrubReport, ShardStore } from '@trinity/storage';
import type { NodeConfig } from './config.js';
import { writeFileAtomic } from './fs-util.js';
import { ApiServer } from './http-api.js';
import { loadOrCreateIdentity } from './identity.js';
import {
  ManifestDirectory,
  manifestHandler,
  selectManifestRecord,
  validateManifestRecord,
} from './manifest-service.js';
import { Membership } from './membership.js';
import { createNetwork, type TrinityLibp2p } from './network.js';
import { ObjectService } from './object-service.js';
import { CircuitBreaker, KeyedLimiter } from './peer-guard.js';
import { type NodeRef, spreadShards } from './placement.js';
import { RepairLoop } from './repair-loop.js';
import { nodeRoutes } from './routes.js';
import { RpcClient, serveProtocol, type TransferDirection, toPeerId } from './rpc.js';
import { ShardTransfer, shardHandler } from './shard-service.js';
import {
  infoRequestSchema,
  manifestRequestSchema,
  type NodeInfo,
  PROTOCOLS,
  shardRequestSchema,
} from './wire.js';

export const nodeVersion = '0.1.0';

/** What a started node writes to `<dataDir>/ready.json` (and removes on a clean stop). */
export interface ReadyFile {
  readonly peerId: string;
  readonly multiaddrs: string[];
  readonly apiUrl: string;
  readonly region: string | undefined;
  readonly pid: number;
}

/**
 * One Trinity storage node: the shard and manifest stores on disk, libp2p networking, the wire
 * protocols, the object service (put/get/delete), the HTTP API, scrubbing and repair. Start, then stop.
 */
export class TrinityNode {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly clock: Clock = new SystemClock();
  readonly store: ShardStore;
  readonly manifests: ManifestStore;
  readonly libp2p: TrinityLibp2p;
  readonly rpc: RpcClient;
  readonly membership: Membership;
  readonly objects: ObjectService;
  readonly bandwidth = new BandwidthLedger();
  readonly repair: RepairLoop;
  readonly scrubber: Scrubber;
  readonly #scrubStats = { rounds: 0, corruptionsFound: 0, lastRound: undefined as ScrubReport | undefined };
  #api: ApiServer | undefined;
  #apiUrl = '';
  #region: string | undefined;

  private constructor(parts: {
    config: NodeConfig;
    logger: Logger;
    store: ShardStore;
    manifests: ManifestStore;
    libp2p: TrinityLibp2p;
  }) {
    this.config = parts.config;
    this.logger = parts.logger;
    this.store = parts.store;
    this.manifests = parts.manifests;
    this.libp2p = parts.libp2p;
    this.#region = parts.config.region;
    const selfId = this.peerId;
    const onTransfer = (peer: string, direction: TransferDirection, bytes: number) => {
      if (direction === 'upload') this.bandwidth.recordUpload(peer, bytes, this.clock.nowMs());
      else this.bandwidth.recordDownload(peer, bytes, this.clock.nowMs());
    };
    this.rpc = new RpcClient({
      libp2p: this.libp2p,
      breaker: new CircuitBreaker(this.config.breaker),
      limiter: new KeyedLimiter(this.config.limits.peerConcurrency),
      clock: this.clock,
      requestTimeoutMs: this.config.limits.requestTimeoutMs,
      onTransfer,
    });
    this.membership = new Membership({
      libp2p: this.libp2p,
      rpc: this.rpc,
      clock: this.clock,
      logger: this.logger.child({ component: 'membership' }),
      bootstrap: this.config.bootstrap,
      refreshMs: 2_000,
      peersMax: this.config.limits.maxConnections,
    });
    const transfer = new ShardTransfer(selfId, this.store, this.rpc);
    const directory = new ManifestDirectory({
      selfId,
      manifests: this.manifests,
      rpc: this.rpc,
      membership: this.membership,
      libp2p: this.libp2p,
      logger: this.logger.child({ component: 'manifests' }),
      dhtTimeoutMs: 10_000,
    });
    this.objects = new ObjectService({
      selfId,
      store: this.store,
      transfer,
      directory,
      clock: this.clock,
      logger: this.logger.child({ component: 'objects' }),
      erasure: this.config.erasure,
      maxObjectBytes: this.config.limits.maxObjectBytes,
      maxStripesInFlight: this.config.limits.maxStripesInFlight,
      liveNodes: () => this.liveNodes(),
      place: (stripeIndex, count, nodes) =>
        spreadShards(stripeIndex, count, nodes, this.config.erasure.parityShards),
      rankHolders: (ids) => this.#rankByLatency(ids),
      hedgeAfterMs: 2_000,
    });
    this.repair = new RepairLoop({
      selfId,
      manifests: this.manifests,
      directory,
      transfer,
      liveNodes: () => this.liveNodes(),
      clock: this.clock,
      logger: this.logger.child({ component: 'repair' }),
      config: this.config.repair,
    });
    this.scrubber = new Scrubber(this.store, this.config.scrub, {
      clock: this.clock,
      logger: this.logger.child({ component: 'scrub' }),
      onCorruption: () => {
        this.#scrubStats.corruptionsFound++;
        this.repair.poke();
      },
      onReport: (report) => {
        this.#scrubStats.rounds++;
        this.#scrubStats.lastRound = report;
      },
    });
  }

  static async create(config: NodeConfig, logger: Logger): Promise<TrinityNode> {
    const store = await ShardStore.open(join(config.dataDir, 'shards'), {
      capacityBytes: config.capacityBytes,
      fsync: config.fsync,
    });
    const manifests = await ManifestStore.open(join(config.dataDir, 'manifests'), { fsync: config.fsync });
    const privateKey = await loadOrCreateIdentity(config.dataDir);
    const libp2p = await createNetwork({
      privateKey,
      host: config.listen.host,
      port: config.listen.port,
      maxConnections: config.limits.maxConnections,
      validateRecord: validateManifestRecord,
      selectRecord: selectManifestRecord,
    });
    return new TrinityNode({ config, logger, store, manifests, libp2p });
  }

  get peerId(): string {
    return this.libp2p.peerId.toString();
  }

  get apiUrl(): string {
    return this.#apiUrl;
  }

  get region(): string | undefined {
    return this.#region;
  }

  async start(): Promise<void> {
    const serveOptions = {
      logger: this.logger,
      requestTimeoutMs: this.config.limits.requestTimeoutMs,
      onTransfer: (peer: string, direction: TransferDirection, bytes: number) => {
        if (direction === 'upload') this.bandwidth.recordUpload(peer, bytes, this.clock.nowMs());
        else this.bandwidth.recordDownload(peer, bytes, this.clock.nowMs());
      },
    };
    await serveProtocol(
      this.libp2p,
      PROTOCOLS.shard,
      shardRequestSchema,
      shardHandler(this.store),
      serveOptions,
    );
    await serveProtocol(
      this.libp2p,
      PROTOCOLS.manifest,
      manifestRequestSchema,
      manifestHandler(this.manifests),
      serveOptions,
    );
    await serveProtocol(
      this.libp2p,
      PROTOCOLS.info,
      infoRequestSchema,
      async () => ({ value: await this.#info() }),
      serveOptions,
    );
    await this.libp2p.start();
    this.#api = new ApiServer(nodeRoutes(this), this.logger.child({ component: 'http' }));
    this.#apiUrl = await this.#api.listen(this.config.api.host, this.config.api.port);
    await this.membership.start();
    this.scrubber.start();
    this.repair.start();
    const ready: ReadyFile = {
      peerId: this.peerId,
      multiaddrs: this.libp2p.getMultiaddrs().map((address) => address.toString()),
      apiUrl: this.#apiUrl,
      region: this.#region,
      pid: process.pid,
    };
    await writeFileAtomic(join(this.config.dataDir, 'ready.json'), JSON.stringify(ready));
    this.logger.info({ ...ready }, 'node started');
  }

  /** Graceful stop: refuse new requests, finish those in flight, close peers, flush the stores. */
  async stop(): Promise<void> {
    this.logger.info({}, 'node stopping');
    await rm(join(this.config.dataDir, 'ready.json'), { force: true });
    await this.#api?.close();
    await this.scrubber.stop();
    await this.repair.stop();
    this.membership.stop();
    await this.libp2p.stop();
    await this.manifests.close();
    await this.store.close();
    this.logger.info({}, 'node stopped');
  }

  /** Every storage node reachable now, this one included. */
  liveNodes(): NodeRef[] {
    const self: NodeRef = { id: this.peerId, region: this.#region ?? 'unknown' };
    return [
      self,
      ...this.membership.peers().map((peer) => ({ id: peer.id, region: peer.region ?? 'unknown' })),
    ];
  }

  async listObjects(
    limit = 1000,
  ): Promise<{ id: string; name?: string; size: number; createdAtMs: number }[]> {
    const ids = (await this.manifests.list()).slice(0, limit);
    const out = [];
    for (const id of ids) {
      const manifest = await this.manifests.get(id);
      out.push({
        id,
        ...(manifest.name === undefined ? {} : { name: manifest.name }),
        size: manifest.size,
        createdAtMs: manifest.createdAtMs,
      });
    }
    return out;
  }

  /** How many shards of each stripe are held intact right now, asked of every holder. */
  async objectHealth(
    id: string,
  ): Promise<{ id: string; minHealthy: number; stripes: { healthy: number; total: number }[] }> {
    const manifest = await this.objects.manifest(id);
    const live = new Set(this.liveNodes().map((node) => node.id));
    const asks = new Map<string, { stripe: number; hash: string }[]>();
    for (const [stripe, entry] of manifest.stripes.entries()) {
      for (const shard of entry.shards) {
        for (const holder of shard.holders) {
          if (!live.has(holder.nodeId)) continue;
          const list = asks.get(holder.nodeId) ?? [];
          list.push({ stripe, hash: shard.hash });
          asks.set(holder.nodeId, list);
        }
      }
    }
    const healthy = manifest.stripes.map(() => new Set<string>());
    const transfer = new ShardTransfer(this.peerId, this.store, this.rpc);
    await Promise.allSettled(
      [...asks].map(async ([node, list]) => {
        const held = await transfer.has(
          node,
          list.map((item) => fromHex(item.hash)),
        );
        list.forEach((item, i) => {
          if (held[i]) healthy[item.stripe]!.add(item.hash);
        });
      }),
    );
    const stripes = manifest.stripes.map((entry, i) => ({
      healthy: healthy[i]!.size,
      total: entry.shards.length,
    }));
    return { id, minHealthy: Math.min(...stripes.map((s) => s.healthy)), stripes };
  }

  status(): Record<string, unknown> {
    const stats = this.store.stats();
    return {
      nodeId: this.peerId,
      region: this.#region ?? null,
      apiUrl: this.#apiUrl,
      version: nodeVersion,
      multiaddrs: this.libp2p.getMultiaddrs().map((address) => address.toString()),
      connections: this.libp2p.getConnections().length,
      peers: this.membership.peers().map((peer) => ({
        id: peer.id,
        region: peer.region ?? null,
        apiUrl: peer.apiUrl ?? null,
        rttMs: peer.rttMs === undefined ? null : Math.round(peer.rttMs * 100) / 100,
      })),
      store: stats,
      bandwidth: this.bandwidth.totals(),
      scrub: { rounds: this.#scrubStats.rounds, corruptionsFound: this.#scrubStats.corruptionsFound },
      repair: this.repair.stats(),
    };
  }

  async #info(): Promise<NodeInfo> {
    const stats = this.store.stats();
    const peers = await Promise.all(
      this.membership
        .peers()
        .slice(0, 64)
        .map(async (peer) => {
          const stored = await this.libp2p.peerStore.get(toPeerId(peer.id)).catch(() => undefined);
          const addrs = (stored?.addresses ?? []).map((address) => address.multiaddr.toString()).slice(0, 8);
          return { id: peer.id, addrs };
        }),
    );
    return {
      peerId: this.peerId,
      ...(this.#region === undefined ? {} : { region: this.#region }),
      ...(this.#apiUrl === '' ? {} : { apiUrl: this.#apiUrl }),
      version: nodeVersion,
      capacityBytes: stats.capacityBytes,
      bytesUsed: stats.bytesUsed,
      peers,
    };
  }

  #rankByLatency(ids: readonly string[]): string[] {
    const self = this.peerId;
    const live = new Set(this.liveNodes().map((node) => node.id));
    const latency = (id: string) => (id === self ? -1 : (this.membership.get(id)?.rttMs ?? 1_000));
    return ids.filter((id) => live.has(id)).sort((a, b) => latency(a) - latency(b));
  }
}
