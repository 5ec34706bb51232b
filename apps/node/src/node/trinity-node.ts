import { join } from 'node:path';
import type { PrivateKey } from '@libp2p/interface';
import {
  type Clock,
  type Logger,
  type Random,
  randomBytes,
  randomSeed,
  SystemClock,
  seededRandom,
  toHex,
} from '@trinity/core';
import { defaultBackend } from '@trinity/erasure';
import { type NodeMetrics, PrometheusMetrics, registerTrinityMetrics } from '@trinity/metrics';
import { BandwidthLedger, ManifestStore, ShardStore } from '@trinity/storage';
import { FingerprintEncoder, serializeHypervector } from '@trinity/vsa';
import type { NodeConfig } from '../config/config.js';
import { nodeRoutes } from '../http/routes.js';
import { type ApiServer, apiServer } from '../http/server.js';
import { DataChannel } from '../p2p/data-channel.js';
import { createNetwork, type TrinityLibp2p } from '../p2p/network.js';
import { type NodeSigner, nodeSigner } from '../p2p/node-keys.js';
import { CircuitBreaker } from '../p2p/peer-guard.js';
import { ChannelledProtocolServer, Libp2pProtocolServer, peerLimiter, RpcClient } from '../p2p/rpc.js';
import { channelProtocols } from '../p2p/wire.js';
import { S3IndexHeadService } from '../s3/index-head-service.js';
import { type S3Service, s3Service } from '../s3/s3-service.js';
import { EconomicsMetrics } from '../services/economics/economics-metrics.js';
import { type EconomicsService, economicsService } from '../services/economics/economics-service.js';
import { type GcService, gcService } from '../services/gc/gc-service.js';
import { type Geography, geography } from '../services/geography/geography.js';
import { type ErasureHealth, erasureHealth } from '../services/health/erasure-health.js';
import {
  type ManifestDirectory,
  manifestDirectory,
  selectManifestRecord,
  validateManifestRecord,
} from '../services/manifests/manifest-service.js';
import { type Membership, membership } from '../services/membership/membership.js';
import { DecryptPool } from '../services/objects/decrypt-pool.js';
import { type ObjectService, objectService } from '../services/objects/object-service.js';
import { type PosService, posService } from '../services/pos/pos-service.js';
import { type RebalanceService, rebalanceService } from '../services/rebalance/rebalance-service.js';
import { type RepairLoop, repairLoop } from '../services/repair/repair-loop.js';
import { type ScrubService, scrubService } from '../services/scrub/scrub-service.js';
import {
  type SemanticService,
  semanticDims,
  semanticService,
} from '../services/semantic/semantic-service.js';
import { type ShardTransfer, StagingLedger, shardTransfer } from '../services/shards/shard-service.js';
import { type StatusService, statusService } from '../services/status/status-service.js';
import { TrafficMeter } from '../services/status/traffic.js';
import { type Telemetry, telemetry } from '../services/telemetry/telemetry.js';
import { type TxService, txService } from '../services/tx/tx-service.js';
import { type Startable, startAll, stopAll } from '../startable.js';
import { apiTokenPath } from '../stores/api-token.js';
import { lockDataDir } from '../stores/data-dir-lock.js';
import { EconomicsLog } from '../stores/economics-log.js';
import { loadOrCreateIdentity } from '../stores/identity.js';
import { loadOrCreateOwnerKey, type OwnerKey } from '../stores/owner-key.js';
import { ReadyFileStore } from '../stores/ready-file.js';
import { SemanticIndexFile } from '../stores/semantic-index-file.js';

export const nodeVersion = '0.1.0';

/** Daemon tunables that are not (yet) config: named here, in one place. */
const tunables = {
  /** Membership refresh while peers come and go, and the slowest it backs off to. */
  membershipRefreshMs: 2_000,
  membershipRefreshMaxMs: 30_000,
  /** One DHT lookup or publication of a manifest. */
  dhtTimeoutMs: 10_000,
  /** A shard read slower than this is hedged with a request to another holder. */
  hedgeAfterMs: 2_000,
  /** Ciphertext bytes one encrypted read has handed to a decryption worker and not yet taken back. */
  decryptInFlightBytes: 8 * 1024 * 1024,
} as const;

