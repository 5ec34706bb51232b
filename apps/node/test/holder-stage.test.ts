import { ed25519, SystemClock, sha256, toHex } from '@trinity/core';
import {
  type ManifestStore,
  ShardStore,
  type ShardStoreStep,
  StagingArea,
  signPutIntent,
} from '@trinity/storage';
import { describe, expect, it } from 'vitest';
import { StagingLedger, shardHandler } from '../src/services/shards/shard-service.js';
import { tempDir } from './helpers.js';

describe("a holder's stage: the transaction folder is synced once, at the vote", () => {
  it('answers each stage without a folder sync; the prepare syncs the batch before it votes', async () => {
    const dir = await tempDir('trinity-holder-stage-');
    const steps: ShardStoreStep[] = [];
    const store = await ShardStore.open(
      dir.path,
      { fsync: false },
      { crashAt: (step) => void steps.push(step) },
    );
    const secretKey = ed25519.randomSecretKey();
    const signer = { peerId: 'holder', publicKey: toHex(ed25519.publicKey(secretKey)), secretKey };
    const clock = new SystemClock();
    const handler = shardHandler({
      store,
      manifests: {} as ManifestStore, // a stage never reads manifests
      signer,
      staging: new StagingLedger(1 << 30),
      clock,
    });
    const txId = 'cafe0001cafe0001';
    const shards = [1, 2, 3].map((n) => new Uint8Array(1000).fill(n));
    const hashes = shards.map((shard) => toHex(sha256(shard)));
    const nowMs = clock.nowMs();
    const intent = signPutIntent(
      {
        txId,
        createdAtMs: nowMs,
        expiresAtMs: nowMs + 60_000,
        shards: hashes.map((shardHash) => ({ shardHash, holders: [signer.publicKey] })),
      },
      ed25519.randomSecretKey(),
    );
    for (const [i, shard] of shards.entries()) {
      const request = { op: 'stage' as const, hash: hashes[i]!, size: shard.length, txId, intent };
      await handler(request, { peer: 'coordinator', readBody: async () => shard });
    }
    expect(steps.filter((step) => step === 'stage:renamed')).toHaveLength(3);
    expect(steps).not.toContain('stage:synced');
    // The participant's prepare (the node's StagingArea) syncs before it resolves, so before the vote.
    const area = new StagingArea(store, signer.peerId, { publish: async () => {} });
    const recordId = '0'.repeat(64);
    await store.stageRecord(txId, recordId, new Uint8Array([1]));
    await store.stage(txId, new Uint8Array(10), { deferFolderSync: true }); // after the record's sync
    await area.stage(txId, [{ shardHash: recordId, ref: store.stagedDigest(txId, signer.peerId) }]);
    expect(steps.at(-1)).toBe('stage:batch-synced');
    await store.close();
    await dir.remove();
  });
});
