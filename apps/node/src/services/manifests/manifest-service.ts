import {
  bytesToUtf8,
  type Clock,
  decryptedSize,
  isHashHex,
  type Logger,
  toHex,
  utf8ToBytes,
} from '@trinity/core';
import {
  checkSignedDescriptor,
  type ManifestStore,
  type ShardStore,
  type SignedDescriptor,
  type SignedReceipt,
  type SignedTombstone,
  signReceipt,
  tombstoneEncodedBytesMax,
} from '@trinity/storage';
import { ObjectUnavailableError, ProtocolError, RemoteError } from '../../errors.js';
import type { TrinityLibp2p } from '../../p2p/network.js';
import { type NodeSigner, peerIdOfNodeKey } from '../../p2p/node-keys.js';
import type { PeerRpc, ProtocolServer, RpcContext, RpcReply } from '../../p2p/rpc.js';
import {
  deletedQueryIdsMax,
  type ManifestRequest,
  manifestRequestSchema,
  PROTOCOLS,
  receiptJsonBytesMax,
} from '../../p2p/wire.js';
import type { Startable } from '../../startable.js';
import { Repeater, withTimeout } from '../../timers.js';
import type { PeerList, PeerRecord } from '../membership/membership.js';
import {
  type DeleteRecord,
  decodeDeleteRecord,
  decodeRecord,
  encodeDeleteRecord,
  encodeRecord,
  isDeleteRecord,
  type ObjectRecord,
  recordBytesMax,
} from '../objects/object-record.js';
import { deleteUnreferenced, ForbiddenError, type StagingLedger } from '../shards/shard-service.js';

const dhtPrefix = '/trinity/';

export function dhtKey(id: string): Uint8Array {
  return utf8ToBytes(`${dhtPrefix}${id}`);
}

function idFromKey(key: Uint8Array): string {
  const text = bytesToUtf8(key);
  if (!text.startsWith(dhtPrefix)) throw new Error('not a trinity DHT key');
  const id = text.slice(dhtPrefix.length);
  if (!isHashHex(id)) throw new Error('trinity DHT key does not name an object id');
  return id;
}

/**
 * DHT validator for the /trinity/ namespace: an object record whose descriptor verifies under its
 * owner's key and hashes to the key's id, or a delete record whose tombstone that same owner signed.
 * Nothing unsigned is accepted; the DHT has no clock of ours, so time checks use the wall clock.
 * Receipts are hints here (every reader checks them), so validation, which runs on every DHT put
 * at every peer, costs one signature check, not one per receipt.
 */
export function validateManifestRecord(key: Uint8Array, value: Uint8Array): void {
  const id = idFromKey(key);
  if (isDeleteRecord(value)) decodeDeleteRecord(value, Date.now(), id);
  else decodeRecord(value, Date.now(), id, { receipts: 'unchecked' });
}

/**
 * Whether no node could need a record's DHT copy: every peer known here took it directly, and the
 * view is closed (each peer has answered with its own peers, and names only peers known here). A
 * node that knows nobody yet (after a restart), only some of the network (a partial mesh, the
 * `peersMax` cap) or a peer whose list it has not seen announces, so a reader that knows none of the
 * holders still finds the record.
 */
export function everyNodeTook(
  peers: readonly PeerRecord[],
  took: ReadonlySet<string>,
  selfId: string,
): boolean {
  if (peers.length === 0) return false;
  const known = new Set(peers.map((peer) => peer.id));
  return peers.every(
    (peer) =>
      took.has(peer.id) &&
      peer.reportedPeers.size > 0 &&
      [...peer.reportedPeers].every((id) => id === selfId || known.has(id)),
  );
}