/** What the embedding process may swap in (tests, the simulator); everything else comes from config. */
export interface TrinityNodeOptions {
  readonly clock?: Clock;
  /** Source of transaction ids; default: the platform's CSPRNG. */
  readonly random?: Pick<Random, 'bytes'>;
  /** Test hook: kill this process at a named point of the protocol (see README). */
  readonly crashPoint?: string;
  /**
   * The built decryption worker (default: decrypt-worker.js beside the built daemon); a process
   * that runs the daemon from source (tests) points it at dist/decrypt-worker.js.
   */
  readonly decryptWorkerUrl?: URL;
}

/** The stores and the network a node is built on: opened before any service exists. */
interface Foundation {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly options: TrinityNodeOptions;
  readonly store: ShardStore;
  readonly manifests: ManifestStore;
  readonly libp2p: TrinityLibp2p;
  readonly signer: NodeSigner;
  /** The libp2p identity key: the data channel's certificates are bound to it. */
  readonly identity: PrivateKey;
  readonly owner: OwnerKey;
  readonly economicsLog: EconomicsLog;
  readonly unlock: () => Promise<void>;
}

/**
 * The composition root: one Trinity storage node. It opens the stores and the network, builds every
 * service from its factory (`service(init)(components)`), starts them in dependency order and stops
 * them in reverse. It holds no logic and answers no query: each service owns its data.
 */
export class TrinityNode {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly store: ShardStore;
  readonly manifests: ManifestStore;
  readonly libp2p: TrinityLibp2p;
  readonly metrics: NodeMetrics;
  readonly geography: Geography;
  readonly membership: Membership;
  /** Requests to peers over the node's control protocols (breaker, per-peer limit, timeouts). */
  readonly rpc: RpcClient;
  /** Erasure parameters for new puts from measured network health (`erasure.adaptive`). */
  readonly health: ErasureHealth;
  readonly transfer: ShardTransfer;
  /** Shards and the per-object protocols over TLS beside libp2p (`dataChannel.enabled`, `channelProtocols`). */
  readonly dataChannel: DataChannel | undefined;
  readonly directory: ManifestDirectory;
  readonly tx: TxService;
  readonly objects: ObjectService;
  /** Decrypts large encrypted reads on worker threads (`limits.decryptWorkers`). */
  readonly decryptPool: DecryptPool;
  readonly repair: RepairLoop;
  /** Moves shards onto joined nodes within a byte budget (`rebalance.enabled`). */
  readonly rebalance: RebalanceService;
  readonly scrub: ScrubService;
  readonly gc: GcService;
  /** Proof-of-storage: answers challenges for the shards held here and challenges other holders. */
  readonly pos: PosService;
  /** Stake, reputation, slashing and escrow (@trinity/economics): events gossiped, persisted, replayed. */
  readonly economics: EconomicsService;
  /** The semantic index and search, when the node runs with `--semantic`. */
  readonly semantic: SemanticService | undefined;
  readonly status: StatusService;
  readonly telemetry: Telemetry;
  readonly api: ApiServer;
  /** The S3-compatible gateway, when `s3.enabled` (`--s3-port`). */
  readonly s3: S3Service | undefined;
  /** Every node keeps the S3 index heads rendezvous hashing places on it (`s3.index: network`). */
  readonly s3Heads: S3IndexHeadService;
  /** The owner this node acts for (hex Ed25519 public key). */
  readonly owner: string;
  readonly #ready: ReadyFileStore;
  readonly #unlock: () => Promise<void>;
  readonly #economicsLog: EconomicsLog;
  readonly #network: Startable;
  #started = new Set<Startable>();
  #stopped = false;

