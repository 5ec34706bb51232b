import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, type Logger, randomBytes, SystemClock, toHex } from '@trinity/core';
import { defaultBackend } from '@trinity/erasure';
import { BandwidthLedger, ManifestStore, Scrubber, ShardStore } from '@trinity/storage';
import { z } from 'zod';
import type { NodeConfig } from '../config/config.js';
import { ShuttingDownError } from '../errors.js';
import { writeFileAtomic } from '../fs-util.js';
import { nodeRoutes } from '../http/routes.js';
import { ApiServer } from '../http/server.js';
import { createNetwork, type TrinityLibp2p } from '../p2p/network.js';
import { CircuitBreaker, KeyedLimiter } from '../p2p/peer-guard.js';
import { RpcClient, serveProtocol, type TransferDirection, toPeerId } from '../p2p/rpc.js';
import {
  infoRequestSchema,
  manifestRequestSchema,
  type NodeInfo,
  PROTOCOLS,
  shardRequestSchema,
} from '../p2p/wire.js';
import { Geography } from '../services/geography/geography.js';
import type { NodeRef } from '../services/geography/placement.js';
import {
  ManifestDirectory,
  manifestHandler,
  selectManifestRecord,
  validateManifestRecord,
} from '../services/manifests/manifest-service.js';
import { Membership } from '../services/membership/membership.js';
import { ObjectService } from '../services/objects/object-service.js';
import { RepairLoop } from '../services/repair/repair-loop.js';
import { SemanticService, semanticRequestSchema } from '../services/semantic/semantic-service.js';
import { ShardTransfer, shardHandler } from '../services/shards/shard-service.js';
import { Telemetry, type TelemetrySnapshot } from '../services/telemetry/telemetry.js';
import { TxService } from '../services/tx/tx-service.js';
import { lockDataDir } from '../stores/data-dir-lock.js';
import { loadOrCreateIdentity } from '../stores/identity.js';

export const nodeVersion = '0.1.0';

/** What a started node writes to `<dataDir>/ready.json` (and removes on a clean stop). */
export interface ReadyFile {
  readonly peerId: string;
  readonly multiaddrs: string[];
  readonly apiUrl: string;
  readonly metricsUrl: string | undefined;
  readonly region: string | undefined;
  readonly pid: number;
}

interface NodeParts {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly store: ShardStore;
  readonly manifests: ManifestStore;
  readonly libp2p: TrinityLibp2p;
  readonly unlock: () => Promise<void>;
}

/**
 * One Trinity storage node: the shard and manifest stores on disk, libp2p networking, the wire
 * protocols, region-aware placement and routing, the object service (put/get/delete), the HTTP API,
 * scrubbing, repair and metrics. Create, start, then stop.
 */
export class TrinityNode {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly clock: Clock = new SystemClock();
  readonly store: ShardStore;
  readonly manifests: ManifestStore;
  readonly libp2p: TrinityLibp2p;
  readonly telemetry = new Telemetry();
  readonly bandwidth = new BandwidthLedger();
  readonly geography: Geography;
  readonly rpc: RpcClient;
  readonly membership: Membership;
  readonly transfer: ShardTransfer;
  readonly directory: ManifestDirectory;
  readonly objects: ObjectService;
  readonly repair: RepairLoop;
  readonly scrubber: Scrubber;
  readonly #scrub = { rounds: 0, corruptionsFound: 0 };
  /** The semantic index and search, when the node runs with `--semantic`. */
  readonly semantic: SemanticService | undefined;
  #api: ApiServer | undefined;
  #tx: TxService | undefined;
  #apiUrl = '';
  #metricsUrl: string | undefined;
  readonly #unlock: () => Promise<void>;

