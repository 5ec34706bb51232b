import { type Clock, equalBytes, fromHex, type Logger, sha256, toHex } from '@trinity/core';
import { createEncoder, type Encoder, encodeStripes } from '@trinity/erasure';
import { createManifest, type Manifest, type ShardStore } from '@trinity/storage';
import {
  BadRequestError,
  NotEnoughNodesError,
  ObjectNotFoundError,
  ObjectUnavailableError,
  PayloadTooLargeError,
} from './errors.js';
import type { ManifestDirectory } from './manifest-service.js';
import type { NodeRef } from './placement.js';
import type { ShardTransfer } from './shard-service.js';

export interface ErasureDefaults {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly shardBytes: number;
}

export interface ObjectServiceDeps {
  readonly selfId: string;
  readonly store: ShardStore;
  readonly transfer: ShardTransfer;
  readonly directory: ManifestDirectory;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly erasure: ErasureDefaults;
  readonly maxObjectBytes: number;
  readonly maxStripesInFlight: number;
  /** Every storage node reachable now, this one included. */
  readonly liveNodes: () => NodeRef[];
  /** Node ids for the `count` shards of stripe `stripeIndex` of upload `uploadKey`. */
  readonly place: (
    uploadKey: string,
    stripeIndex: number,
    count: number,
    nodes: readonly NodeRef[],
  ) => string[];
  /** Orders a stripe's candidate holders, best first (latency, reputation, locality). */
  readonly rankHolders: (nodeIds: readonly string[]) => string[];
  /** A holder sent bytes that do not match the shard's hash. */
  readonly onBadShard?: (node: string) => void;
  /** Milliseconds after which a slow shard read is hedged with a request to another holder. */
  readonly hedgeAfterMs: number;
}

export interface PutOptions {
  readonly name?: string;
  /** Called after each stripe is stored, with the object bytes stored so far. */
  readonly onProgress?: (bytes: number) => void;
}

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

  constructor(deps: ObjectServiceDeps) {
    this.#deps = deps;
  }

  async put(source: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<PutResult> {
    const { erasure } = this.#deps;
    const stripes: StripeInput[] = [];
    const stored: { node: string; hash: Uint8Array }[] = [];
    let size = 0;
    const window = new TaskWindow(this.#deps.maxStripesInFlight);
    const uploadKey = `${this.#deps.selfId.slice(-8)}-${this.#deps.clock.nowMs()}-${this.#uploads++}`;
    try {
      for await (const stripe of encodeStripes(this.#limit(source), erasure)) {
        const nodes = this.#deps.liveNodes();
        const targets = this.#deps.place(uploadKey, stripe.index, stripe.shards.length, nodes);
        const entry: StripeInput = { dataBytes: stripe.dataBytes, shards: [] };
        stripes.push(entry);
        size += stripe.dataBytes;
        const bytesSoFar = size;
        await window.add(
          this.#storeStripe(stripe, targets, nodes, entry, stored).then(() =>
            options.onProgress?.(bytesSoFar),
          ),
        );
      }
      await window.drain();
    } catch (error) {
      await window.settle();
      await this.#removeShards(stored);
      throw error;
    }
    const manifest = createManifest({
      ...(options.name === undefined ? {} : { name: options.name }),
      size,
      erasure,
      stripes,
      createdAtMs: this.#deps.clock.nowMs(),
    });
    const id = await this.#deps.directory.publish(manifest);
    this.#deps.logger.info({ id, size, stripes: stripes.length }, 'object stored');
    return { id, size, stripes: stripes.length };
  }

  /** The manifest of `id`, or ObjectNotFoundError. */
  async manifest(id: string): Promise<Manifest> {
    if (!/^[0-9a-f]{64}$/.test(id))
      throw new BadRequestError('object id must be 64 lower-case hex characters');
    const manifest = await this.#deps.directory.resolve(id);
    if (manifest === undefined) throw new ObjectNotFoundError(id);
    return manifest;
  }

  /** The object's bytes, stripe by stripe, with up to maxStripesInFlight stripes fetched ahead. */
  async *read(manifest: Manifest): AsyncGenerator<Uint8Array> {
    const ahead: Promise<Uint8Array>[] = [];
    let next = 0;
    const launch = () => {
      while (next < manifest.stripes.length && ahead.length < this.#deps.maxStripesInFlight) {
        const promise = this.fetchStripe(manifest, next++);
        promise.catch(() => {}); // awaited in order below; this only keeps early failures from going unhandled
        ahead.push(promise);
      }
    };
    launch();
    while (ahead.length > 0) {
      const data = await ahead.shift()!;
      launch();
      yield data;
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
    const stripe = manifest.stripes[stripeIndex]!;
    const { dataShards, parityShards } = manifest.erasure;
    const shards = await new StripeFetch(this.#deps, manifest, stripeIndex).run();
    const encoder = this.#encoder(dataShards, parityShards);
    let dataComplete = true;
    for (let i = 0; i < dataShards; i++) if (shards[i] === null) dataComplete = false;
    if (!dataComplete) encoder.reconstructData(shards);
    return encoder.join(shards as Uint8Array[], stripe.dataBytes);
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
    stored: { node: string; hash: Uint8Array }[],
  ): Promise<void> {
    const used = new Set(targets);
    const regionOf = new Map(nodes.map((node) => [node.id, node.region]));
    const holders = await Promise.all(
      stripe.shards.map(async (shard, i) => {
        const hash = stripe.hashes[i]!;
        let node = targets[i]!;
        for (let attempt = 1; ; attempt++) {
          try {
            await this.#deps.transfer.store(node, hash, shard);
            stored.push({ node, hash });
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
            await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
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

  async #removeShards(stored: readonly { node: string; hash: Uint8Array }[]): Promise<void> {
    const byNode = new Map<string, Uint8Array[]>();
    for (const { node, hash } of stored) byNode.set(node, [...(byNode.get(node) ?? []), hash]);
    await Promise.allSettled([...byNode].map(([node, hashes]) => this.#deps.transfer.delete(node, hashes)));
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
    const ranked = deps.rankHolders([
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
      const hedge = setInterval(() => {
        if (!done && this.#running > 0) {
          this.#extra++;
          this.#launch(settle);
        }
      }, this.#deps.hedgeAfterMs);
      const settle = () => {
        if (done) return;
        if (this.#valid >= k) {
          done = true;
          clearInterval(hedge);
          resolve(this.#shards);
        } else if (this.#running === 0 && this.#next >= this.#candidates.length) {
          done = true;
          clearInterval(hedge);
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
