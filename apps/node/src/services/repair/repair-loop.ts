import { type Clock, type Logger, type TimerHandle, toHex } from '@trinity/core';
import {
  executeStripeRepair,
  type Manifest,
  type ManifestStore,
  objectId as manifestId,
  planRepair,
  RepairQueue,
  type RepairTask,
  type ShardHealth,
  type SignedReceipt,
  type StripeRepairResult,
} from '@trinity/storage';
import type { Startable } from '../../startable.js';
import { sleep } from '../../timers.js';
import type { NodeRef } from '../geography/placement.js';
import type { ManifestDirectory } from '../manifests/manifest-service.js';
import type { LiveNodes } from '../membership/membership.js';
import { manifestView, type ObjectRecord } from '../objects/object-record.js';
import type { ShardTransfer } from '../shards/shard-service.js';

export interface RepairLoopConfig {
  readonly intervalMs: number;
  readonly bytesPerSecond: number;
  readonly maxConcurrentStripes: number;
  /** How long a holder may be unreachable before its shards are rebuilt elsewhere. */
  readonly nodeLossGraceMs: number;
  /** Most manifests examined in one round. */
  readonly manifestsPerRound?: number;
}

export interface RepairLoopInit extends RepairLoopConfig {
  readonly selfId: string;
}

/** Told of every stripe repaired or failed (the repair metrics). */
export interface RepairEvents {
  onStripeRepaired?(shards: number, bytes: number, seconds: number): void;
  onStripeFailed?(): void;
}

export interface RepairLoopComponents {
  readonly manifests: Pick<ManifestStore, 'listDescriptors' | 'getDescriptor' | 'receipts'>;
  readonly directory: Pick<ManifestDirectory, 'publish' | 'sendRecord'>;
  readonly transfer: Pick<ShardTransfer, 'heldCopies' | 'fetch' | 'storeForRepair'>;
  readonly nodes: LiveNodes;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: RepairEvents;
  /**
   * False while this node may still hold records of objects deleted while it was away (back from a
   * restart, before its first tombstone sync): its timed rounds wait, so as not to spread them.
   */
  readonly ready?: () => boolean;
}

/** The repair service's factory: `repairLoop(init)(components)`. */
export function repairLoop(init: RepairLoopInit): (components: RepairLoopComponents) => RepairLoop {
  return (components) => new RepairLoop(init, components);
}

export interface RepairStats {
  rounds: number;
  stripesRepaired: number;
  shardsRebuilt: number;
  stripesLost: number;
  bytesMoved: number;
  queued: number;
  running: number;
}

/** An object under repair: its id, verified record and working view. */
interface Repairing {
  readonly id: string;
  readonly record: ObjectRecord;
  readonly manifest: Manifest;
  /** Receipts of the shards rebuilt this round. */
  readonly receipts: SignedReceipt[];
  /** Nodes that were sent the record already this round. */
  readonly informed: Set<string>;
}

/**
 * Keeps every object this node leads fully redundant. Each round, for every manifest whose lowest
 * live holder id is this node (one leader per object, no coordination needed), it asks the holders
 * which shards they still hold, plans the repair (@trinity/storage), runs it under the byte-rate and
 * concurrency limits of a RepairQueue (most endangered stripes first) and republishes the manifest.
 * Shards on unreachable nodes are rebuilt only after `nodeLossGraceMs`, so a restart is not a loss.
 */
