import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ed25519, fromHex, isHex, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { S3Error } from './errors.js';

/**
 * The head of an owner's network S3 index: which Trinity object holds the index now (`root`), a
 * sequence number every update raises by one, and the replica group that keeps it (fixed when the
 * owner's first head is made). Signed by the owner key, so a replica can withhold a head but not forge
 * or alter one. See README "The network index".
 */
export interface IndexHead {
  /** The owner public key (hex) whose index this is. */
  readonly owner: string;
  readonly seq: number;
  /** The object id of the index snapshot this head points at. */
  readonly root: string;
  /**
   * The changes made since that snapshot, applied to it in order (absent: none): one line per
   * group-committed batch, `{"b": <random id>, "r": [<IndexRecord>…]}`. Bounded (`headLogBytesMax`);
   * a write that would grow it past that writes a new snapshot instead and starts an empty log.
   */
  readonly log?: string;
  /** The node ids of the replica group (3, or fewer when fewer nodes were live at the first write). */
  readonly group: readonly string[];
  /** Ed25519 signature (hex) by `owner` of `headMessage(…)`. */
  readonly sig: string;
}

/** Most replicas in a group. */
export const headGroupMax = 7;

/**
 * The longest head log, in bytes of its JSON string form (as it travels): a replica's answer holds
 * up to two heads (accepted and learned), and a protocol message header at most 64 KiB.
 */
export const headLogBytesMax = 20 * 1024;

/** The size of `log` on the wire: its JSON string form, in UTF-8 bytes. */
export function headLogBytes(log: string): number {
  return Buffer.byteLength(JSON.stringify(log));
}

function headMessage(
  owner: string,
  seq: number,
  root: string,
  group: readonly string[],
  log: string | undefined,
): Uint8Array {
  // A head without a log signs the same message as before logs existed (heads on disk stay valid).
  return utf8ToBytes(
    JSON.stringify(
      log === undefined
        ? ['trinity-s3-index-head/2', owner, seq, root, group]
        : ['trinity-s3-index-head/3', owner, seq, root, group, log],
    ),
  );
}

export function signHead(
  owner: { readonly publicKey: string; readonly secretKey: Uint8Array },
  seq: number,
  root: string,
  group: readonly string[],
  log?: string,
): IndexHead {
  const kept = log === undefined || log === '' ? undefined : log;
  const sig = toHex(ed25519.sign(headMessage(owner.publicKey, seq, root, group, kept), owner.secretKey));
  return {
    owner: owner.publicKey,
    seq,
    root,
    group: [...group],
    ...(kept === undefined ? {} : { log: kept }),
    sig,
  };
}

/** Whether `head` is well formed and its owner signed it. */
export function validHead(head: IndexHead): boolean {
  return (
    isHex(head.owner, 32) &&
    Number.isSafeInteger(head.seq) &&
    head.seq >= 1 &&
    typeof head.root === 'string' &&
    head.root.length > 0 &&
    head.root.length <= 128 &&
    (head.log === undefined ||
      (typeof head.log === 'string' && head.log !== '' && headLogBytes(head.log) <= headLogBytesMax)) &&
    Array.isArray(head.group) &&
    head.group.length >= 1 &&
    head.group.length <= headGroupMax &&
    head.group.every((node) => typeof node === 'string' && node.length > 0 && node.length <= 128) &&
    new Set(head.group).size === head.group.length &&
    isHex(head.sig, 64) &&
    ed25519.verify(
      fromHex(head.sig),
      headMessage(head.owner, head.seq, head.root, head.group, head.log),
      fromHex(head.owner),
    )
  );
}

/** A Paxos ballot: a round number, then the proposer's random id to break ties. */
export interface Ballot {
  readonly n: number;
  readonly by: string;
}

export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.n !== b.n) return a.n < b.n ? -1 : 1;
  return a.by < b.by ? -1 : a.by > b.by ? 1 : 0;
}