  private constructor(f: Foundation) {
    ({ config: this.config, logger: this.logger, store: this.store, manifests: this.manifests } = f);
    this.libp2p = f.libp2p;
    this.#unlock = f.unlock;
    this.#economicsLog = f.economicsLog;
    this.#ready = new ReadyFileStore(f.config.dataDir);
    this.#network = { start: () => f.libp2p.start(), stop: () => f.libp2p.stop() };
    const { config, logger, store, manifests, libp2p } = f;
    const clock = (this.clock = f.options.clock ?? new SystemClock());
    const selfId = libp2p.peerId.toString();
    const random = f.options.random ?? { bytes: randomBytes };
    const log = (component: string) => logger.child({ component });

    const registry = new PrometheusMetrics();
    const m = (this.metrics = registerTrinityMetrics(registry));
    const traffic = new TrafficMeter({ ledger: new BandwidthLedger(), metrics: m, clock });

    const geo = (this.geography = geography({
      selfId,
      region: config.region,
      regionTopology: config.regionTopology,
      bestPerRegion: config.tx.bestPerRegion,
      ...config.erasure,
      routing: config.routing,
    })({
      logger: log('geography'),
      events: { onPlacementFallback: (rule) => m.placementFallbacks.inc(1, { rule }) },
    }));
    const health = (this.health = erasureHealth({
      selfId,
      dataShards: config.erasure.dataShards,
      parityShards: config.erasure.parityShards,
      adaptive: config.erasure.adaptive,
    })({
      nodes: { liveNodes: () => this.membership.liveNodes() },
      clock,
      logger: log('health'),
    }));
    const libp2pServer = new Libp2pProtocolServer(libp2p, {
      logger,
      clock,
      requestTimeoutMs: config.limits.requestTimeoutMs,
      peerInFlightMax: config.limits.peerInFlightMax,
      onTransfer: traffic.record,
    });
    const channel = (this.dataChannel = config.dataChannel.enabled
      ? new DataChannel(
          {
            host: config.dataChannel.host ?? config.listen.host,
            port: config.dataChannel.port,
            ...(config.dataChannel.announce === undefined ? {} : { announce: config.dataChannel.announce }),
            protocols: channelProtocols,
            peerInFlightBytesMax: config.dataChannel.peerInFlightBytesMax,
            nodeInFlightBytesMax: config.dataChannel.nodeInFlightBytesMax,
            connectionsPerPeerMax: config.limits.peerConcurrency,
          },
          {
            identity: f.identity,
            clock,
            logger: log('data-channel'),
            addressOf: (peer) => this.membership.get(peer)?.dataChannel,
            inFlight: libp2pServer.inFlight,
            onTransfer: traffic.record,
          },
        )
      : undefined);
    const server = new ChannelledProtocolServer(libp2pServer, channel);
    const rpc = (this.rpc = new RpcClient(
      { requestTimeoutMs: config.limits.requestTimeoutMs },
      {
        libp2p,
        breaker: new CircuitBreaker(config.breaker),
        limiter: peerLimiter(config.limits.peerConcurrency),
        clock,
        onTransfer: (peer, direction, bytes) => {
          traffic.record(peer, direction, bytes);
          // Bytes a peer served this node: its bandwidth evidence for reputation.
          if (direction === 'download') this.economics?.recordBandwidth(peer, bytes);
        },
        onOutcome: (peer, ok) => health.onOutcome(peer, ok),
        ...(channel === undefined ? {} : { channel }),
      },
    ));
    const peers = (this.membership = membership({
      bootstrap: config.bootstrap,
      refreshMs: tunables.membershipRefreshMs,
      maxRefreshMs: tunables.membershipRefreshMaxMs,
      peersMax: config.limits.maxConnections,
    })({
      network: libp2p,
      rpc,
      clock,
      logger: log('membership'),
      locality: geo,
      events: {
        onPeer: (record) => {
          geo.onPeer(record);
          health.onPeer(record.id);
          this.rebalance?.poke();
        },
        onPeerGone: (peer) => {
          geo.onPeerGone(peer);
          health.onPeerGone(peer);
          this.rebalance?.poke();
        },
        onRtt: (peer, rttMs, nowMs) => {
          geo.onRtt(peer, rttMs, nowMs);
          m.peerRttSeconds.observe(rttMs / 1000);
        },
      },
    }));
    const { signer, owner } = f;
    this.owner = owner.publicKey;
    const staging = new StagingLedger(config.trust.peerStagedBytesMax);
    const transfer = (this.transfer = shardTransfer({ selfId })({
      store,
      manifests,
      signer,
      staging,
      rpc,
      server,
      clock,
    }));
    const directory = (this.directory = manifestDirectory({
      selfId,
      dhtTimeoutMs: tunables.dhtTimeoutMs,
      tombstoneSyncMs: config.trust.tombstoneSyncMs,
      tombstoneCatchUpMs: config.trust.tombstoneCatchUpMs,
      hasBootstrap: config.bootstrap.length > 0,
    })({
      manifests,
      store,
      signer,
      staging,
      rpc,
      server,
      membership: peers,
      dht: libp2p.services.dht,
      clock,
      logger: log('manifests'),
    }));
    const { bestPerRegion: _placement, ...txConfig } = config.tx;
    const tx = (this.tx = txService({
      selfId,
      logPath: join(config.dataDir, 'tx.log'),
      config: txConfig,
      shardLocks: config.shardLocks,
      ...(f.options.crashPoint === undefined ? {} : { crashPoint: f.options.crashPoint }),
    })({
      store,
      manifests,
      staging,
      rpc,
      server,
      clock,
      logger: log('tx'),
      metrics: registry,
      crash: () => {
        process.kill(process.pid, 'SIGKILL');
        throw new Error('unreachable');
      },
    }));
    const repair = (this.repair = repairLoop({ selfId, ...config.repair })({
      manifests,
      directory,
      ready: () => directory.synced,
      transfer,
      nodes: peers,
      clock,
      logger: log('repair'),
      events: {
        onStripeRepaired: (shards, bytes, seconds) => {
          m.shardsRepaired.inc(shards);
          m.repairBytes.inc(bytes);
          m.repairDurationSeconds.observe(seconds);
        },
        onStripeFailed: () => m.repairFailures.inc(),
      },
    }));
    this.rebalance = rebalanceService({ selfId, ...config.rebalance })({
      manifests,
      directory,
      ready: () => directory.synced,
      transfer,
      nodes: peers,
      clock,
      logger: log('rebalance'),
      events: {
        onMoved: (move) => {
          m.rebalanceMoves.inc(1, { outcome: 'moved' });
          m.rebalanceBytesMoved.inc(move.bytes);
        },
        onCompensated: () => m.rebalanceMoves.inc(1, { outcome: 'compensated' }),
        onStuck: () => m.rebalanceMoves.inc(1, { outcome: 'stuck' }),
      },
    });
    this.decryptPool = new DecryptPool({
      workers: config.limits.decryptWorkers,
      inFlightBytesMax: tunables.decryptInFlightBytes,
      onBroken: (why) =>
        log('objects').warn({ why }, 'decryption worker unavailable: decrypting on the main thread'),
      ...(f.options.decryptWorkerUrl === undefined ? {} : { workerUrl: f.options.decryptWorkerUrl }),
    });
    this.objects = objectService({
      selfId,
      erasure: config.erasure,
      maxObjectBytes: config.limits.maxObjectBytes,
      maxStripesInFlight: config.limits.maxStripesInFlight,
      hedgeAfterMs: tunables.hedgeAfterMs,
      segmentBytes: config.trust.segmentBytes,
      tombstoneRetentionMs: config.trust.tombstoneRetentionMs,
      intentLifetimeMs: config.trust.intentLifetimeMs,
      leaseRenewMs: Math.max(500, Math.floor(config.tx.orphanTtlMs / 3)),
    })({
      store,
      transfer,
      directory,
      nodes: peers,
      placement: geo,
      erasurePolicy: health,
      transactions: tx,
      repairer: repair,
      fingerprint: plaintextFingerprint(),
      owner,
      random,
      clock,
      logger: log('objects'),
      decryptPool: { pool: this.decryptPool, minBytes: config.limits.decryptWorkerMinBytes },
      events: {
        onBadShard: (peer) => {
          m.fetchFailures.inc();
          health.onOutcome(peer, false);
        },
        onFetch: (peer, ok, latencyMs) => geo.onFetch(peer, ok, latencyMs, clock.nowMs()),
      },
    });
    const {
      escrow,
      posFailuresToSlash,
      posFailureWindowMs,
      voteUpholdReputationBelow,
      tickMs,
      antiEntropyMs,
      peerQueueEventsMax,
      uptimeReportMs,
      bandwidthReportMs,
      logBytesMax: _logBytesMax,
      ...network
    } = config.economics;
    const economicsMetrics = new EconomicsMetrics(m);
    this.economics = economicsService({
      network,
      escrow,
      posFailuresToSlash,
      posFailureWindowMs,
      voteUpholdReputationBelow,
      tickMs,
      antiEntropyMs,
      peerQueueEventsMax,
      uptimeReportMs,
      bandwidthReportMs,
    })({
      secretKey: f.signer.secretKey,
      log: f.economicsLog,
      rpc,
      server,
      membership: peers,
      clock,
      random: seededRandom(randomSeed()),
      logger: log('economics'),
      events: {
        onTick: (state, self) => economicsMetrics.update(state, self),
        onReputations: (scores, prior) => geo.setReputations(scores, prior),
      },
    });
    this.gc = gcService(config.gc)({
      store,
      manifests,
      clock,
      logger: log('gc'),
      events: {
        onSweep: (leakedBytes) => m.leakedShardBytes.set(leakedBytes),
        onCollected: (shards, bytes) => {
          m.gcShardsCollected.inc(shards);
          m.gcBytesCollected.inc(bytes);
        },
        onSkipped: () => m.gcSweepsSkipped.inc(),
      },
    });
    this.pos = posService({ selfId, ...config.pos })({
      store,
      manifests,
      signer,
      rpc,
      server,
      nodes: peers,
      random,
      clock,
      logger: log('pos'),
      // Each result becomes a signed `pos-result` event: reputation, and slash proposals with --escrow.
      posResults: this.economics,
      repairer: repair,
      // No metric events: trinity_pos_* are set from the economics state (every result is an event).
    });
    this.scrub = scrubService(config.scrub)({
      store,
      clock,
      logger: log('scrub'),
      events: {
        onCorruption: () => {
          m.scrubCorruptions.inc();
          repair.poke();
        },
        onRound: () => m.scrubRounds.inc(),
      },
    });
    this.semantic = config.semantic
      ? semanticService({
          selfId,
          dataShards: config.erasure.dataShards,
          shardBytes: config.erasure.shardBytes,
        })({
          store,
          manifests,
          membership: peers,
          rpc,
          server,
          indexFile: new SemanticIndexFile(join(config.dataDir, 'semantic.index'), semanticDims),
          clock,
          logger: log('semantic'),
        })
      : undefined;
    const api = (this.api = apiServer({
      ...config.api,
      tokenPath: apiTokenPath(config.dataDir, config.api.tokenFile),
    })({
      routes: nodeRoutes({
        maxObjectBytes: config.limits.maxObjectBytes,
        objects: this.objects,
        manifests: directory,
        status: { status: () => this.status.status() },
        semantic: this.semantic,
        economics: this.economics,
      }),
      clock,
      logger: log('http'),
    }));
    this.s3Heads = new S3IndexHeadService(
      config.dataDir,
      { selfId, rpc, server, nodes: peers, clock, logger: log('s3-heads') },
      { fsync: config.fsync },
    );
    this.s3 = config.s3.enabled
      ? s3Service({ config: config.s3, dataDir: config.dataDir, pieceTag: selfId.slice(-16) })({
          objects: this.objects,
          listing: directory,
          clock,
          logger: log('s3'),
          heads: this.s3Heads,
          ownerKey: f.owner,
        })
      : undefined;
    this.status = statusService({ version: nodeVersion, codec: defaultBackend() })({
      network: libp2p,
      membership: peers,
      geography: geo,
      store,
      traffic,
      scrub: this.scrub,
      repair,
      rebalance: this.rebalance,
      erasure: this.health,
      tx,
      semantic: this.semantic,
      endpoints: { apiUrl: () => api.url, metricsUrl: () => this.telemetry.url },
      server,
      ...(channel === undefined ? {} : { dataChannel: channel }),
    });
    this.telemetry = telemetry({ prometheus: config.prometheus })({
      registry,
      metrics: m,
      source: this.status,
      clock,
      logger,
    });
  }

