import type { Multiaddr } from '@multiformats/multiaddr';
import { multiaddr } from '@multiformats/multiaddr';
import type { Clock, Logger } from '@trinity/core';
import type { TrinityLibp2p } from '../../p2p/network.js';
import { type RpcClient, toPeerId } from '../../p2p/rpc.js';
import { type NodeInfo, nodeInfoSchema, PROTOCOLS } from '../../p2p/wire.js';

/** What this node knows of another storage node. */
export interface PeerRecord {
  readonly id: string;
  region: string | undefined;
  apiUrl: string | undefined;
  capacityBytes: number;
  bytesUsed: number;
  version: string;
  lastSeenMs: number;
  /** Exponential moving average of ping round trips; undefined until measured. */
  rttMs: number | undefined;
}

export interface MembershipOptions {
  readonly libp2p: TrinityLibp2p;
  readonly rpc: RpcClient;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly bootstrap: readonly string[];
  /** How often peers are re-asked for their info and pinged while membership changes. */
  readonly refreshMs: number;
  /**
   * The refresh interval doubles after every round in which nothing changed, up to this (default:
   * refreshMs). Every round costs two streams per peer on every node, which a busy node feels.
   */
  readonly maxRefreshMs?: number;
  /** Most storage peers remembered. */
  readonly peersMax: number;
  /** Called with every fresh RTT measurement. */
  readonly onRtt?: (peer: string, rttMs: number, nowMs: number) => void;
  /** Called when a peer's record changes (new peer, region learned). */
  readonly onPeer?: (record: PeerRecord) => void;
  readonly onPeerGone?: (peer: string) => void;
}

const rttSmoothing = 0.3;

/**
 * Finds and tracks the other storage nodes: dials bootstrap addresses, asks every connected peer
 * for its node info (region, API address, capacity, and some of the peers it knows, which are then
 * dialled: peer exchange), pings them for latency, and forgets those that disconnect.
 */
export class Membership {
  readonly #options: MembershipOptions;
  readonly #peers = new Map<string, PeerRecord>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refreshing = false;
  #stopped = false;
  #intervalMs = 0;
  /** Set when a peer appears, leaves or changes region: the next rounds come quickly again. */
  #changed = false;
  /** Peers being asked right now: one exchange per peer at a time, whatever triggered it. */
  readonly #learning = new Set<string>();

