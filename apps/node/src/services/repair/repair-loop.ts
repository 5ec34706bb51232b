import type { Clock, Logger, TimerHandle } from '@trinity/core';
import {
  executeStripeRepair,
  type HolderChange,
  type Manifest,
  type ManifestStore,
  planRepair,
  RepairQueue,
  type RepairTask,
  type ShardHealth,
  type StripeRepairResult,
  updateHolders,
} from '@trinity/storage';
import type { Startable } from '../../startable.js';
import { sleep } from '../../timers.js';
import type { NodeRef } from '../geography/placement.js';
import type { ManifestDirectory } from '../manifests/manifest-service.js';
import type { LiveNodes } from '../membership/membership.js';
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
  readonly manifests: Pick<ManifestStore, 'list' | 'get'>;
  readonly directory: Pick<ManifestDirectory, 'publish'>;
  readonly transfer: Pick<ShardTransfer, 'heldCopies' | 'fetch' | 'store'>;
  readonly nodes: LiveNodes;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: RepairEvents;
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
    const config = this.#config;
    const live = new Map(this.#deps.nodes.liveNodes().map((node) => [node.id, node]));
    this.#trackDowntime(live);
    const ids = (await manifests.list()).slice(0, config.manifestsPerRound ?? 10_000);
    const latest = new Map<string, Manifest>();
    for (const id of ids) {
      const manifest = await manifests.get(id).catch(() => undefined);
      if (manifest === undefined || !this.#leads(manifest, live)) continue;
      const health = await this.#health(manifest, live);
      const plan = planRepair(manifest, health, {
        candidates: [...live.values()].map((node) => ({ nodeId: node.id, region: node.region })),
      });
      this.#stats.stripesLost += plan.lost.length;
      if (plan.lost.length > 0)
        this.#deps.logger.error({ id, lost: plan.lost.length }, 'stripes below k healthy shards');
      if (plan.tasks.length === 0) continue;
      latest.set(id, manifest);
      this.#queue.enqueue(plan.tasks);
    }
    const results = await this.#drain(latest);
    await this.#publish(latest, results);
    this.#stats.rounds++;
  }

  #schedule(delayMs: number): void {
    const { clock } = this.#deps;
    if (this.#timer !== undefined) clock.clearTimeout(this.#timer);
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      this.#round = this.runOnce()
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
        if (held.has(`${holder.nodeId} ${shard.hash}`)) return 'ok';
        const downSince = this.#downSinceMs.get(holder.nodeId);
        // A holder that only just went away is given the benefit of the doubt until the grace ends.
        if (!live.has(holder.nodeId) && downSince !== undefined && nowMs - downSince < graceMs) return 'ok';
      }
      return 'missing';
    };
  }

  async #drain(latest: Map<string, Manifest>): Promise<StripeRepairResult[]> {
    const results: StripeRepairResult[] = [];
    const running = new Set<Promise<void>>();
    const { clock, transfer, logger } = this.#deps;
    const io = {
      fetch: (hash: Uint8Array, from: { nodeId: string }) => transfer.fetch(from.nodeId, hash),
      store: (hash: Uint8Array, data: Uint8Array, to: { nodeId: string }) =>
        transfer.store(to.nodeId, hash, data),
    };
    const run = (task: RepairTask) => {
      const startedMs = clock.nowMs();
      const job: Promise<void> = executeStripeRepair(task, io)
        .then((result) => {
          results.push(result);
          this.#stats.bytesMoved += result.bytesFetched + result.bytesStored;
          if (result.repaired.length > 0) {
            const seconds = (clock.nowMs() - startedMs) / 1000;
            this.#deps.events?.onStripeRepaired?.(result.repaired.length, result.bytesStored, seconds);
          }
          if (result.failed.length > 0) this.#queue.fail(task.id, clock.nowMs());
          else this.#queue.complete(task.id, clock.nowMs());
        })
        .catch((error: Error) => {
          logger.warn({ task: task.id, err: error.message }, 'stripe repair failed');
          this.#deps.events?.onStripeFailed?.();
          this.#queue.fail(task.id, clock.nowMs());
        })
        .finally(() => running.delete(job));
      running.add(job);
    };
    for (;;) {
      if (this.#stopped) break;
      for (
        let task = this.#queue.next(clock.nowMs());
        task !== undefined;
        task = this.#queue.next(clock.nowMs())
      ) {
        if (latest.has(task.objectId)) run(task);
        else this.#queue.complete(task.id, clock.nowMs());
      }
      if (running.size > 0) {
        await Promise.race(running);
        continue;
      }
      const waitMs = this.#queue.nextReadyMs(clock.nowMs());
      if (waitMs === undefined) break;
      await sleep(clock, Math.max(1, waitMs));
    }
    await Promise.all(running);
    return results;
  }

  async #publish(latest: Map<string, Manifest>, results: readonly StripeRepairResult[]): Promise<void> {
    const changes = new Map<string, HolderChange[]>();
    for (const result of results) {
      for (const shard of result.repaired) {
        const list = changes.get(result.objectId) ?? [];
        list.push({ stripeIndex: result.stripeIndex, shardIndex: shard.shardIndex, holders: shard.holders });
        changes.set(result.objectId, list);
        this.#stats.shardsRebuilt++;
      }
      if (result.repaired.length > 0) this.#stats.stripesRepaired++;
    }
    for (const [id, list] of changes) {
      const base = (await this.#deps.manifests.get(id).catch(() => undefined)) ?? latest.get(id);
      if (base === undefined) continue;
      const next = updateHolders(base, list);
      await this.#deps.directory.publish(next);
      this.#deps.logger.info({ id, version: next.version, shards: list.length }, 'object repaired');
    }
  }
}