/** DHT selector: the owner's delete beats any record; among records, the one with most valid receipts. */
export function selectManifestRecord(key: Uint8Array, records: Uint8Array[]): number {
  const id = idFromKey(key);
  let best = 0;
  let bestReceipts = -1;
  for (const [index, bytes] of records.entries()) {
    try {
      if (isDeleteRecord(bytes)) {
        decodeDeleteRecord(bytes, Date.now(), id);
        return index;
      }
      const receipts = decodeRecord(bytes, Date.now(), id).record.receipts.length;
      if (receipts > bestReceipts) {
        best = index;
        bestReceipts = receipts;
      }
    } catch {
      // invalid records never win
    }
  }
  return best;
}

export interface ManifestHandlerDeps {
  readonly manifests: ManifestStore;
  readonly store: ShardStore;
  readonly signer: NodeSigner;
  readonly staging: StagingLedger;
  readonly clock: Clock;
}

/** This node's receipts for the shards of `descriptor` it has staged under `txId`. */
export function stagedReceipts(
  deps: Pick<ManifestHandlerDeps, 'store' | 'signer' | 'clock'>,
  txId: string,
  id: string,
  descriptor: SignedDescriptor,
): SignedReceipt[] {
  const staged = new Set(deps.store.stagedShards(txId).map((hash) => toHex(hash)));
  const storedAtMs = deps.clock.nowMs();
  const receipts: SignedReceipt[] = [];
  descriptor.stripes.forEach((stripe, s) => {
    stripe.shards.forEach((shard, i) => {
      if (staged.has(shard.hash)) {
        receipts.push(
          signReceipt(
            { objectId: id, stripe: s, shard: i, shardHash: shard.hash, storedAtMs },
            deps.signer.secretKey,
          ),
        );
      }
    });
  });
  return receipts;
}

/** Stages a checked descriptor with this node's receipts for `txId`; returns the receipts. */
async function stageHere(
  deps: ManifestHandlerDeps,
  txId: string,
  id: string,
  descriptor: SignedDescriptor,
): Promise<SignedReceipt[]> {
  const receipts = stagedReceipts(deps, txId, id, descriptor);
  await deps.store.stageRecord(txId, id, encodeRecord({ descriptor, receipts }));
  return receipts;
}

/** This node's record of `id`, or undefined. */
async function localRecord(manifests: ManifestStore, id: string): Promise<ObjectRecord | undefined> {
  if (!(await manifests.hasDescriptor(id))) return undefined;
  const descriptor = await manifests.getDescriptor(id).catch(() => undefined);
  if (descriptor === undefined) return undefined;
  return { descriptor, receipts: await manifests.receipts(id) };
}

/** Applies an owner's delete here: tombstone first, then the object's shards no other object uses. */
async function deleteHere(
  deps: ManifestHandlerDeps,
  record: { readonly tombstone: unknown; readonly descriptor: SignedDescriptor },
): Promise<void> {
  await deps.manifests.deleteDescriptor(record.tombstone, deps.clock.nowMs(), record.descriptor);
  const hashes = record.descriptor.stripes.flatMap((stripe) => stripe.shards.map((shard) => shard.hash));
  await deleteUnreferenced(deps.store, deps.manifests, hashes);
}

/**
 * Whether this node may hand out its record of an object: false when it learned the object was
 * deleted; throws a NOT_SYNCED ForbiddenError when it cannot tell yet (back from a restart, no peer
 * answered whether the object was deleted while it was away).
 */
export type ServableCheck = (id: string, record: ObjectRecord) => Promise<boolean>;