  /** Opens the data directory (locked), the stores, the identity key and the network; then composes. */
  static async create(
    config: NodeConfig,
    logger: Logger,
    options: TrinityNodeOptions = {},
  ): Promise<TrinityNode> {
    const unlock = await lockDataDir(config.dataDir);
    let economicsLog: EconomicsLog | undefined;
    try {
      const store = await ShardStore.open(join(config.dataDir, 'shards'), {
        capacityBytes: config.capacityBytes,
        fsync: config.fsync,
        // A large put stages one shard per stripe on each holder (1 GiB: about 256 on each of six
        // nodes); what bounds a peer's staging is trust.peerStagedBytesMax, not a shard count.
        maxShardsPerTransaction: 4096,
      });
      const manifests = await ManifestStore.open(join(config.dataDir, 'manifests'), { fsync: config.fsync });
      const privateKey = await loadOrCreateIdentity(config.dataDir);
      const owner = await loadOrCreateOwnerKey(
        config.trust.ownerKeyFile ?? join(config.dataDir, 'owner.key'),
      );
      const libp2p = await createNetwork({
        privateKey,
        host: config.listen.host,
        port: config.listen.port,
        maxConnections: config.limits.maxConnections,
        validateRecord: validateManifestRecord,
        selectRecord: selectManifestRecord,
      });
      const signer = nodeSigner(privateKey, libp2p.peerId.toString());
      economicsLog = await EconomicsLog.open(join(config.dataDir, 'economics.log'), {
        sizeBytesMax: config.economics.logBytesMax,
        recordsMax: config.economics.eventsMax,
        fsync: config.fsync,
      });
      if (economicsLog.recovery.truncatedBytes > 0)
        logger.warn({ bytes: economicsLog.recovery.truncatedBytes }, 'economics log: torn tail cut off');
      return new TrinityNode({
        config,
        logger,
        options,
        store,
        manifests,
        libp2p,
        signer,
        identity: privateKey,
        owner,
        economicsLog,
        unlock,
      });
    } catch (error) {
      await economicsLog?.close();
      await unlock();
      throw error;
    }
  }