/** What a replica keeps per owner (CASPaxos acceptor state, plus the highest head it was told of). */
export interface ReplicaState {
  readonly promised?: Ballot;
  readonly accepted?: { readonly ballot: Ballot; readonly head: IndexHead };
  /** The highest head this node learned of (every node is told after each write): finds the group. */
  readonly learned?: IndexHead;
}

/** A request to a head replica (the wire message, validated by the daemon's protocol schema). */
export type HeadRequest =
  | { readonly op: 'get'; readonly owner: string }
  | { readonly op: 'prepare'; readonly owner: string; readonly ballot: Ballot }
  | {
      readonly op: 'accept';
      readonly owner: string;
      readonly ballot: Ballot;
      readonly head: IndexHead;
      /** Also promise this higher ballot once accepted (the proposer's next round skips its prepare). */
      readonly next?: Ballot;
    }
  | { readonly op: 'learn'; readonly owner: string; readonly head: IndexHead };

export interface HeadReply {
  readonly ok: boolean;
  readonly state: ReplicaState;
}

/** Where a replica keeps its state: durably (the daemon) or in memory (tests). */
export interface HeadStore {
  get(owner: string): Promise<ReplicaState>;
  set(owner: string, state: ReplicaState): Promise<void>;
}

export class MemoryHeadStore implements HeadStore {
  readonly #states = new Map<string, ReplicaState>();
  async get(owner: string): Promise<ReplicaState> {
    return this.#states.get(owner) ?? {};
  }
  async set(owner: string, state: ReplicaState): Promise<void> {
    this.#states.set(owner, structuredClone(state));
  }
}

/** The owners whose replica state a `FileHeadStore` keeps in memory, at most (least recently used go). */
const headStoreCachedMax = 1024;

/**
 * One JSON file per owner under `dir`, replaced atomically (write, fsync unless `fsync: false`,
 * rename). The replica is the only writer of its directory, so the state last read or written is
 * kept in memory (for up to `headStoreCachedMax` owners) and a request does not read the file again;
 * states are never changed in place (HeadReplica builds a new one for every change).
 */
export class FileHeadStore implements HeadStore {
  readonly #dir: string;
  readonly #fsync: boolean;
  readonly #cached = new Map<string, ReplicaState>();
  constructor(dir: string, options: { readonly fsync?: boolean } = {}) {
    this.#dir = dir;
    this.#fsync = options.fsync ?? true;
  }
  #path(owner: string): string {
    if (!isHex(owner, 32)) throw new Error('an index head owner is 64 hex characters');
    return join(this.#dir, `${owner}.json`);
  }
  #remember(owner: string, state: ReplicaState): void {
    this.#cached.delete(owner);
    this.#cached.set(owner, state);
    if (this.#cached.size > headStoreCachedMax) this.#cached.delete(this.#cached.keys().next().value!);
  }
  async get(owner: string): Promise<ReplicaState> {
    const path = this.#path(owner);
    const cached = this.#cached.get(owner);
    if (cached !== undefined) {
      this.#remember(owner, cached);
      return cached;
    }
    let state: ReplicaState;
    try {
      state = JSON.parse(await readFile(path, 'utf8')) as ReplicaState;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      state = {};
    }
    this.#remember(owner, state);
    return state;
  }
  async set(owner: string, state: ReplicaState): Promise<void> {
    const path = this.#path(owner);
    const tmp = `${path}.tmp`;
    // Until the file is replaced the state on disk is the old one, or, after a failure, unknown.
    this.#cached.delete(owner);
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(`${JSON.stringify(state)}\n`);
      if (this.#fsync) await file.datasync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
    this.#remember(owner, state);
  }
}

/**
 * A head replica: a CASPaxos acceptor per owner. `prepare` promises a ballot higher than any it
 * promised or accepted and answers what it accepted; `accept` takes a head at a ballot no lower than
 * its promise, only a validly owner-signed head of that owner, and never one of a lower seq than it
 * holds (so an old signed head cannot be replayed). `learn` records the highest head it was told of
 * (discovery of the group, not a vote). Requests for one owner run one at a time; state is durable
 * before the answer.
 */
export class HeadReplica {
  readonly #store: HeadStore;
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(store: HeadStore) {
    this.#store = store;
  }