  private constructor(parts: NodeParts) {
    ({
      config: this.config,
      logger: this.logger,
      store: this.store,
      manifests: this.manifests,
      libp2p: this.libp2p,
    } = parts);
    this.#unlock = parts.unlock;
    const selfId = this.peerId;
    const m = this.telemetry.metrics;
    this.geography = new Geography({
      selfId,
      region: this.config.region,
      regionTopology: this.config.regionTopology,
      ...this.config.erasure,
      logger: this.logger.child({ component: 'geography' }),
      onPlacementFallback: (rule) => m.placementFallbacks.inc(1, { rule }),
    });
    this.rpc = new RpcClient({
      libp2p: this.libp2p,
      breaker: new CircuitBreaker(this.config.breaker),
      limiter: new KeyedLimiter(this.config.limits.peerConcurrency),
      clock: this.clock,
      requestTimeoutMs: this.config.limits.requestTimeoutMs,
      onTransfer: (peer, direction, bytes) => this.#onTransfer(peer, direction, bytes),
      onOutcome: (peer, ok) => this.geography.onOutcome(peer, ok),
    });
    this.membership = new Membership({
      libp2p: this.libp2p,
      rpc: this.rpc,
      clock: this.clock,
      logger: this.logger.child({ component: 'membership' }),
      bootstrap: this.config.bootstrap,
      refreshMs: 2_000,
      maxRefreshMs: 30_000,
      peersMax: this.config.limits.maxConnections,
      onPeer: (record) => this.geography.onPeer(record),
      onPeerGone: (peer) => this.geography.onPeerGone(peer),
      onRtt: (peer, rttMs, nowMs) => {
        this.geography.onRtt(peer, rttMs, nowMs);
        m.peerRttSeconds.observe(rttMs / 1000);
      },
    });
    this.transfer = new ShardTransfer(selfId, this.store, this.manifests, this.rpc);
    this.directory = new ManifestDirectory({
      selfId,
      manifests: this.manifests,
      rpc: this.rpc,
      membership: this.membership,
      libp2p: this.libp2p,
      logger: this.logger.child({ component: 'manifests' }),
      dataDir: this.config.dataDir,
      dhtTimeoutMs: 10_000,
    });
    this.objects = new ObjectService({
      selfId,
      store: this.store,
      transfer: this.transfer,
      directory: this.directory,
      clock: this.clock,
      logger: this.logger.child({ component: 'objects' }),
      erasure: this.config.erasure,
      maxObjectBytes: this.config.limits.maxObjectBytes,
      maxStripesInFlight: this.config.limits.maxStripesInFlight,
      liveNodes: () => this.liveNodes(),
      place: (uploadKey, stripeIndex, count, nodes) =>
        this.geography.place(uploadKey, stripeIndex, count, nodes),
      rankHolders: (ids) => this.geography.rank(ids),
      newTxId: () => toHex(randomBytes(16)),
      execute: (txId, participants) => {
        if (this.#tx === undefined) throw new ShuttingDownError();
        // Resolve at the durable decision: a holder that goes away after voting must not hang the put;
        // ObjectService then waits (bounded) for the holders to show their shards.
        return this.#tx.engine.execute(participants, { txId, awaitAcks: false });
      },
      onBadShard: (peer) => {
        m.fetchFailures.inc();
        this.geography.onOutcome(peer, false);
      },
      hedgeAfterMs: 2_000,
    });
    this.repair = new RepairLoop({
      selfId,
      manifests: this.manifests,
      directory: this.directory,
      transfer: this.transfer,
      liveNodes: () => this.liveNodes(),
      clock: this.clock,
      logger: this.logger.child({ component: 'repair' }),
      config: this.config.repair,
      onStripeRepaired: (shards, bytes, seconds) => {
        m.shardsRepaired.inc(shards);
        m.repairBytes.inc(bytes);
        m.repairDurationSeconds.observe(seconds);
      },
      onStripeFailed: () => m.repairFailures.inc(),
    });
    this.semantic = this.config.semantic
      ? new SemanticService({
          selfId,
          dataDir: this.config.dataDir,
          store: this.store,
          manifests: this.manifests,
          membership: this.membership,
          rpc: this.rpc,
          logger: this.logger.child({ component: 'semantic' }),
          dataShards: this.config.erasure.dataShards,
          shardBytes: this.config.erasure.shardBytes,
        })
      : undefined;
    this.scrubber = new Scrubber(this.store, this.config.scrub, {
      clock: this.clock,
      logger: this.logger.child({ component: 'scrub' }),
      onCorruption: () => {
        this.#scrub.corruptionsFound++;
        m.scrubCorruptions.inc();
        this.repair.poke();
      },
      onReport: () => {
        this.#scrub.rounds++;
        m.scrubRounds.inc();
      },
    });
  }

  static async create(config: NodeConfig, logger: Logger): Promise<TrinityNode> {
    const unlock = await lockDataDir(config.dataDir);
    try {
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
      return new TrinityNode({ config, logger, store, manifests, libp2p, unlock });
    } catch (error) {
      await unlock();
      throw error;
    }
  }

  get peerId(): string {
    return this.libp2p.peerId.toString();
  }

  get apiUrl(): string {
    return this.#apiUrl;
  }

  get region(): string | undefined {
    return this.geography.region;
  }

  async start(): Promise<void> {
    const serveOptions = {
      logger: this.logger,
      requestTimeoutMs: this.config.limits.requestTimeoutMs,
      onTransfer: (peer: string, direction: TransferDirection, bytes: number) =>
        this.#onTransfer(peer, direction, bytes),
    };
    await serveProtocol(
      this.libp2p,
      PROTOCOLS.shard,
      shardRequestSchema,
      shardHandler(this.store, this.manifests),
      serveOptions,
    );
    await serveProtocol(
      this.libp2p,
      PROTOCOLS.manifest,
      manifestRequestSchema,
      manifestHandler(this.manifests, this.config.dataDir),
      serveOptions,
    );
    this.#tx = await TxService.open({
      selfId: this.peerId,
      dataDir: this.config.dataDir,
      store: this.store,
      manifests: this.manifests,
      rpc: this.rpc,
      clock: this.clock,
      logger: this.logger.child({ component: 'tx' }),
      metrics: this.telemetry.prometheus,
      config: this.config.tx,
      ...(process.env.TRINITY_CRASH_POINT ? { crashPoint: process.env.TRINITY_CRASH_POINT } : {}),
    });
    await serveProtocol(this.libp2p, PROTOCOLS.tx, z.unknown(), this.#tx.handler(), serveOptions);
    if (this.semantic !== undefined) {
      await serveProtocol(
        this.libp2p,
        PROTOCOLS.semantic,
        semanticRequestSchema,
        this.semantic.handler(),
        serveOptions,
      );
    }
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
    this.#metricsUrl = await this.telemetry.start(
      this.config.prometheus,
      () => this.#snapshot(),
      this.logger,
    );
    await this.membership.start();
    this.scrubber.start();
    this.repair.start();
    this.#tx.start();
    await this.semantic?.start();
    const ready: ReadyFile = {
      peerId: this.peerId,
      multiaddrs: this.libp2p.getMultiaddrs().map((address) => address.toString()),
      apiUrl: this.#apiUrl,
      metricsUrl: this.#metricsUrl,
      region: this.region,
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
    await this.#tx?.close();
    await this.semantic?.stop();
    this.membership.stop();
    await this.telemetry.stop();
    await this.libp2p.stop();
    await this.manifests.close();
    await this.store.close();
    await this.#unlock();
    this.logger.info({}, 'node stopped');
  }