  get peerId(): string {
    return this.libp2p.peerId.toString();
  }

  get apiUrl(): string {
    return this.api.url;
  }

  get region(): string | undefined {
    return this.geography.region;
  }

  /**
   * Starts every part in dependency order: protocol handlers before the network, the network before
   * the parts that dial, the API and background loops last. A part that fails stops those started.
   */
  async start(): Promise<void> {
    const order: Startable[] = [
      this.health,
      ...(this.dataChannel === undefined ? [] : [this.dataChannel]),
      this.transfer,
      this.directory,
      this.tx,
      this.decryptPool,
      this.economics,
      this.status,
      ...(this.semantic === undefined ? [] : [this.semantic]),
      this.s3Heads,
      this.#network,
      this.api,
      ...(this.s3 === undefined ? [] : [this.s3]),
      this.telemetry,
      this.membership,
      this.scrub,
      this.repair,
      this.rebalance,
      this.gc,
      this.pos,
    ];
    await startAll(order);
    this.#started = new Set(order);
    const ready = {
      peerId: this.peerId,
      multiaddrs: this.libp2p.getMultiaddrs().map((address) => address.toString()),
      ...(this.dataChannel?.address === undefined ? {} : { dataChannel: this.dataChannel.address }),
      apiUrl: this.api.url,
      metricsUrl: this.telemetry.url,
      ...(this.s3 === undefined ? {} : { s3Url: this.s3.url }),
      region: this.region,
      pid: process.pid,
    };
    await this.#ready.write(ready);
    this.logger.info({ ...ready }, 'node started');
  }