  handle(request: HeadRequest): Promise<HeadReply> {
    const previous = this.#queues.get(request.owner) ?? Promise.resolve();
    const run = previous.then(
      () => this.#handle(request),
      () => this.#handle(request),
    );
    const settled = run.catch(() => {});
    this.#queues.set(request.owner, settled);
    void settled.then(() => {
      if (this.#queues.get(request.owner) === settled) this.#queues.delete(request.owner);
    });
    return run;
  }

  async #handle(request: HeadRequest): Promise<HeadReply> {
    const state = await this.#store.get(request.owner);
    switch (request.op) {
      case 'get':
        return { ok: true, state };
      case 'prepare': {
        const { promised, accepted } = state;
        if (
          (promised !== undefined && compareBallots(request.ballot, promised) <= 0) ||
          (accepted !== undefined && compareBallots(request.ballot, accepted.ballot) <= 0)
        ) {
          return { ok: false, state };
        }
        const next = { ...state, promised: request.ballot };
        await this.#store.set(request.owner, next);
        return { ok: true, state: next };
      }
      case 'accept': {
        const { promised, accepted } = state;
        const head = request.head;
        if (
          (promised !== undefined && compareBallots(request.ballot, promised) < 0) ||
          (accepted !== undefined && compareBallots(request.ballot, accepted.ballot) <= 0) ||
          (accepted !== undefined && head.seq < accepted.head.seq) ||
          head.owner !== request.owner ||
          !validHead(head)
        ) {
          return { ok: false, state };
        }
        const promise =
          request.next !== undefined && compareBallots(request.next, request.ballot) > 0
            ? request.next
            : request.ballot;
        const next: ReplicaState = {
          ...state,
          promised: promise,
          accepted: { ballot: request.ballot, head },
          ...(state.learned === undefined || state.learned.seq < head.seq ? { learned: head } : {}),
        };
        await this.#store.set(request.owner, next);
        return { ok: true, state: next };
      }
      case 'learn': {
        const head = request.head;
        if (head.owner !== request.owner || !validHead(head)) return { ok: false, state };
        if (state.learned !== undefined && state.learned.seq >= head.seq) return { ok: true, state };
        const next = { ...state, learned: head };
        await this.#store.set(request.owner, next);
        return { ok: true, state: next };
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The proposer / reader side: one owner's head over its replica group.

/** How the head client reaches replicas: the live nodes, and one request to one of them. */
export interface HeadTransport {
  /** Ids of the nodes reachable now, this one included. */
  nodes(): readonly string[];
  call(node: string, request: HeadRequest): Promise<HeadReply>;
}

/** The first replica group of `owner`: the `size` nodes ranking first by rendezvous hashing. */
export function headGroup(owner: string, nodes: readonly string[], size: number): string[] {
  const score = (node: string) => toHex(sha256(utf8ToBytes(`trinity-s3-index-group/1 ${owner} ${node}`)));
  return [...new Set(nodes)]
    .map((node) => ({ node, score: score(node) }))
    .sort((a, b) => (a.score < b.score ? -1 : a.score > b.score ? 1 : 0))
    .slice(0, size)
    .map((entry) => entry.node);
}

/**
 * Builds the next head on `current`. `speculative`: a round that skipped its prepare, so `current`
 * is only the head this proposer last wrote (the accept fails if it is not current any more); a
 * proposer that knows a newer head may throw, and the round is not run.
 */
export type HeadProposer = (
  current: IndexHead | undefined,
  round: { readonly speculative: boolean },
) => Promise<HeadProposal>;

/** What the proposer returns for the next head: a snapshot and log, or the current head unchanged. */
export type HeadProposal = { readonly root: string; readonly log?: string } | 'unchanged';

/** What `NetworkS3Index` needs of the heads. */
export interface IndexHeads {
  /** The current head (linearizable), undefined when the owner has none yet. */
  read(): Promise<IndexHead | undefined>;
  /**
   * One compare-and-set round: `propose` gets the current head and returns the next snapshot (or
   * `unchanged`); the head moves to it (seq + 1) if no other writer got in between. Returns the head
   * chosen and the one it replaced; or `lost` (no replica took the proposal: read again and retry);
   * or `contended` (a minority took it: it may still become current, through a later round that
   * finds it — retry, and recognize it by its root). Throws S3Error('ServiceUnavailable') when too
   * few replicas answer. `fast`: a mutation's round, which may skip its prepare right after a round
   * of this proposer won (see `ReplicatedHeads`); rounds that only settle (reads) never do. When that
   * try reaches no replica, `propose` is called a second time in a full round: its first proposal is
   * lost for good.
   */
  update(propose: HeadProposer, options?: { readonly fast?: boolean }): Promise<HeadUpdate | RoundLost>;
}

/** A round that did not choose its proposal; `contended`: some replica accepted it all the same. */
export type RoundLost = 'lost' | 'contended';

/** A round's outcome: the head now (undefined: still none) and the one it replaced. */
export interface HeadUpdate {
  readonly chosen: IndexHead | undefined;
  readonly base: IndexHead | undefined;
}

export interface ReplicatedHeadsOptions {
  /** Replicas in a new group (fewer when fewer nodes are live at the owner's first write). */
  readonly groupSize?: number;
  /** A random proposer id (hex), fresh per instance. */
  readonly proposerId: string;
}

/**
 * One owner's head over its replica group by CASPaxos (Rystsov, 2018): every update is a prepare at
 * a fresh ballot to a majority of the group, which answers the heads it accepted; the one accepted
 * at the highest ballot is the current head; the proposer builds the next head on it and has a
 * majority accept it at its ballot. A read asks the group and, when a majority hold the same
 * accepted ballot, that head is current (one round trip); otherwise it runs a full round that
 * re-proposes the current head, settling any half-done write.
 *
 * The group is recorded in the head and fixed at the owner's first write (the first `groupSize`
 * live nodes by rendezvous hashing); every node learns each new head (`learn`, after the write), so
 * a gateway that starts later finds the group by asking the live nodes. With no head found
 * anywhere, the first write makes one. Needs a majority of the group: fails closed (503) without.
 */
export class ReplicatedHeads implements IndexHeads {
  readonly #owner: { readonly publicKey: string; readonly secretKey: Uint8Array };
  readonly #transport: HeadTransport;
  readonly #groupSize: number;
  readonly #proposerId: string;
  #group: readonly string[] | undefined;
  /** The highest ballot round seen: the next ballot goes above it. */
  #round = 0;
  /** The highest head seq a replica answered with. */
  #seqSeen = 0;
  /**
   * After a round this proposer won: the ballot a majority promised along with accepting its head,
   * and that head. The next update may skip its prepare and go straight to accept at that ballot
   * (CASPaxos's one-round-trip optimization): those replicas promised it in the same step as they
   * accepted the head, so the head was current then, and an accept a majority takes at that ballot
   * proves no other round came in between. Used once; any refusal falls back to a full round.
   */
  #fast: { readonly ballot: Ballot; readonly head: IndexHead } | undefined;

  constructor(
    owner: { readonly publicKey: string; readonly secretKey: Uint8Array },
    transport: HeadTransport,
    options: ReplicatedHeadsOptions,
  ) {
    this.#owner = owner;
    this.#transport = transport;
    this.#groupSize = Math.min(headGroupMax, options.groupSize ?? 3);
    this.#proposerId = options.proposerId;
  }

  get #key(): string {
    return this.#owner.publicKey;
  }

  /** The group, found once: from a head any live node holds or learned, else a new one. */
  async group(): Promise<{ group: readonly string[]; found: boolean }> {
    if (this.#group !== undefined) return { group: this.#group, found: true };
    const nodes = this.#transport.nodes();
    const replies = await Promise.allSettled(
      nodes.map((node) => this.#transport.call(node, { op: 'get', owner: this.#key })),
    );
    let best: IndexHead | undefined;
    for (const reply of replies) {
      if (reply.status !== 'fulfilled') continue;
      for (const head of [reply.value.state.accepted?.head, reply.value.state.learned]) {
        if (head === undefined || head.owner !== this.#key || !validHead(head)) continue;
        if (best === undefined || head.seq > best.seq) best = head;
      }
    }
    if (best !== undefined) {
      this.#group = best.group;
      return { group: best.group, found: true };
    }
    const answered = replies.filter((r) => r.status === 'fulfilled').length;
    if (answered < Math.floor(nodes.length / 2) + 1) {
      throw new S3Error(
        'ServiceUnavailable',
        `looking for the index head: ${answered} of ${nodes.length} live nodes answered`,
      );
    }
    return { group: headGroup(this.#key, nodes, this.#groupSize), found: false };
  }

  /**
   * Asks every replica of the group; resolves once a majority said yes, or every replica answered
   * or failed. `silent`: how many had not answered (failed, or still out) then.
   */
  async #ask(
    group: readonly string[],
    request: (node: string) => HeadRequest,
  ): Promise<{ replies: HeadReply[]; silent: number }> {
    const needed = Math.floor(group.length / 2) + 1;
    return new Promise((resolve) => {
      const replies: HeadReply[] = [];
      let done = 0;
      let resolved = false;
      const finish = () => {
        if (!resolved) {
          resolved = true;
          resolve({ replies: [...replies], silent: group.length - replies.length });
        }
      };
      for (const node of group) {
        this.#transport.call(node, request(node)).then(
          (reply) => {
            this.#see(reply.state);
            replies.push(reply);
            done++;
            if (replies.filter((r) => r.ok).length >= needed || done === group.length) finish();
          },
          () => {
            done++;
            if (done === group.length) finish();
          },
        );
      }
    });
  }

  #see(state: ReplicaState): void {
    for (const ballot of [state.promised, state.accepted?.ballot]) {
      if (ballot !== undefined && ballot.n > this.#round) this.#round = ballot.n;
    }
    const seq = state.accepted?.head.seq;
    if (seq !== undefined && seq > this.#seqSeen) this.#seqSeen = seq;
  }

  #nextBallot(): Ballot {
    this.#round += 1;
    return { n: this.#round, by: this.#proposerId };
  }

  async read(): Promise<IndexHead | undefined> {
    const { group, found } = await this.group();
    if (!found) return undefined;
    const needed = Math.floor(group.length / 2) + 1;
    const { replies } = await this.#ask(group, () => ({ op: 'get', owner: this.#key }));
    if (replies.length < needed) throw unavailable(replies.length, group.length, needed);
    // A majority holding one accepted ballot: that head was chosen, and none chosen after it
    // (a later one would be accepted by a majority, which meets this one).
    const counts = new Map<string, { n: number; head: IndexHead }>();
    for (const { state } of replies) {
      const accepted = state.accepted;
      if (accepted === undefined) continue;
      const key = `${accepted.ballot.n} ${accepted.ballot.by}`;
      const entry = counts.get(key) ?? { n: 0, head: accepted.head };
      entry.n++;
      counts.set(key, entry);
    }
    for (const { n, head } of counts.values()) {
      if (n >= needed && head.owner === this.#key && validHead(head)) return head;
    }
    // Otherwise settle it: a full round re-proposing the current head.
    for (let attempt = 0; attempt < 5; attempt++) {
      const result = await this.update(async () => 'unchanged');
      if (result !== 'lost' && result !== 'contended') return result.chosen;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * (attempt + 1)));
    }
    throw new S3Error('ServiceUnavailable', 'the index head is contended; retry');
  }

  async update(
    propose: HeadProposer,
    options: { readonly fast?: boolean } = {},
  ): Promise<HeadUpdate | RoundLost> {
    const { group } = await this.group();
    const needed = Math.floor(group.length / 2) + 1;
    const fast = this.#fast;
    this.#fast = undefined;
    // Not when a newer head or ballot was seen since (a read, another round): it would only fail.
    if (
      fast !== undefined &&
      options.fast === true &&
      this.#round <= fast.ballot.n &&
      this.#seqSeen <= fast.head.seq
    ) {
      const result = await this.#acceptRound(group, fast.ballot, fast.head, fast.head.seq, propose, true);
      // Refused everywhere (another round came in between): nobody holds it; a full round now.
      if (result !== 'lost') return result;
    }
    const ballot = this.#nextBallot();
    const prepared = await this.#ask(group, () => ({ op: 'prepare', owner: this.#key, ballot }));
    const promises = prepared.replies.filter((r) => r.ok);
    if (promises.length < needed) {
      if (prepared.replies.length < needed) throw unavailable(prepared.replies.length, group.length, needed);
      return 'lost'; // refused: a higher ballot is about; the next one goes above it
    }
    let base: { ballot: Ballot; head: IndexHead } | undefined;
    /** The highest seq any of them accepted: replicas refuse a lower one (see HeadReplica). */
    let seqSeen = 0;
    for (const { state } of promises) {
      const accepted = state.accepted;
      if (accepted === undefined || accepted.head.owner !== this.#key || !validHead(accepted.head)) continue;
      if (base === undefined || compareBallots(accepted.ballot, base.ballot) > 0) base = accepted;
      seqSeen = Math.max(seqSeen, accepted.head.seq);
    }
    return this.#acceptRound(group, ballot, base?.head, seqSeen, propose, false);
  }

  /**
   * The second half of a round at `ballot`, which a majority promised: `current` is the head they
   * accepted at the highest ballot, `seqSeen` the highest seq they hold.
   */
  async #acceptRound(
    group: readonly string[],
    ballot: Ballot,
    current: IndexHead | undefined,
    seqSeen: number,
    propose: HeadProposer,
    speculative: boolean,
  ): Promise<HeadUpdate | RoundLost> {
    const needed = Math.floor(group.length / 2) + 1;
    const proposal = await propose(current, { speculative });
    let next: IndexHead;
    if (proposal === 'unchanged') {
      // No head accepted in a majority: none was chosen, and there is nothing to settle.
      if (current === undefined) return { chosen: undefined, base: undefined };
      // A replica may hold a dead half-done head of a higher seq (a lower ballot than `current`):
      // the same snapshot under that seq settles past it.
      next =
        seqSeen > current.seq
          ? signHead(this.#owner, seqSeen, current.root, current.group, current.log)
          : current;
    } else {
      next = signHead(
        this.#owner,
        Math.max(current?.seq ?? 0, seqSeen) + 1,
        proposal.root,
        current?.group ?? group,
        proposal.log,
      );
    }
    const promise = this.#nextBallot();
    const accepted = await this.#ask(group, () => ({
      op: 'accept',
      owner: this.#key,
      ballot,
      head: next,
      next: promise,
    }));
    const accepts = accepted.replies.filter((r) => r.ok);
    if (accepts.length < needed) {
      // Refused everywhere it was heard: no replica holds it, so it can never become current.
      if (accepts.length === 0 && accepted.silent === 0) return 'lost';
      // Refused by a majority (a higher ballot came): some replica holds it; a later round decides.
      if (accepted.replies.length >= needed) return 'contended';
      throw new S3Error(
        'ServiceUnavailable',
        `the index update reached ${accepts.length} of the ${needed} head replicas it needs; it may or may not take effect`,
      );
    }
    this.#group = next.group;
    this.#fast = { ballot: promise, head: next };
    if (next !== current) this.#tellOthers(next, group);
    return { chosen: next, base: current };
  }

  /** Every live node outside the group learns the new head (so later gateways find the group). */
  #tellOthers(head: IndexHead, group: readonly string[]): void {
    const members = new Set(group);
    for (const node of this.#transport.nodes()) {
      if (members.has(node)) continue;
      void this.#transport.call(node, { op: 'learn', owner: this.#key, head }).catch(() => {});
    }
  }
}

function unavailable(answered: number, size: number, needed: number): S3Error {
  return new S3Error(
    'ServiceUnavailable',
    `the index head: ${answered} of its ${size} replicas answered, ${needed} are needed`,
  );
}
