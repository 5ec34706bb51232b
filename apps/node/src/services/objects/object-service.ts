import {
  type Clock,
  equalBytes,
  fromHex,
  isHashHex,
  type Logger,
  type Random,
  sha256,
  toHex,
} from '@trinity/core';
import { createEncoder, type Encoder, encodeStripes } from '@trinity/erasure';
import { createManifest, type Manifest, objectId, type ShardStore } from '@trinity/storage';
import {
  BadRequestError,
  NotEnoughNodesError,
  ObjectNotFoundError,
  ObjectUnavailableError,
  PayloadTooLargeError,
} from '../../errors.js';
import { Repeater, sleep } from '../../timers.js';
import type { NodeRef } from '../geography/placement.js';
import type { ManifestDirectory } from '../manifests/manifest-service.js';
import type { LiveNodes } from '../membership/membership.js';
import type { ShardTransfer } from '../shards/shard-service.js';
import { bundleHash, TransactionAbortedError, type Transactions } from '../tx/tx-service.js';

export interface ErasureDefaults {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly shardBytes: number;
}

export interface ObjectServiceInit {
  readonly selfId: string;
  readonly erasure: ErasureDefaults;
  readonly maxObjectBytes: number;
  readonly maxStripesInFlight: number;
  /** Milliseconds after which a slow shard read is hedged with a request to another holder. */
  readonly hedgeAfterMs: number;
}

/** Where shards go and whom to read them from (the geography service). */
export interface Placement {
  /** Node ids for the `count` shards of stripe `stripeIndex` of upload `uploadKey`. */
  place(uploadKey: string, stripeIndex: number, count: number, nodes: readonly NodeRef[]): string[];
  /** Orders a stripe's candidate holders, best first (latency, reputation, locality). */
  rank(nodeIds: readonly string[]): string[];
}

/** Told when a holder sent bytes that do not match the shard's hash. */
export interface ObjectEvents {
  onBadShard?(node: string): void;
}

export interface ObjectServiceComponents {
  readonly store: ShardStore;
  readonly transfer: Pick<ShardTransfer, 'store' | 'fetch' | 'has' | 'unstage' | 'delete' | 'heldCopies'>;
  readonly directory: Pick<ManifestDirectory, 'stage' | 'announce' | 'publish' | 'resolve' | 'unpublish'>;
  readonly nodes: LiveNodes;
  readonly placement: Placement;
  readonly transactions: Transactions;
  /** Transaction ids are drawn from it. */
  readonly random: Pick<Random, 'bytes'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: ObjectEvents;
}

type ObjectServiceDeps = ObjectServiceInit & ObjectServiceComponents;

/** The object service's factory: `objectService(init)(components)`. */
export function objectService(
  init: ObjectServiceInit,
): (components: ObjectServiceComponents) => ObjectService {
  return (components) => new ObjectService(init, components);
}

/** How many shards of each stripe are held intact right now. */
export interface ObjectHealth {
  readonly id: string;
  readonly minHealthy: number;
  readonly stripes: { healthy: number; total: number }[];
}

export interface PutOptions {
  readonly name?: string;
  /** Called after each stripe is stored, with the object bytes stored so far. */
  readonly onProgress?: (bytes: number) => void;
}

export interface BatchItem {
  readonly source: AsyncIterable<Uint8Array>;
  readonly name?: string;
  /** The object's size when known up front (Content-Length): small objects then get small shards. */
  readonly sizeHint?: number;
}

/** Shard sizes are multiples of this (and at least this). */
const shardBytesStep = 4096;

/** The shard size for an object: the configured one, or less for an object that fills one stripe. */
export function shardBytesFor(
  sizeHint: number | undefined,
  dataShards: number,
  shardBytesMax: number,
): number {
  if (sizeHint === undefined || sizeHint >= dataShards * shardBytesMax) return shardBytesMax;
  const perShard = Math.ceil(Math.max(1, sizeHint) / dataShards);
  return Math.min(shardBytesMax, Math.ceil(perShard / shardBytesStep) * shardBytesStep);
}

/** How many times a put checks that a holder applied its commit (about 5 s in all). */
const applyPollsMax = 30;

/** Most objects in one atomic batch. */
export const batchObjectsMax = 64;

export interface PutResult {
  readonly id: string;
  readonly size: number;
  readonly stripes: number;
}

/** Tries to store one shard before the put fails: the placed node twice, then spares. */
const storeAttemptsMax = 4;

type StripeInput = Parameters<typeof createManifest>[0]['stripes'][number];

