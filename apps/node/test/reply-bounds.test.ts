import { ed25519, fromHex, ManualClock, MemoryLogger, utf8ToBytes } from '@trinity/core';
import { descriptorLimits, type ShardStore, type SignedDescriptor, signReceipt } from '@trinity/storage';
import { describe, expect, it } from 'vitest';
import type { NodeSigner } from '../src/p2p/node-keys.js';
import type { CallOptions, PeerRpc, RpcReply } from '../src/p2p/rpc.js';
import { receiptJsonBytesMax, shardBytesMax, smallBodyBytesMax } from '../src/p2p/wire.js';
import {
  ManifestDirectory,
  type ManifestDirectoryComponents,
  stagedReceipts,
} from '../src/services/manifests/manifest-service.js';
import { ShardTransfer, type ShardTransferComponents } from '../src/services/shards/shard-service.js';

/**
 * A call is bulk or small by the largest reply it declares (CallOptions.replyBytesMax): one that may
 * bring back smallBodyBytesMax or more must say so, or it takes a slot kept for small requests; one
 * that cannot should not, or it waits behind shard transfers for nothing.
 */
const id = 'ab'.repeat(32);
const secretKey = ed25519.randomSecretKey();

/** An rpc that answers every call with `reply` and keeps the options each call declared. */
function recordingRpc(reply: RpcReply): { rpc: PeerRpc; declared: (CallOptions | undefined)[] } {
  const declared: (CallOptions | undefined)[] = [];
  return {
    declared,
    rpc: {
      call: async (_peer, _protocol, _header, _body, options) => {
        declared.push(options);
        return reply;
      },
    },
  };
}

describe('declared reply bounds', () => {
  it('bounds one receipt as JSON, every field at its largest', () => {
    const receipt = signReceipt(
      {
        objectId: id,
        stripe: descriptorLimits.maxStripes - 1,
        shard: descriptorLimits.maxShardsPerStripe - 1,
        shardHash: 'cd'.repeat(32),
        storedAtMs: Number.MAX_SAFE_INTEGER,
      },
      secretKey,
    );
    expect(utf8ToBytes(JSON.stringify(receipt)).length).toBeLessThanOrEqual(receiptJsonBytesMax);
  });

  it('declares a stage of a large object on one node bulk: its receipts fit the bound it declares', async () => {
    // 40 stripes of 6 shards, all staged on one node (a small network): 240 receipts, ~100 KB.
    const stripes = Array.from({ length: 40 }, (_, s) => ({
      shards: Array.from({ length: 6 }, (_, i) => ({ hash: (s * 6 + i).toString(16).padStart(64, '0') })),
    }));
    const descriptor = { stripes } as unknown as SignedDescriptor;
    const clock = new ManualClock(1_700_000_000_000);
    const store = {
      stagedShards: () => stripes.flatMap((stripe) => stripe.shards.map((shard) => fromHex(shard.hash))),
    } as unknown as ShardStore;
    const receipts = stagedReceipts(
      { store, signer: { secretKey } as NodeSigner, clock },
      'ab12cd34',
      id,
      descriptor,
    );
    expect(receipts).toHaveLength(240);
    const body = utf8ToBytes(JSON.stringify(receipts));
    const { rpc, declared } = recordingRpc({ body });
    const directory = new ManifestDirectory(
      {
        selfId: 'self',
        dhtTimeoutMs: 1_000,
        tombstoneSyncMs: 60_000,
        tombstoneCatchUpMs: 5_000,
        hasBootstrap: false,
      },
      { rpc, clock, logger: new MemoryLogger() } as unknown as ManifestDirectoryComponents,
    );
    const hashes = stripes.flatMap((stripe) => stripe.shards.map((shard) => shard.hash));
    expect(await directory.stage('peer', 'ab12cd34', id, descriptor, new Set(hashes))).toHaveLength(240);
    const replyBytesMax = declared[0]?.replyBytesMax ?? 0;
    expect(body.length).toBeGreaterThanOrEqual(smallBodyBytesMax);
    expect(replyBytesMax).toBeGreaterThanOrEqual(body.length);
    // A node given one shard of each of 40 stripes (a large network) answers 40 receipts: small.
    await directory.stage('peer', 'ab12cd34', id, descriptor, new Set(hashes.filter((_, i) => i % 6 === 0)));
    expect(declared[1]?.replyBytesMax).toBeLessThan(smallBodyBytesMax);
    expect(declared[1]?.replyBytesMax).toBeGreaterThanOrEqual(2 + 40 * (receiptJsonBytesMax + 1));
  });

  it("declares a shard fetch's bound from the shard's size: a small object's fetch is small", async () => {
    const { rpc, declared } = recordingRpc({ body: new Uint8Array(4096) });
    const transfer = new ShardTransfer({ selfId: 'self' }, { rpc } as unknown as ShardTransferComponents);
    await transfer.fetch('peer', new Uint8Array(32), 4096);
    await transfer.fetch('peer', new Uint8Array(32), 4 * 1024 * 1024);
    expect(declared.map((options) => options?.replyBytesMax)).toEqual([4096, 4 * 1024 * 1024]);
    expect(declared[0]!.replyBytesMax!).toBeLessThan(smallBodyBytesMax);
    expect(declared[1]!.replyBytesMax!).toBeLessThanOrEqual(shardBytesMax);
  });
});
