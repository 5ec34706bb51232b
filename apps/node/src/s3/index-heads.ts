import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, ed25519, fromHex, isHex, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { S3Error } from './errors.js';

/**
 * The head of an owner's network S3 index: which Trinity object holds the index now (`root`) and a
 * sequence number that every update raises by one. Signed by the owner key, so a replica can withhold
 * a head but not forge or alter one. See README "The network index".
 */
export interface IndexHead {
  /** The owner public key (hex) whose index this is. */
  readonly owner: string;
  readonly seq: number;
  /** The object id of the index snapshot this head points at. */
  readonly root: string;
  /** Ed25519 signature (hex) by `owner` of `headMessage(owner, seq, root)`. */
  readonly sig: string;
}

function headMessage(owner: string, seq: number, root: string): Uint8Array {
  return utf8ToBytes(JSON.stringify(['trinity-s3-index-head/1', owner, seq, root]));
}

export function signHead(
  owner: { readonly publicKey: string; readonly secretKey: Uint8Array },
  seq: number,
  root: string,
): IndexHead {
  const sig = toHex(ed25519.sign(headMessage(owner.publicKey, seq, root), owner.secretKey));
  return { owner: owner.publicKey, seq, root, sig };
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
    isHex(head.sig, 64) &&
    ed25519.verify(fromHex(head.sig), headMessage(head.owner, head.seq, head.root), fromHex(head.owner))
  );
}

// ---------------------------------------------------------------------------------------------
// The replica side: what every node keeps for the heads whose replica group it is in.

/** A request to a head replica (the wire message, validated by the daemon's protocol schema). */
export type HeadRequest =
  | { readonly op: 'get'; readonly owner: string }
  | { readonly op: 'lock'; readonly owner: string; readonly txId: string; readonly expectSeq: number }
  | { readonly op: 'commit'; readonly owner: string; readonly txId: string; readonly head: IndexHead }
  | { readonly op: 'unlock'; readonly owner: string; readonly txId: string };

export interface HeadReply {
  readonly ok: boolean;
  /** Why a lock or commit was refused: another writer holds the lock, or this replica is ahead. */
  readonly reason?: 'locked' | 'ahead' | 'not-locked' | 'invalid';
  /** The replica's current head (on `get`, and on a refusal). */
  readonly head?: IndexHead;
}

/** Where a replica keeps its heads: durably (the daemon) or in memory (tests). */
export interface HeadStore {
  get(owner: string): Promise<IndexHead | undefined>;
  set(head: IndexHead): Promise<void>;
}

export class MemoryHeadStore implements HeadStore {
  readonly #heads = new Map<string, IndexHead>();
  async get(owner: string): Promise<IndexHead | undefined> {
    return this.#heads.get(owner);
  }
  async set(head: IndexHead): Promise<void> {
    this.#heads.set(head.owner, head);
  }
}

