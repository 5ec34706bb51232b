import type { ShardStore } from '@trinity/storage';
import type { DataChannelStats } from '../../p2p/data-channel.js';
import type { TrinityLibp2p } from '../../p2p/network.js';
import { type ProtocolServer, toPeerId } from '../../p2p/rpc.js';
import { infoRequestSchema, type NodeInfo, PROTOCOLS } from '../../p2p/wire.js';
import type { Startable } from '../../startable.js';
import type { ErasureChoice } from '../health/erasure-health.js';
import type { LiveNodes, PeerList } from '../membership/membership.js';
import type { RebalanceStats } from '../rebalance/rebalance-service.js';
import type { RepairStats } from '../repair/repair-loop.js';
import type { ScrubStats } from '../scrub/scrub-service.js';
import type { TelemetrySnapshot, TelemetrySource } from '../telemetry/telemetry.js';
import type { TrafficMeter } from './traffic.js';

/** Peers named in one node-info reply, and addresses per peer. */
const infoPeersMax = 64;
const infoAddrsPerPeerMax = 8;

export interface StatusServiceInit {
  readonly version: string;
  /** The erasure codec's backend, shown in `trinity status`. */
  readonly codec: string;
}

export interface StatusServiceComponents {
  readonly network: Pick<TrinityLibp2p, 'peerId' | 'getMultiaddrs' | 'getConnections' | 'peerStore'>;
  readonly membership: PeerList & LiveNodes;
  readonly geography: {
    readonly region: string | undefined;
    reputation(peer: string): number;
    reputations(): number[];
  };
  readonly store: Pick<ShardStore, 'stats' | 'stagedTransactions'>;
  readonly traffic: Pick<TrafficMeter, 'totals'>;
  readonly scrub: { stats(): ScrubStats };
  readonly repair: { stats(): RepairStats };
  /** Shard moves (`rebalance.enabled`) and the erasure shape chosen from network health. */
  readonly rebalance?: { stats(): RebalanceStats };
  readonly erasure?: { lastChoice(): ErasureChoice | undefined };
  readonly tx: { readonly activeCount: number };
  readonly semantic: { readonly size: number } | undefined;
  /** Where this node's HTTP API and metrics endpoint answer (known once they listen). */
  readonly endpoints: { apiUrl(): string; metricsUrl(): string | undefined };
  readonly server: ProtocolServer;
  /** The data channel, when enabled: its address is advertised to peers. */
  readonly dataChannel?: { readonly address: string | undefined; stats(): DataChannelStats };
}

/** The status service's factory: `statusService(init)(components)`. */
export function statusService(
  init: StatusServiceInit,
): (components: StatusServiceComponents) => StatusService {
  return (components) => new StatusService(init, components);
}

/**
 * What this node says about itself: `trinity status` (HTTP), the node-info protocol its peers ask
 * (/trinity/info/1.0.0) and the snapshot the telemetry gauges are refreshed from.
 */
export class StatusService implements Startable, TelemetrySource {
  readonly #init: StatusServiceInit;
  readonly #c: StatusServiceComponents;

  constructor(init: StatusServiceInit, components: StatusServiceComponents) {
    this.#init = init;
    this.#c = components;
  }

  async start(): Promise<void> {
    await this.#c.server.handle(PROTOCOLS.info, infoRequestSchema, async () => ({
      value: await this.info(),
    }));
  }

  async stop(): Promise<void> {
    await this.#c.server.unhandle(PROTOCOLS.info);
  }

  get #peerId(): string {
    return this.#c.network.peerId.toString();
  }

  status(): Record<string, unknown> {
    const { network, membership, geography, store } = this.#c;
    return {
      nodeId: this.#peerId,
      region: geography.region ?? null,
      apiUrl: this.#c.endpoints.apiUrl(),
      metricsUrl: this.#c.endpoints.metricsUrl() ?? null,
      version: this.#init.version,
      codec: this.#init.codec,
      multiaddrs: network.getMultiaddrs().map((address) => address.toString()),
      connections: network.getConnections().length,
      dataChannel: this.#c.dataChannel?.stats() ?? null,
      peers: membership.peers().map((peer) => ({
        id: peer.id,
        region: peer.region ?? null,
        apiUrl: peer.apiUrl ?? null,
        rttMs: peer.rttMs === undefined ? null : Math.round(peer.rttMs * 100) / 100,
        reputation: Math.round(geography.reputation(peer.id) * 1000) / 1000,
      })),
      store: store.stats(),
      bandwidth: this.#c.traffic.totals(),
      scrub: { ...this.#c.scrub.stats() },
      repair: this.#c.repair.stats(),
      rebalance: this.#c.rebalance?.stats() ?? null,
      erasureChoice: this.#c.erasure?.lastChoice() ?? null,
      semantic: this.#c.semantic === undefined ? null : { indexed: this.#c.semantic.size },
      tx: {
        active: this.#c.tx.activeCount,
        stagedTransactions: store.stagedTransactions().length,
      },
    };
  }

  /** The reply to a peer's node-info request. */
  async info(): Promise<NodeInfo> {
    const { network, membership, geography } = this.#c;
    const stats = this.#c.store.stats();
    const peers = await Promise.all(
      membership
        .peers()
        .slice(0, infoPeersMax)
        .map(async (peer) => {
          const stored = await network.peerStore.get(toPeerId(peer.id)).catch(() => undefined);
          const addrs = (stored?.addresses ?? [])
            .map((address) => address.multiaddr.toString())
            .slice(0, infoAddrsPerPeerMax);
          return { id: peer.id, addrs };
        }),
    );
    const apiUrl = this.#c.endpoints.apiUrl();
    const dataChannel = this.#c.dataChannel?.address;
    return {
      peerId: this.#peerId,
      ...(geography.region === undefined ? {} : { region: geography.region }),
      ...(apiUrl === '' ? {} : { apiUrl }),
      ...(dataChannel === undefined ? {} : { dataChannel }),
      version: this.#init.version,
      capacityBytes: stats.capacityBytes,
      bytesUsed: stats.bytesUsed,
      peers,
    };
  }

  snapshot(): TelemetrySnapshot {
    const { network, membership, geography, store } = this.#c;
    const stats = store.stats();
    const regions = new Map<string, number>();
    for (const node of membership.liveNodes()) regions.set(node.region, (regions.get(node.region) ?? 0) + 1);
    return {
      peers: membership.peers().length,
      connections: network.getConnections().length,
      regions,
      shards: stats.shardCount,
      bytesUsed: stats.bytesUsed,
      bytesAvailable: stats.bytesAvailable,
      reputations: geography.reputations(),
      repairQueued: this.#c.repair.stats().queued,
    };
  }
}