  /** Graceful stop: refuse new requests, finish those in flight, close peers, flush the stores. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.logger.info({}, 'node stopping');
    await this.#ready.remove();
    // The API first (it drains requests in flight), then the loops and transactions, the protocol
    // handlers, the network last. stopAll stops in reverse, so the list is written last-to-stop first.
    const order: Startable[] = [
      this.#network,
      this.health,
      ...(this.dataChannel === undefined ? [] : [this.dataChannel]),
      this.transfer,
      this.directory,
      this.economics,
      this.status,
      this.telemetry,
      this.membership,
      ...(this.semantic === undefined ? [] : [this.semantic]),
      this.s3Heads,
      this.tx,
      this.decryptPool,
      this.rebalance,
      this.gc,
      this.pos,
      this.repair,
      this.scrub,
      this.api,
      ...(this.s3 === undefined ? [] : [this.s3]),
    ];
    try {
      await stopAll(order.filter((part) => this.#started.has(part)));
    } finally {
      this.#started.clear();
      await this.#economicsLog.close();
      await this.manifests.close();
      await this.store.close();
      await this.#unlock();
    }
    this.logger.info({}, 'node stopped');
  }
}

/** Fingerprints of plaintext as every node's semantic index compares them (made on the owner's side). */
function plaintextFingerprint(): (data: Uint8Array) => string {
  let encoder: FingerprintEncoder | undefined;
  return (data) => {
    encoder ??= new FingerprintEncoder({ dims: semanticDims });
    return toHex(serializeHypervector(encoder.encode(data)));
  };
}