/** One JSON file per owner under `dir`, replaced atomically (write, fsync, rename). */
export class FileHeadStore implements HeadStore {
  readonly #dir: string;
  constructor(dir: string) {
    this.#dir = dir;
  }
  #path(owner: string): string {
    if (!/^[0-9a-f]{64}$/.test(owner)) throw new Error('an index head owner is 64 hex characters');
    return join(this.#dir, `${owner}.json`);
  }
  async get(owner: string): Promise<IndexHead | undefined> {
    let text: string;
    try {
      text = await readFile(this.#path(owner), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const head = JSON.parse(text) as IndexHead;
    if (!validHead(head) || head.owner !== owner)
      throw new Error(`the index head file of ${owner} is invalid`);
    return head;
  }
  async set(head: IndexHead): Promise<void> {
    const path = this.#path(head.owner);
    const tmp = `${path}.tmp`;
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(`${JSON.stringify(head)}\n`);
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  }
}

/** How long a replica keeps a writer's lock before another writer may take it. */
export const headLockLeaseMs = 10_000;

/**
 * A head replica: per owner, the highest head it was given and at most one writer's lock. A lock is
 * granted to one transaction at a time and only while this replica is not ahead of the head the
 * writer read (`expectSeq`); a commit is accepted only from the lock holder, only with a valid
 * owner-signed head, and only if it raises the seq. Requests for one owner run one at a time.
 */
export class HeadReplica {
  readonly #store: HeadStore;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #locks = new Map<string, { txId: string; untilMs: number }>();
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(store: HeadStore, clock: Clock, leaseMs = headLockLeaseMs) {
    this.#store = store;
    this.#clock = clock;
    this.#leaseMs = leaseMs;
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
    const current = await this.#store.get(request.owner);
    const seq = current?.seq ?? 0;
    const withHead = current === undefined ? {} : { head: current };
    const lock = this.#locks.get(request.owner);
    const nowMs = this.#clock.nowMs();
    switch (request.op) {
      case 'get':
        return { ok: true, ...withHead };
      case 'lock': {
        if (lock !== undefined && lock.txId !== request.txId && lock.untilMs > nowMs) {
          return { ok: false, reason: 'locked', ...withHead };
        }
        if (seq > request.expectSeq) return { ok: false, reason: 'ahead', ...withHead };
        this.#locks.set(request.owner, { txId: request.txId, untilMs: nowMs + this.#leaseMs });
        return { ok: true, ...withHead };
      }
      case 'commit': {
        // An expired lock nobody else took is still this writer's: no other head came in between.
        if (lock?.txId !== request.txId) return { ok: false, reason: 'not-locked', ...withHead };
        const head = request.head;
        if (head.owner !== request.owner || !validHead(head))
          return { ok: false, reason: 'invalid', ...withHead };
        if (head.seq <= seq) return { ok: false, reason: 'ahead', ...withHead };
        await this.#store.set(head);
        this.#locks.delete(request.owner);
        return { ok: true, head };
      }
      case 'unlock':
        if (lock?.txId === request.txId) this.#locks.delete(request.owner);
        return { ok: true, ...withHead };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The writer / reader side: one owner's head over its replica group.

/** How the head client reaches replicas: the live nodes, and one request to one of them. */
export interface HeadTransport {
  /** Ids of the nodes reachable now, this one included. */
  nodes(): readonly string[];
  call(node: string, request: HeadRequest): Promise<HeadReply>;
}

/** The replica group of `owner`'s head: the `size` nodes ranking first by rendezvous hashing. */
export function headGroup(owner: string, nodes: readonly string[], size: number): string[] {
  const score = (node: string) => toHex(sha256(utf8ToBytes(`trinity-s3-index-group/1 ${owner} ${node}`)));
  return [...new Set(nodes)]
    .map((node) => ({ node, score: score(node) }))
    .sort((a, b) => (a.score < b.score ? -1 : a.score > b.score ? 1 : 0))
    .slice(0, size)
    .map((entry) => entry.node);
}

/** What `NetworkS3Index` needs of the heads: read the current one, and compare-and-set the next. */
export interface IndexHeads {
  /** The current head, undefined when the owner has none yet. */
  read(): Promise<IndexHead | undefined>;
  /** Sets `next` if the head is still at `expectSeq`; false when another writer got there first. */
  swap(expectSeq: number, next: IndexHead): Promise<boolean>;
}

export interface ReplicatedHeadsOptions {
  /** Replicas per head (fewer when fewer nodes are live). */
  readonly groupSize?: number;
  /** Transaction ids for locks (random hex). */
  readonly txId: () => string;
}

/**
 * One owner's head over its replica group (README "The network index"). A read asks every replica
 * of the group and takes the highest valid head; it needs a majority of the group to answer. A swap
 * locks every replica in a fixed order (so two writers never deadlock: the first lock decides), each
 * lock granted only if that replica is not ahead of `expectSeq`, then commits the new head to all of
 * them; it is acknowledged only when every replica stored it. A swap that fails midway leaves a
 * higher head on some replicas: readers take the highest, so the next writer rolls it forward.
 */
export class ReplicatedHeads implements IndexHeads {
  readonly #owner: string;
  readonly #transport: HeadTransport;
  readonly #groupSize: number;
  readonly #txId: () => string;

  constructor(owner: string, transport: HeadTransport, options: ReplicatedHeadsOptions) {
    this.#owner = owner;
    this.#transport = transport;
    this.#groupSize = options.groupSize ?? 3;
    this.#txId = options.txId;
  }

  group(): string[] {
    return headGroup(this.#owner, this.#transport.nodes(), this.#groupSize);
  }

  async read(): Promise<IndexHead | undefined> {
    const group = this.group();
    const replies = await Promise.allSettled(
      group.map((node) => this.#transport.call(node, { op: 'get', owner: this.#owner })),
    );
    const answered = replies.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    const needed = Math.floor(group.length / 2) + 1;
    if (answered.length < needed) {
      throw new S3Error(
        'ServiceUnavailable',
        `the index head: ${answered.length} of its ${group.length} replicas answered, ${needed} are needed`,
      );
    }
    return highest(this.#owner, answered);
  }

  async swap(expectSeq: number, next: IndexHead): Promise<boolean> {
    const group = this.group().sort();
    const txId = this.#txId();
    const locked: string[] = [];
    const release = () =>
      Promise.allSettled(
        locked.map((node) => this.#transport.call(node, { op: 'unlock', owner: this.#owner, txId })),
      );
    for (const node of group) {
      let reply: HeadReply;
      try {
        reply = await this.#transport.call(node, { op: 'lock', owner: this.#owner, txId, expectSeq });
      } catch (error) {
        await release();
        throw new S3Error(
          'ServiceUnavailable',
          `an index head replica did not answer: ${(error as Error).message}`,
        );
      }
      if (!reply.ok) {
        await release();
        return false;
      }
      locked.push(node);
    }
    const results = await Promise.allSettled(
      group.map((node) => this.#transport.call(node, { op: 'commit', owner: this.#owner, txId, head: next })),
    );
    const stored = results.filter((r) => r.status === 'fulfilled' && r.value.ok).length;
    if (stored === group.length) return true;
    await release();
    // Every replica refused (a lock that lapsed and another writer took): nothing was stored.
    if (results.every((r) => r.status === 'fulfilled' && !r.value.ok)) return false;
    throw new S3Error(
      'ServiceUnavailable',
      `the index update reached ${stored} of its ${group.length} head replicas; it may or may not be visible`,
    );
  }
}

/** The highest valid head of `owner` among replies (invalid ones ignored). */
function highest(owner: string, replies: readonly HeadReply[]): IndexHead | undefined {
  let best: IndexHead | undefined;
  for (const reply of replies) {
    const head = reply.head;
    if (head === undefined || head.owner !== owner || !validHead(head)) continue;
    if (best === undefined || head.seq > best.seq || (head.seq === best.seq && head.root < best.root)) {
      best = head;
    }
  }
  return best;
}
