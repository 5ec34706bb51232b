import { assert, type Clock, concatBytes, fromHex, type Logger, type Random, toHex } from '@trinity/core';
import {
  answerChallenge,
  type Challenge,
  challengeSchema,
  createChallenge,
  currentReceipts,
  type ManifestStore,
  merkleLimits,
  type ProofAnswer,
  proofLimits,
  type ShardCommitment,
  ShardCorruptError,
  ShardNotFoundError,
  type ShardStore,
  shardCommitment,
  TokenBucket,
  verifyProof,
} from '@trinity/storage';
import { z } from 'zod';
import { NodeError, RemoteError, RequestNotSentError } from '../../errors.js';
import { type NodeSigner, peerIdOfNodeKey } from '../../p2p/node-keys.js';
import { Semaphore } from '../../p2p/peer-guard.js';
import type { PeerRpc, ProtocolServer, RpcContext, RpcReply } from '../../p2p/rpc.js';
import { PROTOCOLS } from '../../p2p/wire.js';
import type { Startable } from '../../startable.js';
import { Repeater } from '../../timers.js';
import type { LiveNodes } from '../membership/membership.js';

/**
 * Proof-of-storage in the daemon (Sia-style, @trinity/storage's createChallenge / answerChallenge /
 * verifyProof). Every node is both sides:
 *
 * - holder: serves `/trinity/pos/1.0.0`. A member peer sends a challenge for a shard (by its
 *   owner-signed commitment); this node reads the shard from its store, answers with the asked
 *   leaves and their Merkle paths, signed with its node key. A shard it does not hold (or that its
 *   store finds corrupt and quarantines) gets the typed `POS_NOT_HELD` reply.
 * - challenger: every `intervalMs` picks a random (holder, shard) pair from the descriptors and
 *   holder receipts it holds, never the same holder twice within `perHolderMinIntervalMs`, sends a
 *   challenge with a fresh nonce and a deadline `deadlineMs` ahead, and checks the answer with
 *   verifyProof at the time it arrived. A late answer, a bad proof, "not held", an error or no
 *   answer at all is a failure: it is counted, reported to the `posResults` sink (economics), and
 *   queues a repair of the shard onto another node.
 *
 * Every node challenges at random, so each holder is challenged by several challengers over time.
 */

/** What `pos.*` in the node config sets. */
export interface PosConfig {
  readonly enabled: boolean;
  /** How often this node issues one challenge. */
  readonly intervalMs: number;
  /** This node challenges one holder at most once per this long. */
  readonly perHolderMinIntervalMs: number;
  /** Leaves asked per challenge (1-64). */
  readonly leaves: number;
  /** The answer must arrive within this long of issuing the challenge. */
  readonly deadlineMs: number;
  /** Challenges this node answers per challenger per minute (a token bucket with that burst). */
  readonly answersPerChallengerPerMinute: number;
}

export interface PosServiceInit extends PosConfig {
  readonly selfId: string;
}

/** One challenge's outcome as the economics service records it. */
export interface PosResult {
  /** The holder's node key (hex Ed25519 public key, as its receipts name it). */
  readonly holder: string;
  /** The challenged shard's hash (hex). */
  readonly shard: string;
  readonly passed: boolean;
}

/** Where challenge results go (the EconomicsService signs a `pos-result` event for each). */
export interface PosResultSink {
  recordPosResult(r: { holder: string; shard: string; passed: boolean }): Promise<void>;
}

/** Rebuilds a copy a holder failed to prove, on another node (the repair loop). */
export interface PosRepairer {
  repairFailedCopy(objectId: string, holder: string, shardHash: string): Promise<number>;
}

/** Told of every challenge issued and every result (the trinity_pos_* metrics). */
export interface PosEvents {
  onIssued?(): void;
  onResult?(passed: boolean): void;
}

