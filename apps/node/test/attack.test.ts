import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { MemoryLogger, randomBytes, SystemClock, toHex, utf8ToBytes } from '@trinity/core';
import {
  signDescriptor,
  signPutIntent,
  signReceipt,
  signTombstone,
  tombstoneEncodedBytesMax,
} from '@trinity/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteError } from '../src/errors.js';
import type { TrinityNode } from '../src/node/trinity-node.js';
import { DataChannel } from '../src/p2p/data-channel.js';
import { createNetwork, type TrinityLibp2p } from '../src/p2p/network.js';
import { nodeKeyOfPeerId } from '../src/p2p/node-keys.js';
import { CircuitBreaker, KeyedLimiter } from '../src/p2p/peer-guard.js';
import { InFlight, RpcClient, toPeerId } from '../src/p2p/rpc.js';
import { PROTOCOLS, shardBytesMax } from '../src/p2p/wire.js';
import {
  dhtKey,
  selectManifestRecord,
  validateManifestRecord,
} from '../src/services/manifests/manifest-service.js';
import { encodeDeleteRecord, encodeRecord } from '../src/services/objects/object-record.js';
import { apiFetch, putObject, sha256Hex, startNodes, until } from './helpers.js';

const startTimeoutMs = 300_000;
const testTimeoutMs = 180_000;

/**
 * The trust issue's attacks, from a peer with a fresh libp2p key that owns nothing here. Each is
 * refused with a typed error; afterwards every object is still readable, byte-identical, through
 * every node. Three in-process nodes with RS(2,1) and 16 KiB shards.
 */