/**
 * Objects over the network: put streams a body in, erasure-codes it stripe by stripe, stores each
 * stripe's shards on distinct nodes in parallel (several stripes in flight) and publishes the
 * manifest; get reads each stripe from the best k holders, hedging slow ones, and reconstructs.
 */
export class ObjectService {
  readonly #deps: ObjectServiceDeps;
  readonly #encoders = new Map<string, Encoder>();
  #uploads = 0;

  constructor(init: ObjectServiceInit, components: ObjectServiceComponents) {
    this.#deps = { ...init, ...components };
  }

  /** How many shards of each stripe are held intact right now, asked of every live holder. */
  async health(id: string): Promise<ObjectHealth> {
    const manifest = await this.manifest(id);
    const live = new Set(this.#deps.nodes.liveNodes().map((node) => node.id));
    const held = await this.#deps.transfer.heldCopies(manifest, (node) => live.has(node));
    // Counted per shard index: a stripe of a small object can hold the same (padding) shard twice.
    const stripes = manifest.stripes.map((entry) => ({
      healthy: entry.shards.filter((shard) =>
        shard.holders.some((holder) => held.has(`${holder.nodeId} ${shard.hash}`)),
      ).length,
      total: entry.shards.length,
    }));
    const minHealthy = stripes.length === 0 ? 0 : Math.min(...stripes.map((s) => s.healthy));
    return { id, minHealthy, stripes };
  }

  /** Stores one object atomically (a batch of one). */
  async put(
    source: AsyncIterable<Uint8Array>,
    options: PutOptions & { sizeHint?: number } = {},
  ): Promise<PutResult> {
    const item: BatchItem = {
      source,
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.sizeHint === undefined ? {} : { sizeHint: options.sizeHint }),
    };
    const [result] = await this.putBatch([item], options);
    return result!;
  }

