import { assertInt, ed25519, isTrinityError, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { decodeEvent, EconomicsState, type EventBody, EventSigner, encodeEvent } from '@trinity/economics';
import {
  answerChallengeSync,
  type Challenge,
  createChallenge,
  currentReceipts,
  type Descriptor,
  MerkleTree,
  type ProofAnswer,
  type ShardCommitment,
  shardCommitment,
  signDescriptor,
  verifyProof,
} from '@trinity/storage';
import { builtinTopology } from '@trinity/topology';
import { SimDisk } from '../disk.js';
import type { SimRandom } from '../random.js';
import type { Scenario, ScenarioOptions, ScenarioOutcome } from '../scenario.js';
import {
  cachingVerifier,
  checkConvergedLedgers,
  economicsConfig,
  type ShareApply,
  StatesDigest,
  simEconomicsConfig,
  stateInit,
} from './economics.js';
import { dataShards, parityShards, randomRegions, ScenarioWorld, withDefaults } from './world.js';

/** What a cheating holder does instead of keeping its shards. */
export type CheaterKind = 'deleter' | 'tree-only' | 'fetcher';
const cheaterKinds: readonly CheaterKind[] = ['deleter', 'tree-only', 'fetcher'];

export interface ProofOfStorageOptions extends ScenarioOptions {
  /** Objects stored, one RS(4,2) stripe each (default: a third of the node count, at least 8). */
  readonly objects?: number;
  /**
   * How a challenger (and a voter re-checking evidence) judges an answer received at `receivedMs`;
   * default @trinity/storage's `verifyProof` at that time. Tests plant broken variants here.
   */
  readonly checkAnswer?: AnswerCheck;
  /** The kinds a cheater is drawn from (default all three). */
  readonly cheaterKinds?: readonly CheaterKind[];
  /** Which of an object's receipts a challenger may ask; default the newest per position (`currentReceipts`). */
  readonly challengeable?: (receipts: readonly SimReceipt[]) => readonly SimReceipt[];
  /** How long nodes challenge (default 24 s, at least 10 s); moves and busy spells stop 5 s before. */
  readonly activeMs?: number;
  /**
   * Every `voteEvery`-th node (by index) votes in disputes (default 1: every node); the quorum is
   * 10 % of the eligible voters (at least 5). Every node applies every vote: fewer voters, fewer events.
   */
  readonly voteEvery?: number;
  /** Nodes share the work of applying the same events (default true; as the economics scenario's `shareApply`). */
  readonly shareApply?: ShareApply;
  /** Test-only: fold every node's state into `counts.statesDigest` this often (as the economics scenario's). */
  readonly digestEveryMs?: number;
}

/** A challenger's verdict on an answer: verifyProof's signature. */
export type AnswerCheck = (
  challenge: Challenge,
  answer: ProofAnswer,
  commitment: ShardCommitment,
  holderKey: Uint8Array,
  receivedMs: number,
) => { ok: true } | { ok: false; reason: string };

const realCheck: AnswerCheck = (challenge, answer, commitment, holderKey, receivedMs) =>
  verifyProof(challenge, answer, commitment, holderKey, receivedMs);

/*
 * Sizes and times. The deadline must separate "has it on disk" from "fetches it when asked":
 *
 * - An honest answer takes one round trip (at most 310 ms between the farthest regions of the
 *   matrix, plus 10 % jitter and 1 ms each way, so about 345 ms), a few ms of disk reads, the
 *   answer's transmission (8 leaves of 1 KiB and their 8-level paths, about 10 KiB: 33 ms on the
 *   2.5 Mbit/s uplink below) and whatever waits before it on the holder's uplink: other answers,
 *   its economics events (one ~250-byte event to every node, 80 ms at 100 nodes) and at most one
 *   8 KiB chunk of a transfer it serves (26 ms; transfers are sent chunk by chunk so that they
 *   share the uplink, as TCP flows do). That stays under about 550 ms at up to 100 nodes.
 * - An on-demand fetcher must get the whole 256 KiB shard first: 839 ms of transmission on the
 *   uplink of whoever sends it, before it can answer, whatever the regions. Its answer therefore
 *   arrives at least ~870 ms after the challenge was issued.
 *
 * The 700 ms deadline sits between the two with a margin on each side (as the daemon's
 * `pos.deadlineMs` does at its 1 MiB shards and 100 Mbit/s: the shard's transfer time must exceed
 * the deadline, which must exceed the slowest honest answer).
 */
const shardBytes = 256 * 1024;
const leafBytes = 1024;
const leavesPerChallenge = 8;
const deadlineMs = 700;
/** 2.5 Mbit/s: a thin home uplink, so that a shard's transfer outlasts the deadline. */
const uplinkBytesPerMs = 312.5;
const chunkBytes = 8 * 1024;
/** Share of its uplink a node gives its transfers (chunk after chunk); the rest carries everything else. */
const streamShare = 0.9;
/** As the daemon's `posLimits.replyGraceMs`: past the deadline plus this, no answer is a timeout. */
const replyGraceMs = 1_000;
/** As the daemon's `posLimits.refusalsToFail`: this many refusals in a row from one holder are one failure. */
const refusalsToFail = 3;
/** Challenges are issued for this long; the governance windows then run out. */
const challengeIntervalMs = 2_000;
const perHolderMinIntervalMs = 5_000;
/** Challenges a holder works on at once; more are refused as busy (the daemon's POS_BUSY). */
const answersInFlightMax = 4;
/** After a move, the old holder keeps its copy this long (challenges already on their way still find it). */
const releaseAfterMoveMs = deadlineMs + replyGraceMs + 500;
const governanceTickMs = 1_000;
const faultIntervalMs = 500;
const cheaterShare = 0.1;

type Message =
  | { readonly t: 'challenge'; readonly id: number; readonly challenge: Challenge }
  | { readonly t: 'answer'; readonly id: number; readonly answer: ProofAnswer }
  | { readonly t: 'refused'; readonly id: number; readonly code: 'POS_BUSY' | 'POS_NOT_HELD' }
  | { readonly t: 'fetch'; readonly hash: string; readonly id: number; readonly challenger: number }
  | { readonly t: 'chunk'; readonly stream: number }
  | { readonly t: 'event'; readonly bytes: Uint8Array };

/** A holder's signed statement that it stores shard `shard` of stripe `stripe` of an object since `storedAtMs`. */
export interface SimReceipt {
  readonly object: number;
  readonly stripe: number;
  readonly shard: number;
  readonly holder: number;
  readonly storedAtMs: number;
}

interface StoredObject {
  readonly descriptor: Descriptor;
  /** Every receipt ever issued for the object, the superseded ones too (as a node's manifest store keeps them). */
  readonly receipts: SimReceipt[];
}

interface PosNode {
  readonly index: number;
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly signer: EventSigner;
  readonly cheater: CheaterKind | undefined;
  readonly state: EconomicsState;
  readonly disk: SimDisk;
  /** Shards this node holds (by hash): the file on its disk and the tree it keeps beside it. */
  readonly trees: Map<string, MerkleTree>;
  /** Shards a cheater threw away (it still has their trees when 'tree-only'). */
  readonly dropped: Set<string>;
  /** A fetcher's accomplice, keeping its bytes. */
  backer: number;
  /** A fetcher waiting for its accomplice. */
  fetching: boolean;
  /** Transfers this node is sending, in turn. */
  readonly sending: number[];
  answering: number;
  busyUntilMs: number;
  /** Holder -> when this node last challenged it; refusals in a row per holder. */
  readonly lastChallengedMs: Map<number, number>;
  readonly refusals: Map<number, number>;
  /**
   * Events from an actor that arrived ahead of an earlier one of the same actor (an actor's map is
   * dropped once empty: `early` is empty exactly when no event waits).
   */
  readonly early: Map<string, Map<number, Uint8Array>>;
  /** Escrows this node already disputed or voted in; accused this node already proposed a slash of. */
  readonly acted: Set<string>;
}

interface Outstanding {
  readonly challenger: number;
  readonly holder: number;
  readonly object: number;
  readonly challenge: Challenge;
  readonly commitment: ShardCommitment;
  done: boolean;
}

/** What a challenger keeps of a failed challenge as the slash's evidence (its hash is the event's `evidence`). */
interface Evidence {
  readonly challenge: Challenge;
  readonly commitment: ShardCommitment;
  readonly holderKey: Uint8Array;
  readonly answer: ProofAnswer | undefined;
  readonly receivedMs: number;
  readonly failure: string;
  /** The voters' verdict, once computed. */
  holds?: boolean;
}

interface Stream {
  readonly from: number;
  readonly to: number;
  readonly data: Uint8Array;
  readonly chunks: number;
  sent: number;
  arrived: number;
  readonly purpose:
    | { readonly t: 'fetch'; readonly id: number; readonly challenger: number }
    | { readonly t: 'move'; readonly object: number; readonly shard: number; readonly hash: string };
}

/**
 * Proof-of-storage with cheaters, on the real code: each object is an owner-signed @trinity/storage
 * descriptor committing to every shard's hash and Merkle root; holders keep their shards as files on
 * simulated disks and answer challenges with `answerChallengeSync`; challengers pick a position's
 * newest receipt, `createChallenge` with a seeded nonce and a deadline, and check the answer with
 * `verifyProof` at the virtual time it arrived. Results are signed @trinity/economics events
 * (`pos-result`, `slash` with reason pos-failure, `dispute`, `vote`) that every node applies to its
 * own `EconomicsState`; escrows execute after the governance windows. Cheaters (seeded) delete some
 * shards, keep only the Merkle trees, or fetch the shard from an accomplice when challenged; honest
 * shards move between holders (rebalancing) and honest nodes have busy spells.
 */
class ProofOfStorageWorld extends ScenarioWorld<Message> {
  readonly #options: Required<ProofOfStorageOptions>;
  readonly #random: SimRandom;
  readonly #faultRandom: SimRandom;
  readonly #nonces: SimRandom;
  readonly #nodes: PosNode[] = [];
  readonly #objects: StoredObject[] = [];
  readonly #outstanding: Outstanding[] = [];
  readonly #streams: Stream[] = [];
  readonly #evidence = new Map<string, Evidence>();
  /** Per node: challenges it failed (counted results), and why. */
  readonly #failures: Map<number, string[]> = new Map();
  /** Fetcher answers and when they arrived after their deadline (ms; negative would be in time). */
  readonly #fetcherLateMs: number[] = [];
  readonly #faults: Record<string, number> = { moves: 0, busySpells: 0 };
  readonly #counts: Record<string, number> = {
    challenges: 0,
    passed: 0,
    failed: 0,
    refusals: 0,
    notCounted: 0,
    slashes: 0,
    disputes: 0,
    votes: 0,
    events: 0,
  };
  readonly #kind: Record<
    'challenge' | 'timeout' | 'answerReady' | 'streamNext' | 'release' | 'govern' | 'fault',
    number
  >;
  #honestAnswerMsMax = 0;
  readonly #digest = new StatesDigest(() => this.#nodes.map((node) => node.state));

  constructor(options: ProofOfStorageOptions) {
    super(options.seed);
    const n = options.nodes;
    this.#options = withDefaults(options, {
      objects: options.objects ?? Math.max(8, Math.ceil(n / 3)),
      cheaterKinds: options.cheaterKinds ?? cheaterKinds,
      checkAnswer: options.checkAnswer ?? realCheck,
      challengeable:
        options.challengeable ?? ((receipts: readonly SimReceipt[]) => currentReceipts(receipts)),
      activeMs: options.activeMs ?? 24_000,
      voteEvery: options.voteEvery ?? 1,
      shareApply: options.shareApply ?? true,
      digestEveryMs: options.digestEveryMs ?? 0,
    });
    assertInt(this.#options.activeMs, 'activeMs', 10_000, 3_600_000);
    assertInt(this.#options.voteEvery, 'voteEvery', 1, 5);
    this.#random = this.root.fork('workload');
    this.#faultRandom = this.root.fork('faults');
    this.#nonces = this.root.fork('nonces');
    const layout = this.root.fork('layout');
    const keys = Array.from({ length: n }, (_, i) => sha256(utf8ToBytes(`sim-pos/${options.seed}/${i}`)));
    // Each distinct event signature is verified once for the whole network (every node applies every
    // event): `SharedApply` does that by itself (it marks the bytes verified), so only nodes that do
    // not share need the caching verifier, which shared runs would pay for without a hit.
    const verifier = this.#options.shareApply === false ? cachingVerifier(ed25519, () => {}) : ed25519;
    const signers = keys.map((key) => new EventSigner(key, { ed25519: verifier }));
    const config = simEconomicsConfig(signers);
    const init = stateInit(this.#options.shareApply, config, verifier);
    const cheaters = Math.max(1, Math.round(n * cheaterShare));
    const cheaterAt = new Map<number, CheaterKind>();
    for (const i of layout.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, cheaters))
      cheaterAt.set(i, layout.pick(this.#options.cheaterKinds));
    const diskRandom = this.root.fork('disks');
    for (let i = 0; i < n; i++) {
      this.#nodes.push({
        index: i,
        secretKey: keys[i]!,
        publicKey: ed25519.publicKey(keys[i]!),
        signer: signers[i]!,
        cheater: cheaterAt.get(i),
        state: new EconomicsState(init),
        disk: new SimDisk(diskRandom.fork(`d${i}`)),
        trees: new Map(),
        dropped: new Set(),
        backer: -1,
        sending: [],
        fetching: false,
        answering: 0,
        busyUntilMs: 0,
        lastChallengedMs: new Map(),
        refusals: new Map(),
        early: new Map(),
        acted: new Set(),
      });
    }
    const topology = builtinTopology();
    this.connect(
      topology,
      randomRegions(n, topology, layout),
      (to, from, message) => this.#deliver(to, from, message),
      { uplinkBytesPerMs },
    );
    const s = this.scheduler;
    this.#kind = {
      challenge: s.register('challenge', (node) => this.#challengeNext(node)),
      timeout: s.register('pos-timeout', (id) => this.#timedOut(id)),
      answerReady: s.register('answer-ready', (node, id, payload) =>
        this.#answerReady(node, id, payload as { challenger: number; challenge: Challenge }),
      ),
      streamNext: s.register('stream-next', (node) => this.#pump(node)),
      release: s.register('release', (node, _d, hash) => this.#release(node, hash as string)),
      govern: s.register('govern', (node) => this.#govern(node)),
      fault: s.register('fault', () => this.#fault()),
    };
    this.#storeObjects(this.root.fork('data'), layout);
    this.#digest.every(s, this.#options.digestEveryMs);
  }

  get #activeMs(): number {
    return this.#options.activeMs;
  }

  get #endMs(): number {
    const c = economicsConfig;
    return (
      this.#activeMs +
      c.settleDelayMs +
      c.disputeWindowMs +
      c.votingWindowMs +
      c.lowParticipationExtensionMs +
      15_000
    );
  }

  run(): ScenarioOutcome {
    const s = this.scheduler;
    for (const node of this.#nodes) {
      s.at(500 + this.#random.float() * challengeIntervalMs, this.#kind.challenge, node.index);
      s.at(this.#random.float() * governanceTickMs, this.#kind.govern, node.index);
    }
    if (this.#options.faults) s.at(faultIntervalMs, this.#kind.fault, 0);
    const end = s.run(this.#endMs);
    this.checks.check('settles', end !== 'event-limit', () => 'event limit reached');
    const endMs = Math.floor(this.#endMs);
    for (const node of this.#nodes) {
      node.state.advanceTo(endMs);
      node.state.flush();
    }
    this.#checkEnd();
    const net = this.network.stats;
    const kinds: Record<string, number> = {};
    for (const kind of cheaterKinds)
      kinds[`cheaters.${kind}`] = this.#nodes.filter((node) => node.cheater === kind).length;
    return this.outcome({
      faults: { ...this.#faults },
      counts: {
        objects: this.#objects.length,
        ...this.#counts,
        ...kinds,
        honestAnswerMsMax: Math.round(this.#honestAnswerMsMax),
        fetcherLateMsMin: this.#fetcherLateMs.length === 0 ? 0 : Math.round(Math.min(...this.#fetcherLateMs)),
        messagesCut: net.cut,
        ...(this.#options.digestEveryMs > 0 ? { statesDigest: this.#digest.final() } : {}),
      },
    });
  }

  #nowMs(): number {
    return Math.floor(this.scheduler.nowMs);
  }

  // --- objects -------------------------------------------------------------------------------

  /** Shard bytes: one random base, each leaf stamped with a tag of its own (so every shard and leaf differs). */
  #storeObjects(data: SimRandom, layout: SimRandom): void {
    const base = new Uint8Array(shardBytes);
    const view = new DataView(base.buffer);
    for (let b = 0; b < shardBytes; b += 4) view.setUint32(b, data.nextUint32());
    const owner = sha256(utf8ToBytes(`sim-pos/owner/${this.#options.seed}`));
    const width = dataShards + parityShards;
    const n = this.#nodes.length;
    const deck: number[] = [];
    // Each shard is made here, then copied onto its holder's disk (`#keep`): one buffer serves them all.
    const shard = new Uint8Array(shardBytes);
    for (let o = 0; o < this.#options.objects; o++) {
      const holders = this.#nextHolders(deck, layout, width);
      const shards: { hash: string; merkleRoot: string }[] = [];
      for (let i = 0; i < width; i++) {
        shard.set(base);
        const tag = sha256(utf8ToBytes(`${this.#options.seed}/${o}/${i}/${data.nextUint32()}`));
        for (let leaf = 0; leaf < shardBytes; leaf += leafBytes) {
          shard.set(tag, leaf);
          shard[leaf + 32] = leaf >>> 10;
        }
        const tree = MerkleTree.fromBytes(shard, leafBytes);
        const hash = toHex(sha256(shard));
        shards.push({ hash, merkleRoot: toHex(tree.root) });
        this.#keep(holders[i]!, hash, shard, tree);
      }
      const descriptor = signDescriptor(
        {
          size: dataShards * shardBytes,
          createdAtMs: 0,
          erasure: { dataShards, parityShards, shardBytes },
          merkleLeafBytes: leafBytes,
          stripes: [{ dataBytes: dataShards * shardBytes, shards }],
        },
        owner,
      );
      this.#objects.push({
        descriptor,
        receipts: holders.map((holder, shard) => ({ object: o, stripe: 0, shard, holder, storedAtMs: 0 })),
      });
    }
    // Cheaters now do what they do instead of keeping the bytes.
    for (const node of this.#nodes) {
      if (node.cheater === undefined) continue;
      const hashes = [...node.trees.keys()];
      if (node.cheater === 'deleter') {
        const drop = hashes.filter(() => layout.chance(0.6));
        if (drop.length === 0 && hashes.length > 0) drop.push(hashes[0]!);
        for (const hash of drop) this.#throwAway(node, hash, false);
      } else if (node.cheater === 'tree-only') {
        for (const hash of hashes) this.#throwAway(node, hash, true);
      } else {
        let backer = layout.int(0, n - 1);
        if (backer === node.index) backer = (backer + 1) % n;
        node.backer = backer;
        for (const hash of hashes) {
          const backerNode = this.#nodes[backer]!;
          backerNode.disk.replace(`stash/${hash}`, node.disk.read(`shard/${hash}`));
          this.#throwAway(node, hash, true);
        }
      }
    }
  }

  /** The next `width` distinct nodes of a deck dealt again when used up: every node holds about as many shards. */
  #nextHolders(deck: number[], random: SimRandom, width: number): number[] {
    const holders: number[] = [];
    while (holders.length < width) {
      if (deck.length === 0)
        deck.push(...random.shuffle(Array.from({ length: this.#nodes.length }, (_, i) => i)));
      const node = deck.shift()!;
      if (holders.includes(node)) deck.push(node);
      else holders.push(node);
    }
    return holders;
  }

  #keep(node: number, hash: string, bytes: Uint8Array, tree: MerkleTree): void {
    const holder = this.#nodes[node]!;
    holder.disk.replace(`shard/${hash}`, bytes);
    holder.trees.set(hash, tree);
  }

  /** A cheater deletes the shard file; it keeps the tree when `keepTree` (to answer with made-up leaves). */
  #throwAway(node: PosNode, hash: string, keepTree: boolean): void {
    node.disk.replace(`shard/${hash}`, new Uint8Array(0));
    node.dropped.add(hash);
    if (!keepTree) node.trees.delete(hash);
  }

  // --- challenger ----------------------------------------------------------------------------

  #challengeNext(index: number): void {
    const now = this.scheduler.nowMs;
    if (now >= this.#activeMs) return;
    this.scheduler.after(challengeIntervalMs * (0.5 + this.#random.float()), this.#kind.challenge, index);
    const node = this.#nodes[index]!;
    for (let attempt = 0; attempt < 8; attempt++) {
      const o = this.#random.int(0, this.#objects.length - 1);
      const object = this.#objects[o]!;
      const receipts = this.#options.challengeable(object.receipts);
      const due = receipts.filter((r) => {
        if (r.holder === index) return false;
        const last = node.lastChallengedMs.get(r.holder);
        return last === undefined || now - last >= perHolderMinIntervalMs;
      });
      if (due.length === 0) continue;
      const receipt = due[this.#random.int(0, due.length - 1)]!;
      this.#challenge(node, o, receipt);
      return;
    }
  }

  #challenge(node: PosNode, object: number, receipt: SimReceipt): void {
    const issuedMs = this.#nowMs();
    const commitment = shardCommitment(this.#objects[object]!.descriptor, receipt.stripe, receipt.shard);
    const nonce = new Uint8Array(32);
    const view = new DataView(nonce.buffer);
    for (let b = 0; b < 32; b += 4) view.setUint32(b, this.#nonces.nextUint32());
    const challenge = createChallenge({
      commitment,
      nonce,
      nowMs: issuedMs,
      deadlineMs: issuedMs + deadlineMs,
      leavesPerChallenge,
    });
    node.lastChallengedMs.set(receipt.holder, issuedMs);
    const id = this.#outstanding.length;
    this.#outstanding.push({
      challenger: node.index,
      holder: receipt.holder,
      object,
      challenge,
      commitment,
      done: false,
    });
    this.network.send(node.index, receipt.holder, { t: 'challenge', id, challenge }, 512);
    this.scheduler.at(issuedMs + deadlineMs + replyGraceMs, this.#kind.timeout, id);
  }

  #timedOut(id: number): void {
    const out = this.#outstanding[id]!;
    if (out.done) return;
    this.#result(out, 'timeout', undefined);
  }

  #onAnswer(id: number, answer: ProofAnswer): void {
    const out = this.#outstanding[id]!;
    if (out.done) return;
    const receivedMs = this.scheduler.nowMs;
    const holder = this.#nodes[out.holder]!;
    if (holder.cheater === 'fetcher') this.#fetcherLateMs.push(receivedMs - out.challenge.deadlineMs);
    else this.#honestAnswerMsMax = Math.max(this.#honestAnswerMsMax, receivedMs - out.challenge.issuedAtMs);
    const verdict = this.#options.checkAnswer(
      out.challenge,
      answer,
      out.commitment,
      holder.publicKey,
      receivedMs,
    );
    this.#result(out, verdict.ok ? undefined : verdict.reason, answer);
  }

  /** Records one challenge's outcome (`failure` undefined: passed); a refusal counts only as the third in a row. */
  #result(out: Outstanding, failure: string | undefined, answer: ProofAnswer | undefined): void {
    out.done = true;
    const node = this.#nodes[out.challenger]!;
    const refused = failure === 'refused';
    const inRow = (node.refusals.get(out.holder) ?? 0) + 1;
    node.refusals.delete(out.holder);
    if (refused && inRow < refusalsToFail) {
      node.refusals.set(out.holder, inRow);
      this.#counts.notCounted!++;
      return;
    }
    this.#counts.challenges!++;
    const holder = this.#nodes[out.holder]!;
    const passed = failure === undefined;
    const shard = out.commitment.shardHash;
    if (passed) this.#counts.passed!++;
    else {
      this.#counts.failed!++;
      const list = this.#failures.get(out.holder) ?? [];
      list.push(failure);
      this.#failures.set(out.holder, list);
      this.checks.check(
        'no-false-positive',
        holder.cheater !== undefined,
        () =>
          `honest n${out.holder} failed a challenge of shard ${shard.slice(0, 12)} (object ${out.object}) by n${out.challenger}: ${failure}`,
      );
    }
    const holderId = holder.signer.nodeId;
    this.#emit(node, { type: 'pos-result', holder: holderId, shard, passed });
    if (passed || node.acted.has(`slash/${out.holder}`)) return;
    // A failure is worth a slash, once per challenger and accused, unless this node knows of one already.
    if (node.state.escrowsOf(holderId).some((e) => e.accused === holderId)) return;
    node.acted.add(`slash/${out.holder}`);
    const evidence: Evidence = {
      challenge: out.challenge,
      commitment: out.commitment,
      holderKey: holder.publicKey,
      answer,
      receivedMs: this.scheduler.nowMs,
      failure: failure!,
    };
    const evidenceHash = toHex(sha256(utf8ToBytes(`${out.challenger}/${JSON.stringify(out.challenge)}`)));
    this.#evidence.set(evidenceHash, evidence);
    this.#counts.slashes!++;
    this.#emit(node, { type: 'slash', accused: holderId, reason: 'pos-failure', evidence: evidenceHash });
  }

  // --- holder --------------------------------------------------------------------------------

  #onChallenge(index: number, from: number, id: number, challenge: Challenge): void {
    const node = this.#nodes[index]!;
    if (this.scheduler.nowMs < node.busyUntilMs || node.answering >= answersInFlightMax) {
      this.network.send(index, from, { t: 'refused', id, code: 'POS_BUSY' }, 128);
      return;
    }
    const hash = challenge.shardHash;
    if (!node.trees.has(hash)) {
      this.network.send(index, from, { t: 'refused', id, code: 'POS_NOT_HELD' }, 128);
      return;
    }
    if (node.cheater === 'fetcher' && node.dropped.has(hash)) {
      // One fetch at a time: two would share the accomplice's uplink and both time out. It refuses
      // the rest as busy (a refusal is no result unless the third in a row).
      if (node.fetching) {
        this.network.send(index, from, { t: 'refused', id, code: 'POS_BUSY' }, 128);
        return;
      }
      // Asks its accomplice for the bytes (for this challenge: keeping them would be storing them)
      // and answers when they are here.
      node.fetching = true;
      this.network.send(index, node.backer, { t: 'fetch', hash, id, challenger: from }, 128);
      return;
    }
    // A few page reads from its disk.
    node.answering++;
    const readMs = 1 + this.#random.float() * (this.#random.chance(0.02) ? 60 : 6);
    this.scheduler.after(readMs, this.#kind.answerReady, index, id, { challenger: from, challenge });
  }

  #answerReady(index: number, id: number, ask: { challenger: number; challenge: Challenge }): void {
    const node = this.#nodes[index]!;
    node.answering--;
    const hash = ask.challenge.shardHash;
    const tree = node.trees.get(hash);
    if (tree === undefined) {
      this.network.send(index, ask.challenger, { t: 'refused', id, code: 'POS_NOT_HELD' }, 128);
      return;
    }
    let answer: ProofAnswer;
    if (node.dropped.has(hash)) {
      // Tree only: real paths, made-up leaves (it has no bytes), a signature over nothing in particular.
      answer = treeOnlyAnswer(node, hash, ask.challenge.leafIndices, tree, leafBytes);
    } else {
      const name = `shard/${hash}`;
      answer = answerChallengeSync(
        ask.challenge,
        { tree, readLeaf: (i) => node.disk.readRange(name, i * leafBytes, leafBytes) },
        node.secretKey,
      );
    }
    this.#sendAnswer(index, ask.challenger, id, answer);
  }

  #sendAnswer(from: number, to: number, id: number, answer: ProofAnswer): void {
    let bytes = 160;
    for (const leaf of answer.leaves) bytes += leaf.data.length + 32 * leaf.path.length + 8;
    this.network.send(from, to, { t: 'answer', id, answer }, bytes);
  }

  /** A fetcher got the whole shard from its accomplice: answers, then throws the bytes away again. */
  #fetched(index: number, id: number, challenger: number, data: Uint8Array): void {
    const node = this.#nodes[index]!;
    node.fetching = false;
    const challenge = this.#outstanding[id]!.challenge;
    // The real answer, from the real bytes: only its time gives it away.
    this.#sendAnswer(index, challenger, id, answerChallengeSync(challenge, data, node.secretKey));
  }

  // --- transfers: chunk by chunk, so that they share the sender's uplink ---------------------

  #startStream(from: number, to: number, data: Uint8Array, purpose: Stream['purpose']): void {
    this.#streams.push({
      from,
      to,
      data,
      chunks: Math.ceil(data.length / chunkBytes),
      sent: 0,
      arrived: 0,
      purpose,
    });
    const node = this.#nodes[from]!;
    node.sending.push(this.#streams.length - 1);
    if (node.sending.length === 1) this.#pump(from);
  }

  /**
   * Sends the next chunk of the node's transfers, taking turns, at `streamShare` of its uplink: the
   * rest is left to its answers and events, which so wait behind at most one chunk.
   */
  #pump(index: number): void {
    const node = this.#nodes[index]!;
    const streamIndex = node.sending.shift();
    if (streamIndex === undefined) return;
    const stream = this.#streams[streamIndex]!;
    const size = Math.min(chunkBytes, stream.data.length - stream.sent * chunkBytes);
    this.network.send(stream.from, stream.to, { t: 'chunk', stream: streamIndex }, size + 32);
    if (++stream.sent < stream.chunks) node.sending.push(streamIndex);
    if (node.sending.length > 0)
      this.scheduler.after(size / (uplinkBytesPerMs * streamShare), this.#kind.streamNext, index);
  }

  #onChunk(to: number, index: number): void {
    const stream = this.#streams[index]!;
    if (++stream.arrived < stream.chunks) return;
    const purpose = stream.purpose;
    if (purpose.t === 'fetch') {
      this.#fetched(to, purpose.id, purpose.challenger, stream.data);
      return;
    }
    // A move landed: the new holder keeps the shard and signs a receipt; the old one lets go later.
    const tree = MerkleTree.fromBytes(stream.data, leafBytes);
    this.#keep(to, purpose.hash, stream.data, tree);
    const object = this.#objects[purpose.object]!;
    object.receipts.push({
      object: purpose.object,
      stripe: 0,
      shard: purpose.shard,
      holder: to,
      storedAtMs: this.#nowMs(),
    });
    this.scheduler.after(releaseAfterMoveMs, this.#kind.release, stream.from, 0, purpose.hash);
  }

  #release(index: number, hash: string): void {
    const node = this.#nodes[index]!;
    node.disk.replace(`shard/${hash}`, new Uint8Array(0));
    node.trees.delete(hash);
  }

  // --- economics -----------------------------------------------------------------------------

  #emit(node: PosNode, body: EventBody): void {
    const now = this.#nowMs();
    const event = node.signer.sign(body, node.state.nextTimeMs(now));
    try {
      node.state.apply(event, { nowMs: now });
    } catch (error) {
      this.checks.check(
        'own-events-accepted',
        false,
        () => `n${node.index}: own ${body.type} refused: ${String(error)}`,
      );
      return;
    }
    this.#counts.events!++;
    const bytes = encodeEvent(event);
    // One message for every peer: nothing changes a message in flight (a duplicate is the same object too).
    const message: Message = { t: 'event', bytes };
    for (const peer of this.#nodes)
      if (peer !== node) this.network.send(node.index, peer.index, message, bytes.length + 16);
  }

  /** Applies an event; one that arrived ahead of an earlier one of its actor waits for it. */
  #accept(node: PosNode, bytes: Uint8Array): void {
    let applied: BytesAppliedResult;
    try {
      applied = node.state.applyBytes(bytes, { nowMs: this.#nowMs() });
    } catch (error) {
      if (isTrinityError(error, 'EVENT_REPLAYED')) return;
      if (!isTrinityError(error, 'EVENT_OUT_OF_SEQUENCE')) throw error;
      const actor = this.#actorOf(bytes);
      let early = node.early.get(actor.actor);
      if (early === undefined) node.early.set(actor.actor, (early = new Map()));
      early.set(actor.seq, bytes);
      return;
    }
    // The decoded event (actor, seq) is built only when some event waits for its predecessor.
    if (node.early.size === 0) return;
    const { actor, seq } = applied.event;
    const early = node.early.get(actor);
    const next = early?.get(seq + 1);
    if (early !== undefined && next !== undefined) {
      early.delete(seq + 1);
      if (early.size === 0) node.early.delete(actor);
      this.#accept(node, next);
    }
  }

  #actorOf(bytes: Uint8Array): { actor: string; seq: number } {
    const event = decodeEvent(bytes);
    return { actor: event.actor, seq: event.seq };
  }

  /** Disputes (a cheater now and then tries), votes after re-checking the evidence. */
  #govern(index: number): void {
    const node = this.#nodes[index]!;
    if (this.scheduler.nowMs < this.#endMs - 5_000)
      this.scheduler.after(governanceTickMs, this.#kind.govern, index);
    for (const escrow of node.state.escrows({ activeOnly: true })) {
      if (node.acted.has(escrow.id)) continue;
      if (escrow.status === 'open' && escrow.accused === node.signer.nodeId) {
        node.acted.add(escrow.id);
        // An honest node always disputes (it would win); a cheater tries its luck half the time.
        if (node.cheater !== undefined && !this.#random.chance(0.5)) continue;
        this.#counts.disputes!++;
        this.#emit(node, {
          type: 'dispute',
          escrowId: escrow.id,
          evidence: toHex(sha256(utf8ToBytes(`dispute/${escrow.id}`))),
        });
        return;
      }
      if (
        escrow.status === 'voting' &&
        escrow.accused !== node.signer.nodeId &&
        escrow.reporter !== node.signer.nodeId &&
        index % this.#options.voteEvery === 0
      ) {
        node.acted.add(escrow.id);
        this.#counts.votes!++;
        this.#emit(node, {
          type: 'vote',
          escrowId: escrow.id,
          overturn: !this.#evidenceHolds(escrow.evidence),
        });
        return;
      }
    }
  }

  /**
   * A voter re-checks the slash's evidence: the failed answer fails the check again, or there was no
   * answer. Every voter would reach the same verdict on the same evidence: it is computed once.
   */
  #evidenceHolds(hash: string | undefined): boolean {
    const evidence = hash === undefined ? undefined : this.#evidence.get(hash);
    if (evidence === undefined) return false;
    if (evidence.holds === undefined) {
      // Not held, refused three times or no answer in time: nothing to re-check.
      evidence.holds =
        evidence.answer === undefined ||
        !this.#options.checkAnswer(
          evidence.challenge,
          evidence.answer,
          evidence.commitment,
          evidence.holderKey,
          evidence.receivedMs,
        ).ok;
    }
    return evidence.holds;
  }

  // --- network -------------------------------------------------------------------------------

  #deliver(to: number, from: number, message: Message): void {
    switch (message.t) {
      case 'challenge':
        this.#onChallenge(to, from, message.id, message.challenge);
        break;
      case 'answer':
        this.#onAnswer(message.id, message.answer);
        break;
      case 'refused': {
        const out = this.#outstanding[message.id]!;
        if (out.done) break;
        if (message.code === 'POS_BUSY') this.#counts.refusals!++;
        this.#result(out, message.code === 'POS_BUSY' ? 'refused' : 'not-held', undefined);
        break;
      }
      case 'fetch': {
        const data = this.#nodes[to]!.disk.read(`stash/${message.hash}`);
        this.#startStream(to, from, data, { t: 'fetch', id: message.id, challenger: message.challenger });
        break;
      }
      case 'chunk':
        this.#onChunk(to, message.stream);
        break;
      case 'event':
        this.#accept(this.#nodes[to]!, message.bytes);
        break;
    }
  }

  // --- faults: rebalancing moves and busy spells of honest nodes ------------------------------

  #fault(): void {
    if (this.scheduler.nowMs >= this.#activeMs - 5_000) return;
    this.scheduler.after(faultIntervalMs, this.#kind.fault, 0);
    const random = this.#faultRandom;
    const roll = random.float();
    if (roll < 0.3) this.#move(random);
    else if (roll < 0.4) {
      const node = this.#nodes[random.int(0, this.#nodes.length - 1)]!;
      if (node.cheater !== undefined) return;
      this.#faults.busySpells!++;
      // Shorter than perHolderMinIntervalMs: no challenger meets three refusals in a row.
      node.busyUntilMs = this.scheduler.nowMs + 200 + random.float() * 1_500;
    }
  }

  /** Moves an honest holder's shard to another honest node that holds nothing of the stripe. */
  #move(random: SimRandom): void {
    const o = random.int(0, this.#objects.length - 1);
    const object = this.#objects[o]!;
    const current = currentReceipts(object.receipts);
    const receipt = random.pick(current);
    const from = this.#nodes[receipt.holder]!;
    if (from.cheater !== undefined) return;
    const to = random.int(0, this.#nodes.length - 1);
    if (this.#nodes[to]!.cheater !== undefined || current.some((r) => r.holder === to)) return;
    // Not while an earlier move of this position is still running.
    if (object.receipts.some((r) => r.shard === receipt.shard && r.storedAtMs > receipt.storedAtMs)) return;
    const hash = shardCommitment(object.descriptor, 0, receipt.shard).shardHash;
    if (!from.trees.has(hash)) return;
    this.#faults.moves!++;
    this.#startStream(receipt.holder, to, from.disk.read(`shard/${hash}`), {
      t: 'move',
      object: o,
      shard: receipt.shard,
      hash,
    });
  }

  // --- checkers ------------------------------------------------------------------------------

  #checkEnd(): void {
    const checks = this.checks;
    const reference = this.#nodes[0]!.state;
    checkConvergedLedgers(checks, this.#nodes);
    const expectedFailure: Record<CheaterKind, string> = {
      deleter: 'not-held',
      'tree-only': 'bad-path',
      fetcher: 'late',
    };
    let honestMin = Number.POSITIVE_INFINITY;
    for (const node of this.#nodes)
      if (node.cheater === undefined)
        honestMin = Math.min(honestMin, reference.reputationOf(node.signer.nodeId).score);
    for (const node of this.#nodes) {
      const id = node.signer.nodeId;
      const escrows = reference.escrowsOf(id).filter((e) => e.accused === id);
      if (node.cheater === undefined) {
        checks.check(
          'honest-never-slashed',
          escrows.length === 0,
          () => `honest n${node.index} has ${escrows.length} escrows`,
        );
        continue;
      }
      const failures = this.#failures.get(node.index) ?? [];
      checks.check(
        'every-cheater-caught',
        failures.length > 0,
        () => `${node.cheater} n${node.index} never failed a challenge`,
      );
      checks.check(
        'every-cheater-slashed',
        escrows.some((e) => e.status === 'executed'),
        () =>
          `${node.cheater} n${node.index}: no executed escrow (${escrows.map((e) => e.status).join(', ') || 'none'})`,
      );
      const kind = node.cheater;
      checks.check(
        'caught-for-what-it-did',
        failures.every((f) => f === expectedFailure[kind] || f === 'timeout' || f === 'refused'),
        () => `${kind} n${node.index} failed as ${[...new Set(failures)].join(', ')}`,
      );
      const score = reference.reputationOf(id).score;
      checks.check(
        'cheater-less-reputable',
        score < honestMin,
        () =>
          `${kind} n${node.index} reputation ${score.toFixed(3)} not below every honest node's (${honestMin.toFixed(3)})`,
      );
    }
    for (const late of this.#fetcherLateMs)
      checks.check(
        'fetcher-always-late',
        late > 0,
        () => `a fetcher answered ${(-late).toFixed(0)} ms before the deadline`,
      );
  }
}

type BytesAppliedResult = ReturnType<EconomicsState['applyBytes']>;

export const proofOfStorageScenario: Scenario<ProofOfStorageOptions> = {
  name: 'proof-of-storage',
  description:
    'cheating holders (deleting, tree-only, fetching on demand) caught by @trinity/storage proofs and slashed through @trinity/economics',
  nodesMin: 12,
  // Every node applies every event, and the deadline's margin assumes at most this many (see the sizes above).
  nodesMax: 150,
  run: (options) => new ProofOfStorageWorld(options).run(),
};

/**
 * A cheater's answer when it kept a shard's Merkle tree but not its bytes: real paths, made-up
 * leaves of `leafBytes` zeros, a signature over the shard hash rather than the challenge.
 */
export function treeOnlyAnswer(
  node: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array },
  shardHash: string,
  leafIndices: readonly number[],
  tree: { path(index: number): Uint8Array[] },
  leafBytes: number,
): ProofAnswer {
  return {
    holder: node.publicKey,
    leaves: leafIndices.map((i) => ({ index: i, data: new Uint8Array(leafBytes), path: tree.path(i) })),
    signature: ed25519.sign(utf8ToBytes(shardHash), node.secretKey),
  };
}