  /** Every storage node reachable now, this one included. */
  liveNodes(): NodeRef[] {
    const self: NodeRef = { id: this.peerId, region: this.region ?? 'unknown' };
    return [
      self,
      ...this.membership.peers().map((peer) => ({ id: peer.id, region: peer.region ?? 'unknown' })),
    ];
  }

  async listObjects(
    limit = 1000,
  ): Promise<{ id: string; name?: string; size: number; createdAtMs: number }[]> {
    const out = [];
    for (const id of (await this.manifests.list()).slice(0, limit)) {
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

  /** How many shards of each stripe are held intact right now, asked of every live holder. */
  async objectHealth(
    id: string,
  ): Promise<{ id: string; minHealthy: number; stripes: { healthy: number; total: number }[] }> {
    const manifest = await this.objects.manifest(id);
    const live = new Set(this.liveNodes().map((node) => node.id));
    const held = await this.transfer.heldCopies(manifest, (node) => live.has(node));
    // Counted per shard index: a stripe of a small object can hold the same (padding) shard twice.
    const healthy = manifest.stripes.map(
      (entry) =>
        entry.shards.filter((shard) =>
          shard.holders.some((holder) => held.has(`${holder.nodeId} ${shard.hash}`)),
        ).length,
    );
    const stripes = manifest.stripes.map((entry, i) => ({
      healthy: healthy[i]!,
      total: entry.shards.length,
    }));
    return { id, minHealthy: stripes.length === 0 ? 0 : Math.min(...stripes.map((s) => s.healthy)), stripes };
  }

  status(): Record<string, unknown> {
    return {
      nodeId: this.peerId,
      region: this.region ?? null,
      apiUrl: this.#apiUrl,
      metricsUrl: this.#metricsUrl ?? null,
      version: nodeVersion,
      codec: defaultBackend(),
      multiaddrs: this.libp2p.getMultiaddrs().map((address) => address.toString()),
      connections: this.libp2p.getConnections().length,
      peers: this.membership.peers().map((peer) => ({
        id: peer.id,
        region: peer.region ?? null,
        apiUrl: peer.apiUrl ?? null,
        rttMs: peer.rttMs === undefined ? null : Math.round(peer.rttMs * 100) / 100,
        reputation: Math.round(this.geography.reputation(peer.id) * 1000) / 1000,
      })),
      store: this.store.stats(),
      bandwidth: this.bandwidth.totals(),
      scrub: { ...this.#scrub },
      repair: this.repair.stats(),
      semantic: this.semantic === undefined ? null : { indexed: this.semantic.size },
      tx: {
        active: this.#tx?.engine.activeCount ?? 0,
        stagedTransactions: this.store.stagedTransactions().length,
      },
    };
  }

  #onTransfer(peer: string, direction: TransferDirection, bytes: number): void {
    const nowMs = this.clock.nowMs();
    if (direction === 'upload') {
      this.bandwidth.recordUpload(peer, bytes, nowMs);
      this.telemetry.metrics.bandwidthUploadBytes.inc(bytes);
    } else {
      this.bandwidth.recordDownload(peer, bytes, nowMs);
      this.telemetry.metrics.bandwidthDownloadBytes.inc(bytes);
    }
  }

  #snapshot(): TelemetrySnapshot {
    const stats = this.store.stats();
    const regions = new Map<string, number>();
    for (const node of this.liveNodes()) regions.set(node.region, (regions.get(node.region) ?? 0) + 1);
    return {
      peers: this.membership.peers().length,
      connections: this.libp2p.getConnections().length,
      regions,
      shards: stats.shardCount,
      bytesUsed: stats.bytesUsed,
      bytesAvailable: stats.bytesAvailable,
      reputations: this.geography.reputations(),
      repairQueued: this.repair.stats().queued,
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
      ...(this.region === undefined ? {} : { region: this.region }),
      ...(this.#apiUrl === '' ? {} : { apiUrl: this.#apiUrl }),
      version: nodeVersion,
      capacityBytes: stats.capacityBytes,
      bytesUsed: stats.bytesUsed,
      peers,
    };
  }
}