  /**
   * Stores several objects as one transaction: every shard is staged on its holder under one txId,
   * the manifests are staged beside them, and a two-phase commit over the holders (one participant
   * per node: its whole bundle) makes all of it visible, or none of it.
   */
  async putBatch(
    items: AsyncIterable<BatchItem> | Iterable<BatchItem>,
    options: PutOptions = {},
  ): Promise<PutResult[]> {
    const txId = toHex(this.#deps.random.bytes(16));
    // Node -> hashes staged there; the coordinator always keeps a copy of the manifests.
    const staged = new Map<string, Set<string>>([[this.#deps.selfId, new Set()]]);
    const manifests: Manifest[] = [];
    let bytesBefore = 0;
    try {
      for await (const item of items) {
        if (manifests.length >= batchObjectsMax)
          throw new BadRequestError(`a batch holds at most ${batchObjectsMax} objects`);
        const manifest = await this.#upload(item, txId, staged, (bytes) =>
          options.onProgress?.(bytesBefore + bytes),
        );
        bytesBefore += manifest.size;
        manifests.push(manifest);
      }
      if (manifests.length === 0) throw new BadRequestError('a batch holds at least one object');
      await Promise.all(
        [...staged.keys()].flatMap((node) =>
          manifests.map((manifest) => this.#deps.directory.stage(node, txId, manifest)),
        ),
      );
    } catch (error) {
      await Promise.allSettled([...staged.keys()].map((node) => this.#deps.transfer.unstage(node, txId)));
      throw error;
    }
    const ids = manifests.map((manifest) => objectId(manifest));
    const participants = [...staged].map(([node, hashes]) => ({
      node,
      shardHash: bundleHash(txId, node, [...hashes], ids),
    }));
    const result = await this.#deps.transactions.execute(txId, participants);
    if (result.outcome !== 'committed') throw new TransactionAbortedError(txId, result.reason);
    await this.#awaitApplied(staged);
    // The holders have the manifests now; the DHT announcement only helps nodes that hold none.
    for (const manifest of manifests) void this.#deps.directory.announce(manifest);
    this.#deps.logger.info({ txId, objects: ids }, 'objects stored');
    return manifests.map((manifest, i) => ({
      id: ids[i]!,
      size: manifest.size,
      stripes: manifest.stripes.length,
    }));
  }

  /**
   * Participants acknowledge a commit once it is durable in their log and apply it right after; a
   * put returns only when every holder shows its shards, so the caller can read its write anywhere.
   */
  async #awaitApplied(staged: Map<string, Set<string>>): Promise<void> {
    await Promise.all(
      [...staged].map(async ([node, hashes]) => {
        const wanted = [...hashes].map(fromHex);
        for (let attempt = 0; wanted.length > 0 && attempt < applyPollsMax; attempt++) {
          const held = await this.#deps.transfer.has(node, wanted).catch(() => [] as boolean[]);
          if (held.length === wanted.length && held.every(Boolean)) return;
          await sleep(this.#deps.clock, Math.min(200, 10 * 2 ** attempt));
        }
        // Committed all the same: the holder applies it when it can (or on restart, from its log).
        if (wanted.length > 0) this.#deps.logger.warn({ node }, 'holder has not applied a committed put yet');
      }),
    );
  }

  /** Encodes one object and stages its shards on their holders under `txId`; returns its manifest. */
  async #upload(
    item: BatchItem,
    txId: string,
    staged: Map<string, Set<string>>,
    onProgress: (bytes: number) => void,
  ): Promise<Manifest> {
    const erasure = {
      ...this.#deps.erasure,
      shardBytes: shardBytesFor(item.sizeHint, this.#deps.erasure.dataShards, this.#deps.erasure.shardBytes),
    };
    const stripes: StripeInput[] = [];
    let size = 0;
    const window = new TaskWindow(this.#deps.maxStripesInFlight);
    const uploadKey = `${txId}-${this.#uploads++}`;
    try {
      for await (const stripe of encodeStripes(this.#limit(item.source), erasure)) {
        const nodes = this.#deps.nodes.liveNodes();
        const targets = this.#deps.placement.place(uploadKey, stripe.index, stripe.shards.length, nodes);
        const entry: StripeInput = { dataBytes: stripe.dataBytes, shards: [] };
        stripes.push(entry);
        size += stripe.dataBytes;
        const bytesSoFar = size;
        await window.add(
          this.#storeStripe(stripe, targets, nodes, entry, txId, staged).then(() => onProgress(bytesSoFar)),
        );
      }
      await window.drain();
    } catch (error) {
      await window.settle();
      throw error;
    }
    return createManifest({
      ...(item.name === undefined ? {} : { name: item.name }),
      size,
      erasure,
      stripes,
      createdAtMs: this.#deps.clock.nowMs(),
    });
  }

  /** The manifest of `id`, or ObjectNotFoundError. */
  async manifest(id: string): Promise<Manifest> {
    if (!isHashHex(id)) throw new BadRequestError('object id must be 64 lower-case hex characters');
    const manifest = await this.#deps.directory.resolve(id);
    if (manifest === undefined) throw new ObjectNotFoundError(id);
    return manifest;
  }

  /**
   * The object's bytes in order, with up to maxStripesInFlight stripes fetched ahead. Each stripe
   * comes as its data shards (trimmed to the stripe's bytes), not copied into one buffer. With a
   * `range` (byte offsets `start` to `end`, both inclusive, within the object), only the stripes
   * that hold those bytes are fetched, and only those bytes are yielded.
   */
  async *read(manifest: Manifest, range?: { start: number; end: number }): AsyncGenerator<Uint8Array> {
    const start = range?.start ?? 0;
    const end = range?.end ?? manifest.size - 1; // inclusive
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end >= manifest.size) {
      throw new BadRequestError(`byte range ${start}-${end} is outside the object's ${manifest.size} bytes`);
    }
    if (end < start) return;
    // Stripes are independent units: find the first one holding `start` and the last holding `end`.
    let first = 0;
    let firstOffset = 0; // the object offset of stripe `first`'s first byte
    while (firstOffset + manifest.stripes[first]!.dataBytes <= start) {
      firstOffset += manifest.stripes[first]!.dataBytes;
      first++;
    }
    let last = first;
    let lastOffset = firstOffset;
    while (lastOffset + manifest.stripes[last]!.dataBytes <= end) {
      lastOffset += manifest.stripes[last]!.dataBytes;
      last++;
    }
    const ahead: Promise<Uint8Array[]>[] = [];
    let next = first;
    const launch = () => {
      while (next <= last && ahead.length < this.#deps.maxStripesInFlight) {
        const promise = this.fetchStripeParts(manifest, next++);
        promise.catch(() => {}); // awaited in order below; this only keeps early failures from going unhandled
        ahead.push(promise);
      }
    };
    launch();
    let offset = firstOffset; // the object offset of the next part's first byte
    while (ahead.length > 0) {
      const parts = await ahead.shift()!;
      launch();
      for (const part of parts) {
        const from = Math.max(start - offset, 0);
        const to = Math.min(end + 1 - offset, part.length);
        offset += part.length;
        if (to <= from) continue;
        yield from === 0 && to === part.length ? part : part.subarray(from, to);
      }
    }
  }

  async delete(id: string): Promise<void> {
    const manifest = await this.manifest(id);
    const byNode = new Map<string, Uint8Array[]>();
    for (const stripe of manifest.stripes) {
      for (const shard of stripe.shards) {
        for (const holder of shard.holders) {
          const list = byNode.get(holder.nodeId) ?? [];
          list.push(fromHex(shard.hash));
          byNode.set(holder.nodeId, list);
        }
      }
    }
    await this.#deps.directory.unpublish(manifest, id);
    const results = await Promise.allSettled(
      [...byNode].map(([node, hashes]) => this.#deps.transfer.delete(node, hashes)),
    );
    const failed = results.filter((r) => r.status === 'rejected').length;
    this.#deps.logger.info({ id, holders: byNode.size, unreachable: failed }, 'object deleted');
  }

  /** Fetches any k valid shards of one stripe and returns its data bytes. */
  async fetchStripe(manifest: Manifest, stripeIndex: number): Promise<Uint8Array> {
    const parts = await this.fetchStripeParts(manifest, stripeIndex);
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  /** Fetches any k valid shards of one stripe; its data bytes are the returned parts in order. */
  async fetchStripeParts(manifest: Manifest, stripeIndex: number): Promise<Uint8Array[]> {
    const stripe = manifest.stripes[stripeIndex]!;
    const { dataShards, parityShards } = manifest.erasure;
    const shards = await new StripeFetch(this.#deps, manifest, stripeIndex).run();
    let dataComplete = true;
    for (let i = 0; i < dataShards; i++) if (shards[i] === null) dataComplete = false;
    if (!dataComplete) this.#encoder(dataShards, parityShards).reconstructData(shards);
    const parts: Uint8Array[] = [];
    let left = stripe.dataBytes;
    for (let i = 0; i < dataShards && left > 0; i++) {
      const shard = shards[i]!;
      const take = Math.min(left, shard.length);
      parts.push(take === shard.length ? shard : shard.subarray(0, take));
      left -= take;
    }
    if (left > 0)
      throw new ObjectUnavailableError(
        `stripe ${stripeIndex}: shards hold fewer bytes than the manifest says`,
      );
    return parts;
  }

  #encoder(dataShards: number, parityShards: number): Encoder {
    const key = `${dataShards}+${parityShards}`;
    let encoder = this.#encoders.get(key);
    if (encoder === undefined) {
      encoder = createEncoder({ dataShards, parityShards });
      this.#encoders.set(key, encoder);
    }
    return encoder;
  }

  async #storeStripe(
    stripe: { index: number; shards: Uint8Array[]; hashes: Uint8Array[] },
    targets: readonly string[],
    nodes: readonly NodeRef[],
    entry: StripeInput,
    txId: string,
    staged: Map<string, Set<string>>,
  ): Promise<void> {
    const used = new Set(targets);
    const regionOf = new Map(nodes.map((node) => [node.id, node.region]));
    const holders = await Promise.all(
      stripe.shards.map(async (shard, i) => {
        const hash = stripe.hashes[i]!;
        let node = targets[i]!;
        for (let attempt = 1; ; attempt++) {
          try {
            // Marked before the call: a store that fails after staging must still be unstaged.
            if (!staged.has(node)) staged.set(node, new Set());
            await this.#deps.transfer.store(node, hash, shard, { txId });
            staged.get(node)!.add(toHex(hash));
            return node;
          } catch (error) {
            if (attempt >= storeAttemptsMax) {
              throw new NotEnoughNodesError(
                `stripe ${stripe.index}: could not store shard ${i} (${(error as Error).message})`,
              );
            }
            // Try the same node once more (a reset stream is usually transient), then a spare if any.
            const spare = attempt >= 2 ? nodes.find((candidate) => !used.has(candidate.id)) : undefined;
            this.#deps.logger.warn(
              { node, attempt, err: (error as Error).message },
              'shard store failed; retrying',
            );
            if (spare !== undefined) {
              used.add(spare.id);
              node = spare.id;
            }
            await sleep(this.#deps.clock, 50 * attempt);
          }
        }
      }),
    );
    const shardEntries = holders.map((node, i) => ({
      hash: toHex(stripe.hashes[i]!),
      holders: [{ nodeId: node, region: regionOf.get(node) ?? 'unknown' }],
    }));
    (entry.shards as unknown[]).push(...shardEntries);
  }

  async *#limit(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let total = 0;
    for await (const chunk of source) {
      total += chunk.length;
      if (total > this.#deps.maxObjectBytes) throw new PayloadTooLargeError(this.#deps.maxObjectBytes);
      yield chunk;
    }
  }
}

/** At most `limit` tasks in flight; the first failure is rethrown by the next add() or drain(). */
class TaskWindow {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  #failure: unknown;
  #failed = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  async add(task: Promise<void>): Promise<void> {
    const tracked: Promise<void> = task.then(
      () => void this.#running.delete(tracked),
      (error: unknown) => {
        this.#running.delete(tracked);
        if (!this.#failed) {
          this.#failed = true;
          this.#failure = error;
        }
      },
    );
    this.#running.add(tracked);
    while (this.#running.size >= this.#limit && !this.#failed) await Promise.race(this.#running);
    this.#throwIfFailed();
  }

  async drain(): Promise<void> {
    await this.settle();
    this.#throwIfFailed();
  }

  async settle(): Promise<void> {
    await Promise.all(this.#running);
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#failure;
  }
}

/**
 * Reads one stripe: asks the best-ranked holders for k distinct shards at once, replaces each
 * failure or hash mismatch with the next candidate, and hedges with one extra request when a
 * read is slower than hedgeAfterMs.
 */
class StripeFetch {
  readonly #deps: ObjectServiceDeps;
  readonly #manifest: Manifest;
  readonly #stripeIndex: number;
  readonly #shards: (Uint8Array | null)[];
  readonly #candidates: { shard: number; node: string }[];
  readonly #pending = new Set<number>();
  #next = 0;
  #valid = 0;
  #running = 0;
  #extra = 0;

  constructor(deps: ObjectServiceDeps, manifest: Manifest, stripeIndex: number) {
    this.#deps = deps;
    this.#manifest = manifest;
    this.#stripeIndex = stripeIndex;
    const stripe = manifest.stripes[stripeIndex]!;
    this.#shards = stripe.shards.map(() => null);
    const ranked = deps.placement.rank([
      ...new Set(stripe.shards.flatMap((s) => s.holders.map((h) => h.nodeId))),
    ]);
    const rank = new Map(ranked.map((node, i) => [node, i]));
    const k = manifest.erasure.dataShards;
    // Data shards first (no decoding needed when they all arrive), then by holder rank.
    this.#candidates = stripe.shards
      .flatMap((shard, index) => shard.holders.map((holder) => ({ shard: index, node: holder.nodeId })))
      .filter((candidate) => rank.has(candidate.node))
      .sort((a, b) => Number(a.shard >= k) - Number(b.shard >= k) || rank.get(a.node)! - rank.get(b.node)!);
  }

  run(): Promise<(Uint8Array | null)[]> {
    return new Promise((resolve, reject) => {
      const k = this.#manifest.erasure.dataShards;
      let done = false;
      const hedge = new Repeater(this.#deps.clock, this.#deps.hedgeAfterMs, () => {
        if (!done && this.#running > 0) {
          this.#extra++;
          this.#launch(settle);
        }
      });
      hedge.start();
      const settle = () => {
        if (done) return;
        if (this.#valid >= k) {
          done = true;
          void hedge.stop();
          resolve(this.#shards);
        } else if (this.#running === 0 && this.#next >= this.#candidates.length) {
          done = true;
          void hedge.stop();
          reject(
            new ObjectUnavailableError(
              `stripe ${this.#stripeIndex}: only ${this.#valid} of ${k} needed shards could be read`,
            ),
          );
        } else {
          this.#launch(settle);
        }
      };
      this.#launch(settle);
      settle();
    });
  }

  #launch(settle: () => void): void {
    const k = this.#manifest.erasure.dataShards;
    while (this.#running < k - this.#valid + this.#extra && this.#next < this.#candidates.length) {
      const candidate = this.#candidates[this.#next++]!;
      if (this.#shards[candidate.shard] !== null || this.#pending.has(candidate.shard)) continue;
      this.#running++;
      this.#pending.add(candidate.shard);
      const expected = fromHex(this.#manifest.stripes[this.#stripeIndex]!.shards[candidate.shard]!.hash);
      this.#deps.transfer
        .fetch(candidate.node, expected)
        .then(
          (bytes) => {
            if (equalBytes(sha256(bytes), expected) && this.#shards[candidate.shard] === null) {
              this.#shards[candidate.shard] = bytes;
              this.#valid++;
            } else if (this.#shards[candidate.shard] === null) {
              this.#deps.logger.warn(
                { node: candidate.node, shard: toHex(expected) },
                'peer sent a shard that fails its hash',
              );
              this.#deps.events?.onBadShard?.(candidate.node);
            }
          },
          (error: Error) => {
            this.#deps.logger.debug({ node: candidate.node, err: error.message }, 'shard read failed');
          },
        )
        .finally(() => {
          this.#running--;
          this.#pending.delete(candidate.shard);
          if (this.#extra > 0) this.#extra--;
          settle();
        });
    }
  }
}
