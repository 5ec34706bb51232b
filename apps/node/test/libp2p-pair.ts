import '../src/polyfill.js';
import type { Libp2p } from '@libp2p/interface';
import type { Clock } from '@trinity/core';
import { createLibp2p } from 'libp2p';
import { coalesceSocketWrites, transportOptions } from '../src/p2p/network.js';
import { CircuitBreaker } from '../src/p2p/peer-guard.js';
import { peerLimiter, RpcClient } from '../src/p2p/rpc.js';

/** A libp2p node on loopback with exactly the nodes' transport stack (tests of the RPC layer alone). */
export async function loopbackLibp2p(): Promise<Libp2p> {
  const libp2p = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    ...transportOptions(),
  });
  coalesceSocketWrites(libp2p);
  return libp2p;
}

/** An RpcClient over `libp2p` whose breaker never opens and which keeps 8 calls in flight per peer. */
export function testRpcClient(libp2p: Libp2p, clock: Clock): RpcClient {
  return new RpcClient(
    { requestTimeoutMs: 120_000 },
    {
      libp2p,
      breaker: new CircuitBreaker({ failureThreshold: 1000, baseBackoffMs: 1, maxBackoffMs: 1 }),
      limiter: peerLimiter(8),
      clock,
    },
  );
}
