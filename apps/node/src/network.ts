import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { Libp2p, PrivateKey } from '@libp2p/interface';
import { type KadDHT, kadDHT, removePublicAddressesMapper } from '@libp2p/kad-dht';
import { type Ping, ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { createLibp2p } from 'libp2p';

export type TrinityLibp2p = Libp2p<{ identify: unknown; ping: Ping; dht: KadDHT }>;

export interface NetworkOptions {
  readonly privateKey: PrivateKey;
  readonly host: string;
  readonly port: number;
  readonly maxConnections: number;
  /** Throws for a record that must not be stored under `key` in the `/trinity/` DHT namespace. */
  readonly validateRecord: (key: Uint8Array, value: Uint8Array) => void | Promise<void>;
  /** Picks the best of several records for one key (index into `records`). */
  readonly selectRecord: (key: Uint8Array, records: Uint8Array[]) => number;
}

/**
 * The node's libp2p: TCP, Noise (encrypted, authenticated by the node's key), Yamux, identify,
 * ping, and a Kademlia DHT on Trinity's own protocol id for manifests. Loopback and private
 * addresses are kept in the DHT (removePublicAddressesMapper) so a local network finds itself.
 */
export async function createNetwork(options: NetworkOptions): Promise<TrinityLibp2p> {
  const listen = options.host.includes(':')
    ? `/ip6/${options.host}/tcp/${options.port}`
    : `/ip4/${options.host}/tcp/${options.port}`;
  return createLibp2p({
    privateKey: options.privateKey,
    addresses: { listen: [listen] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    // Shards are megabytes: 256 KiB windows cost a window update (and a stall) per frame. Bounded at
    // 4 MiB per stream, so a slow reader holds at most peerConcurrency x 4 MiB per peer.
    streamMuxers: [
      yamux({
        streamOptions: { initialStreamWindowSize: 1024 * 1024, maxStreamWindowSize: 4 * 1024 * 1024 },
      }),
    ],
    connectionManager: { maxConnections: options.maxConnections },
    services: {
      identify: identify(),
      // Pings come from one place per peer at a time; a little slack keeps a slow one from tripping the limit.
      ping: ping({ maxOutboundStreams: 4, maxInboundStreams: 8 }),
      dht: kadDHT({
        protocol: '/trinity/kad/1.0.0',
        clientMode: false,
        peerInfoMapper: removePublicAddressesMapper,
        validators: { trinity: options.validateRecord },
        selectors: { trinity: options.selectRecord },
      }),
    },
  }) as Promise<TrinityLibp2p>;
}
