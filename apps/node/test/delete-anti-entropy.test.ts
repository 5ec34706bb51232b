import { randomBytes } from 'node:crypto';
import { fromHex, MemoryLogger } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { TrinityNode } from '../src/node/trinity-node.js';
import { PROTOCOLS } from '../src/p2p/wire.js';
import { decodeRecord, recordBytesMax } from '../src/services/objects/object-record.js';
import { apiFetch, putObject, registerApiToken, until } from './helpers.js';
import { withNodes } from './with-nodes.js';

/**
 * Deletes that stay deleted (the lifecycle issue): a holder that was down while its object was
 * deleted learns of the delete from its peers when it comes back, drops the descriptor and the
 * shards, and never serves the object again.
 */
describe('a holder that missed a delete', () => {
  const nodes = withNodes('trinity-tombstone-sync-', 6, () => ({
    trust: { tombstoneSyncMs: 1_000 },
  }));

  it('learns it from its peers when it returns, and deletes its copy', async () => {
    const data = randomBytes(300_000);
    const id = await putObject(nodes[0]!.apiUrl, data, 'doomed');
    const away = nodes[5]!;
    const descriptor = await away.manifests.getDescriptor(id);
    const hashes = descriptor.stripes.flatMap((stripe) => stripe.shards.map((shard) => shard.hash));
    const heldAway = (
      await Promise.all(
        hashes.map(async (hash) => ((await away.store.has(fromHex(hash))) ? hash : undefined)),
      )
    ).filter((hash) => hash !== undefined);
    expect(heldAway.length).toBeGreaterThan(0);

    const config = away.config;
    await away.stop();
    const response = await apiFetch(`${nodes[0]!.apiUrl}/v1/objects/${id}`, { method: 'DELETE' });
    expect(response.status).toBe(200);
    for (const node of nodes.slice(0, 5)) expect(await node.manifests.hasDescriptor(id)).toBe(false);

    // Back with its data dir as it was: it still holds the object, until it asks its peers.
    const back = await TrinityNode.create(config, new MemoryLogger());
    nodes[5] = back;
    await back.start();
    registerApiToken(back.apiUrl, back.api.token);
    await until(
      'the returning node to drop the deleted descriptor',
      async () => ((await back.manifests.hasDescriptor(id)) ? undefined : true),
      60_000,
    );
    // A sync round drops descriptors first and frees their shards once, at the end of the round.
    const stillHeld = async () =>
      (await Promise.all(heldAway.map((hash) => back.store.has(fromHex(hash))))).some(Boolean);
    await until(
      'the returning node to free their shards',
      async () => ((await stillHeld()) ? undefined : true),
      60_000,
    );
    for (const hash of heldAway) expect(await back.store.has(fromHex(hash))).toBe(false);
    expect((await apiFetch(`${back.apiUrl}/v1/objects/${id}`)).status).toBe(404);
    // And the delete is remembered there: the object's record is refused if offered again.
    await expect(back.manifests.putDescriptor(descriptor, Date.now())).rejects.toThrow(/deleted/i);
  }, 300_000);

  it('does not serve it even before its first sync round: a read asks its peers first', async () => {
    const data = randomBytes(100_000);
    const id = await putObject(nodes[0]!.apiUrl, data, 'doomed-too');
    const away = nodes[4]!;
    expect(await away.manifests.hasDescriptor(id)).toBe(true);
    const config = away.config;
    await away.stop();
    expect((await apiFetch(`${nodes[0]!.apiUrl}/v1/objects/${id}`, { method: 'DELETE' })).status).toBe(200);
    // Back with a sync interval far beyond this test: only the read-time check can catch the delete.
    const back = await TrinityNode.create(
      { ...config, trust: { ...config.trust, tombstoneSyncMs: 3_600_000, tombstoneCatchUpMs: 3_600_000 } },
      new MemoryLogger(),
    );
    nodes[4] = back;
    await back.start();
    registerApiToken(back.apiUrl, back.api.token);
    await until(
      'the returning node to see a peer',
      async () => (back.membership.peers().length > 0 ? true : undefined),
      60_000,
    );
    expect(await back.manifests.hasDescriptor(id)).toBe(true); // not learned yet
    expect((await apiFetch(`${back.apiUrl}/v1/objects/${id}`)).status).toBe(404);
    expect(await back.manifests.hasDescriptor(id)).toBe(false);
  }, 300_000);

  it('nor does a peer that missed it bring it back to a node that has the delete', async () => {
    // Two public objects of the same content share their shards: deleting one leaves them on disk,
    // so a stale record of the deleted one, if any node handed it out, would still read.
    const data = randomBytes(200_000);
    const kept = await putObject(nodes[0]!.apiUrl, data, 'kept', { public: true });
    const doomed = await putObject(nodes[0]!.apiUrl, data, 'doomed-public', { public: true });
    const away = nodes[3]!;
    expect(await away.manifests.hasDescriptor(doomed)).toBe(true);
    const config = away.config;
    await away.stop();
    expect((await apiFetch(`${nodes[1]!.apiUrl}/v1/objects/${doomed}`, { method: 'DELETE' })).status).toBe(
      200,
    );
    const back = await TrinityNode.create(
      { ...config, trust: { ...config.trust, tombstoneSyncMs: 3_600_000, tombstoneCatchUpMs: 3_600_000 } },
      new MemoryLogger(),
    );
    nodes[3] = back;
    await back.start();
    registerApiToken(back.apiUrl, back.api.token);
    await until(
      'the returning node to see every peer',
      async () => (back.membership.peers().length === nodes.length - 1 ? true : undefined),
      60_000,
    );
    expect(await back.manifests.hasDescriptor(doomed)).toBe(true); // not learned yet
    for (const node of [nodes[0]!, nodes[1]!, nodes[2]!, nodes[5]!]) {
      expect((await apiFetch(`${node.apiUrl}/v1/objects/${doomed}`)).status, node.peerId).toBe(404);
      expect((await apiFetch(`${node.apiUrl}/v1/objects/${kept}`)).status, node.peerId).toBe(200);
    }
    // Asked directly before its first sync round, it checks each object with its peers: the live
    // one it hands out at once (not a sync interval later), the deleted one it drops.
    const ask = (id: string) =>
      nodes[0]!.rpc.call(back.peerId, PROTOCOLS.manifest, { op: 'get', id }, undefined, {
        replyBytesMax: recordBytesMax,
      });
    const reply = await ask(kept);
    expect(decodeRecord(reply.body!, Date.now(), kept).record.descriptor.name).toBe('kept');
    await expect(ask(doomed)).rejects.toMatchObject({ remoteCode: 'OBJECT_NOT_HERE' });
    expect(await back.manifests.hasDescriptor(doomed)).toBe(false);
  }, 300_000);
});
