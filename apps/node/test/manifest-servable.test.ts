import { MemoryLogger, SystemClock } from '@trinity/core';
import type { ManifestStore, SignedDescriptor, SignedReceipt } from '@trinity/storage';
import { describe, expect, it } from 'vitest';
import { ObjectUnavailableError, RemoteError } from '../src/errors.js';
import {
  ManifestDirectory,
  type ManifestDirectoryComponents,
} from '../src/services/manifests/manifest-service.js';

/**
 * What a node back from a restart (no tombstone-sync round answered yet) does with a read, on a
 * ManifestDirectory over stand-in components: the integration side is delete-anti-entropy.test.ts.
 */
const id = 'ab'.repeat(32);
const self = 'me'.repeat(32);

function directory(options: {
  hasBootstrap: boolean;
  peers: string[];
  holders?: string[];
  local?: boolean;
  call: (peer: string, header: { op: string }, timeoutMs: number | undefined) => Promise<unknown>;
}) {
  const descriptor = { owner: 'owner' } as unknown as SignedDescriptor;
  const receipts = (options.holders ?? [self, 'other']).map((holder) => ({ holder }) as SignedReceipt);
  const manifests = {
    tombstone: () => undefined,
    hasDescriptor: async () => options.local ?? true,
    getDescriptor: async () => descriptor,
    receipts: async () => receipts,
    listDescriptors: async () => [id],
  } as unknown as ManifestStore;
  const components = {
    manifests,
    signer: { publicKey: self },
    clock: new SystemClock(),
    logger: new MemoryLogger(),
    membership: { peers: () => options.peers.map((peer) => ({ id: peer })) },
    rpc: {
      call: (
        peer: string,
        _protocol: string,
        header: { op: string },
        _body: unknown,
        o?: { timeoutMs?: number },
      ) => options.call(peer, header, o?.timeoutMs),
    },
    dht: { get: async function* () {} },
  } as unknown as ManifestDirectoryComponents;
  return new ManifestDirectory(
    { selfId: 'self', dhtTimeoutMs: 1_000, tombstoneSyncMs: 60_000, hasBootstrap: options.hasBootstrap },
    components,
  );
}

const noTombstones = async () => ({ body: new TextEncoder().encode('[]') });
const refuse = (code: string) => async (peer: string) => {
  throw new RemoteError(peer, code, 'refused');
};

describe('a node not yet synced since its start', () => {
  it('serves its copy once two peers answered, asking past a dead one, 5 s each', async () => {
    const asked: [string, number | undefined][] = [];
    const dir = directory({
      hasBootstrap: true,
      peers: ['p1', 'p2', 'p3', 'p4', 'p5'],
      call: async (peer, header, timeoutMs) => {
        expect(header.op).toBe('deleted');
        asked.push([peer, timeoutMs]);
        if (peer === 'p1') throw new Error('timed out');
        return noTombstones();
      },
    });
    expect((await dir.resolve(id))?.descriptor).toEqual({ owner: 'owner' });
    expect(asked).toEqual([
      ['p1', 5_000],
      ['p2', 5_000],
      ['p3', 5_000],
    ]);
    // Checked once: the next read does not ask again.
    await dir.resolve(id);
    expect(asked).toHaveLength(3);
  });

  it('answers 503 when no peer answers, or none is known yet and others could have deleted it', async () => {
    const dead = directory({ hasBootstrap: false, peers: ['p1', 'p2'], call: refuse('INTERNAL') });
    await expect(dead.resolve(id)).rejects.toBeInstanceOf(ObjectUnavailableError);
    const fail = async () => expect.unreachable('no peer to ask');
    for (const [hasBootstrap, holders] of [
      [true, [self]],
      [false, [self, 'other']],
    ] as const) {
      const alone = directory({ hasBootstrap, peers: [], holders: [...holders], call: fail });
      await expect(alone.resolve(id)).rejects.toThrow(/no peer known yet/);
    }
    // Nobody else could have deleted it: a single node with no bootstrap peers serves its own.
    const single = directory({ hasBootstrap: false, peers: [], holders: [self], call: fail });
    expect(await single.resolve(id)).toBeDefined();
  });

  it('as a reader, takes holders refusing as not yet synced for a 503, not a 404', async () => {
    const refused = directory({
      hasBootstrap: true,
      peers: ['p1', 'p2'],
      local: false,
      call: refuse('NOT_SYNCED'),
    });
    await expect(refused.resolve(id)).rejects.toBeInstanceOf(ObjectUnavailableError);
    const absent = directory({
      hasBootstrap: true,
      peers: ['p1', 'p2'],
      local: false,
      call: refuse('OBJECT_NOT_HERE'),
    });
    expect(await absent.resolve(id)).toBeUndefined();
  });
});