/** Serves /trinity/manifest/2.0.0; see wire.ts for who may call what. */
export function manifestHandler(deps: ManifestHandlerDeps, servable: ServableCheck = async () => true) {
  const { manifests, clock } = deps;
  return async (request: ManifestRequest, context: RpcContext): Promise<RpcReply> => {
    switch (request.op) {
      case 'put': {
        // Receipts are checked one by one by addReceipts: not twice.
        const { id, record } = decodeRecord(await context.readBody(request.size), clock.nowMs(), undefined, {
          receipts: 'unchecked',
        });
        await manifests.putDescriptor(record.descriptor, clock.nowMs());
        const added = await manifests.addReceipts(id, record.receipts, clock.nowMs());
        return { value: { id, receiptsAdded: added.length } };
      }
      case 'get': {
        const record = await localRecord(manifests, request.id);
        if (record === undefined || !(await servable(request.id, record)))
          throw new ForbiddenError('OBJECT_NOT_HERE', `no record of ${request.id} here`);
        return { body: encodeRecord(record) };
      }
      case 'delete': {
        await deleteHere(
          deps,
          decodeDeleteRecord(await context.readBody(request.size), clock.nowMs(), request.id),
        );
        return {};
      }
      case 'deleted': {
        const tombstones: SignedTombstone[] = [];
        for (const id of request.ids) {
          const tombstone = manifests.tombstone(id, clock.nowMs());
          if (tombstone !== undefined) tombstones.push(tombstone);
        }
        return { body: utf8ToBytes(JSON.stringify(tombstones)) };
      }
      case 'stage': {
        const entry = deps.staging.get(request.txId);
        if (entry === undefined || entry.peer !== context.peer) {
          throw new ForbiddenError('TX_NOT_YOURS', `transaction ${request.txId} was not staged here by you`);
        }
        const body = await context.readBody(request.size);
        let value: unknown;
        try {
          value = JSON.parse(bytesToUtf8(body));
        } catch {
          throw new ProtocolError('staged descriptor is not JSON');
        }
        const checked = checkSignedDescriptor(value, request.id);
        if (!checked.ok)
          throw new ForbiddenError('DESCRIPTOR_INVALID', `${checked.reason}: ${checked.message}`);
        if (checked.value.descriptor.owner !== entry.owner) {
          throw new ForbiddenError(
            'DESCRIPTOR_INVALID',
            "the descriptor is not signed by the put intents' owner",
          );
        }
        // In the body: a large object's receipts outgrow a reply header.
        const receipts = await stageHere(deps, request.txId, request.id, checked.value.descriptor);
        return { body: utf8ToBytes(JSON.stringify(receipts)) };
      }
    }
  };
}

export interface ManifestDirectoryInit {
  readonly selfId: string;
  /** One DHT lookup or publication. */
  readonly dhtTimeoutMs: number;
  /** How often this node asks peers which of the objects it holds were deleted. */
  readonly tombstoneSyncMs: number;
  /** Until a round has been answered since start, rounds are tried this often. */
  readonly tombstoneCatchUpMs: number;
  /**
   * Configured with bootstrap peers: back from a restart with no peer known yet, it cannot tell
   * whether its records were deleted while it was away, and serves none. A node without (a seed, a
   * single node) has nobody to ask and serves what it holds.
   */
  readonly hasBootstrap: boolean;
}

/** Peers asked on each anti-entropy round. */
const tombstoneSyncPeers = 2;
/**
 * Before its first sync round, a node checks each object it is about to serve with peers: two at a
 * time (the object's holders first), until two answered or four were asked, each pair given this
 * long, so that the check ends within a reader's 5 s wait for the record.
 */
const servableCheckPeers = 4;
const servableCheckTimeoutMs = 2_000;
/** Checks running at once; past it a read is refused (NOT_SYNCED) rather than queued. */
const servableChecksMax = 32;
/** Objects found live by that check, remembered until the first round (then not needed). */
const servableCheckedMax = 10_000;

/** The DHT as the manifest directory uses it. */
export type ManifestDht = Pick<TrinityLibp2p['services']['dht'], 'get' | 'put'>;

export interface ManifestDirectoryComponents extends ManifestHandlerDeps {
  readonly rpc: PeerRpc;
  readonly server: ProtocolServer;
  readonly membership: PeerList;
  readonly dht: ManifestDht;
  readonly logger: Logger;
}