  constructor(options: MembershipOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const { libp2p } = this.#options;
    libp2p.addEventListener('peer:disconnect', (event) => {
      const id = event.detail.toString();
      this.#onChange();
      if (this.#peers.delete(id)) this.#options.onPeerGone?.(id);
    });
    libp2p.addEventListener('peer:identify', (event) => {
      if (event.detail.protocols.includes(PROTOCOLS.info)) void this.#learn(event.detail.peerId.toString());
    });
    await this.#dialBootstrap();
    this.#intervalMs = this.#options.refreshMs;
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#changed = false;
      void this.refresh().finally(() => {
        const { refreshMs, maxRefreshMs = refreshMs } = this.#options;
        this.#intervalMs = this.#changed ? refreshMs : Math.min(maxRefreshMs, this.#intervalMs * 2);
        this.#schedule();
      });
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Membership moved: refresh at the fast rate again (from the next round on). */
  #onChange(): void {
    this.#changed = true;
    // Only a round still waiting is brought forward; one running now reschedules itself when done.
    if (this.#intervalMs > this.#options.refreshMs && this.#timer !== undefined) {
      this.#intervalMs = this.#options.refreshMs;
      clearTimeout(this.#timer);
      this.#schedule();
    }
  }

  /** Live storage peers (connected and answering), not including this node. */
  peers(): PeerRecord[] {
    return [...this.#peers.values()];
  }

  get(id: string): PeerRecord | undefined {
    return this.#peers.get(id);
  }

  /** One round: re-dial bootstrap if alone, refresh every connected storage peer's info and RTT. */
  async refresh(): Promise<void> {
    if (this.#refreshing) return;
    this.#refreshing = true;
    try {
      if (this.#options.libp2p.getConnections().length === 0) await this.#dialBootstrap();
      const connected = new Set(this.#options.libp2p.getPeers().map((peer) => peer.toString()));
      for (const id of [...this.#peers.keys()]) {
        if (!connected.has(id) && this.#peers.delete(id)) {
          this.#changed = true;
          this.#options.onPeerGone?.(id);
        }
      }
      if (connected.size !== this.#peers.size) this.#changed = true; // someone is not known yet
      await Promise.allSettled([...connected].map((id) => this.#learn(id)));
    } finally {
      this.#refreshing = false;
    }
  }

  async #dialBootstrap(): Promise<void> {
    const { libp2p, logger } = this.#options;
    await Promise.allSettled(
      this.#options.bootstrap.map(async (address) => {
        let target: Multiaddr;
        try {
          target = multiaddr(address);
        } catch {
          logger.warn({ address }, 'ignoring a bootstrap address that is not a multiaddr');
          return;
        }
        if (target.getComponents().some((c) => c.name === 'p2p' && c.value === libp2p.peerId.toString()))
          return;
        await libp2p.dial(target, { signal: AbortSignal.timeout(5_000) }).catch((error: Error) => {
          logger.debug({ address, err: error.message }, 'bootstrap dial failed');
        });
      }),
    );
  }

  async #learn(id: string): Promise<void> {
    if (this.#learning.has(id)) return;
    this.#learning.add(id);
    try {
      await this.#learnOnce(id);
    } finally {
      this.#learning.delete(id);
    }
  }

  async #learnOnce(id: string): Promise<void> {
    const { rpc, clock } = this.#options;
    let info: NodeInfo;
    try {
      const reply = await rpc.call(id, PROTOCOLS.info, { op: 'info' }, undefined, { timeoutMs: 5_000 });
      info = nodeInfoSchema.parse(reply.value);
    } catch {
      return; // not a Trinity node, or unreachable: the breaker keeps count
    }
    if (info.peerId !== id) return;
    const nowMs = clock.nowMs();
    const known = this.#peers.get(id);
    const record: PeerRecord = known ?? {
      id,
      region: undefined,
      apiUrl: undefined,
      capacityBytes: 0,
      bytesUsed: 0,
      version: info.version,
      lastSeenMs: nowMs,
      rttMs: undefined,
    };
    const regionChanged = record.region !== info.region;
    Object.assign(record, {
      region: info.region,
      apiUrl: info.apiUrl,
      capacityBytes: info.capacityBytes,
      bytesUsed: info.bytesUsed,
      version: info.version,
      lastSeenMs: nowMs,
    });
    if (known === undefined && this.#peers.size >= this.#options.peersMax) return;
    this.#peers.set(id, record);
    if (known === undefined || regionChanged) {
      this.#onChange();
      this.#options.onPeer?.(record);
    }
    await this.#exchange(info);
    await this.#ping(record);
  }

  async #ping(record: PeerRecord): Promise<void> {
    try {
      const rttMs = await this.#options.libp2p.services.ping.ping(toPeerId(record.id), {
        signal: AbortSignal.timeout(5_000),
      });
      record.rttMs =
        record.rttMs === undefined ? rttMs : record.rttMs + rttSmoothing * (rttMs - record.rttMs);
      this.#options.onRtt?.(record.id, rttMs, this.#options.clock.nowMs());
    } catch {
      // an unanswered ping leaves the previous estimate; disconnects are handled by the event
    }
  }

  async #exchange(info: NodeInfo): Promise<void> {
    const { libp2p } = this.#options;
    const self = libp2p.peerId.toString();
    const connected = new Set(libp2p.getPeers().map((peer) => peer.toString()));
    for (const peer of info.peers) {
      if (peer.id === self || connected.has(peer.id)) continue;
      if (libp2p.getConnections().length >= this.#options.peersMax) return;
      for (const address of peer.addrs) {
        try {
          await libp2p.dial(multiaddr(`${address}/p2p/${peer.id}`), { signal: AbortSignal.timeout(5_000) });
          break;
        } catch {
          // try the next address
        }
      }
    }
  }
}