export interface PosServiceComponents {
  readonly store: Pick<ShardStore, 'get'>;
  readonly manifests: Pick<ManifestStore, 'listDescriptors' | 'getDescriptor' | 'receipts' | 'hasDescriptor'>;
  readonly signer: NodeSigner;
  readonly rpc: PeerRpc;
  readonly server: ProtocolServer;
  /** Who may call (members) and who is challenged (live holders). */
  readonly nodes: LiveNodes;
  readonly random: Pick<Random, 'bytes'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly posResults?: PosResultSink;
  readonly repairer?: PosRepairer;
  readonly events?: PosEvents;
}

/** Why a challenge failed: verifyProof's reasons plus the transport's. */
export type PosFailure =
  | 'malformed'
  | 'late'
  | 'wrong-commitment'
  | 'bad-challenge'
  | 'wrong-holder'
  | 'wrong-leaves'
  | 'bad-path'
  | 'bad-signature'
  | 'not-held'
  | 'refused'
  | 'timeout';

/** The outcome of one challenge. */
export interface PosOutcome {
  readonly objectId: string;
  /** The holder's peer id. */
  readonly holder: string;
  readonly shardHash: string;
  readonly passed: boolean;
  readonly failure?: PosFailure;
  /** Milliseconds from issuing to receiving the answer (or giving up). */
  readonly elapsedMs: number;
}

/** A (holder, shard) pair to challenge. */
export interface PosTarget {
  readonly objectId: string;
  /** The holder's peer id. */
  readonly holder: string;
  /** The holder's node key (hex), as its receipt names it. */
  readonly holderKey: string;
  readonly commitment: ShardCommitment;
}

export interface PosStats {
  readonly issued: number;
  readonly passed: number;
  readonly failed: number;
  /** Challenges answered here (as the holder). */
  readonly answered: number;
  /** Challenges refused here: not held, rate-limited, not a member, invalid. */
  readonly refused: number;
  /** Longest time this node took to read a shard and build an answer, in ms. */
  readonly answerMsMax: number;
  /** Shard bytes read to answer challenges. */
  readonly answerBytesRead: number;
}

/** Bounds of the holder side. */
export const posLimits = {
  /** Answers built at once: each reads one whole shard into memory (bounded by the store's maxShardBytes). */
  answersInFlight: 2,
  /** Challenges waiting for a slot; more are refused (POS_BUSY). */
  answersWaiting: 16,
  /** Leaf bytes one answer may carry (64 leaves of 4 KiB are 256 KiB). */
  answerLeafBytesMax: 4 * 1024 * 1024,
  /** Challengers whose rate-limit bucket is remembered; the oldest is forgotten past this. */
  challengersMax: 4096,
  /** Random descriptors looked at per tick for a holder that is due. */
  pickAttempts: 8,
  /** A reply after the deadline is late whatever it holds: wait this much past it, then give up. */
  replyGraceMs: 1_000,
  /**
   * A refusal (busy, rate-limited, challenger not yet a member there) is no result: the holder is
   * asked again later. This many refusals in a row from one holder count as one failure, so that
   * refusing is no way to dodge proofs (Storj's audit containment works alike).
   */
  refusalsToFail: 3,
  /** Holders whose refusals in a row are remembered; the oldest is forgotten past this. */
  refusingHoldersMax: 4096,
} as const;

/** The request a challenger sends: the challenge (checked with @trinity/storage's schema by the holder). */
export const posRequestSchema = z.object({ op: z.literal('challenge'), challenge: z.unknown() }).strict();
export type PosRequest = z.output<typeof posRequestSchema>;