/** One line of the object listing. */
export interface ObjectSummary {
  readonly id: string;
  readonly name?: string;
  /** Bytes of the object as stored by its owner (plaintext). */
  readonly size: number;
  readonly createdAtMs: number;
  readonly encrypted: boolean;
  readonly owner: string;
}

/** The object's size as its owner stored it (before encryption). */
export function plainSize(descriptor: SignedDescriptor): number {
  return descriptor.encryption === undefined
    ? descriptor.size
    : Math.max(0, decryptedSize(descriptor.size, descriptor.encryption.segmentBytes));
}

/** The manifest service's factory: `manifestDirectory(init)(components)`. */
export function manifestDirectory(
  init: ManifestDirectoryInit,
): (components: ManifestDirectoryComponents) => ManifestDirectory {
  return (components) => new ManifestDirectory(init, components);
}

/**
 * Where object records live: in the local manifest store, on every node holding a shard of the
 * object, and in the DHT under /trinity/<object id>. Lookups try them in that order; every copy
 * is verified (owner signature, id, receipts) wherever it comes from.
 */
export class ManifestDirectory implements Startable {
  readonly #init: ManifestDirectoryInit;
  readonly #deps: ManifestDirectoryComponents;
  readonly #sync: Repeater;
  /** Where the next anti-entropy round starts in the peer list (rounds rotate through peers). */
  #syncCursor = 0;
  /** A round of tombstone sync got answers since start: until then a read checks its object first. */
  #synced = false;
  /** Objects the per-object check found not deleted while unsynced. */
  readonly #checkedLive = new Set<string>();
  /** The per-object checks running, by object id: concurrent reads of one object share one. */
  readonly #checking = new Map<string, Promise<boolean>>();
  /** Until the first round is answered, rounds are tried every few seconds, not every interval. */
  readonly #catchUp: Repeater;

