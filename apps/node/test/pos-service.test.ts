import { readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { isTrinityError, ManualClock, MemoryLogger, seededRandom, toHex } from '@trinity/core';
import { currentReceipts, merkleRoot, ShardStore, type SignedReceipt } from '@trinity/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { RemoteError } from '../src/errors.js';
import { type NodeSigner, nodeSigner } from '../src/p2p/node-keys.js';
import { WaitQueueFullError } from '../src/p2p/peer-guard.js';
import {
  type PeerRpc,
  type ProtocolHandler,
  type ProtocolServer,
  type RpcReply,
  SlotWaitTimeoutError,
} from '../src/p2p/rpc.js';
import { PROTOCOLS } from '../src/p2p/wire.js';
import {
  decodeAnswer,
  encodeAnswer,
  type PosConfig,
  type PosResult,
  type PosService,
  posService,
} from '../src/services/pos/pos-service.js';
import { sha256Hex, tempDir } from './helpers.js';

/**
 * Proof-of-storage in the daemon on a manual clock and an in-memory network: the holder answers
 * from its real shard store, the challenger checks with verifyProof at the (virtual) time the answer
 * arrives. Honest holders pass; a deleted or corrupted shard, a late answer, a forged signature or
 * a tampered leaf fail; the holder rate-limits each challenger.
 */

type Handler = { schema: z.ZodType; handler: ProtocolHandler<z.ZodType> };

/** Peers that call each other's handlers directly; `hooks` can delay or tamper with replies. */
class MemoryNetwork {
  readonly handlers = new Map<string, Map<string, Handler>>();
  /** Virtual milliseconds the network takes to carry a reply back. */
  replyDelayMs = 0;
  tamper: ((reply: RpcReply) => RpcReply) | undefined;
  calls = 0;

  constructor(readonly clock: ManualClock) {}

  server(peer: string): ProtocolServer {
    const mine = new Map<string, Handler>();
    this.handlers.set(peer, mine);
    return {
      handle: async (protocol, schema, handler) => {
        mine.set(protocol, { schema, handler: handler as ProtocolHandler<z.ZodType> });
      },
      unhandle: async (protocol) => {
        mine.delete(protocol);
      },
    };
  }

  rpc(from: string): PeerRpc {
    return {
      call: async (peer, protocol, header, _body, options) => {
        this.calls++;
        const target = this.handlers.get(peer)?.get(protocol);
        if (target === undefined) throw new Error(`no ${protocol} at ${peer}`);
        let reply: RpcReply;
        try {
          reply = await target.handler(
            target.schema.parse(typeof header === 'function' ? header() : header),
            {
              peer: from,
              connection: undefined as never,
              readBody: async () => new Uint8Array(0),
            },
          );
        } catch (error) {
          if (isTrinityError(error)) throw new RemoteError(peer, error.code, error.message);
          throw error;
        }
        // A call is bulk or small by the largest reply it declares: an honest one must fit it.
        const replyBytes = reply.body?.length ?? 0;
        if (replyBytes > (options?.replyBytesMax ?? 0))
          throw new Error(
            `a reply of ${replyBytes} bytes to a call that declared ${options?.replyBytesMax ?? 0}`,
          );
        this.clock.advance(this.replyDelayMs);
        return this.tamper === undefined ? reply : this.tamper(reply);
      },
    };
  }
}

async function nodeKey(): Promise<NodeSigner> {
  const key = await generateKeyPair('Ed25519');
  return nodeSigner(key, peerIdFromPrivateKey(key).toString());
}

const config: PosConfig = {
  enabled: false,
  intervalMs: 1_000,
  perHolderMinIntervalMs: 5_000,
  leaves: 16,
  deadlineMs: 2_000,
  answersPerChallengerPerMinute: 12,
};

const objectId = 'ab'.repeat(32);

describe('proof-of-storage service', () => {
  let clock: ManualClock;
  let net: MemoryNetwork;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: ShardStore;
  let challengerStore: ShardStore;
  let holderKey: NodeSigner;
  let challengerKey: NodeSigner;
  let shard: Uint8Array;
  let holder: PosService;
  let challenger: PosService;
  let results: PosResult[];
  let repairs: string[];
  let counted: { issued: number; passed: number; failed: number };
  /** The challenger learned that the object was deleted. */
  let deleted: boolean;
  /** The receipts the challenger holds for the object. */
  let receipts: SignedReceipt[];

  beforeEach(async () => {
    clock = new ManualClock(1_700_000_000_000);
    net = new MemoryNetwork(clock);
    dir = await tempDir('trinity-pos-');
    store = await ShardStore.open(dir.path, { capacityBytes: 64 * 1024 * 1024, fsync: false });
    holderKey = await nodeKey();
    challengerKey = await nodeKey();
    // 100 KiB + 123 bytes: 26 leaves of 4 KiB, the last one short.
    shard = seededRandom(7).bytes(100 * 1024 + 123);
    await store.put(shard);
    const members = [holderKey.peerId, challengerKey.peerId];
    const nodes = { liveNodes: () => members.map((id) => ({ id, region: 'us-east' })) };
    const shardHash = sha256Hex(shard);
    // One object of one stripe: the holder's receipt for shard 0, another shard nobody holds.
    const descriptor = {
      erasure: { dataShards: 1, parityShards: 1, shardBytes: shard.length },
      merkleLeafBytes: 4096,
      stripes: [
        {
          shards: [
            { hash: shardHash, merkleRoot: toHex(merkleRoot(shard)) },
            { hash: 'cd'.repeat(32), merkleRoot: 'ef'.repeat(32) },
          ],
        },
      ],
    };
    const receipt = {
      holder: holderKey.publicKey,
      stripe: 0,
      shard: 0,
      shardHash,
      storedAtMs: clock.nowMs(),
    } as SignedReceipt;
    receipts = [receipt];
    const manifests = {
      listDescriptors: async () => [objectId],
      getDescriptor: async () => descriptor as never,
      receipts: async () => receipts,
      hasDescriptor: async () => !deleted,
    };
    results = [];
    repairs = [];
    deleted = false;
    counted = { issued: 0, passed: 0, failed: 0 };
    const common = { manifests, nodes, clock, logger: new MemoryLogger() };
    challengerStore = await ShardStore.open(join(dir.path, 'challenger'), {
      capacityBytes: 1 << 20,
      fsync: false,
    });
    holder = posService({ selfId: holderKey.peerId, ...config })({
      ...common,
      store,
      signer: holderKey,
      rpc: net.rpc(holderKey.peerId),
      server: net.server(holderKey.peerId),
      random: seededRandom(1),
    });
    challenger = posService({ selfId: challengerKey.peerId, ...config })({
      ...common,
      store: challengerStore,
      signer: challengerKey,
      rpc: net.rpc(challengerKey.peerId),
      server: net.server(challengerKey.peerId),
      random: seededRandom(2),
      posResults: {
        recordPosResult: async (r) => {
          results.push(r);
        },
      },
      repairer: {
        repairFailedCopy: async (id, node, hash) => {
          repairs.push(`${id} ${node} ${hash}`);
          return 1;
        },
      },
      events: {
        onIssued: () => counted.issued++,
        onResult: (passed) => (passed ? counted.passed++ : counted.failed++),
      },
    });
    await holder.start();
    await challenger.start();
  });

  afterEach(async () => {
    await challenger.stop();
    await holder.stop();
    await store.close();
    await challengerStore.close();
    await dir.remove();
  });

  it('an honest holder passes, and the result goes to the sink under its node key', async () => {
    const outcome = await challenger.challengeOnce();
    expect(outcome).toMatchObject({ objectId, holder: holderKey.peerId, passed: true });
    expect(outcome!.failure).toBeUndefined();
    expect(results).toEqual([{ holder: holderKey.publicKey, shard: sha256Hex(shard), passed: true }]);
    expect(counted).toEqual({ issued: 1, passed: 1, failed: 0 });
    expect(repairs).toEqual([]);
    expect(holder.stats()).toMatchObject({ answered: 1, answerBytesRead: shard.length });
  });

  it('a holder that deleted the shard file fails as not-held, and repair is queued', async () => {
    const [file] = (await readdir(dir.path, { recursive: true })).filter((f) => f.endsWith(sha256Hex(shard)));
    await unlink(join(dir.path, file!));
    const outcome = await challenger.challengeOnce();
    expect(outcome).toMatchObject({ passed: false, failure: 'not-held' });
    await challenger.settled();
    expect(repairs).toEqual([`${objectId} ${holderKey.peerId} ${sha256Hex(shard)}`]);
    expect(results).toEqual([{ holder: holderKey.publicKey, shard: sha256Hex(shard), passed: false }]);
    expect(counted).toEqual({ issued: 1, passed: 0, failed: 1 });
  });

  it('a shard freed because its object was deleted meanwhile is no result either way', async () => {
    await store.delete(Buffer.from(sha256Hex(shard), 'hex'));
    deleted = true;
    expect(await challenger.challengeOnce()).toBeUndefined();
    expect(results).toEqual([]);
    expect(repairs).toEqual([]);
    expect(counted).toEqual({ issued: 0, passed: 0, failed: 0 });
  });

  it('a holder whose receipt a newer one superseded (the shard moved) is not challenged', async () => {
    const mover = await nodeKey();
    const moved = { ...receipts[0]!, holder: mover.publicKey, storedAtMs: clock.nowMs() + 1 };
    // The holder released the shard after the move; the challenger still has its old receipt.
    await store.delete(Buffer.from(sha256Hex(shard), 'hex'));
    receipts = [receipts[0]!, moved];
    expect(await challenger.challengeOnce()).toBeUndefined();
    expect(results).toEqual([]);
    expect(repairs).toEqual([]);
    // Per position: a receipt of another shard is not superseded by it.
    const other = { ...receipts[0]!, shard: 1, storedAtMs: 0 };
    expect(currentReceipts([receipts[0]!, other, moved])).toEqual([other, moved]);
  });

  it('a holder whose shard is corrupt on disk fails (its store quarantines the copy)', async () => {
    const [file] = (await readdir(dir.path, { recursive: true })).filter((f) => f.endsWith(sha256Hex(shard)));
    const corrupt = Uint8Array.from(shard);
    corrupt[5_000] = corrupt[5_000]! ^ 0xff;
    await writeFile(join(dir.path, file!), corrupt);
    const outcome = await challenger.challengeOnce();
    expect(outcome).toMatchObject({ passed: false, failure: 'not-held' });
    expect(await store.has(Buffer.from(sha256Hex(shard), 'hex'))).toBe(false);
  });

  it('a holder that answers with bytes it does not have fails the Merkle check', async () => {
    // A cheat that kept only the tree, not the data: right paths, made-up leaves.
    net.tamper = (reply) => {
      const answer = decodeAnswer(reply)!;
      return encodeAnswer({
        ...answer,
        leaves: answer.leaves.map((leaf) => ({ ...leaf, data: new Uint8Array(leaf.data.length) })),
      });
    };
    expect(await challenger.challengeOnce()).toMatchObject({ passed: false, failure: 'bad-path' });
  });

  it('an answer that arrives after the deadline fails as late, one that arrives just in time passes', async () => {
    net.replyDelayMs = config.deadlineMs;
    expect(await challenger.challengeOnce()).toMatchObject({ passed: true });
    clock.advance(config.perHolderMinIntervalMs);
    net.replyDelayMs = config.deadlineMs + 1;
    const late = await challenger.challengeOnce();
    expect(late).toMatchObject({ passed: false, failure: 'late' });
    expect(late!.elapsedMs).toBe(config.deadlineMs + 1);
    expect(counted).toEqual({ issued: 2, passed: 1, failed: 1 });
  });

  it('a forged signature fails, and so does an answer signed by another node', async () => {
    net.tamper = (reply) => {
      const answer = decodeAnswer(reply)!;
      const signature = Uint8Array.from(answer.signature);
      signature[0] = signature[0]! ^ 1;
      return encodeAnswer({ ...answer, signature });
    };
    expect(await challenger.challengeOnce()).toMatchObject({ passed: false, failure: 'bad-signature' });
    clock.advance(config.perHolderMinIntervalMs);
    // The challenger's own (valid) key in place of the holder's: not the expected holder.
    net.tamper = (reply) =>
      encodeAnswer({ ...decodeAnswer(reply)!, holder: Buffer.from(challengerKey.publicKey, 'hex') });
    expect(await challenger.challengeOnce()).toMatchObject({ passed: false, failure: 'wrong-holder' });
  });

  it('a refusal is no result; the third in a row from one holder is a failure, and an answer resets the count', async () => {
    const busy = () => {
      throw new RemoteError(holderKey.peerId, 'POS_BUSY', 'too many challenges waiting here');
    };
    const refuse = async () => {
      clock.advance(config.perHolderMinIntervalMs);
      net.tamper = busy;
      return challenger.challengeOnce();
    };
    expect(await refuse()).toBeUndefined();
    expect(await refuse()).toBeUndefined();
    expect(results).toEqual([]);
    expect(await refuse()).toMatchObject({ passed: false, failure: 'refused' });
    expect(results.map((r) => r.passed)).toEqual([false]);
    // Counting starts again; an answer in between starts it again too.
    expect(await refuse()).toBeUndefined();
    clock.advance(config.perHolderMinIntervalMs);
    net.tamper = undefined;
    expect(await challenger.challengeOnce()).toMatchObject({ passed: true });
    expect(await refuse()).toBeUndefined();
    expect(await refuse()).toBeUndefined();
    expect(counted).toEqual({ issued: 2, passed: 1, failed: 1 });
  });

  it('a challenge that never left this node (no slot in time, a full wait queue) is no result', async () => {
    for (const neverSent of [new SlotWaitTimeoutError(holderKey.peerId, 1000), new WaitQueueFullError(1)]) {
      net.tamper = () => {
        throw neverSent;
      };
      expect(await challenger.challengeOnce()).toBeUndefined();
    }
    expect(results).toEqual([]);
    expect(counted).toEqual({ issued: 0, passed: 0, failed: 0 });
    net.tamper = undefined; // and the holder may be challenged again at once
    expect(await challenger.challengeOnce()).toMatchObject({ passed: true });
  });

  it('a malformed answer fails', async () => {
    net.tamper = (reply) => ({ value: reply.value, body: reply.body!.subarray(1) });
    expect(await challenger.challengeOnce()).toMatchObject({ passed: false, failure: 'malformed' });
  });

  it('challenges each holder at most once per perHolderMinIntervalMs while running', async () => {
    const running = posService({ selfId: challengerKey.peerId, ...config, enabled: true })({
      manifests: {
        listDescriptors: async () => [objectId],
        getDescriptor: async () => (await challengerDescriptor()) as never,
        receipts: async () => [
          { holder: holderKey.publicKey, stripe: 0, shard: 0, shardHash: sha256Hex(shard) } as SignedReceipt,
        ],
        hasDescriptor: async () => true,
      },
      nodes: { liveNodes: () => [holderKey.peerId].map((id) => ({ id, region: 'r' })) },
      store,
      signer: challengerKey,
      rpc: net.rpc(challengerKey.peerId),
      server: net.server('other'),
      random: seededRandom(3),
      clock,
      logger: new MemoryLogger(),
      events: { onIssued: () => counted.issued++ },
    });
    await running.start();
    try {
      for (let t = 1; t <= 20; t++) {
        clock.advance(1_000);
        // A challenge is due at 1, 6, 11 and 16 s: wait for it (the holder reads its disk).
        const due = Math.floor((t - 1) / 5) + 1;
        const deadline = Date.now() + 10_000;
        while (running.stats().passed < due && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 5));
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      await running.stop();
    }
    // 20 s of ticks every second, one holder due every 5 s: 4 challenges, all answered.
    expect(counted.issued).toBe(4);
    expect(running.stats()).toMatchObject({ issued: 4, passed: 4 });

    async function challengerDescriptor() {
      return {
        erasure: { dataShards: 1, parityShards: 1, shardBytes: shard.length },
        merkleLeafBytes: 4096,
        stripes: [{ shards: [{ hash: sha256Hex(shard), merkleRoot: toHex(merkleRoot(shard)) }] }],
      };
    }
  });

  it('the holder rate-limits each challenger, answers only members, and refuses bad challenges', async () => {
    const request = (nonce: number) => ({
      op: 'challenge' as const,
      challenge: {
        shardHash: sha256Hex(shard),
        merkleRoot: toHex(merkleRoot(shard)),
        sizeBytes: shard.length,
        leafBytes: 4096,
        nonce: nonce.toString(16).padStart(64, '0'),
        issuedAtMs: clock.nowMs(),
        deadlineMs: clock.nowMs() + 2_000,
        leafIndices: [0],
      },
    });
    const ask = (peer: string, nonce: number) =>
      holder.answer(request(nonce), { peer }).then(
        () => 'answered',
        (error: { code: string }) => error.code,
      );
    const peer = challengerKey.peerId;
    const burst: string[] = [];
    for (let i = 0; i < 12; i++) burst.push(await ask(peer, 100 + i));
    expect(burst).toEqual(Array(12).fill('answered'));
    expect(await ask(peer, 4)).toBe('POS_RATE_LIMITED');
    // A stranger is refused before any read.
    const stranger = (await nodeKey()).peerId;
    expect(await ask(stranger, 5)).toBe('NOT_A_MEMBER');
    clock.advance(5_000); // one token back at 12 a minute
    expect(await ask(peer, 6)).toBe('answered');
    expect(await ask(peer, 7)).toBe('POS_RATE_LIMITED');
    clock.advance(60_000);
    const bad = { op: 'challenge' as const, challenge: { ...request(8).challenge, leafIndices: [] } };
    await expect(holder.answer(bad, { peer })).rejects.toMatchObject({ code: 'CHALLENGE_INVALID' });
    const unknown = { ...request(9).challenge, shardHash: 'cd'.repeat(32) };
    await expect(holder.answer({ op: 'challenge', challenge: unknown }, { peer })).rejects.toMatchObject({
      code: 'POS_NOT_HELD',
    });
    expect(holder.stats()).toMatchObject({ answered: 13 });
  });

  it('serves the versioned protocol id', () => {
    expect(net.handlers.get(holderKey.peerId)?.has(PROTOCOLS.pos)).toBe(true);
    expect(PROTOCOLS.pos).toBe('/trinity/pos/1.0.0');
  });
});