const hexOf = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`));

/** The answer's header value; the leaves and paths follow as the body (leaf bytes, then 32 bytes per path hash). */
const answerValueSchema = z
  .object({
    holder: hexOf(32),
    signature: hexOf(64),
    leaves: z
      .array(
        z
          .object({
            index: z
              .number()
              .int()
              .min(0)
              .max(merkleLimits.leavesMax - 1),
            bytes: z.number().int().min(0).max(merkleLimits.leafBytesMax),
            pathLength: z.number().int().min(0).max(proofLimits.pathLengthMax),
          })
          .strict(),
      )
      .min(1)
      .max(proofLimits.leavesPerChallengeMax),
  })
  .strict();

/** A proof answer as a reply: small JSON header, the bytes in the body. */
export function encodeAnswer(answer: ProofAnswer): RpcReply {
  const parts: Uint8Array[] = [];
  const leaves = answer.leaves.map((leaf) => {
    parts.push(leaf.data, ...leaf.path);
    return { index: leaf.index, bytes: leaf.data.length, pathLength: leaf.path.length };
  });
  return {
    value: { holder: toHex(answer.holder), signature: toHex(answer.signature), leaves },
    body: concatBytes(...parts),
  };
}

/**
 * The largest answer body a challenge of `leaves` leaves of `commitment`'s shard can bring: as many
 * distinct leaves as the shard has, up to `leaves`, each with at most pathLengthMax path hashes. With
 * the default 64 leaves of 4 KiB it is a bulk reply: it may not take the slots kept for small requests.
 */
export function answerBytesMax(commitment: ShardCommitment, leaves: number): number {
  const leafCount = Math.max(1, Math.ceil(commitment.sizeBytes / commitment.leafBytes));
  return Math.min(leaves, leafCount) * (commitment.leafBytes + proofLimits.pathLengthMax * 32);
}

/** The answer in a reply, or undefined when it is malformed (a failure for the holder). */
export function decodeAnswer(reply: RpcReply): ProofAnswer | undefined {
  const parsed = answerValueSchema.safeParse(reply.value);
  if (!parsed.success) return undefined;
  const body = reply.body ?? new Uint8Array(0);
  let offset = 0;
  const leaves: ProofAnswer['leaves'][number][] = [];
  for (const leaf of parsed.data.leaves) {
    const end = offset + leaf.bytes + 32 * leaf.pathLength;
    if (end > body.length) return undefined;
    const data = body.subarray(offset, offset + leaf.bytes);
    const path: Uint8Array[] = [];
    for (let p = offset + leaf.bytes; p < end; p += 32) path.push(body.subarray(p, p + 32));
    leaves.push({ index: leaf.index, data, path });
    offset = end;
  }
  if (offset !== body.length) return undefined;
  return {
    holder: fromHex(parsed.data.holder),
    signature: fromHex(parsed.data.signature),
    leaves,
  };
}

/** A peer may not ask this (not a member, or over its rate); nothing was read. */
export class PosRefusedError extends NodeError {
  constructor(code: string, message: string, status: number) {
    super(code, message, status);
  }
}

/** The shard challenged is not held here (never stored, deleted, or found corrupt and quarantined). */
export class PosNotHeldError extends NodeError {
  constructor(shardHash: string) {
    super('POS_NOT_HELD', `shard ${shardHash.slice(0, 16)}… is not held here`, 404);
  }
}

/** One token bucket per challenger, the oldest forgotten past `max` (a fresh one is full: no gain). */
class ChallengerBuckets {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #perMinute: number;
  readonly #max: number;

  constructor(perMinute: number, max: number) {
    this.#perMinute = perMinute;
    this.#max = max;
  }

  tryTake(peer: string, nowMs: number): boolean {
    let bucket = this.#buckets.get(peer);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#max) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = new TokenBucket({ ratePerSecond: this.#perMinute / 60, burst: this.#perMinute }, nowMs);
      this.#buckets.set(peer, bucket);
    }
    return bucket.tryTake(1, nowMs);
  }
}

/** The service's factory: `posService(init)(components)`. */
export function posService(init: PosServiceInit): (components: PosServiceComponents) => PosService {
  return (components) => new PosService(init, components);
}

export class PosService implements Startable {
  readonly #init: PosServiceInit;
  readonly #c: PosServiceComponents;
  readonly #repeater: Repeater;
  readonly #buckets: ChallengerBuckets;
  readonly #answering = new Semaphore(posLimits.answersInFlight, posLimits.answersWaiting);
  /** Holder (peer id) -> when this node last challenged it. */
  readonly #lastChallengedMs = new Map<string, number>();
  /** Refusals in a row per holder (see posLimits.refusalsToFail). */
  readonly #refusals = new Map<string, number>();
  /** Objects whose repair after a failed proof is running (one at a time per object). */
  readonly #repairing = new Map<string, Promise<void>>();
  readonly #stats = {
    issued: 0,
    passed: 0,
    failed: 0,
    answered: 0,
    refused: 0,
    answerMsMax: 0,
    answerBytesRead: 0,
  };

  constructor(init: PosServiceInit, components: PosServiceComponents) {
    this.#init = init;
    this.#c = components;
    this.#buckets = new ChallengerBuckets(init.answersPerChallengerPerMinute, posLimits.challengersMax);
    this.#repeater = new Repeater(components.clock, init.intervalMs, async () => {
      try {
        await this.challengeOnce();
      } catch (error) {
        components.logger.warn({ err: (error as Error).message }, 'proof-of-storage round failed');
      }
    });
  }

  /** Serves the protocol (a node answers challenges even with its own challenger off). */
  async start(): Promise<void> {
    await this.#c.server.handle(PROTOCOLS.pos, posRequestSchema, (request, context) =>
      this.answer(request, context),
    );
    if (this.#init.enabled) this.#repeater.start();
  }

  async stop(): Promise<void> {
    await this.#repeater.stop();
    await this.#c.server.unhandle(PROTOCOLS.pos);
    await Promise.allSettled([...this.#repairing.values()]);
  }

  stats(): PosStats {
    return { ...this.#stats };
  }

  // -- holder side ---------------------------------------------------------------------------

  /**
   * Answers one challenge from `context.peer`. Who may call: any member peer (a storage node this
   * node knows), at most `answersPerChallengerPerMinute` times a minute. Throws a typed error (the
   * caller gets its code) for anything it cannot answer.
   */
  async answer(request: PosRequest, context: Pick<RpcContext, 'peer'>): Promise<RpcReply> {
    const { nodes, clock, store, signer } = this.#c;
    const peer = context.peer;
    if (!nodes.liveNodes().some((node) => node.id === peer && peer !== this.#init.selfId)) {
      this.#stats.refused++;
      throw new PosRefusedError('NOT_A_MEMBER', `peer ${peer.slice(-8)} is not a known storage node`, 403);
    }
    if (!this.#buckets.tryTake(peer, clock.nowMs())) {
      this.#stats.refused++;
      throw new PosRefusedError(
        'POS_RATE_LIMITED',
        `peer ${peer.slice(-8)} sent more than ${this.#init.answersPerChallengerPerMinute} challenges a minute`,
        429,
      );
    }
    const parsed = challengeSchema.safeParse(request.challenge);
    if (!parsed.success) {
      this.#stats.refused++;
      const issue = parsed.error.issues[0];
      throw new PosRefusedError(
        'CHALLENGE_INVALID',
        `invalid challenge: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
        400,
      );
    }
    const challenge: Challenge = parsed.data;
    if (challenge.leafIndices.length * challenge.leafBytes > posLimits.answerLeafBytesMax) {
      this.#stats.refused++;
      throw new PosRefusedError(
        'CHALLENGE_TOO_LARGE',
        `the answer would carry over ${posLimits.answerLeafBytesMax} bytes of leaves`,
        400,
      );
    }
    try {
      await this.#answering.acquire();
    } catch {
      this.#stats.refused++;
      throw new PosRefusedError('POS_BUSY', 'too many challenges waiting here', 503);
    }
    try {
      const startedMs = clock.nowMs();
      let shard: Uint8Array;
      try {
        // The whole shard, hash-verified by the store: the paths need every leaf's hash. A corrupt
        // copy is quarantined by the store and answered as not held.
        shard = await store.get(fromHex(challenge.shardHash));
      } catch (error) {
        if (error instanceof ShardNotFoundError || error instanceof ShardCorruptError) {
          this.#stats.refused++;
          throw new PosNotHeldError(challenge.shardHash);
        }
        throw error;
      }
      const answer = await answerChallenge(challenge, shard, signer.secretKey);
      this.#stats.answered++;
      this.#stats.answerBytesRead += shard.length;
      this.#stats.answerMsMax = Math.max(this.#stats.answerMsMax, clock.nowMs() - startedMs);
      return encodeAnswer(answer);
    } finally {
      this.#answering.release();
    }
  }

  // -- challenger side -----------------------------------------------------------------------

  /** Picks a due (holder, shard) pair and challenges it; undefined when none is due. */
  async challengeOnce(): Promise<PosOutcome | undefined> {
    const target = await this.pickTarget();
    return target === undefined ? undefined : this.challenge(target);
  }

  /**
   * A random live holder (not this node, not challenged here within perHolderMinIntervalMs) of a
   * random shard among the descriptors and receipts held here, looking at a few descriptors at most.
   * Only a position's newest receipt is challenged: an older one of another holder was superseded by
   * a repair or a rebalancing move (the old holder released the shard; this node may not have heard
   * that), so asking it would fail a node that did nothing wrong.
   */
  async pickTarget(): Promise<PosTarget | undefined> {
    const { manifests, nodes, clock } = this.#c;
    const ids = await manifests.listDescriptors();
    if (ids.length === 0) return undefined;
    const live = new Set(nodes.liveNodes().map((node) => node.id));
    const nowMs = clock.nowMs();
    for (let attempt = 0; attempt < posLimits.pickAttempts; attempt++) {
      const id = ids[this.#randomIndex(ids.length)]!;
      const descriptor = await manifests.getDescriptor(id).catch(() => undefined);
      if (descriptor === undefined) continue;
      const due = currentReceipts(await manifests.receipts(id)).flatMap((receipt) => {
        const peer = peerIdOfNodeKey(receipt.holder);
        if (peer === undefined || peer === this.#init.selfId || !live.has(peer)) return [];
        const last = this.#lastChallengedMs.get(peer);
        if (last !== undefined && nowMs - last < this.#init.perHolderMinIntervalMs) return [];
        return [{ receipt, peer }];
      });
      if (due.length === 0) continue;
      const { receipt, peer } = due[this.#randomIndex(due.length)]!;
      let commitment: ShardCommitment;
      try {
        commitment = shardCommitment(descriptor, receipt.stripe, receipt.shard);
      } catch {
        continue;
      }
      return { objectId: id, holder: peer, holderKey: receipt.holder, commitment };
    }
    return undefined;
  }

  /** Challenges `target` now, checks the answer at the time it arrives, records and reports the result. */
  async challenge(target: PosTarget): Promise<PosOutcome | undefined> {
    const { rpc, random, clock, logger } = this.#c;
    let sentMs = clock.nowMs();
    this.#lastChallengedMs.set(target.holder, sentMs);
    // Made when the request holds its slot to the holder: its deadline counts from the send, so a
    // wait for a slot here is never the holder's lateness.
    let challenge: Challenge | undefined;
    const header = () => {
      sentMs = clock.nowMs();
      challenge = createChallenge({
        commitment: target.commitment,
        nonce: random.bytes(32),
        nowMs: sentMs,
        deadlineMs: sentMs + this.#init.deadlineMs,
        leavesPerChallenge: this.#init.leaves,
      });
      return { op: 'challenge', challenge };
    };
    let failure: PosFailure | undefined;
    try {
      const reply = await rpc.call(target.holder, PROTOCOLS.pos, header, undefined, {
        timeoutMs: this.#init.deadlineMs + posLimits.replyGraceMs,
        replyBytesMax: answerBytesMax(target.commitment, this.#init.leaves),
      });
      const receivedMs = clock.nowMs();
      assert(challenge !== undefined, 'a reply came to a challenge never sent');
      const answer = decodeAnswer(reply);
      if (answer === undefined) failure = 'malformed';
      else {
        const verdict = verifyProof(
          challenge,
          answer,
          target.commitment,
          fromHex(target.holderKey),
          receivedMs,
        );
        if (!verdict.ok) failure = verdict.reason;
      }
    } catch (error) {
      // Nothing was sent (the peer's breaker is open, or no slot to it freed in time): not a result.
      if (error instanceof RequestNotSentError) {
        this.#lastChallengedMs.delete(target.holder);
        return undefined;
      }
      if (error instanceof RemoteError)
        failure = error.remoteCode === 'POS_NOT_HELD' ? 'not-held' : 'refused';
      else failure = 'timeout';
    }
    // The object was deleted meanwhile (the holder learned of the tombstone first): no result.
    if (failure === 'not-held' && !(await this.#c.manifests.hasDescriptor(target.objectId))) return undefined;
    if (!this.#countsAfterRefusals(target.holder, failure === 'refused')) return undefined;
    const elapsedMs = clock.nowMs() - sentMs;
    const passed = failure === undefined;
    this.#stats.issued++;
    this.#c.events?.onIssued?.();
    if (passed) this.#stats.passed++;
    else this.#stats.failed++;
    this.#c.events?.onResult?.(passed);
    const outcome: PosOutcome = {
      objectId: target.objectId,
      holder: target.holder,
      shardHash: target.commitment.shardHash,
      passed,
      ...(failure === undefined ? {} : { failure }),
      elapsedMs,
    };
    if (!passed) {
      logger.warn(
        { holder: target.holder, shard: target.commitment.shardHash, failure, elapsedMs },
        'proof-of-storage challenge failed',
      );
      this.#queueRepair(target);
    }
    await this.#c.posResults
      ?.recordPosResult({ holder: target.holderKey, shard: target.commitment.shardHash, passed })
      .catch((error: Error) => logger.warn({ err: error.message }, 'proof-of-storage result not recorded'));
    return outcome;
  }

  /** Whether this outcome counts: a refusal only when it is the holder's `refusalsToFail`-th in a row. */
  #countsAfterRefusals(holder: string, refused: boolean): boolean {
    const refusals = this.#refusals;
    const inRow = (refusals.get(holder) ?? 0) + 1;
    refusals.delete(holder);
    if (!refused || inRow >= posLimits.refusalsToFail) return true;
    if (refusals.size >= posLimits.refusingHoldersMax) refusals.delete(refusals.keys().next().value!);
    refusals.set(holder, inRow);
    return false;
  }

  /** Waits for the repairs queued after failed proofs (tests). */
  async settled(): Promise<void> {
    while (this.#repairing.size > 0) await Promise.allSettled([...this.#repairing.values()]);
  }

  /** Rebuilds the copy the holder failed to prove on another node, one repair per object at a time. */
  #queueRepair(target: PosTarget): void {
    const { repairer, logger } = this.#c;
    if (repairer === undefined || this.#repairing.has(target.objectId)) return;
    const job = repairer
      .repairFailedCopy(target.objectId, target.holder, target.commitment.shardHash)
      .then((rebuilt) => {
        if (rebuilt > 0)
          logger.info({ id: target.objectId, rebuilt }, 'shard re-placed after a failed proof-of-storage');
      })
      .catch((error: Error) =>
        logger.warn({ id: target.objectId, err: error.message }, 'repair after a failed proof failed'),
      )
      .finally(() => this.#repairing.delete(target.objectId));
    this.#repairing.set(target.objectId, job);
  }

  /** A uniform index below `n` from the random source (rejection sampling over 32 bits). */
  #randomIndex(n: number): number {
    const limit = Math.floor(2 ** 32 / n) * n;
    for (;;) {
      const bytes = this.#c.random.bytes(4);
      const draw = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
      if (draw < limit) return draw % n;
    }
  }
}
