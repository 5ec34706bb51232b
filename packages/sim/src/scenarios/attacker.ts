import { assertInt, ed25519, isTrinityError, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { type EconomicsEvent, EconomicsState, type EventBody, EventSigner } from '@trinity/economics';
import { createEncoder, type Encoder } from '@trinity/erasure';
import {
  answerChallengeSync,
  authorizeStore,
  type Challenge,
  checkReceipt,
  checkSignedDescriptor,
  createChallenge,
  MerkleTree,
  type ProofAnswer,
  type ShardCommitment,
  type SignedDescriptor,
  type SignedPutIntent,
  type SignedReceipt,
  type SignedTombstone,
  shardCommitment,
  signDescriptor,
  signPutIntent,
  signReceipt,
  signTombstone,
  TokenBucket,
  TombstoneSet,
  verifyProof,
} from '@trinity/storage';
import { builtinTopology } from '@trinity/topology';
import { ShardLockManager } from '@trinity/vsa';
import type { SimRandom } from '../random.js';
import type { Scenario, ScenarioOptions, ScenarioOutcome } from '../scenario.js';
import { cachingVerifier, economicsConfig, simEconomicsConfig } from './economics.js';
import { treeOnlyAnswer } from './proof-of-storage.js';
import { dataShards, parityShards, randomRegions, ScenarioWorld, withDefaults } from './world.js';

/**
 * The trust issue's attacks, each tried by attacker peers against honest nodes that check every
 * request with @trinity/storage's and @trinity/vsa's own checks (the daemon's). Counted per kind in
 * the run's counts as `attempts.<kind>` and `refused.<kind>`.
 */
export const attackKinds = [
  /** A tombstone for another owner's object, signed by the attacker's own key. */
  'delete-forged',
  /** The attacker's tombstone claiming the victim owner's key (the signature is the attacker's). */
  'delete-claimed',
  /** A tombstone without a signature. */
  'delete-unsigned',
  /** The victim's descriptor with a field changed, under the victim's signature. */
  'overwrite-tampered',
  /** A descriptor re-signed by the attacker, sent as the victim's object id. */
  'overwrite-resigned',
  /** A commit of another owner's staged shard with a guessed fencing token. */
  'commit-not-owner',
  /** A release of a shard lock another owner holds. */
  'lock-steal',
  /** The old owner-signed record of an object its owner deleted, replayed. */
  'replay-deleted',
  /** An owner's tombstone of one object replayed against another object of the same owner. */
  'replay-tombstone',
  /** An owner's put intent (seen as a holder) replayed to store other bytes, or after it expired. */
  'replay-intent',
  /** Receipts saying an honest node holds shards, signed by the attacker. */
  'forged-receipt',
  /** Stages without the owner's intent, with an intent for another holder or another transaction. */
  'store-unauthorized',
  /** Corrupted shard bytes served to a reader. */
  'corrupt-serve',
  /** A proof-of-storage answer for a shard the attacker dropped (kept its receipt). */
  'dropped-shard',
  /** A burst of requests past the target's per-peer limit. */
  'flood',
] as const;
export type AttackKind = (typeof attackKinds)[number];

/** The receipt check an honest node runs (default @trinity/storage's `checkReceipt`); tests plant weak variants. */
export type ReceiptCheck = typeof checkReceipt;

/**
 * How an honest node takes a delete: remember `tombstone` for the object (owner key from the
 * verified descriptor) or throw. Default `TombstoneSet.add`, which runs `checkTombstone`.
 */
export type TombstoneAcceptor = (
  tombstones: TombstoneSet,
  tombstone: unknown,
  object: { objectId: string; ownerKey: string },
  nowMs: number,
) => void;

const addTombstone: TombstoneAcceptor = (tombstones, tombstone, object, nowMs) => {
  tombstones.add(tombstone, object, nowMs);
};

export interface AttackerOptions extends ScenarioOptions {
  /** Objects put by honest owners (default a third of the node count, at least 8). */
  readonly objects?: number;
  /** Attacker peers among the nodes (default 5 % of them, at least 1). */
  readonly attackers?: number;
  /** The attacks drawn from (default every kind). */
  readonly attacks?: readonly AttackKind[];
  /** How honest nodes check a receipt. */
  readonly checkReceipt?: ReceiptCheck;
  /** How honest nodes take a delete. */
  readonly acceptTombstone?: TombstoneAcceptor;
  /**
   * Attacks, reads and challenges go on until then (default 30 s, at least 14 s: after the owners'
   * deletes at 9-13 s); the final reads start 2 s later. The sweep's smaller runs shorten it.
   */
  readonly attacksUntilMs?: number;
}

const shardBytes = 4096;
const leafBytes = 1024;
const intentLifetimeMs = 8_000;
const putsUntilMs = 6_000;
const attacksFromMs = 2_000;
const attackMeanGapMs = 300;
const deletesFromMs = 9_000;
const deleteShare = 0.2;
const readMeanGapMs = 400;
const challengeMeanGapMs = 500;
const challengeWindowMs = 2_000;
/** The final reads start this long after the attacks, reads and challenges stopped. */
const finalReadsAfterMs = 2_000;
/** Attacks and reads pick objects acknowledged at least this long ago (their records have reached every replica). */
const settleMs = 2_000;
/** Extra replicas of each record beside the owner and the holders. */
const extraReplicas = 2;
/** Per-peer request limit of every honest node: a token bucket (rate per second, burst). */
const peerRatePerSecond = 20;
const peerBurst = 40;
const floodBurst = 3 * peerBurst;

type Message =
  | {
      readonly t: 'stage';
      readonly req: number;
      readonly txId: string;
      readonly intent: unknown;
      readonly descriptor: unknown;
      readonly hash: string;
      readonly bytes: Uint8Array;
    }
  | { readonly t: 'staged'; readonly req: number; readonly token: number }
  | {
      readonly t: 'commit';
      readonly req: number;
      readonly txId: string;
      readonly objectId: string;
      readonly shard: number;
      readonly hash: string;
      readonly token: number;
    }
  | { readonly t: 'committed'; readonly req: number; readonly receipt: SignedReceipt }
  | { readonly t: 'release-lock'; readonly req: number; readonly hash: string }
  | {
      readonly t: 'record';
      readonly req: number;
      readonly id: string;
      readonly descriptor: unknown;
      readonly receipts: readonly unknown[];
    }
  | {
      readonly t: 'delete';
      readonly req: number;
      readonly id: string;
      readonly descriptor: unknown;
      readonly tombstone: unknown;
    }
  | { readonly t: 'fetch'; readonly req: number; readonly hash: string }
  | { readonly t: 'shard'; readonly req: number; readonly bytes: Uint8Array }
  | { readonly t: 'challenge'; readonly req: number; readonly challenge: Challenge }
  | { readonly t: 'answer'; readonly req: number; readonly answer: ProofAnswer }
  | { readonly t: 'ok'; readonly req: number }
  | { readonly t: 'refused'; readonly req: number; readonly code: string };

interface ObjectRecord {
  readonly descriptor: SignedDescriptor;
  readonly receipts: SignedReceipt[];
}

interface Staged {
  readonly txId: string;
  readonly bytes: Uint8Array;
}

interface TrustNode {
  readonly index: number;
  readonly secretKey: Uint8Array;
  /** The node key, hex: its receipts' holder, its locks' holder id, its economics account. */
  readonly key: string;
  readonly publicKey: Uint8Array;
  readonly signer: EventSigner;
  readonly attacker: boolean;
  readonly records: Map<string, ObjectRecord>;
  readonly tombstones: TombstoneSet;
  /** Shards stored, by hash, with the Merkle tree answered from. */
  readonly shards: Map<string, { readonly bytes: Uint8Array; readonly tree: MerkleTree }>;
  /** Staged shards by hash. */
  readonly staged: Map<string, Staged>;
  readonly locks: ShardLockManager;
  /** Per-peer request limits. */
  readonly buckets: Map<number, TokenBucket>;
  /** An attacker's plan for the shards it holds: serve corrupted bytes, or drop them (keeping the tree). */
  readonly corrupt: Set<string>;
  readonly dropped: Set<string>;
}

/** An object an honest owner put, as the world knows it (the checkers' truth). */
interface PutObject {
  readonly owner: number;
  readonly data: Uint8Array;
  readonly descriptor: SignedDescriptor;
  readonly id: string;
  readonly hashes: readonly string[];
  readonly holders: readonly number[];
  readonly txId: string;
  intent: SignedPutIntent | undefined;
  readonly tokens: (number | undefined)[];
  readonly receipts: (SignedReceipt | undefined)[];
  readonly shards: readonly Uint8Array[];
  readonly replicas: readonly number[];
  acked: boolean;
  ackedAtMs: number;
  deleted: SignedTombstone | undefined;
}

type Pending =
  | { readonly t: 'put'; readonly object: number; readonly shard: number }
  | { readonly t: 'read'; readonly read: Read }
  | {
      readonly t: 'challenge';
      readonly challenger: number;
      readonly holder: number;
      readonly challenge: Challenge;
      readonly commitment: ShardCommitment;
    }
  | { readonly t: 'none' };

/** A read of an object by an honest node: shards fetched from their holders until k verify. */
interface Read {
  readonly reader: number;
  readonly object: number;
  readonly final: boolean;
  /** Remaining (shard, holder) to ask, in order. */
  readonly queue: { shard: number; holder: number }[];
  readonly got: (Uint8Array | null)[];
  /** Request number -> the shard position it asked. */
  readonly asked: Map<number, number>;
  valid: number;
  outstanding: number;
  done: boolean;
}

/** One attack message in flight: its kind and target, and the target's state before it. */
interface AttackAttempt {
  readonly kind: AttackKind;
  readonly attacker: number;
  readonly target: number;
  readonly flood?: Flood;
}

interface Flood {
  readonly attacker: number;
  readonly target: number;
  arrivals: number;
  refusals: number;
  firstMs: number;
  lastMs: number;
}

type Outcome = { readonly refused: string } | { readonly changed: boolean };

/**
 * Attacker peers in a network of strangers: honest owners put objects (RS(4,2) stripes of owner-
 * signed descriptors, stored under owner-signed put intents, committed with fencing tokens of a
 * @trinity/vsa `ShardLockManager`, each holder signing its receipt), read them back, delete some
 * with owner-signed tombstones and challenge holders with proofs of storage; attackers (seeded)
 * try the trust issue's attacks at seeded times. Every honest check is the packages' own:
 * `checkSignedDescriptor`, `checkReceipt`, `TombstoneSet.add` (`checkTombstone`), `authorizeStore`,
 * `ShardLockManager.assertFencingToken` / `verify` / `release`, `verifyProof`, a `TokenBucket` per
 * peer. A caught attacker is slashed through @trinity/economics.
 */
class AttackerWorld extends ScenarioWorld<Message> {
  readonly #options: Required<AttackerOptions>;
  readonly #random: SimRandom;
  readonly #attackRandom: SimRandom;
  readonly #nonces: SimRandom;
  readonly #nodes: TrustNode[] = [];
  readonly #honest: number[] = [];
  /** Node index by node key (hex). */
  readonly #byKey = new Map<string, number>();
  readonly #objects: PutObject[] = [];
  readonly #codec: Encoder = createEncoder({ dataShards, parityShards });
  readonly #pending = new Map<number, Pending>();
  readonly #attacks = new Map<number, AttackAttempt>();
  readonly #floods: Flood[] = [];
  #nextReq = 1;
  /** The network's economics ledger: every slash and proof result is applied to it. */
  readonly #ledger: EconomicsState;
  readonly #slashed = new Set<string>();
  /** Attackers caught serving corrupted bytes or failing a challenge. */
  readonly #caught = new Set<number>();
  readonly #attempts: Record<string, number> = {};
  readonly #refused: Record<string, number> = {};
  /** Refused attack messages by the code of the check that refused them (`refusedBy.<CODE>`). */
  readonly #refusedBy: Record<string, number> = {};
  readonly #counts: Record<string, number> = {
    puts: 0,
    acked: 0,
    deletes: 0,
    reads: 0,
    challenges: 0,
    slashes: 0,
    honestLimited: 0,
  };
  readonly #kind: Record<'put' | 'attack' | 'read' | 'challenge' | 'delete' | 'finalRead' | 'later', number>;

  constructor(options: AttackerOptions) {
    super(options.seed);
    const n = options.nodes;
    this.#options = withDefaults(options, {
      objects: options.objects ?? Math.max(8, Math.ceil(n / 3)),
      attackers: options.attackers ?? Math.max(1, Math.round(n * 0.05)),
      attacks: options.attacks ?? attackKinds,
      checkReceipt: options.checkReceipt ?? checkReceipt,
      acceptTombstone: options.acceptTombstone ?? addTombstone,
      attacksUntilMs: options.attacksUntilMs ?? 30_000,
    });
    assertInt(this.#options.attacksUntilMs, 'attacksUntilMs', 14_000, 3_600_000);
    if (this.#options.attackers >= n / 2) throw new RangeError('attackers must be fewer than half the nodes');
    this.#random = this.root.fork('workload');
    this.#attackRandom = this.root.fork('attacks');
    this.#nonces = this.root.fork('nonces');
    const layout = this.root.fork('layout');
    const verifier = cachingVerifier(ed25519, () => {});
    const keys = Array.from({ length: n }, (_, i) =>
      sha256(utf8ToBytes(`sim-attacker/${options.seed}/${i}`)),
    );
    const signers = keys.map((key) => new EventSigner(key, { ed25519: verifier }));
    this.#ledger = new EconomicsState({ config: simEconomicsConfig(signers), ed25519: verifier });
    const attackers = new Set(
      layout.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, this.#options.attackers),
    );
    for (let i = 0; i < n; i++) {
      const publicKey = ed25519.publicKey(keys[i]!);
      this.#nodes.push({
        index: i,
        secretKey: keys[i]!,
        key: toHex(publicKey),
        publicKey,
        signer: signers[i]!,
        attacker: attackers.has(i),
        records: new Map(),
        tombstones: new TombstoneSet({ maxEntries: 100_000 }),
        shards: new Map(),
        staged: new Map(),
        locks: new ShardLockManager(),
        buckets: new Map(),
        corrupt: new Set(),
        dropped: new Set(),
      });
      if (!attackers.has(i)) this.#honest.push(i);
      this.#byKey.set(toHex(publicKey), i);
    }
    const topology = builtinTopology();
    this.connect(topology, randomRegions(n, topology, layout), (to, from, message) =>
      this.#deliver(to, from, message),
    );
    const s = this.scheduler;
    this.#kind = {
      put: s.register('put', (o) => this.#put(o)),
      attack: s.register('attack', (a) => this.#attack(a)),
      read: s.register('read', () => this.#readSome()),
      challenge: s.register('challenge', (c) => this.#challenge(c)),
      delete: s.register('owner-delete', (o) => this.#ownerDelete(o)),
      finalRead: s.register('final-read', (o) => this.#read(o, true)),
      later: s.register('attack-later', (_a, _d, payload) => (payload as () => void)()),
    };
    this.#planObjects(this.root.fork('data'), layout);
  }

  run(): ScenarioOutcome {
    const s = this.scheduler;
    const workload = this.#random;
    for (let o = 0; o < this.#objects.length; o++) s.at(workload.float() * putsUntilMs, this.#kind.put, o);
    for (let o = 0; o < this.#objects.length; o++)
      if (workload.chance(deleteShare)) s.at(deletesFromMs + workload.float() * 4_000, this.#kind.delete, o);
    s.at(putsUntilMs + workload.exponential(readMeanGapMs), this.#kind.read, 0);
    for (const c of this.#honest)
      s.at(attacksFromMs + workload.exponential(challengeMeanGapMs * 8), this.#kind.challenge, c);
    if (this.#options.faults)
      for (const node of this.#nodes)
        if (node.attacker)
          s.at(
            attacksFromMs + this.#attackRandom.exponential(attackMeanGapMs),
            this.#kind.attack,
            node.index,
          );
    for (let o = 0; o < this.#objects.length; o++)
      s.at(
        this.#options.attacksUntilMs + finalReadsAfterMs + workload.float() * 4_000,
        this.#kind.finalRead,
        o,
      );
    const c = economicsConfig;
    const endMs =
      this.#options.attacksUntilMs +
      finalReadsAfterMs +
      10_000 +
      c.settleDelayMs +
      c.disputeWindowMs +
      c.votingWindowMs +
      c.lowParticipationExtensionMs +
      5_000;
    const end = s.run(endMs);
    this.checks.check('settles', end !== 'event-limit', () => 'event limit reached');
    this.#ledger.advanceTo(Math.floor(endMs));
    this.#ledger.flush();
    this.#checkEnd();
    const counts: Record<string, number> = { objects: this.#objects.length, ...this.#counts };
    for (const kind of this.#options.attacks) {
      counts[`attempts.${kind}`] = this.#attempts[kind] ?? 0;
      counts[`refused.${kind}`] = this.#refused[kind] ?? 0;
    }
    const attempts = Object.values(this.#attempts).reduce((sum, k) => sum + k, 0);
    return this.outcome({
      faults: { attacks: attempts },
      counts: { ...counts, attackers: this.#options.attackers, ...this.#refusedBy },
    });
  }

  #now(): number {
    return Math.floor(this.scheduler.nowMs);
  }

  /** Keeps a committed shard (with its Merkle tree for proofs) and sends the holder's signed receipt. */
  #storeAndReceipt(
    node: TrustNode,
    to: number,
    commit: Extract<Message, { t: 'commit' }>,
    bytes: Uint8Array,
    now: number,
  ): void {
    node.shards.set(commit.hash, { bytes, tree: MerkleTree.fromBytes(bytes, leafBytes) });
    const receipt = signReceipt(
      { objectId: commit.objectId, stripe: 0, shard: commit.shard, shardHash: commit.hash, storedAtMs: now },
      node.secretKey,
    );
    this.#send(node.index, to, { t: 'committed', req: commit.req, receipt }, 512);
  }

  #send(from: number, to: number, message: Message, bytes = 256): void {
    this.network.send(from, to, message, bytes);
  }

  #request(from: number, to: number, pending: Pending, build: (req: number) => Message, bytes = 256): number {
    const req = this.#nextReq++;
    this.#pending.set(req, pending);
    this.#send(from, to, build(req), bytes);
    return req;
  }

  // --- objects -------------------------------------------------------------------------------

  #planObjects(data: SimRandom, layout: SimRandom): void {
    const n = this.#nodes.length;
    const width = dataShards + parityShards;
    for (let o = 0; o < this.#options.objects; o++) {
      const owner = layout.pick(this.#honest);
      const bytes = new Uint8Array(dataShards * shardBytes);
      for (let b = 0; b < bytes.length; b++) bytes[b] = data.nextUint32() & 0xff;
      const shards = this.#codec.split(bytes);
      this.#codec.encode(shards);
      const holders = layout.shuffle(Array.from({ length: n }, (_, i) => i).filter((i) => i !== owner));
      const chosen = holders.slice(0, width);
      const commitments = shards.map((shard) => ({
        hash: toHex(sha256(shard)),
        merkleRoot: toHex(MerkleTree.fromBytes(shard, leafBytes).root),
      }));
      const descriptor = signDescriptor(
        {
          size: bytes.length,
          createdAtMs: 0,
          erasure: { dataShards, parityShards, shardBytes },
          merkleLeafBytes: leafBytes,
          stripes: [{ dataBytes: bytes.length, shards: commitments }],
        },
        this.#nodes[owner]!.secretKey,
      );
      const checked = checkSignedDescriptor(descriptor);
      if (!checked.ok) throw new Error(`own descriptor does not check: ${checked.message}`);
      const replicas = new Set([owner, ...chosen]);
      for (const extra of holders.slice(width)) {
        if (replicas.size >= width + 1 + extraReplicas) break;
        replicas.add(extra);
      }
      this.#objects.push({
        owner,
        data: bytes,
        descriptor,
        id: checked.value.id,
        hashes: commitments.map((c) => c.hash),
        holders: chosen,
        txId: toHex(sha256(utf8ToBytes(`tx/${this.#options.seed}/${o}`))).slice(0, 32),
        intent: undefined,
        tokens: chosen.map(() => undefined),
        receipts: chosen.map(() => undefined),
        shards,
        replicas: [...replicas],
        acked: false,
        ackedAtMs: 0,
        deleted: undefined,
      });
    }
  }

  /** The owner stages each shard on its holder under one signed put intent. */
  #put(o: number): void {
    const object = this.#objects[o]!;
    const owner = this.#nodes[object.owner]!;
    const now = this.#now();
    const intent = signPutIntent(
      {
        txId: object.txId,
        createdAtMs: now,
        expiresAtMs: now + intentLifetimeMs,
        shards: object.hashes.map((shardHash, i) => ({
          shardHash,
          holders: [this.#nodes[object.holders[i]!]!.key],
        })),
      },
      owner.secretKey,
    );
    object.intent = intent;
    this.#counts.puts!++;
    const shards = object.shards;
    for (const [i, holder] of object.holders.entries()) {
      this.#request(
        owner.index,
        holder,
        { t: 'put', object: o, shard: i },
        (req) => ({
          t: 'stage',
          req,
          txId: object.txId,
          intent,
          descriptor: object.descriptor,
          hash: object.hashes[i]!,
          bytes: shards[i]!,
        }),
        shardBytes + 1024,
      );
    }
  }

  #onStaged(o: number, shard: number, token: number): void {
    const object = this.#objects[o]!;
    object.tokens[shard] = token;
    if (object.tokens.some((t) => t === undefined)) return;
    for (const [i, holder] of object.holders.entries()) {
      this.#request(object.owner, holder, { t: 'put', object: o, shard: i }, (req) => ({
        t: 'commit',
        req,
        txId: object.txId,
        objectId: object.id,
        shard: i,
        hash: object.hashes[i]!,
        token: object.tokens[i]!,
      }));
    }
  }

  #onCommitted(o: number, shard: number, receipt: SignedReceipt): void {
    const object = this.#objects[o]!;
    object.receipts[shard] = receipt;
    if (object.receipts.some((r) => r === undefined)) return;
    object.acked = true;
    object.ackedAtMs = this.#now();
    this.#counts.acked!++;
    const receipts = object.receipts as SignedReceipt[];
    for (const replica of object.replicas)
      this.#request(object.owner, replica, { t: 'none' }, (req) => ({
        t: 'record',
        req,
        id: object.id,
        descriptor: object.descriptor,
        receipts,
      }));
  }

  /** The owner deletes an acknowledged object: its tombstone to every replica. */
  #ownerDelete(o: number): void {
    const object = this.#objects[o]!;
    if (!object.acked) return;
    const owner = this.#nodes[object.owner]!;
    const tombstone = signTombstone(
      { objectId: object.id, deletedAtMs: this.#now(), retentionMs: 3_600_000 },
      owner.secretKey,
    );
    object.deleted = tombstone;
    this.#counts.deletes!++;
    for (const replica of object.replicas)
      this.#request(owner.index, replica, { t: 'none' }, (req) => ({
        t: 'delete',
        req,
        id: object.id,
        descriptor: object.descriptor,
        tombstone,
      }));
  }

  // --- reads and challenges --------------------------------------------------------------------

  #readSome(): void {
    const settled = this.#now() - settleMs;
    const live = this.#objects.filter((o) => o.acked && o.ackedAtMs <= settled && o.deleted === undefined);
    if (live.length > 0) this.#read(this.#objects.indexOf(this.#random.pick(live)), false);
    const next = this.scheduler.nowMs + this.#random.exponential(readMeanGapMs);
    if (next < this.#options.attacksUntilMs) this.scheduler.at(next, this.#kind.read, 0);
  }

  /** An honest replica of the object reads it: holders from the receipts it counted, in random order. */
  #read(o: number, final: boolean): void {
    const object = this.#objects[o]!;
    if (!object.acked || object.deleted !== undefined) return;
    const readers = object.replicas.filter((r) => !this.#nodes[r]!.attacker);
    const reader = this.#random.pick(readers);
    const record = this.#nodes[reader]!.records.get(object.id);
    if (
      !this.checks.check(
        'replica-has-record',
        record !== undefined,
        () => `n${reader} lacks ${object.id.slice(0, 12)}`,
      )
    )
      return;
    const queue: { shard: number; holder: number }[] = [];
    for (const receipt of record!.receipts) {
      const holder = this.#nodeOfKey(receipt.holder);
      if (holder !== undefined) queue.push({ shard: receipt.shard, holder });
    }
    const read: Read = {
      reader,
      object: o,
      final,
      queue: this.#random.shuffle(queue),
      got: Array.from({ length: dataShards + parityShards }, () => null),
      asked: new Map(),
      valid: 0,
      outstanding: 0,
      done: false,
    };
    this.#counts.reads!++;
    this.#fetchMore(read);
  }

  #nodeOfKey(key: string): number | undefined {
    return this.#byKey.get(key);
  }

  #fetchMore(read: Read): void {
    const object = this.#objects[read.object]!;
    while (!read.done && read.valid + read.outstanding < dataShards && read.queue.length > 0) {
      const { shard, holder } = read.queue.shift()!;
      if (read.got[shard] !== null) continue;
      read.outstanding++;
      const req = this.#request(read.reader, holder, { t: 'read', read }, (r) => ({
        t: 'fetch',
        req: r,
        hash: object.hashes[shard]!,
      }));
      read.asked.set(req, shard);
    }
    if (
      !read.done &&
      read.valid + read.outstanding < dataShards &&
      read.queue.length === 0 &&
      read.outstanding === 0
    )
      this.#finishRead(read, false);
  }

  #onFetched(read: Read, req: number, from: number, bytes: Uint8Array | undefined): void {
    read.outstanding--;
    const shard = read.asked.get(req)!;
    const object = this.#objects[read.object]!;
    // The reader takes a shard only when it hashes to what the owner signed for that position.
    const valid = bytes !== undefined && toHex(sha256(bytes)) === object.hashes[shard];
    if (bytes !== undefined && !valid) this.#caughtServingCorrupt(read.reader, from, read.object, shard);
    if (read.done) return;
    if (valid && read.got[shard] === null) {
      read.got[shard] = bytes;
      read.valid++;
    }
    if (read.valid >= dataShards) this.#finishRead(read, true);
    else this.#fetchMore(read);
  }

  #finishRead(read: Read, enough: boolean): void {
    read.done = true;
    const object = this.#objects[read.object]!;
    const what = `${read.final ? 'final ' : ''}read of object ${read.object} by n${read.reader}`;
    if (!enough) {
      // A read racing its owner's delete may find the shards gone.
      if (object.deleted === undefined)
        this.checks.check('acked-readable', false, () => `${what}: fewer than ${dataShards} shards verified`);
      return;
    }
    const rebuilt = this.#codec.reconstruct(read.got.map((s) => (s === null ? null : s.slice())));
    const joined = this.#codec.join(rebuilt, object.data.length);
    this.checks.check(
      read.final ? 'acked-readable' : 'reads-byte-identical',
      joined.length === object.data.length && joined.every((b, i) => b === object.data[i]),
      () => `${what}: bytes differ`,
    );
  }

  /** Honest challenger `c` asks a random holder of a random object it keeps the record of. */
  #challenge(c: number): void {
    const node = this.#nodes[c]!;
    const ids = [...node.records.keys()];
    if (ids.length > 0) {
      const id = this.#random.pick(ids);
      const record = node.records.get(id)!;
      const receipt = this.#random.pick(record.receipts);
      const holder = this.#nodeOfKey(receipt.holder);
      if (holder !== undefined && holder !== c) {
        const now = this.#now();
        const commitment = shardCommitment(record.descriptor, receipt.stripe, receipt.shard);
        const challenge = createChallenge({
          commitment,
          nonce: randomBytesOf(this.#nonces, 32),
          nowMs: now,
          deadlineMs: now + challengeWindowMs,
          leavesPerChallenge: 2,
        });
        this.#counts.challenges!++;
        this.#request(c, holder, { t: 'challenge', challenger: c, holder, challenge, commitment }, (req) => ({
          t: 'challenge',
          req,
          challenge,
        }));
      }
    }
    const next = this.scheduler.nowMs + this.#random.exponential(challengeMeanGapMs * 8);
    if (next < this.#options.attacksUntilMs) this.scheduler.at(next, this.#kind.challenge, c);
  }

  #onAnswer(pending: Extract<Pending, { t: 'challenge' }>, answer: ProofAnswer | undefined): void {
    if (answer === undefined) return; // not held (deleted meanwhile) or limited: no result
    const holder = this.#nodes[pending.holder]!;
    const commitment = pending.commitment;
    const result = verifyProof(pending.challenge, answer, commitment, holder.publicKey, this.#now());
    const passed = result.ok;
    this.#emit(pending.challenger, {
      type: 'pos-result',
      holder: holder.key,
      shard: commitment.shardHash,
      passed,
    });
    if (passed) return;
    if (holder.dropped.has(commitment.shardHash)) this.#refusedAttack('dropped-shard');
    this.checks.check(
      'no-honest-accused',
      holder.attacker,
      () => `honest n${holder.index} failed a challenge: ${result.ok ? '' : result.reason}`,
    );
    this.#caught.add(holder.index);
    this.#slash(
      pending.challenger,
      holder,
      'pos-failure',
      `${pending.challenger}/${pending.challenge.nonce}`,
    );
  }

  #caughtServingCorrupt(reader: number, from: number, object: number, shard: number): void {
    const holder = this.#nodes[from]!;
    if (holder.corrupt.has(this.#objects[object]!.hashes[shard]!)) this.#refusedAttack('corrupt-serve');
    this.checks.check('no-honest-accused', holder.attacker, () => `honest n${from} served corrupt bytes`);
    this.#caught.add(from);
    this.#slash(reader, holder, 'data-corruption', `${reader}/${object}/${shard}/${this.#now()}`);
  }

  #emit(actor: number, body: EventBody): void {
    const signer = this.#nodes[actor]!.signer;
    const event: EconomicsEvent = signer.sign(body, this.#ledger.nextTimeMs(this.#now()));
    this.#ledger.apply(event, { nowMs: this.#now() });
  }

  /** One slash per accused: the first node to catch it proposes it (the others see its escrow). */
  #slash(
    catcher: number,
    accused: TrustNode,
    reason: 'pos-failure' | 'data-corruption',
    evidence: string,
  ): void {
    if (this.#slashed.has(accused.key)) return;
    this.#slashed.add(accused.key);
    this.#counts.slashes!++;
    this.#emit(catcher, {
      type: 'slash',
      accused: accused.key,
      reason,
      evidence: toHex(sha256(utf8ToBytes(evidence))),
    });
  }

  // --- the honest handlers -----------------------------------------------------------------------

  #deliver(to: number, from: number, message: Message): void {
    const node = this.#nodes[to]!;
    switch (message.t) {
      case 'staged':
      case 'committed':
      case 'ok':
      case 'refused':
      case 'shard':
      case 'answer':
        this.#onReply(from, message);
        return;
    }
    if (node.attacker) {
      this.#attackerServes(node, from, message);
      return;
    }
    const attack = this.#attacks.get(message.req);
    const before = attack === undefined ? undefined : this.#fingerprint(node);
    const outcome = this.#admit(node, from) ?? this.#handle(node, from, message);
    if ('refused' in outcome)
      this.#send(to, from, { t: 'refused', req: message.req, code: outcome.refused }, 64);
    if (attack !== undefined) {
      this.#attacks.delete(message.req);
      const refused = 'refused' in outcome || !outcome.changed;
      if (attack.flood !== undefined) {
        const flood = attack.flood;
        if (flood.arrivals++ === 0) flood.firstMs = this.scheduler.nowMs;
        flood.lastMs = this.scheduler.nowMs;
        if ('refused' in outcome && outcome.refused === 'PEER_BUSY') flood.refusals++;
        return;
      }
      this.checks.check(
        'attack-refused',
        refused,
        () => `${attack.kind} by n${attack.attacker} accepted by n${to} (${message.t})`,
      );
      if (refused) {
        this.#refusedAttack(attack.kind);
        const code = `refusedBy.${'refused' in outcome ? outcome.refused.split(':')[0] : 'NOTHING_TAKEN'}`;
        this.#refusedBy[code] = (this.#refusedBy[code] ?? 0) + 1;
        const after = this.#fingerprint(node);
        this.checks.check(
          'refused-unchanged',
          after === before,
          () => `n${to} changed its state on a refused ${attack.kind}`,
        );
      }
    } else if ('refused' in outcome && outcome.refused === 'PEER_BUSY') {
      this.#counts.honestLimited!++;
    }
  }

  /** The per-peer limit: every request from a peer takes a token of its bucket. */
  #admit(node: TrustNode, from: number): Outcome | undefined {
    if (from === node.index) return undefined;
    const now = this.scheduler.nowMs;
    let bucket = node.buckets.get(from);
    if (bucket === undefined) {
      bucket = new TokenBucket({ ratePerSecond: peerRatePerSecond, burst: peerBurst }, now);
      node.buckets.set(from, bucket);
    }
    return bucket.tryTake(1, now) ? undefined : { refused: 'PEER_BUSY' };
  }

  #handle(node: TrustNode, from: number, message: Message): Outcome {
    const now = this.#now();
    const peer = this.#nodes[from]!;
    switch (message.t) {
      case 'stage': {
        const auth = authorizeStore(message.intent, message.hash, node.key, now);
        if (!auth.ok) return { refused: `STORE_NOT_AUTHORIZED: ${auth.reason}` };
        if (auth.value.intent.txId !== message.txId)
          return { refused: 'STORE_NOT_AUTHORIZED: other transaction' };
        const checked = checkSignedDescriptor(message.descriptor);
        if (!checked.ok) return { refused: `DESCRIPTOR_INVALID: ${checked.reason}` };
        if (checked.value.descriptor.owner !== auth.value.intent.owner)
          return { refused: 'DESCRIPTOR_INVALID: not the intent owner' };
        try {
          node.tombstones.assertNotDeleted(checked.value.id, now);
        } catch (error) {
          return refusal('OBJECT_DELETED', error);
        }
        if (toHex(sha256(message.bytes)) !== message.hash) return { refused: 'SHARD_HASH_MISMATCH' };
        let token: number;
        try {
          token = node.locks.acquire(message.hash, auth.value.intent.owner, message.txId, now).fencingToken;
        } catch (error) {
          return refusal('LOCKED', error);
        }
        node.staged.set(message.hash, {
          txId: message.txId,
          bytes: message.bytes,
        });
        this.#send(node.index, from, { t: 'staged', req: message.req, token }, 64);
        return { changed: true };
      }
      case 'commit': {
        const staged = node.staged.get(message.hash);
        if (staged === undefined || staged.txId !== message.txId) return { refused: 'TX_UNKNOWN' };
        try {
          node.locks.assertFencingToken(message.hash, message.token, now);
        } catch (error) {
          return refusal('STALE_FENCING_TOKEN', error);
        }
        // Only the lock's holder (the owner whose intent staged it) commits: its binding, not a claim.
        if (!node.locks.verify(message.hash, peer.key, now)) return { refused: 'NOT_LOCK_HOLDER' };
        node.staged.delete(message.hash);
        node.locks.release(message.hash, peer.key, now);
        this.#storeAndReceipt(node, from, message, staged.bytes, now);
        return { changed: true };
      }
      case 'release-lock': {
        try {
          node.locks.release(message.hash, peer.key, now);
        } catch (error) {
          return refusal('NOT_LOCK_HOLDER', error);
        }
        this.#send(node.index, from, { t: 'ok', req: message.req }, 64);
        return { changed: true };
      }
      case 'record': {
        const checked = checkSignedDescriptor(message.descriptor, message.id);
        if (!checked.ok) return { refused: `DESCRIPTOR_INVALID: ${checked.reason}` };
        try {
          node.tombstones.assertNotDeleted(message.id, now);
        } catch (error) {
          return refusal('OBJECT_DELETED', error);
        }
        const { descriptor, id } = checked.value;
        const record = node.records.get(id) ?? { descriptor, receipts: [] };
        let added = 0;
        for (const value of message.receipts.slice(0, 64)) {
          const result = this.#options.checkReceipt(value, { objectId: id, descriptor, nowMs: now });
          if (!result.ok) continue;
          const r = result.value;
          if (
            record.receipts.some((x) => x.stripe === r.stripe && x.shard === r.shard && x.holder === r.holder)
          )
            continue;
          record.receipts.push(r);
          added++;
        }
        const created = !node.records.has(id);
        if (created) node.records.set(id, record);
        this.#send(node.index, from, { t: 'ok', req: message.req }, 64);
        return { changed: created || added > 0 };
      }
      case 'delete': {
        const checked = checkSignedDescriptor(message.descriptor, message.id);
        if (!checked.ok) return { refused: `DESCRIPTOR_INVALID: ${checked.reason}` };
        const { descriptor, id } = checked.value;
        try {
          this.#options.acceptTombstone(
            node.tombstones,
            message.tombstone,
            { objectId: id, ownerKey: descriptor.owner },
            now,
          );
        } catch (error) {
          return refusal('DELETE_INVALID', error);
        }
        node.records.delete(id);
        for (const stripe of descriptor.stripes)
          for (const shard of stripe.shards) node.shards.delete(shard.hash);
        this.#send(node.index, from, { t: 'ok', req: message.req }, 64);
        return { changed: true };
      }
      case 'fetch': {
        const shard = node.shards.get(message.hash);
        if (shard === undefined) return { refused: 'NOT_FOUND' };
        this.#send(
          node.index,
          from,
          { t: 'shard', req: message.req, bytes: shard.bytes },
          shard.bytes.length + 64,
        );
        return { changed: false };
      }
      case 'challenge': {
        const shard = node.shards.get(message.challenge.shardHash);
        if (shard === undefined) return { refused: 'POS_NOT_HELD' };
        const answer = answerChallengeSync(message.challenge, shard.bytes, node.secretKey);
        this.#send(node.index, from, { t: 'answer', req: message.req, answer }, 2048);
        return { changed: false };
      }
      default:
        return { refused: 'PROTOCOL_ERROR' };
    }
  }

  #onReply(
    from: number,
    message: Extract<Message, { t: 'staged' | 'committed' | 'ok' | 'refused' | 'shard' | 'answer' }>,
  ): void {
    const pending = this.#pending.get(message.req);
    if (pending === undefined) return;
    this.#pending.delete(message.req);
    switch (pending.t) {
      case 'put':
        if (message.t === 'staged') this.#onStaged(pending.object, pending.shard, message.token);
        else if (message.t === 'committed') this.#onCommitted(pending.object, pending.shard, message.receipt);
        else
          this.checks.check(
            'puts-succeed',
            false,
            () =>
              `put of object ${pending.object} refused by n${from}: ${message.t === 'refused' ? message.code : message.t}`,
          );
        return;
      case 'read':
        this.#onFetched(pending.read, message.req, from, message.t === 'shard' ? message.bytes : undefined);
        return;
      case 'challenge':
        this.#onAnswer(pending, message.t === 'answer' ? message.answer : undefined);
        return;
      case 'none':
        // An owner's record or tombstone: every replica takes it.
        this.checks.check(
          'owner-requests-accepted',
          message.t !== 'refused',
          () => `n${from} refused an owner's ${message.t === 'refused' ? message.code : ''}`,
        );
        return;
    }
  }

  /** What a node's state is: records with their receipts, tombstones, shards, staged shards and locks. */
  #fingerprint(node: TrustNode): string {
    const now = this.#now();
    const parts: string[] = [];
    for (const [id, record] of node.records)
      parts.push(`r${id}:${record.receipts.map((r) => `${r.shard}/${r.holder}/${r.storedAtMs}`).join(',')}`);
    for (const tombstone of node.tombstones.entries()) parts.push(`t${tombstone.objectId}`);
    for (const hash of node.shards.keys()) parts.push(`s${hash}`);
    for (const [hash, staged] of node.staged) parts.push(`g${hash}:${staged.txId}`);
    parts.push(`l${node.locks.activeCount(now)}:${node.locks.lastFencingToken}`);
    return parts.join('|');
  }

  // --- the attackers -----------------------------------------------------------------------------

  /** An attacker holds shards like anyone (to get receipts), then corrupts or drops them. */
  #attackerServes(node: TrustNode, from: number, message: Message): void {
    const now = this.#now();
    switch (message.t) {
      case 'stage': {
        node.staged.set(message.hash, { txId: message.txId, bytes: message.bytes });
        this.#send(node.index, from, { t: 'staged', req: message.req, token: 1 }, 64);
        // It saw the owner's intent: the co-holders' shards are staged now, with live locks.
        if (this.#options.faults) this.#coHolderAttacks(node, message);
        return;
      }
      case 'commit': {
        const staged = node.staged.get(message.hash);
        if (staged === undefined) return;
        this.#storeAndReceipt(node, from, message, staged.bytes, now);
        if (this.#options.faults) {
          const plan = this.#attackRandom.float();
          if (plan < 0.4 && this.#enabled('corrupt-serve')) node.corrupt.add(message.hash);
          else if (plan < 0.8 && this.#enabled('dropped-shard')) node.dropped.add(message.hash);
        }
        return;
      }
      case 'record':
        this.#send(node.index, from, { t: 'ok', req: message.req }, 64);
        return;
      case 'delete':
        this.#send(node.index, from, { t: 'ok', req: message.req }, 64);
        return;
      case 'fetch': {
        const shard = node.shards.get(message.hash);
        if (shard === undefined || node.dropped.has(message.hash)) {
          this.#send(node.index, from, { t: 'refused', req: message.req, code: 'NOT_FOUND' }, 64);
          return;
        }
        let bytes = shard.bytes;
        if (node.corrupt.has(message.hash)) {
          bytes = bytes.slice();
          const at = this.#attackRandom.int(0, bytes.length - 1);
          bytes[at] = bytes[at]! ^ (1 << this.#attackRandom.int(0, 7));
          this.#attempt('corrupt-serve');
        }
        this.#send(node.index, from, { t: 'shard', req: message.req, bytes }, bytes.length + 64);
        return;
      }
      case 'challenge': {
        const hash = message.challenge.shardHash;
        const shard = node.shards.get(hash);
        if (shard === undefined) {
          this.#send(node.index, from, { t: 'refused', req: message.req, code: 'POS_NOT_HELD' }, 64);
          return;
        }
        let answer: ProofAnswer;
        if (node.dropped.has(hash)) {
          // It kept the tree and its receipt, not the bytes: made-up leaves.
          this.#attempt('dropped-shard');
          const tree = shard.tree;
          answer = treeOnlyAnswer(node, hash, message.challenge.leafIndices, tree, leafBytes);
        } else answer = answerChallengeSync(message.challenge, shard.bytes, node.secretKey);
        this.#send(node.index, from, { t: 'answer', req: message.req, answer }, 2048);
        return;
      }
      default:
        return;
    }
  }

  #enabled(kind: AttackKind): boolean {
    return this.#options.attacks.includes(kind);
  }

  #attempt(kind: AttackKind): void {
    this.#attempts[kind] = (this.#attempts[kind] ?? 0) + 1;
  }

  #refusedAttack(kind: AttackKind): void {
    this.#refused[kind] = (this.#refused[kind] ?? 0) + 1;
  }

  /** Sends attack `message` (built with its request number) from attacker `a` to `target`. */
  #sendAttack(
    kind: AttackKind,
    a: number,
    target: number,
    build: (req: number) => Message,
    flood?: Flood,
  ): void {
    const req = this.#nextReq++;
    this.#attacks.set(req, { kind, attacker: a, target, ...(flood === undefined ? {} : { flood }) });
    if (flood === undefined) this.#attempt(kind);
    this.#send(a, target, build(req), 512);
  }

  /** While the owner's locks are live, the attacker tries to commit or free a co-holder's shard. */
  #coHolderAttacks(node: TrustNode, message: Extract<Message, { t: 'stage' }>): void {
    const o = this.#objects.findIndex((x) => x.txId === message.txId);
    if (o < 0) return;
    const object = this.#objects[o]!;
    const random = this.#attackRandom;
    const others = object.holders
      .map((holder, shard) => ({ holder, shard }))
      .filter(({ holder }) => !this.#nodes[holder]!.attacker);
    if (others.length === 0) return;
    const { holder, shard } = random.pick(others);
    const hash = object.hashes[shard]!;
    const a = node.index;
    // A little later, while the co-holder's lock is most likely live (the owner commits after every stage).
    const later = this.scheduler.nowMs + random.float() * 400;
    if (this.#enabled('commit-not-owner') && random.chance(0.5)) {
      const guess = random.int(1, 4);
      this.scheduler.at(later, this.#kind.later, a, 0, () =>
        // Fencing tokens count up from 1: a small guess, or the owner's very token once it is known.
        this.#sendAttack('commit-not-owner', a, holder, (req) => ({
          t: 'commit',
          req,
          txId: message.txId,
          objectId: object.id,
          shard,
          hash,
          token: object.tokens[shard] ?? guess,
        })),
      );
    }
    if (this.#enabled('lock-steal') && random.chance(0.5)) {
      this.scheduler.at(later, this.#kind.later, a, 1, () =>
        this.#sendAttack('lock-steal', a, holder, (req) => ({ t: 'release-lock', req, hash })),
      );
    }
  }

  /** Attacker `a` tries one attack (kind and victim drawn from the seed), then schedules its next. */
  #attack(a: number): void {
    const random = this.#attackRandom;
    const node = this.#nodes[a]!;
    const kinds = this.#options.attacks.filter((k) => k !== 'corrupt-serve' && k !== 'dropped-shard');
    const settled = this.#now() - settleMs;
    const acked = this.#objects.filter((o) => o.acked && o.ackedAtMs <= settled);
    const next = this.scheduler.nowMs + random.exponential(attackMeanGapMs);
    if (next < this.#options.attacksUntilMs) this.scheduler.at(next, this.#kind.attack, a);
    if (kinds.length === 0 || acked.length === 0) return;
    const kind = random.pick(kinds);
    const victim = random.pick(acked);
    const target = random.pick(victim.replicas.filter((r) => !this.#nodes[r]!.attacker));
    const now = this.#now();
    const descriptor = victim.descriptor;
    switch (kind) {
      case 'delete-forged':
      case 'delete-claimed':
      case 'delete-unsigned': {
        const own = signTombstone(
          { objectId: victim.id, deletedAtMs: now, retentionMs: 3_600_000 },
          node.secretKey,
        );
        const tombstone: Record<string, unknown> =
          kind === 'delete-forged'
            ? own
            : kind === 'delete-claimed'
              ? { ...own, owner: descriptor.owner }
              : { objectId: victim.id, owner: descriptor.owner, deletedAtMs: now, retentionMs: 3_600_000 };
        // Half the forged deletes carry a descriptor the attacker owns (so the tombstone's owner matches it).
        const carried =
          kind === 'delete-forged' && random.chance(0.5) ? this.#resigned(victim, node) : descriptor;
        this.#sendAttack(kind, a, target, (req) => ({
          t: 'delete',
          req,
          id: victim.id,
          descriptor: carried,
          tombstone,
        }));
        return;
      }
      case 'overwrite-tampered':
      case 'overwrite-resigned': {
        const carried =
          kind === 'overwrite-tampered'
            ? { ...descriptor, name: 'hijacked', size: descriptor.size }
            : this.#resigned(victim, node);
        const receipts = victim.receipts as SignedReceipt[];
        this.#sendAttack(kind, a, target, (req) => ({
          t: 'record',
          req,
          id: victim.id,
          descriptor: carried,
          receipts,
        }));
        return;
      }
      case 'commit-not-owner': {
        const shard = random.int(0, victim.hashes.length - 1);
        const holder = victim.holders[shard]!;
        if (this.#nodes[holder]!.attacker) return;
        this.#sendAttack(kind, a, holder, (req) => ({
          t: 'commit',
          req,
          txId: victim.txId,
          objectId: victim.id,
          shard,
          hash: victim.hashes[shard]!,
          token: random.int(1, 1000),
        }));
        return;
      }
      case 'lock-steal': {
        const shard = random.int(0, victim.hashes.length - 1);
        const holder = victim.holders[shard]!;
        if (this.#nodes[holder]!.attacker) return;
        this.#sendAttack(kind, a, holder, (req) => ({ t: 'release-lock', req, hash: victim.hashes[shard]! }));
        return;
      }
      case 'replay-deleted': {
        const deleted = this.#objects.filter(
          (o) => o.deleted !== undefined && o.deleted.deletedAtMs <= settled,
        );
        if (deleted.length === 0) return;
        const old = random.pick(deleted);
        const to = random.pick(old.replicas.filter((r) => !this.#nodes[r]!.attacker));
        const receipts = old.receipts as SignedReceipt[];
        this.#sendAttack(kind, a, to, (req) => ({
          t: 'record',
          req,
          id: old.id,
          descriptor: old.descriptor,
          receipts,
        }));
        return;
      }
      case 'replay-tombstone': {
        // Another live object of an owner who deleted one: that owner's real tombstone, replayed against it.
        const deleted = this.#objects.filter(
          (o) =>
            o.deleted !== undefined &&
            o.deleted.deletedAtMs <= settled &&
            acked.some((x) => !x.deleted && x.owner === o.owner),
        );
        if (deleted.length === 0) return;
        const old = random.pick(deleted);
        const live = random.pick(acked.filter((x) => !x.deleted && x.owner === old.owner));
        const to = random.pick(live.replicas.filter((r) => !this.#nodes[r]!.attacker));
        const tombstone = old.deleted!;
        this.#sendAttack(kind, a, to, (req) => ({
          t: 'delete',
          req,
          id: live.id,
          descriptor: live.descriptor,
          tombstone,
        }));
        return;
      }
      case 'replay-intent': {
        // An intent it received as a holder: other bytes under it, to itself or to a co-holder.
        const seen = this.#objects.filter((o) => o.intent !== undefined && o.holders.includes(a));
        if (seen.length === 0) return;
        const old = random.pick(seen);
        const shard = old.holders.indexOf(a);
        const junk = this.#junk(random);
        const replayTo = random.pick(old.holders.filter((h) => !this.#nodes[h]!.attacker));
        const sameBytes = now >= old.intent!.expiresAtMs && random.chance(0.5);
        const bytes = sameBytes ? old.shards[shard]! : junk;
        this.#sendAttack(kind, a, replayTo, (req) => ({
          t: 'stage',
          req,
          txId: old.txId,
          intent: old.intent,
          descriptor: old.descriptor,
          hash: toHex(sha256(bytes)),
          bytes,
        }));
        return;
      }
      case 'forged-receipt': {
        const honestHolder = this.#nodes[random.pick(this.#honest)]!;
        const receipts = victim.hashes.map((shardHash, shard) => {
          const mine = signReceipt(
            { objectId: victim.id, stripe: 0, shard, shardHash, storedAtMs: now },
            node.secretKey,
          );
          return random.chance(0.5)
            ? { ...mine, holder: honestHolder.key }
            : { ...mine, shardHash: toHex(sha256(utf8ToBytes(`junk/${shard}`))) };
        });
        this.#sendAttack(kind, a, target, (req) => ({
          t: 'record',
          req,
          id: victim.id,
          descriptor,
          receipts,
        }));
        return;
      }
      case 'store-unauthorized': {
        const junk = this.#junk(random);
        const hash = toHex(sha256(junk));
        const to = random.pick(this.#honest);
        const txId = toHex(randomBytesOf(random, 16));
        const other = this.#nodes[random.pick(this.#honest.filter((h) => h !== to))]!;
        const variant = random.int(0, 2);
        const intent =
          variant === 0
            ? {}
            : signPutIntent(
                {
                  txId: variant === 1 ? txId : toHex(randomBytesOf(random, 16)),
                  createdAtMs: now,
                  expiresAtMs: now + intentLifetimeMs,
                  shards: [{ shardHash: hash, holders: [variant === 1 ? other.key : this.#nodes[to]!.key] }],
                },
                node.secretKey,
              );
        const own = this.#resigned(victim, node);
        this.#sendAttack(kind, a, to, (req) => ({
          t: 'stage',
          req,
          txId,
          intent,
          descriptor: own,
          hash,
          bytes: junk,
        }));
        return;
      }
      case 'flood': {
        const to = random.pick(this.#honest);
        const flood: Flood = { attacker: a, target: to, arrivals: 0, refusals: 0, firstMs: 0, lastMs: 0 };
        this.#floods.push(flood);
        this.#attempt('flood');
        for (let i = 0; i < floodBurst; i++) {
          const hash = victim.hashes[i % victim.hashes.length]!;
          this.#sendAttack('flood', a, to, (req) => ({ t: 'fetch', req, hash }), flood);
        }
        return;
      }
      default:
        return;
    }
  }

  /** The victim's descriptor with the name changed, signed by the attacker (another object). */
  #resigned(victim: PutObject, attacker: TrustNode): SignedDescriptor {
    const { signature: _s, owner: _o, format: _f, ...fields } = victim.descriptor;
    return signDescriptor({ ...fields, name: 'hijacked' }, attacker.secretKey);
  }

  #junk(random: SimRandom): Uint8Array {
    const junk = new Uint8Array(shardBytes);
    for (let b = 0; b < junk.length; b += 64) junk[b] = random.int(0, 255);
    return junk;
  }

  // --- checkers ------------------------------------------------------------------------------

  #checkEnd(): void {
    const checks = this.checks;
    const now = this.#now();
    for (const flood of this.#floods) {
      // The bucket admits its burst and what refills while the flood arrives; the rest is refused.
      const admitted = peerBurst + Math.ceil(((flood.lastMs - flood.firstMs) * peerRatePerSecond) / 1000) + 1;
      const ok = flood.arrivals === floodBurst && flood.refusals >= floodBurst - admitted;
      checks.check(
        'attack-refused',
        ok,
        () =>
          `flood by n${flood.attacker} on n${flood.target}: ${flood.refusals} of ${flood.arrivals} refused`,
      );
      if (ok) this.#refusedAttack('flood');
    }
    checks.check(
      'honest-never-limited',
      this.#counts.honestLimited === 0,
      () => `${this.#counts.honestLimited} honest requests refused as PEER_BUSY`,
    );
    for (const kind of attackKinds) {
      const attempts = this.#attempts[kind] ?? 0;
      const refused = this.#refused[kind] ?? 0;
      checks.check(
        'every-attempt-refused',
        refused === attempts,
        () => `${kind}: ${refused} of ${attempts} attempts refused`,
      );
    }
    // Every acknowledged object is where its owner put it: on every honest replica, with only genuine receipts.
    for (const [o, object] of this.#objects.entries()) {
      checks.check('put-acknowledged', object.acked, () => `object ${o} was never acknowledged`);
      for (const r of object.replicas) {
        const node = this.#nodes[r]!;
        if (node.attacker) continue;
        const record = node.records.get(object.id);
        if (object.deleted !== undefined) {
          checks.check(
            'deleted-stays-deleted',
            record === undefined && node.tombstones.get(object.id, now) !== undefined,
            () => `object ${o} deleted by its owner is back on n${r}`,
          );
          continue;
        }
        if (
          !checks.check('acked-on-every-replica', record !== undefined, () => `object ${o} missing on n${r}`)
        )
          continue;
        checks.check(
          'descriptor-unchanged',
          record!.descriptor.signature === object.descriptor.signature,
          () => `object ${o} on n${r} has another descriptor`,
        );
        for (const receipt of record!.receipts) {
          const holder = this.#nodeOfKey(receipt.holder);
          const genuine =
            holder !== undefined &&
            object.holders[receipt.shard] === holder &&
            checkReceipt(receipt, { objectId: object.id, descriptor: object.descriptor, nowMs: now }).ok;
          checks.check(
            'receipts-genuine',
            genuine,
            () =>
              `object ${o} on n${r}: receipt of shard ${receipt.shard} names n${holder ?? '?'} which never stored it`,
          );
        }
      }
      if (object.deleted === undefined)
        for (const [i, holder] of object.holders.entries()) {
          const node = this.#nodes[holder]!;
          if (!node.attacker)
            checks.check(
              'honest-holder-keeps-shard',
              node.shards.has(object.hashes[i]!),
              () => `n${holder} lost shard ${i} of object ${o}`,
            );
        }
    }
    // The economics: every attacker caught is slashed (its escrow executed) and less reputable than every honest node.
    let honestMin = Number.POSITIVE_INFINITY;
    for (const i of this.#honest) {
      const node = this.#nodes[i]!;
      honestMin = Math.min(honestMin, this.#ledger.reputationOf(node.key).score);
      const escrows = this.#ledger.escrowsOf(node.key).filter((e) => e.accused === node.key);
      checks.check(
        'no-honest-slashed',
        escrows.length === 0,
        () => `honest n${i} has ${escrows.length} escrows`,
      );
    }
    for (const a of this.#caught) {
      const node = this.#nodes[a]!;
      const escrows = this.#ledger.escrowsOf(node.key).filter((e) => e.accused === node.key);
      checks.check(
        'attacker-slashed',
        escrows.some((e) => e.status === 'executed'),
        () => `attacker n${a}: no executed escrow (${escrows.map((e) => e.status).join(', ') || 'none'})`,
      );
      const score = this.#ledger.reputationOf(node.key).score;
      checks.check(
        'attacker-less-reputable',
        score < honestMin,
        () => `attacker n${a} reputation ${score} not below ${honestMin}`,
      );
    }
  }
}

export const attackerScenario: Scenario<AttackerOptions> = {
  name: 'attacker',
  description:
    "attacker peers try the trust issue's attacks (forged deletes and commits, replays, forged receipts, corrupt reads, dropped shards, floods) against @trinity/storage checks",
  nodesMin: 12,
  nodesMax: 1_000,
  run: (options) => new AttackerWorld(options).run(),
};

/** `count` bytes drawn from `random`. */
function randomBytesOf(random: SimRandom, count: number): Uint8Array {
  const bytes = new Uint8Array(count);
  for (let i = 0; i < count; i++) bytes[i] = random.nextUint32() & 0xff;
  return bytes;
}

/** A handler's refusal for a typed error of the packages' checks (anything else is a bug: rethrown). */
function refusal(code: string, error: unknown): Outcome {
  if (!isTrinityError(error)) throw error;
  return { refused: `${code}: ${error.code}` };
}
