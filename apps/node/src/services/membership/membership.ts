import type { Multiaddr } from '@multiformats/multiaddr';
import { multiaddr } from '@multiformats/multiaddr';
import type { Clock, Logger, TimerHandle } from '@trinity/core';
import type { TrinityLibp2p } from '../../p2p/network.js';
import { type PeerRpc, toPeerId } from '../../p2p/rpc.js';
import { type NodeInfo, nodeInfoSchema, PROTOCOLS } from '../../p2p/wire.js';
import type { Startable } from '../../startable.js';
import { withTimeout } from '../../timers.js';
import type { NodeRef } from '../geography/placement.js';

/** What this node knows of another storage node. */
export interface PeerRecord {
  readonly id: string;
  region: string | undefined;
  apiUrl: string | undefined;
  /** Its data channel's "host:port", as it advertises it. */
  dataChannel: string | undefined;
  capacityBytes: number;
  bytesUsed: number;
  version: string;
  lastSeenMs: number;
  /** Exponential moving average of ping round trips; undefined until measured. */
  rttMs: number | undefined;
  /**
   * The storage peers it listed in its last node info (its own membership, at most 64 of them): the
   * peers it pushes its own gossip to itself. Empty until it answered.
   */
  reportedPeers: ReadonlySet<string>;
}

export interface MembershipInit {
  readonly bootstrap: readonly string[];
  /** How often peers are re-asked for their info (and their RTT taken) while membership changes. */
  readonly refreshMs: number;
  /**
   * The refresh interval doubles after every round in which nothing changed, up to this (default:
   * refreshMs). Every round costs two streams per peer on every node, which a busy node feels.
   */
  readonly maxRefreshMs?: number;
  /** Most storage peers remembered. */
  readonly peersMax: number;
  /** One dial, info request or ping. */
  readonly peerTimeoutMs?: number;
}

/** The part of libp2p membership uses. */
export type MembershipNetwork = Pick<
  TrinityLibp2p,
  'peerId' | 'addEventListener' | 'removeEventListener' | 'getConnections' | 'getPeers' | 'dial'
> & { readonly services: { readonly ping: Pick<TrinityLibp2p['services']['ping'], 'ping'> } };

/** Told of every membership change (geography, metrics). */
export interface PeerEvents {
  /** Called with every fresh RTT measurement. */
  onRtt?(peer: string, rttMs: number, nowMs: number): void;
  /** Called when a peer's record changes (new peer, region learned). */
  onPeer?(record: PeerRecord): void;
  onPeerGone?(peer: string): void;
}

export interface MembershipComponents {
  readonly network: MembershipNetwork;
  readonly rpc: PeerRpc;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This node's region as known now (configured or detected). */
  readonly locality: { readonly region: string | undefined };
  readonly events?: PeerEvents;
}

/** The storage peers known now: what other services get as their `membership` component. */
export interface PeerList {
  peers(): PeerRecord[];
}

/** Every storage node reachable now, this one included. */
export interface LiveNodes {
  liveNodes(): NodeRef[];
}

/** The membership service's factory: `membership(init)(components)`. */
export function membership(init: MembershipInit): (components: MembershipComponents) => Membership {
  return (components) => new Membership(init, components);
}

const rttSmoothing = 0.3;

/**
 * Finds and tracks the other storage nodes: dials bootstrap addresses, asks every connected peer
 * for its node info (region, API address, capacity, and some of the peers it knows, which are then
 * dialled: peer exchange), keeps their round-trip times, and forgets those that disconnect.
 */
export class Membership implements Startable, PeerList, LiveNodes {
  readonly #options: MembershipInit;
  readonly #c: MembershipComponents;
  readonly #peers = new Map<string, PeerRecord>();
  #timer: TimerHandle | undefined;
  #refreshing = false;
  #stopped = false;
  #intervalMs = 0;
  /** Set when a peer appears, leaves or changes region: the next rounds come quickly again. */
  #changed = false;
  /** Peers being asked right now: one exchange per peer at a time, whatever triggered it. */
  readonly #learning = new Set<string>();