export class RepairLoop implements Startable {
  readonly #config: RepairLoopInit;
  readonly #deps: RepairLoopComponents;
  readonly #queue: RepairQueue;
  readonly #downSinceMs = new Map<string, number>();
  readonly #stats: RepairStats = {
    rounds: 0,
    stripesRepaired: 0,
    shardsRebuilt: 0,
    stripesLost: 0,
    bytesMoved: 0,
    queued: 0,
    running: 0,
  };
  #timer: TimerHandle | undefined;
  #round: Promise<void> | undefined;
  #stopped = true;

  constructor(init: RepairLoopInit, components: RepairLoopComponents) {
    this.#config = init;
    this.#deps = components;
    this.#queue = new RepairQueue(
      {
        bytesPerSecond: init.bytesPerSecond,
        // One second of traffic may start at once after idling, not the queue's 256 MiB default.
        burstBytes: init.bytesPerSecond,
        maxConcurrentStripes: init.maxConcurrentStripes,
      },
      components.clock.nowMs(),
    );
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(this.#config.intervalMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#round;
  }

  /** Asks for a round soon (e.g. after the scrubber found a corrupt shard). */
  poke(): void {
    if (!this.#stopped && this.#round === undefined) this.#schedule(0);
  }

  stats(): RepairStats {
    const queue = this.#queue.stats();
    return { ...this.#stats, queued: queue.queued, running: queue.running };
  }

  /** One full round; resolves when every task it started has finished. */
  async runOnce(): Promise<void> {
    const { manifests } = this.#deps;
    const ids = (await manifests.listDescriptors()).slice(0, this.#config.manifestsPerRound ?? 10_000);
    await this.#repairRound(ids, this.#queue, { leadersOnly: true, exclude: new Set(), immediate: false });
    this.#stats.rounds++;
  }

  /**
   * Rebuilds now, not at the next round, the shards of `ids` that no receipt names (a put whose
   * holder failed mid-upload commits without it and re-places its shards here before it answers),
   * on live nodes outside `exclude`. Runs on a queue of its own, under the same limits. Returns the
   * shards rebuilt.
   */
  async repairNow(ids: readonly string[], exclude: ReadonlySet<string> = new Set()): Promise<number> {
    const { bytesPerSecond, maxConcurrentStripes } = this.#config;
    const queue = new RepairQueue(
      { bytesPerSecond, burstBytes: bytesPerSecond, maxConcurrentStripes },
      this.#deps.clock.nowMs(),
    );
    const results = await this.#repairRound(ids, queue, { leadersOnly: false, exclude, immediate: true });
    return results.reduce((sum, result) => sum + result.repaired.length, 0);
  }

  /**
   * Rebuilds now, on another live node, the copy of shard `shardHash` of object `id` that `holder`
   * failed to prove it holds (proof-of-storage): that copy counts as missing whatever the holder
   * says, and the holder is no candidate for the rebuilt shard. Returns the shards rebuilt.
   */
  async repairFailedCopy(id: string, holder: string, shardHash: string): Promise<number> {
    const { bytesPerSecond, maxConcurrentStripes } = this.#config;
    const queue = new RepairQueue(
      { bytesPerSecond, burstBytes: bytesPerSecond, maxConcurrentStripes },
      this.#deps.clock.nowMs(),
    );
    const results = await this.#repairRound([id], queue, {
      leadersOnly: false,
      exclude: new Set([holder]),
      immediate: true,
      failed: new Set([`${holder} ${shardHash}`]),
    });
    return results.reduce((sum, result) => sum + result.repaired.length, 0);
  }

  async #repairRound(
    ids: readonly string[],
    queue: RepairQueue,
    options: {
      leadersOnly: boolean;
      exclude: ReadonlySet<string>;
      immediate: boolean;
      /** `${nodeId} ${shardHash}` copies that count as missing (a failed proof-of-storage). */
      failed?: ReadonlySet<string>;
    },
  ): Promise<StripeRepairResult[]> {
    const { manifests } = this.#deps;
    const live = new Map(
      this.#deps.nodes
        .liveNodes()
        .filter((node) => !options.exclude.has(node.id))
        .map((node) => [node.id, node]),
    );
    this.#trackDowntime(live);
    // Keyed by the planner's id for the view (it hashes the stripes), mapped back to the object id.
    const latest = new Map<string, Repairing>();
    for (const id of ids) {
      const descriptor = await manifests.getDescriptor(id).catch(() => undefined);
      if (descriptor === undefined) continue;
      const record = { descriptor, receipts: await manifests.receipts(id) };
      const manifest = withPlaceholders(manifestView(record, (node) => live.get(node)?.region));
      if (options.leadersOnly && !this.#leads(manifest, live)) continue;
      const health = await this.#health(manifest, live, options.immediate, options.failed);
      const plan = planRepair(manifest, health, {
        candidates: [...live.values()].map((node) => ({ nodeId: node.id, region: node.region })),
      });
      this.#stats.stripesLost += plan.lost.length;
      if (plan.lost.length > 0)
        this.#deps.logger.error({ id, lost: plan.lost.length }, 'stripes below k healthy shards');
      if (plan.tasks.length === 0) continue;
      latest.set(manifestId(manifest), { id, record, manifest, receipts: [], informed: new Set() });
      queue.enqueue(plan.tasks);
    }
    const results = await this.#drain(latest, queue);
    await this.#publish(latest, results);
    return results;
  }

  #schedule(delayMs: number): void {
    const { clock } = this.#deps;
    if (this.#timer !== undefined) clock.clearTimeout(this.#timer);
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      this.#round = (this.#deps.ready?.() === false ? Promise.resolve() : this.runOnce())
        .catch((error: Error) => this.#deps.logger.warn({ err: error.message }, 'repair round failed'))
        .finally(() => {
          this.#round = undefined;
          if (!this.#stopped) this.#schedule(this.#config.intervalMs);
        });
    }, delayMs);
  }

  /** Forgets the downtime of nodes that are back; #health starts the clock for those that went away. */
  #trackDowntime(live: Map<string, NodeRef>): void {
    for (const id of live.keys()) this.#downSinceMs.delete(id);
  }

  /** The leader of an object is its live holder with the lowest id (this node counts as live). */
  #leads(manifest: Manifest, live: Map<string, NodeRef>): boolean {
    const self = this.#config.selfId;
    for (const stripe of manifest.stripes) {
      for (const shard of stripe.shards) {
        for (const holder of shard.holders) {
          if (holder.nodeId < self && live.has(holder.nodeId)) return false;
        }
      }
    }
    return true;
  }

  async #health(
    manifest: Manifest,
    live: Map<string, NodeRef>,
    immediate: boolean,
    failed: ReadonlySet<string> = new Set(),
  ): Promise<(stripeIndex: number, shardIndex: number) => ShardHealth> {
    const nowMs = this.#deps.clock.nowMs();
    for (const stripe of manifest.stripes) {
      for (const shard of stripe.shards) {
        for (const holder of shard.holders) {
          if (!live.has(holder.nodeId) && !this.#downSinceMs.has(holder.nodeId)) {
            this.#downSinceMs.set(holder.nodeId, nowMs);
          }
        }
      }
    }
    const held = await this.#deps.transfer.heldCopies(manifest, (node) => live.has(node));
    const graceMs = this.#config.nodeLossGraceMs;
    return (stripeIndex, shardIndex) => {
      const shard = manifest.stripes[stripeIndex]!.shards[shardIndex]!;
      for (const holder of shard.holders) {
        if (failed.has(`${holder.nodeId} ${shard.hash}`)) continue;
        if (held.has(`${holder.nodeId} ${shard.hash}`)) return 'ok';
        // Only a put's own re-placement takes a shard without receipts as missing at once: a round
        // may see a record between a commit and the publication of every holder's receipts.
        if (holder.nodeId === noReceipt && immediate) continue;
        const downSince = this.#downSinceMs.get(holder.nodeId);
        // A holder that only just went away is given the benefit of the doubt until the grace ends.
        if (!live.has(holder.nodeId) && downSince !== undefined && nowMs - downSince < graceMs) return 'ok';
      }
      return 'missing';
    };
  }

  async #drain(latest: Map<string, Repairing>, queue: RepairQueue): Promise<StripeRepairResult[]> {
    const results: StripeRepairResult[] = [];
    const running = new Set<Promise<void>>();
    const { clock, transfer, logger, directory } = this.#deps;
    const ioFor = (task: RepairTask) => {
      const object = latest.get(task.objectId)!;
      return {
        fetch: (hash: Uint8Array, from: { nodeId: string }) =>
          transfer.fetch(from.nodeId, hash, object.record.descriptor.erasure.shardBytes),
        // The new holder checks the shard against the owner-signed descriptor, so it gets that first.
        store: async (hash: Uint8Array, data: Uint8Array, to: { nodeId: string }) => {
          if (!object.informed.has(to.nodeId)) {
            await directory.sendRecord(to.nodeId, object.record);
            object.informed.add(to.nodeId);
          }
          const target = task.rebuild.find((r) => r.hash === toHex(hash) && r.target.nodeId === to.nodeId);
          const shard =
            target?.shardIndex ??
            object.manifest.stripes[task.stripeIndex]!.shards.findIndex((s) => s.hash === toHex(hash));
          const receipt = await transfer.storeForRepair(
            to.nodeId,
            { objectId: object.id, stripe: task.stripeIndex, shard },
            hash,
            data,
          );
          object.receipts.push(receipt);
        },
      };
    };
    const run = (task: RepairTask) => {
      const io = ioFor(task);
      const startedMs = clock.nowMs();
      const job: Promise<void> = executeStripeRepair(task, io)
        .then((result) => {
          results.push(result);
          this.#stats.bytesMoved += result.bytesFetched + result.bytesStored;
          if (result.repaired.length > 0) {
            const seconds = (clock.nowMs() - startedMs) / 1000;
            this.#deps.events?.onStripeRepaired?.(result.repaired.length, result.bytesStored, seconds);
          }
          if (result.failed.length > 0) queue.fail(task.id, clock.nowMs());
          else queue.complete(task.id, clock.nowMs());
        })
        .catch((error: Error) => {
          logger.warn({ task: task.id, err: error.message }, 'stripe repair failed');
          this.#deps.events?.onStripeFailed?.();
          queue.fail(task.id, clock.nowMs());
        })
        .finally(() => running.delete(job));
      running.add(job);
    };
    for (;;) {
      // The loop's own rounds end with the service; a put's re-placement (its own queue) runs out.
      if (this.#stopped && queue === this.#queue) break;
      for (let task = queue.next(clock.nowMs()); task !== undefined; task = queue.next(clock.nowMs())) {
        if (latest.has(task.objectId)) run(task);
        else queue.complete(task.id, clock.nowMs());
      }
      if (running.size > 0) {
        await Promise.race(running);
        continue;
      }
      const waitMs = queue.nextReadyMs(clock.nowMs());
      if (waitMs === undefined) break;
      await sleep(clock, Math.max(1, waitMs));
    }
    await Promise.all(running);
    return results;
  }

  /** Sends each repaired object's record, with the new holders' receipts, to all its holders. */
  async #publish(latest: Map<string, Repairing>, results: readonly StripeRepairResult[]): Promise<void> {
    for (const result of results) {
      this.#stats.shardsRebuilt += result.repaired.length;
      if (result.repaired.length > 0) this.#stats.stripesRepaired++;
    }
    for (const object of latest.values()) {
      if (object.receipts.length === 0) continue;
      const receipts = [...object.record.receipts, ...object.receipts];
      await this.#deps.directory.publish(object.id, { descriptor: object.record.descriptor, receipts });
      this.#deps.logger.info({ id: object.id, shards: object.receipts.length }, 'object repaired');
    }
  }
}

/** The holder a shard without receipts is given: never live. */
const noReceipt = 'no-receipt';

/**
 * The planner wants at least one holder per shard: a shard no receipt names gets a holder that is
 * never live, so it counts as missing and is rebuilt.
 */
function withPlaceholders(manifest: Manifest): Manifest {
  return {
    ...manifest,
    stripes: manifest.stripes.map((stripe) => ({
      ...stripe,
      shards: stripe.shards.map((shard) =>
        shard.holders.length > 0 ? shard : { ...shard, holders: [{ nodeId: noReceipt, region: 'unknown' }] },
      ),
    })),
  };
}