describe.each([
  { transport: 'libp2p', overChannel: false },
  { transport: 'the data channel', overChannel: true },
])('attacks from a stranger peer over $transport', ({ overChannel }) => {
  let nodes: TrinityNode[];
  let channel: DataChannel | undefined;
  let close: (() => Promise<void>) | undefined;
  let attacker: TrinityLibp2p;
  let rpc: RpcClient;
  const attackerOwner = randomBytes(32);
  const objects = new Map<string, Uint8Array>();
  let victimId = '';

  beforeAll(async () => {
    ({ nodes, close } = await startNodes('trinity-attack-', 3, () => ({
      erasure: { dataShards: 2, parityShards: 1, shardBytes: 16 * 1024 },
      trust: { peerStagedBytesMax: 1024 * 1024 },
      limits: { peerInFlightMax: 8 },
      fsync: false,
    })));
    for (const [i, size] of [100_000, 5_000].entries()) {
      const data = randomBytes(size);
      objects.set(await putObject(nodes[i]!.apiUrl, data, `victim-${i}.bin`), data);
    }
    victimId = [...objects.keys()][0]!;
    const identity = await generateKeyPair('Ed25519');
    attacker = await createNetwork({
      privateKey: identity,
      host: '127.0.0.1',
      port: 0,
      maxConnections: 16,
      validateRecord: validateManifestRecord,
      selectRecord: selectManifestRecord,
    });
    await attacker.start();
    if (overChannel) {
      // The shard protocol goes over each node's data channel, authenticated as the attacker's key.
      channel = new DataChannel(
        {
          host: '127.0.0.1',
          port: 0,
          protocols: { [PROTOCOLS.shard]: shardBytesMax },
          peerInFlightBytesMax: 64 * 1024 * 1024,
          nodeInFlightBytesMax: 64 * 1024 * 1024,
        },
        {
          identity,
          clock: new SystemClock(),
          logger: new MemoryLogger(),
          addressOf: (peer) => nodes.find((node) => node.peerId === peer)?.dataChannel?.address,
          inFlight: new InFlight(64),
        },
      );
      await channel.start();
    }
    rpc = new RpcClient(
      { requestTimeoutMs: 60_000 },
      {
        libp2p: attacker,
        breaker: new CircuitBreaker({ failureThreshold: 100, baseBackoffMs: 10, maxBackoffMs: 10 }),
        limiter: new KeyedLimiter(8),
        clock: new SystemClock(),
        ...(channel === undefined ? {} : { channel }),
      },
    );
    for (const node of nodes) await attacker.dial(multiaddr(node.libp2p.getMultiaddrs()[0]!.toString()));
  }, startTimeoutMs);

  afterAll(async () => {
    if (overChannel) {
      // Every shard request went over the channel: none fell back to libp2p.
      expect(channel?.stats().requestsOut).toBeGreaterThan(10);
      expect(channel?.stats().unavailable).toBe(0);
    }
    await channel?.stop();
    await attacker?.stop();
    await close?.();
  }, startTimeoutMs);

  /** The typed code of a refused request (fails the test if the request was accepted). */
  async function refused(
    node: TrinityNode,
    protocol: string,
    header: unknown,
    body?: Uint8Array,
  ): Promise<string> {
    try {
      await rpc.call(node.peerId, protocol, header, body);
    } catch (error) {
      expect(error).toBeInstanceOf(RemoteError);
      return (error as RemoteError).remoteCode;
    }
    throw new Error(`${JSON.stringify(header).slice(0, 80)} was accepted by ${node.peerId}`);
  }

  async function recordOf(id: string) {
    return (await nodes[0]!.objects.describe(id)).record;
  }

  /** Every object reads back byte-identical through every node. */
  async function everythingReadable(): Promise<void> {
    for (const [id, data] of objects) {
      for (const node of nodes) {
        const response = await apiFetch(`${node.apiUrl}/v1/objects/${id}`);
        expect(response.status, `${id} via ${node.peerId}`).toBe(200);
        expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(data))).toBe(true);
      }
    }
  }

  it(
    'cannot delete: no tombstone, a forged tombstone, or the old shard delete',
    async () => {
      const { descriptor } = await recordOf(victimId);
      const forged = signTombstone(
        { objectId: victimId, deletedAtMs: Date.now(), retentionMs: 3_600_000 },
        attackerOwner,
      );
      // The attacker's tombstone, claimed to be the owner's.
      const claimed = { ...forged, owner: descriptor.owner };
      for (const tombstone of [forged, claimed]) {
        const body = encodeDeleteRecord({ tombstone, descriptor });
        for (const node of nodes) {
          expect(
            await refused(node, PROTOCOLS.manifest, { op: 'delete', id: victimId, size: body.length }, body),
          ).toBe('PROTOCOL_ERROR');
        }
      }
      const hashes = descriptor.stripes.flatMap((s) => s.shards.map((shard) => shard.hash));
      for (const node of nodes) {
        expect(await refused(node, PROTOCOLS.manifest, { op: 'delete', id: victimId })).toBe(
          'PROTOCOL_ERROR',
        );
        expect(await refused(node, PROTOCOLS.shard, { op: 'delete', hashes })).toBe('PROTOCOL_ERROR');
      }
      await everythingReadable();
    },
    testTimeoutMs,
  );

  it(
    'cannot hijack: a different descriptor under the id, receipts forged for other nodes, a DHT record with a bad signature',
    async () => {
      const { descriptor } = await recordOf(victimId);
      // The same descriptor re-signed by the attacker is another object; a changed field breaks the signature.
      const { signature: _s, owner: _o, format: _f, ...fields } = descriptor;
      const resigned = signDescriptor({ ...fields, name: 'hijacked' }, attackerOwner);
      const tampered = { ...descriptor, size: descriptor.size, name: 'hijacked' };
      const body = encodeRecord({ descriptor: tampered, receipts: [] });
      for (const node of nodes) {
        expect(await refused(node, PROTOCOLS.manifest, { op: 'put', size: body.length }, body)).toBe(
          'PROTOCOL_ERROR',
        );
      }
      expect(() => validateManifestRecord(dhtKey(victimId), body)).toThrow();
      expect(() =>
        validateManifestRecord(dhtKey(victimId), encodeRecord({ descriptor: resigned, receipts: [] })),
      ).toThrow(/id-mismatch/);
      // Receipts claiming that node 2 holds every shard, signed with the attacker's key.
      const victimNodeKey = nodeKeyOfPeerId(nodes[2]!.peerId)!;
      const attackerSecret = randomBytes(32);
      const forgedReceipts = descriptor.stripes.flatMap((stripe, s) =>
        stripe.shards.map((shard, i) => ({
          ...signReceipt(
            { objectId: victimId, stripe: s, shard: i, shardHash: shard.hash, storedAtMs: Date.now() },
            attackerSecret,
          ),
          holder: victimNodeKey,
        })),
      );
      const withForged = encodeRecord({ descriptor, receipts: forgedReceipts });
      const before = (await recordOf(victimId)).receipts.length;
      for (const node of nodes) {
        const reply = await rpc.call(
          node.peerId,
          PROTOCOLS.manifest,
          { op: 'put', size: withForged.length },
          withForged,
        );
        expect(reply.value).toMatchObject({ receiptsAdded: 0 });
      }
      expect((await recordOf(victimId)).receipts.length).toBe(before);
      await everythingReadable();
    },
    testTimeoutMs,
  );

  it(
    "cannot store outside a transaction, stage without the owner's intent, exceed its quota, or unstage others",
    async () => {
      const node = nodes[1]!;
      const junk = randomBytes(20_000);
      const hash = sha256Hex(junk);
      // A repair-style store for an object whose descriptor the node does not hold, or at a wrong position.
      expect(
        await refused(
          node,
          PROTOCOLS.shard,
          { op: 'store', hash, size: junk.length, objectId: '0'.repeat(64), stripe: 0, shard: 0 },
          junk,
        ),
      ).toBe('NO_DESCRIPTOR');
      expect(
        await refused(
          node,
          PROTOCOLS.shard,
          { op: 'store', hash, size: junk.length, objectId: victimId, stripe: 0, shard: 0 },
          junk,
        ),
      ).toBe('SHARD_NOT_IN_OBJECT');
      // The old store without a transaction is gone from the protocol.
      expect(await refused(node, PROTOCOLS.shard, { op: 'store', hash, size: junk.length }, junk)).toBe(
        'PROTOCOL_ERROR',
      );
      const txId = toHex(randomBytes(16));
      const nowMs = Date.now();
      const nodeKey = nodeKeyOfPeerId(node.peerId)!;
      const intentFor = (hashes: string[], holders = [nodeKey], tx = txId) =>
        signPutIntent(
          {
            txId: tx,
            createdAtMs: nowMs,
            expiresAtMs: nowMs + 60_000,
            shards: hashes.map((h) => ({ shardHash: h, holders })),
          },
          attackerOwner,
        );
      // No intent, an intent for another shard, for another node, or for another transaction.
      const otherKey = nodeKeyOfPeerId(nodes[0]!.peerId)!;
      for (const [intent, code] of [
        [{}, 'STORE_NOT_AUTHORIZED'],
        [intentFor([sha256Hex(randomBytes(8))]), 'STORE_NOT_AUTHORIZED'],
        [intentFor([hash], [otherKey]), 'STORE_NOT_AUTHORIZED'],
        [intentFor([hash], [nodeKey], toHex(randomBytes(16))), 'STORE_NOT_AUTHORIZED'],
      ] as const) {
        expect(
          await refused(node, PROTOCOLS.shard, { op: 'stage', hash, size: junk.length, txId, intent }, junk),
        ).toBe(code);
      }
      // With its own signed intent a stranger may stage (it is an owner like any other), within its quota.
      const staged: string[] = [];
      let code = '';
      for (let i = 0; i < 80 && code === ''; i++) {
        const chunk = randomBytes(20_000);
        const h = sha256Hex(chunk);
        try {
          await rpc.call(
            node.peerId,
            PROTOCOLS.shard,
            { op: 'stage', hash: h, size: chunk.length, txId, intent: intentFor([h]) },
            chunk,
          );
          staged.push(h);
        } catch (error) {
          code = (error as RemoteError).remoteCode;
        }
      }
      expect(code).toBe('QUOTA_EXCEEDED');
      expect(staged.length).toBe(Math.floor((1024 * 1024) / 20_000));
      // Nobody else may unstage it, nor stage a descriptor beside it; its own unstage frees it all.
      const ownTx = nodes[0]!.tx.activeCount; // touch: the victim's nodes keep working meanwhile
      expect(ownTx).toBeGreaterThanOrEqual(0);
      const desc = JSON.stringify((await recordOf(victimId)).descriptor);
      expect(
        await refused(
          node,
          PROTOCOLS.manifest,
          { op: 'stage', txId: toHex(randomBytes(16)), id: victimId, size: desc.length },
          utf8ToBytes(desc),
        ),
      ).toBe('TX_NOT_YOURS');
      expect(
        await refused(
          node,
          PROTOCOLS.manifest,
          { op: 'stage', txId, id: victimId, size: desc.length },
          utf8ToBytes(desc),
        ),
      ).toBe('DESCRIPTOR_INVALID');
      expect(await refused(node, PROTOCOLS.shard, { op: 'unstage', txId: toHex(randomBytes(16)) })).toBe(
        'TX_NOT_YOURS',
      );
      await rpc.call(node.peerId, PROTOCOLS.shard, { op: 'unstage', txId });
      expect(node.store.stagedTransactions()).not.toContain(txId);
      await everythingReadable();
    },
    testTimeoutMs,
  );

  it(
    'cannot grow the staging ledger with failed stages, hold more than its share of transactions, or renew what is not its own',
    async () => {
      const node = nodes[2]!;
      const nowMs = Date.now();
      const nodeKey = nodeKeyOfPeerId(node.peerId)!;
      const intentFor = (tx: string, h: string) =>
        signPutIntent(
          {
            txId: tx,
            createdAtMs: nowMs,
            expiresAtMs: nowMs + 60_000,
            shards: [{ shardHash: h, holders: [nodeKey] }],
          },
          attackerOwner,
        );
      const stage = (tx: string, data: Uint8Array, h = sha256Hex(data)) =>
        rpc.call(
          node.peerId,
          PROTOCOLS.shard,
          { op: 'stage', hash: h, size: data.length, txId: tx, intent: intentFor(tx, h) },
          data,
        );
      // Forty stages that fail after the intent checks (the bytes are not the shard named): none is kept.
      for (let i = 0; i < 40; i++) {
        const claimed = sha256Hex(randomBytes(8));
        const code = await stage(toHex(randomBytes(16)), randomBytes(100), claimed).then(
          () => 'accepted',
          (error: RemoteError) => error.remoteCode,
        );
        expect(code).not.toBe('accepted');
      }
      // So the peer still has all of its share of transactions: 32, and the 33rd is refused.
      const txs = Array.from({ length: 33 }, () => toHex(randomBytes(16)));
      for (const tx of txs.slice(0, 32)) await stage(tx, randomBytes(100));
      expect(
        await stage(txs[32]!, randomBytes(100)).then(
          () => 'accepted',
          (e: RemoteError) => e.remoteCode,
        ),
      ).toBe('QUOTA_EXCEEDED');
      // Its own lease it may renew; nobody's unknown or finished transaction.
      await rpc.call(node.peerId, PROTOCOLS.shard, { op: 'renew', txId: txs[0]! });
      expect(await refused(node, PROTOCOLS.shard, { op: 'renew', txId: toHex(randomBytes(16)) })).toBe(
        'TX_NOT_YOURS',
      );
      for (const tx of txs.slice(0, 32))
        await rpc.call(node.peerId, PROTOCOLS.shard, { op: 'unstage', txId: tx });
      expect(await refused(node, PROTOCOLS.shard, { op: 'renew', txId: txs[0]! })).toBe('TX_NOT_YOURS');
      for (const tx of txs) expect(node.store.stagedTransactions()).not.toContain(tx);
      // The anti-entropy query answers anyone, with tombstones only: a live object has none.
      const reply = await rpc.call(
        node.peerId,
        PROTOCOLS.manifest,
        { op: 'deleted', ids: [victimId] },
        undefined,
        {
          replyBytesMax: tombstoneEncodedBytesMax,
        },
      );
      expect(JSON.parse(new TextDecoder().decode(reply.body))).toEqual([]);
      await everythingReadable();
    },
    testTimeoutMs,
  );

  it(
    'cannot hold more requests in flight than its quota; the node serves everyone else meanwhile',
    async () => {
      const node = nodes[2]!;
      // Streams that never send their header: each holds an in-flight slot until it goes away.
      const stalled = await Promise.all(
        Array.from({ length: 8 }, () => attacker.dialProtocol(toPeerId(node.peerId), PROTOCOLS.shard)),
      );
      try {
        await until(
          'the node to count the stalled requests',
          async () => {
            try {
              await rpc.call(node.peerId, PROTOCOLS.shard, { op: 'has', hashes: [] });
              return undefined;
            } catch (error) {
              return (error as RemoteError).remoteCode === 'PEER_BUSY' ? true : undefined;
            }
          },
          60_000,
        );
        await everythingReadable();
      } finally {
        for (const stream of stalled) stream.abort(new Error('done'));
      }
      await until(
        'the quota to free up',
        async () =>
          await rpc
            .call(node.peerId, PROTOCOLS.shard, { op: 'has', hashes: [] })
            .then(() => true)
            .catch(() => undefined),
        60_000,
      );
    },
    testTimeoutMs,
  );

  it(
    'cannot bring a deleted object back by replaying its descriptor, and only the owner deletes',
    async () => {
      const data = randomBytes(30_000);
      const id = await putObject(nodes[0]!.apiUrl, data, 'doomed.bin');
      const record = await recordOf(id);
      const deleted = await apiFetch(`${nodes[0]!.apiUrl}/v1/objects/${id}`, { method: 'DELETE' });
      expect(deleted.status).toBe(200);
      const body = encodeRecord(record);
      for (const node of nodes) {
        expect(await refused(node, PROTOCOLS.manifest, { op: 'put', size: body.length }, body)).toBe(
          'OBJECT_DELETED',
        );
        expect((await apiFetch(`${node.apiUrl}/v1/objects/${id}`)).status).toBe(404);
      }
      // A tombstone the attacker signed is not a valid DHT record and never wins over the object.
      const forgedDelete = encodeDeleteRecord({
        tombstone: signTombstone(
          { objectId: id, deletedAtMs: Date.now(), retentionMs: 3_600_000 },
          attackerOwner,
        ),
        descriptor: record.descriptor,
      });
      expect(() => validateManifestRecord(dhtKey(id), forgedDelete)).toThrow(/not-owner/);
      expect(selectManifestRecord(dhtKey(id), [body, forgedDelete])).toBe(0);
      await everythingReadable();
    },
    testTimeoutMs,
  );

  it(
    'leaves no plaintext on any holder, and a read capability opens an object through a node of another owner',
    async () => {
      const marker = `trinity-plaintext-marker-${toHex(randomBytes(8))}`;
      const secret = utf8ToBytes(`${marker} `.repeat(2000));
      const id = await putObject(nodes[0]!.apiUrl, secret, 'secret.txt');
      const publicId = await (async () => {
        const response = await apiFetch(`${nodes[0]!.apiUrl}/v1/objects?name=public.txt&public=1`, {
          method: 'PUT',
          body: secret,
        });
        return ((await response.json()) as { id: string }).id;
      })();
      let encryptedHits = 0;
      let publicHits = 0;
      const encryptedHashes = new Set(
        (await recordOf(id)).descriptor.stripes.flatMap((s) => s.shards.map((x) => x.hash)),
      );
      const publicHashes = new Set(
        (await recordOf(publicId)).descriptor.stripes.flatMap((s) => s.shards.map((x) => x.hash)),
      );
      for (const node of nodes) {
        for (const file of await filesUnder(join(node.config.dataDir, 'shards'))) {
          const bytes = await readFile(file);
          const hit = bytes.includes(Buffer.from(marker));
          const hash = sha256Hex(bytes);
          if (hit && encryptedHashes.has(hash)) encryptedHits++;
          if (hit && publicHashes.has(hash)) publicHits++;
        }
      }
      expect(encryptedHits).toBe(0);
      expect(publicHits).toBeGreaterThan(0); // the search does find plaintext where it is on purpose
      const { readCap } = (await (await apiFetch(`${nodes[0]!.apiUrl}/v1/objects/${id}/cap`)).json()) as {
        readCap: string;
      };
      // A node acting for another owner: refused without the capability, served with it.
      const { nodes: others, close: closeOthers } = await startNodes('trinity-attack-other-', 1, () => ({
        bootstrap: [nodes[0]!.libp2p.getMultiaddrs()[0]!.toString()],
        fsync: false,
      }));
      try {
        const other = others[0]!;
        expect(other.owner).not.toBe(nodes[0]!.owner);
        const without = await apiFetch(`${other.apiUrl}/v1/objects/${id}`);
        expect(without.status).toBe(403);
        expect(((await without.json()) as { error: { code: string } }).error.code).toBe('KEY_REQUIRED');
        const withCap = await apiFetch(`${other.apiUrl}/v1/objects/${id}`, {
          headers: { 'x-trinity-read-cap': readCap },
        });
        expect(withCap.status).toBe(200);
        expect(Buffer.from(await withCap.arrayBuffer()).equals(Buffer.from(secret))).toBe(true);
        const wrongCap = readCap.slice(0, -4) + (readCap.endsWith('AAAA') ? 'BBBB' : 'AAAA');
        const wrong = await apiFetch(`${other.apiUrl}/v1/objects/${id}`, {
          headers: { 'x-trinity-read-cap': wrongCap },
        });
        expect(wrong.status).toBeGreaterThanOrEqual(400);
        expect(wrong.status).toBeLessThan(500);
        const denied = await apiFetch(`${other.apiUrl}/v1/objects/${id}`, { method: 'DELETE' });
        expect(denied.status).toBe(403);
      } finally {
        await closeOthers();
      }
      objects.set(id, secret);
      await everythingReadable();
    },
    testTimeoutMs,
  );
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
