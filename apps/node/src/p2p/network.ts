import { Socket } from 'node:net';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { Libp2p, PrivateKey } from '@libp2p/interface';
import { type KadDHT, kadDHT, removePublicAddressesMapper } from '@libp2p/kad-dht';
import { type Ping, ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { createLibp2p, type Libp2pOptions } from 'libp2p';

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
  const libp2p = (await createLibp2p({
    privateKey: options.privateKey,
    addresses: { listen: [listen] },
    ...transportOptions(),
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
  })) as TrinityLibp2p;
  coalesceSocketWrites(libp2p);
  return libp2p;
}

/**
 * Transport, encryption and multiplexing of every node (and of the raw-stream ceiling in the bench,
 * which must measure the same stack): TCP, Noise, Yamux with megabyte windows.
 */
export function transportOptions(): Pick<
  Libp2pOptions,
  'transports' | 'connectionEncrypters' | 'streamMuxers'
> {
  return {
    transports: [tcp()],
    connectionEncrypters: [noise()],
    // Shards are megabytes: 256 KiB windows cost a window update (and a stall) per frame. Bounded at
    // 4 MiB per stream, so a slow reader holds at most peerConcurrency x 4 MiB per peer.
    streamMuxers: [
      yamux({
        streamOptions: { initialStreamWindowSize: 1024 * 1024, maxStreamWindowSize: 4 * 1024 * 1024 },
      }),
    ],
  };
}

/** The parts of @libp2p/tcp's connection this relies on (not in its public types). */
interface TcpMultiaddrConnection {
  socket?: Socket;
  sendData?: (data: Iterable<Uint8Array> & { byteLength: number }) => {
    sentBytes: number;
    canSendMore: boolean;
  };
}

/**
 * Noise hands TCP each encrypted frame as a list of buffers (a 2-byte length, then the ciphertext,
 * per 64 KiB), and @libp2p/tcp writes them one \`socket.write\` at a time: with Nagle off that is
 * two syscalls and two TCP segments (and a wake-up of the reader) per 64 KiB, one of them 2 bytes
 * long. Corking the socket around one call sends the whole list with a single writev. The bytes,
 * their order and the backpressure signal are unchanged. Connections of other transports are left
 * alone.
 */
export function coalesceSocketWrites(libp2p: Libp2p): void {
  libp2p.addEventListener('connection:open', (event) => {
    const maConn = (event.detail as unknown as { maConn?: TcpMultiaddrConnection }).maConn;
    const socket = maConn?.socket;
    if (maConn === undefined || !(socket instanceof Socket) || typeof maConn.sendData !== 'function') return;
    maConn.sendData = (data) => {
      socket.cork();
      let canSendMore = true;
      try {
        for (const buf of data) canSendMore = socket.write(buf);
      } finally {
        socket.uncork();
      }
      // A false from a corked write only says the cork buffer passed the high-water mark; if the
      // flush took it all, there is no drain to wait for (and none would come).
      return { sentBytes: data.byteLength, canSendMore: canSendMore || socket.writableLength === 0 };
    };
  });
}