  readonly #onDisconnect = (event: CustomEvent<{ toString(): string }>) => {
    const id = event.detail.toString();
    this.#onChange();
    if (this.#peers.delete(id)) this.#c.events?.onPeerGone?.(id);
  };
  readonly #onIdentify = (event: CustomEvent<{ protocols: string[]; peerId: { toString(): string } }>) => {
    if (event.detail.protocols.includes(PROTOCOLS.info)) void this.#learn(event.detail.peerId.toString());
  };

  constructor(init: MembershipInit, components: MembershipComponents) {
    this.#options = init;
    this.#c = components;
  }

  get #timeoutMs(): number {
    return this.#options.peerTimeoutMs ?? 5_000;
  }

  async start(): Promise<void> {
    const { network } = this.#c;
    this.#stopped = false;
    network.addEventListener('peer:disconnect', this.#onDisconnect);
    network.addEventListener('peer:identify', this.#onIdentify);
    await this.#dialBootstrap();
    this.#intervalMs = this.#options.refreshMs;
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    this.#c.network.removeEventListener('peer:disconnect', this.#onDisconnect);
    this.#c.network.removeEventListener('peer:identify', this.#onIdentify);
    if (this.#timer !== undefined) this.#c.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Every storage node reachable now, this one included. */
  liveNodes(): NodeRef[] {
    const self: NodeRef = {
      id: this.#c.network.peerId.toString(),
      region: this.#c.locality.region ?? 'unknown',
    };
    return [self, ...this.peers().map((peer) => ({ id: peer.id, region: peer.region ?? 'unknown' }))];
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#c.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#changed = false;
      void this.refresh().finally(() => {
        const { refreshMs, maxRefreshMs = refreshMs } = this.#options;
        this.#intervalMs = this.#changed ? refreshMs : Math.min(maxRefreshMs, this.#intervalMs * 2);
        this.#schedule();
      });
    }, this.#intervalMs);
  }

  /** Membership moved: refresh at the fast rate again (from the next round on). */
  #onChange(): void {
    this.#changed = true;
    // Only a round still waiting is brought forward; one running now reschedules itself when done.
    if (this.#intervalMs > this.#options.refreshMs && this.#timer !== undefined) {
      this.#intervalMs = this.#options.refreshMs;
      this.#c.clock.clearTimeout(this.#timer);
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
      if (this.#c.network.getConnections().length === 0) await this.#dialBootstrap();
      const connected = new Set(this.#c.network.getPeers().map((peer) => peer.toString()));
      for (const id of [...this.#peers.keys()]) {
        if (!connected.has(id) && this.#peers.delete(id)) {
          this.#changed = true;
          this.#c.events?.onPeerGone?.(id);
        }
      }
      if (connected.size !== this.#peers.size) this.#changed = true; // someone is not known yet
      await Promise.allSettled([...connected].map((id) => this.#learn(id)));
    } finally {
      this.#refreshing = false;
    }
  }

  async #dialBootstrap(): Promise<void> {
    const { network: libp2p, logger, clock } = this.#c;
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
        await withTimeout(clock, this.#timeoutMs, (signal) => libp2p.dial(target, { signal })).catch(
          (error: Error) => {
            logger.debug({ address, err: error.message }, 'bootstrap dial failed');
          },
        );
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
    const { rpc, clock } = this.#c;
    let info: NodeInfo;
    try {
      const reply = await rpc.call(id, PROTOCOLS.info, { op: 'info' }, undefined, {
        timeoutMs: this.#timeoutMs,
      });
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
      dataChannel: undefined,
      capacityBytes: 0,
      bytesUsed: 0,
      version: info.version,
      lastSeenMs: nowMs,
      rttMs: undefined,
      reportedPeers: new Set(),
    };
    const regionChanged = record.region !== info.region;
    Object.assign(record, {
      region: info.region,
      apiUrl: info.apiUrl,
      dataChannel: info.dataChannel,
      capacityBytes: info.capacityBytes,
      bytesUsed: info.bytesUsed,
      version: info.version,
      lastSeenMs: nowMs,
      reportedPeers: new Set(info.peers.map((peer) => peer.id)),
    });
    if (known === undefined && this.#peers.size >= this.#options.peersMax) return;
    this.#peers.set(id, record);
    if (known === undefined || regionChanged) {
      this.#onChange();
      this.#c.events?.onPeer?.(record);
    }
    await this.#exchange(info);
    await this.#measureRtt(record);
  }

  /**
   * A fresh RTT of the peer. libp2p's connection monitor pings every open connection every 10 s and
   * keeps the round trip on it (`rtt`), aborting a connection whose ping fails: that measurement is
   * taken when there is one, so a round costs one stream per peer (the info request), not two. Before
   * the monitor's first ping of a new connection, the peer is pinged here.
   */
  async #measureRtt(record: PeerRecord): Promise<void> {
    try {
      const { network, clock } = this.#c;
      const peerId = toPeerId(record.id);
      const measured = network.getConnections(peerId).find((connection) => connection.rtt !== undefined)?.rtt;
      const rttMs =
        measured ??
        (await withTimeout(clock, this.#timeoutMs, (signal) =>
          network.services.ping.ping(peerId, { signal }),
        ));
      record.rttMs =
        record.rttMs === undefined ? rttMs : record.rttMs + rttSmoothing * (rttMs - record.rttMs);
      this.#c.events?.onRtt?.(record.id, rttMs, clock.nowMs());
    } catch {
      // an unanswered ping leaves the previous estimate; disconnects are handled by the event
    }
  }

  async #exchange(info: NodeInfo): Promise<void> {
    const { network: libp2p, clock } = this.#c;
    const self = libp2p.peerId.toString();
    const connected = new Set(libp2p.getPeers().map((peer) => peer.toString()));
    for (const peer of info.peers) {
      if (peer.id === self || connected.has(peer.id)) continue;
      if (libp2p.getConnections().length >= this.#options.peersMax) return;
      for (const address of peer.addrs) {
        try {
          await withTimeout(clock, this.#timeoutMs, (signal) =>
            libp2p.dial(multiaddr(`${address}/p2p/${peer.id}`), { signal }),
          );
          break;
        } catch {
          // try the next address
        }
      }
    }
  }
}
