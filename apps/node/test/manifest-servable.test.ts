import { ed25519, MemoryLogger, SystemClock, toHex } from '@trinity/core';
import type { ManifestStore, SignedDescriptor, SignedReceipt } from '@trinity/storage';
import { describe, expect, it } from 'vitest';
import { ObjectUnavailableError, RemoteError } from '../src/errors.js';
import { peerIdOfNodeKey } from '../src/p2p/node-keys.js';
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
/** Another holder of the object, with a real node key: its peer id is derived from it. */
const holderKey = toHex(ed25519.publicKey(ed25519.randomSecretKey()));
const holderPeer = peerIdOfNodeKey(holderKey)!;

function directory(options: {
  hasBootstrap: boolean;
  peers: string[];
  holders?: string[];
  local?: boolean;
  /** Called when a peer is asked; true once the object counts as deleted here (by another path). */
  deleted?: () => boolean;
  call: (peer: string, header: { op: string }, timeoutMs: number | undefined) => Promise<unknown>;
}) {
  const descriptor = { owner: 'owner' } as unknown as SignedDescriptor;
  const receipts = (options.holders ?? [self, holderKey]).map((holder) => ({ holder }) as SignedReceipt);
  const manifests = {
    tombstone: () => (options.deleted?.() ? {} : undefined),
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
    {
      selfId: 'self',
      dhtTimeoutMs: 1_000,
      tombstoneSyncMs: 60_000,
      tombstoneCatchUpMs: 5_000,
      hasBootstrap: options.hasBootstrap,
    },
    components,
  );
}

const noTombstones = async () => ({ body: new TextEncoder().encode('[]') });
const refuse = (code: string) => async (peer: string) => {
  throw new RemoteError(peer, code, 'refused');
};

describe('a node not yet synced since its start', () => {
  it("serves its copy once two peers answered, asking the object's holders first, two at a time", async () => {
    const asked: [string, number | undefined][] = [];
    const dir = directory({
      hasBootstrap: true,
      peers: ['p1', 'p2', 'p3', holderPeer, 'p5'],
      call: async (peer, header, timeoutMs) => {
        expect(header.op).toBe('deleted');
        asked.push([peer, timeoutMs]);
        if (peer === 'p1') throw new Error('timed out');
        return noTombstones();
      },
    });
    // Two reads at once share one check.
    const [a, b] = await Promise.all([dir.resolve(id), dir.resolve(id)]);
    expect(a?.descriptor).toEqual({ owner: 'owner' });
    expect(b).toEqual(a);
    expect(asked).toEqual([
      [holderPeer, 2_000],
      ['p1', 2_000],
      ['p2', 2_000],
      ['p3', 2_000],
    ]);
    // Checked once: the next read does not ask again.
    await dir.resolve(id);
    expect(asked).toHaveLength(4);
  });

  it('refuses with too few answers, and serves nothing deleted by another path meanwhile', async () => {
    const one = directory({
      hasBootstrap: true,
      peers: ['p1', 'p2', 'p3', 'p4'],
      call: async (peer) => (peer === 'p4' ? noTombstones() : refuse('INTERNAL')(peer)),
    });
    await expect(one.resolve(id)).rejects.toThrow(/too few peers answered/);
    let deleted = false;
    const raced = directory({
      hasBootstrap: true,
      peers: ['p1', 'p2'],
      deleted: () => deleted,
      call: async () => {
        deleted = true; // a sync round applied the tombstone while this check waited on its peers
        return noTombstones();
      },
    });
    expect(await raced.resolve(id)).toBeUndefined();
  });

  it('answers 503 when no peer answers, or none is known yet and others could have deleted it', async () => {
    const dead = directory({ hasBootstrap: false, peers: ['p1', 'p2'], call: refuse('INTERNAL') });
    await expect(dead.resolve(id)).rejects.toBeInstanceOf(ObjectUnavailableError);
    const fail = async () => expect.unreachable('no peer to ask');
    for (const [hasBootstrap, holders] of [
      [true, [self]],
      [false, [self, holderKey]],
      [false, []],
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