  constructor(init: ManifestDirectoryInit, components: ManifestDirectoryComponents) {
    this.#init = init;
    this.#deps = components;
    this.#sync = new Repeater(components.clock, init.tombstoneSyncMs, async () => {
      await this.syncTombstones();
    });
    this.#catchUp = new Repeater(components.clock, init.tombstoneCatchUpMs, async () => {
      if (!this.#synced) await this.syncTombstones();
      // Synced (by this round or a regular one): nothing left to catch up (not awaited: a tick
      // that waited for its own repeater to stop would wait for itself).
      if (this.#synced) void this.#catchUp.stop();
    });
  }

  async start(): Promise<void> {
    // Holding no record, this node has none a delete made while it was away could have gone past.
    if ((await this.#deps.manifests.listDescriptors()).length === 0) this.#synced = true;
    await this.#deps.server.handle(
      PROTOCOLS.manifest,
      manifestRequestSchema,
      manifestHandler(this.#deps, (id, record) => this.#servable(id, record)),
    );
    this.#sync.start();
    if (!this.#synced) this.#catchUp.start();
  }

  /** Whether a round of tombstone sync has been answered since start (see syncTombstones). */
  get synced(): boolean {
    return this.#synced;
  }

  async stop(): Promise<void> {
    await this.#catchUp.stop();
    await this.#sync.stop();
    await this.#deps.server.unhandle(PROTOCOLS.manifest);
  }

  /**
   * Anti-entropy for deletes: asks two peers (rotating through the peer list) which of the objects
   * whose descriptors this node holds were deleted, and applies each owner-signed tombstone they
   * return (descriptor, then the shards no other object uses). A holder that was down during a
   * delete so learns of it within `tombstoneSyncMs` of coming back, as long as the tombstone is
   * still retained (trust.tombstoneRetentionMs). Returns how many objects it deleted.
   */
  async syncTombstones(): Promise<number> {
    const { manifests, membership } = this.#deps;
    const peers = membership.peers();
    if (peers.length === 0) return 0;
    const ids = await manifests.listDescriptors();
    if (ids.length === 0) {
      this.#synced = true;
      return 0;
    }
    const asked = Array.from(
      { length: Math.min(tombstoneSyncPeers, peers.length) },
      (_, i) => peers[(this.#syncCursor + i) % peers.length]!.id,
    );
    this.#syncCursor = (this.#syncCursor + asked.length) % peers.length;
    const { deleted, answered } = await this.#learnDeletes(asked, ids);
    if (answered) this.#markSynced();
    return deleted;
  }

  #markSynced(): void {
    this.#synced = true;
    this.#checkedLive.clear();
  }

  /**
   * Whether this node may serve its record of `id` (see ServableCheck). Once synced, yes. Before,
   * it asks peers about this one object: false when one returns its tombstone (applied here), a
   * NOT_SYNCED error when fewer than two answered (one when only one peer is known), when too many
   * checks are running, or when no peer is known yet (unless nobody could have deleted it
   * elsewhere: no bootstrap peers configured and only this node's receipts in `record`).
   */
  async #servable(id: string, record: ObjectRecord): Promise<boolean> {
    if (this.#synced || this.#checkedLive.has(id)) return true;
    const running = this.#checking.get(id);
    if (running !== undefined) return running;
    if (this.#checking.size >= servableChecksMax)
      throw new ForbiddenError('NOT_SYNCED', 'back from a restart and busy checking objects with peers');
    const check = this.#checkWithPeers(id, record).finally(() => this.#checking.delete(id));
    this.#checking.set(id, check);
    return check;
  }

  async #checkWithPeers(id: string, record: ObjectRecord): Promise<boolean> {
    const { manifests, membership, signer, clock } = this.#deps;
    const peers = membership.peers().map((peer) => peer.id);
    if (peers.length === 0) {
      const mineOnly =
        record.receipts.length > 0 && record.receipts.every((receipt) => receipt.holder === signer.publicKey);
      if (!this.#init.hasBootstrap && mineOnly) return true;
      throw new ForbiddenError('NOT_SYNCED', 'back from a restart and no peer known yet to sync with');
    }
    // The object's holders first: they got the delete when it was made, and a stranger that
    // connected first cannot vouch for an object it never held.
    const holders = new Set(record.receipts.map((receipt) => this.#peerOf(receipt.holder)));
    const order = [
      ...peers.filter((peer) => holders.has(peer)),
      ...peers.filter((peer) => !holders.has(peer)),
    ].slice(0, servableCheckPeers);
    const wanted = Math.min(tombstoneSyncPeers, peers.length);
    let answers = 0;
    for (let start = 0; start < order.length && answers < wanted; start += 2) {
      const results = await Promise.all(
        order
          .slice(start, start + 2)
          .map((peer) => this.#learnDeletes([peer], [id], { timeoutMs: servableCheckTimeoutMs })),
      );
      answers += results.filter((result) => result.answered).length;
    }
    // Deleted by this check, by another path meanwhile (a sync round, a delete), or not at all.
    if (manifests.tombstone(id, clock.nowMs()) !== undefined || !(await manifests.hasDescriptor(id)))
      return false;
    if (answers < wanted)
      throw new ForbiddenError(
        'NOT_SYNCED',
        `too few peers answered whether ${id} was deleted while this node was away`,
      );
    if (!this.#synced && this.#checkedLive.size < servableCheckedMax) this.#checkedLive.add(id);
    return true;
  }

  /**
   * Asks `asked` peers which of `ids` were deleted and applies each owner-signed tombstone they
   * return (descriptor, then the shards no other object uses). `answered`: every batch got an
   * answer from some peer (a peer that fails is not asked again this round).
   */
  async #learnDeletes(
    asked: string[],
    ids: readonly string[],
    options: { timeoutMs?: number } = {},
  ): Promise<{ deleted: number; answered: boolean }> {
    const { manifests, rpc, logger } = this.#deps;
    let deleted = 0;
    let answered = true;
    const freed: string[] = [];
    const nowMs = this.#deps.clock.nowMs();
    for (let start = 0; start < ids.length; start += deletedQueryIdsMax) {
      const batch = new Set(ids.slice(start, start + deletedQueryIdsMax));
      let batchAnswered = false;
      for (const peer of [...asked]) {
        if (batch.size === 0) break;
        let tombstones: unknown;
        try {
          const reply = await rpc.call(
            peer,
            PROTOCOLS.manifest,
            { op: 'deleted', ids: [...batch] },
            undefined,
            { ...options, replyBytesMax: batch.size * tombstoneEncodedBytesMax },
          );
          tombstones = JSON.parse(bytesToUtf8(reply.body ?? new Uint8Array(0)));
        } catch (error) {
          // A peer that fails is not asked again this round (a dead one would cost a timeout a batch).
          asked.splice(asked.indexOf(peer), 1);
          logger.debug({ peer, err: (error as Error).message }, 'tombstone sync with peer failed');
          continue;
        }
        batchAnswered = true;
        if (!Array.isArray(tombstones)) continue;
        for (const tombstone of tombstones.slice(0, batch.size)) {
          const fields = tombstone as {
            objectId?: unknown;
            deletedAtMs?: unknown;
            retentionMs?: unknown;
          } | null;
          const id = fields?.objectId;
          if (typeof id !== 'string' || !batch.has(id)) continue;
          // A tombstone past its retention deletes nothing: the object may rightly be back.
          if (Number(fields?.deletedAtMs) + Number(fields?.retentionMs) <= nowMs) continue;
          try {
            const descriptor = await manifests.getDescriptor(id);
            await manifests.deleteDescriptor(tombstone, nowMs, descriptor);
            for (const stripe of descriptor.stripes)
              for (const shard of stripe.shards) freed.push(shard.hash);
            batch.delete(id);
            deleted++;
          } catch (error) {
            logger.debug({ peer, id, err: (error as Error).message }, 'tombstone from peer refused');
          }
        }
      }
      answered &&= batchAnswered;
    }
    // One pass for the whole round: the shards of the deleted objects no other object uses (best
    // effort: garbage collection frees what is left, the descriptors being gone).
    if (freed.length > 0)
      await deleteUnreferenced(this.#deps.store, manifests, freed).catch((error: Error) =>
        logger.warn({ err: error.message }, 'freeing the shards of deletes learned from peers failed'),
      );
    if (deleted > 0) logger.info({ deleted }, 'deletes learned from peers applied');
    return { deleted, answered };
  }

  /** The objects whose descriptors this node holds, at most `limit`; only `owner`'s when given. */
  async list(limit = 1000, owner?: string): Promise<ObjectSummary[]> {
    const out: ObjectSummary[] = [];
    for (const id of await this.#deps.manifests.listDescriptors()) {
      if (out.length >= limit) break;
      const d = await this.#deps.manifests.getDescriptor(id).catch(() => undefined);
      if (d === undefined || (owner !== undefined && d.owner !== owner)) continue;
      out.push({
        id,
        ...(d.name === undefined ? {} : { name: d.name }),
        size: plainSize(d),
        createdAtMs: d.createdAtMs,
        encrypted: d.encryption !== undefined,
        owner: d.owner,
      });
    }
    return out;
  }

  /**
   * Stages `descriptor` on `node` for `txId`; returns that node's receipts for the shards it staged
   * (`staged`: the hashes, hex, this put sent there: it may hold one whose stage timed out).
   */
  async stage(
    node: string,
    txId: string,
    id: string,
    descriptor: SignedDescriptor,
    staged: ReadonlySet<string>,
  ): Promise<unknown[]> {
    if (node === this.#init.selfId) return stageHere(this.#deps, txId, id, descriptor);
    const bytes = utf8ToBytes(JSON.stringify(descriptor));
    // At most one receipt per position staged there: a node given many shards of a large object (a
    // small network) answers with a bulk reply, which must not take a slot kept for small requests,
    // and one given a few answers a small one, which need not wait behind shard transfers.
    const positions = descriptor.stripes.reduce(
      (sum, stripe) => sum + stripe.shards.filter((shard) => staged.has(shard.hash)).length,
      0,
    );
    const reply = await this.#deps.rpc.call(
      node,
      PROTOCOLS.manifest,
      { op: 'stage', txId, id, size: bytes.length },
      bytes,
      { replyBytesMax: 2 + positions * (receiptJsonBytesMax + 1) },
    );
    const body = reply.body ?? new Uint8Array(0);
    let receipts: unknown;
    try {
      receipts = JSON.parse(bytesToUtf8(body));
    } catch {
      throw new ProtocolError(`peer ${node.slice(-8)} answered a stage with a malformed receipt list`);
    }
    return Array.isArray(receipts) ? receipts : [];
  }

  /**
   * Publishes a record: stored here, sent to every node its receipts name (and `extra` nodes), and
   * announced in the DHT unless every node took it (`everyNodeTook`: a small network where every node
   * holds a shard, and this node knows all of it): a lookup asks its peers before the DHT, and the
   * DHT would store the record on those same nodes, at the cost of a query and a signed record
   * checked on each, per object. Each receiver checks it; holders that were unreachable learn it
   * from peers.
   */
  async publish(id: string, record: ObjectRecord, extra: readonly string[] = []): Promise<void> {
    const { manifests, clock } = this.#deps;
    await manifests.putDescriptor(record.descriptor, clock.nowMs());
    await manifests.addReceipts(id, record.receipts, clock.nowMs());
    const full = (await localRecord(manifests, id)) ?? record;
    const bytes = encodeRecord(full);
    const nodes = new Set<string>(extra);
    for (const receipt of full.receipts) {
      const node = this.#peerOf(receipt.holder);
      if (node !== undefined) nodes.add(node);
    }
    nodes.delete(this.#init.selfId);
    const sent = await Promise.allSettled(
      [...nodes].map((node) =>
        this.#deps.rpc.call(node, PROTOCOLS.manifest, { op: 'put', size: bytes.length }, bytes),
      ),
    );
    const took = new Set([...nodes].filter((_, i) => sent[i]!.status === 'fulfilled'));
    if (!everyNodeTook(this.#deps.membership.peers(), took, this.#init.selfId)) void this.#dhtPut(id, bytes);
  }

  /** Sends a record to one node (before a repair stores a shard there). */
  async sendRecord(node: string, record: ObjectRecord): Promise<void> {
    if (node === this.#init.selfId) {
      const { manifests, clock } = this.#deps;
      await manifests.putDescriptor(record.descriptor, clock.nowMs());
      return;
    }
    const bytes = encodeRecord(record);
    await this.#deps.rpc.call(node, PROTOCOLS.manifest, { op: 'put', size: bytes.length }, bytes);
  }

  /** The owner (hex key) whose retained tombstone for `id` this node holds, if any. */
  deletedBy(id: string): string | undefined {
    return this.#deps.manifests.tombstone(id, this.#deps.clock.nowMs())?.owner;
  }

  /** The record of `id`, verified, or undefined when no copy can be found. */
  async resolve(id: string): Promise<ObjectRecord | undefined> {
    const { manifests, clock } = this.#deps;
    // Deleted here: no peer's or the DHT's stale copy (one that missed the delete) brings it back.
    if (manifests.tombstone(id, clock.nowMs()) !== undefined) return undefined;
    const local = await localRecord(manifests, id);
    if (local !== undefined) {
      // Back from a restart and not yet through a round of tombstone sync, a delete made while this
      // node was away must not be served: the object is checked with peers first.
      try {
        return (await this.#servable(id, local)) ? local : undefined;
      } catch (error) {
        throw new ObjectUnavailableError(`object ${id}: ${(error as Error).message}`);
      }
    }
    const { record, notSynced } = await this.#fromPeers(id);
    if (record !== undefined) return record;
    const found = await this.#fromDht(id);
    if (found === 'deleted') return undefined;
    // A holder back from a restart may refuse until it has synced: the object is not known absent.
    if (found === undefined && notSynced)
      throw new ObjectUnavailableError(
        `object ${id}: its holders are back from a restart and not yet synced`,
      );
    return found;
  }

  /** Deletes on the owner's tombstone: here, on every peer, and in the DHT. */
  async unpublish(record: DeleteRecord & { id: string }): Promise<{ peers: number; refused: number }> {
    await deleteHere(this.#deps, record);
    const bytes = encodeDeleteRecord(record);
    const peers = this.#deps.membership.peers().map((peer) => peer.id);
    const results = await Promise.allSettled(
      peers.map((node) =>
        this.#deps.rpc.call(
          node,
          PROTOCOLS.manifest,
          { op: 'delete', id: record.id, size: bytes.length },
          bytes,
        ),
      ),
    );
    await this.#dhtPut(record.id, bytes);
    return { peers: peers.length, refused: results.filter((r) => r.status === 'rejected').length };
  }

  #peerOf(holder: string): string | undefined {
    return peerIdOfNodeKey(holder);
  }

  /** The first verified record a peer gives; `notSynced`: some peer refused as not yet synced. */
  async #fromPeers(id: string): Promise<{ record?: ObjectRecord; notSynced: boolean }> {
    const peers = this.#deps.membership.peers();
    if (peers.length === 0) return { notSynced: false };
    const attempts = peers.map(async (peer) => {
      const reply = await this.#deps.rpc.call(peer.id, PROTOCOLS.manifest, { op: 'get', id }, undefined, {
        timeoutMs: 5_000,
        // A holder's record may have grown past what one request may carry (receipts added by repair).
        replyBytesMax: recordBytesMax,
      });
      return decodeRecord(reply.body ?? new Uint8Array(0), this.#deps.clock.nowMs(), id).record;
    });
    try {
      return { record: await Promise.any(attempts), notSynced: false };
    } catch (error) {
      const errors = error instanceof AggregateError ? error.errors : [];
      return {
        notSynced: errors.some((e) => e instanceof RemoteError && e.remoteCode === 'NOT_SYNCED'),
      };
    }
  }

  /** The DHT's record of `id`: verified, 'deleted' for the owner's delete record, or undefined. */
  async #fromDht(id: string): Promise<ObjectRecord | 'deleted' | undefined> {
    try {
      return await withTimeout(this.#deps.clock, this.#init.dhtTimeoutMs, async (signal) => {
        for await (const event of this.#deps.dht.get(dhtKey(id), { signal })) {
          if (event.name !== 'VALUE') continue;
          if (isDeleteRecord(event.value)) {
            decodeDeleteRecord(event.value, this.#deps.clock.nowMs(), id);
            return 'deleted';
          }
          return decodeRecord(event.value, this.#deps.clock.nowMs(), id).record;
        }
        return undefined;
      });
    } catch (error) {
      this.#deps.logger.debug({ id, err: (error as Error).message }, 'DHT lookup failed');
      return undefined;
    }
  }

  async #dhtPut(id: string, value: Uint8Array): Promise<void> {
    try {
      await withTimeout(this.#deps.clock, this.#init.dhtTimeoutMs, async (signal) => {
        for await (const _event of this.#deps.dht.put(dhtKey(id), value, { signal })) {
          // drain the query; the DHT stores the record on the closest peers it reaches
        }
      });
    } catch (error) {
      this.#deps.logger.debug({ id, err: (error as Error).message }, 'DHT put incomplete');
    }
  }
}
