import { type Clock, fromHex, type Logger, sha256, type TimerHandle, toHex } from '@trinity/core';
import type { ManifestStore, SignedReceipt } from '@trinity/storage';
import {
  builtinTopology,
  type PlacementNode,
  Rebalancer,
  type RegionId,
  type ShardMove,
  type StripeLayout,
  StripePlacer,
  type Topology,
} from '@trinity/topology';
import { SagaCompensationError, SagaRunner, type SagaStep } from '@trinity/tx';
import { peerIdOfNodeKey } from '../../p2p/node-keys.js';
import type { Startable } from '../../startable.js';
import type { ManifestDirectory } from '../manifests/manifest-service.js';
import type { LiveNodes } from '../membership/membership.js';
import { manifestView, type ObjectRecord } from '../objects/object-record.js';
import type { ShardTransfer } from '../shards/shard-service.js';

export interface RebalanceInit {
  readonly selfId: string;
  readonly enabled: boolean;
  readonly intervalMs: number;
  /** Bytes of shard moves per interval (the planner's budget); the rest waits for the next one. */
  readonly maxBytesPerInterval: number;
  readonly maxMovesPerInterval: number;
  /** Most manifests examined in one round. */
  readonly manifestsPerRound?: number;
  /** A failed compensation is retried at most this many times, backing off from the first delay. */
  readonly maxCompensationRetries: number;
  readonly compensationBackoffMs: number;
  readonly compensationBackoffMaxMs: number;
}

/** How a move ended: done, undone by its compensation, or stuck (a compensation kept failing). */
export type MoveOutcome = 'moved' | 'compensated' | 'stuck';

/** Told of each move finished, undone (saga compensated) or whose old copy could not be released. */
export interface RebalanceEvents {
  onMoved?(move: ShardMove): void;
  onCompensated?(move: ShardMove, failedStep: string): void;
  /** A compensation kept failing: an extra copy stays where it was put. */
  onStuck?(move: ShardMove): void;
}

export interface RebalanceComponents {
  readonly manifests: Pick<
    ManifestStore,
    'listDescriptors' | 'getDescriptor' | 'receipts' | 'addReceipts' | 'dropReceipts'
  >;
  readonly directory: Pick<ManifestDirectory, 'publish' | 'sendRecord'>;
  readonly transfer: Pick<ShardTransfer, 'fetch' | 'storeForRepair' | 'release'>;
  readonly nodes: LiveNodes;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: RebalanceEvents;
  /**
   * False while this node may still hold records of objects deleted while it was away (back from a
   * restart, before its first tombstone sync): its timed rounds wait, so as not to spread them.
   */
  readonly ready?: () => boolean;
}

export interface RebalanceStats {
  rounds: number;
  /** Shards copied to their new holder, published, and released on the old one. */
  moved: number;
  bytesMoved: number;
  /** Bytes moved in the busiest round so far (never above the byte budget, bar one oversize shard). */
  roundBytesMax: number;
  /** Moves undone by the saga's compensation (the new copy released again). */
  compensated: number;
  /**
   * Moves whose compensation still failed after its bounded retries: the new copy stays where it
   * was put (an extra copy, never a lost one) and the record is as before the move.
   */
  stuck: number;
  /** Moves done whose old copy could not be released (it stays, harmless, until asked again). */
  releaseFailures: number;
  /** Moves the last plan left for later rounds by the budget. */
  deferred: number;
  /** Shards on departed holders in the last plan: rebuilt by the repair loop, not moved here. */
  leftToRepair: number;
}

/** The rebalance service's factory: `rebalanceService(init)(components)`. */
export function rebalanceService(init: RebalanceInit): (components: RebalanceComponents) => RebalanceService {
  return (components) => new RebalanceService(init, components);
}

/** One stripe the plan may touch: where it comes from and the record to publish after a move. */
interface StripeRef {
  readonly objectId: string;
  readonly stripe: number;
  readonly hashes: readonly string[];
  readonly record: ObjectRecord;
}

/** What a move's saga carries from step to step. */
interface MoveContext {
  readonly move: ShardMove;
  readonly ref: StripeRef;
  receipt?: SignedReceipt;
}

/**
 * Keeps shards where the placement rules want them as nodes join and leave: every interval (and soon
 * after a peer joins or leaves), for the objects this node leads (the lowest live holder id, as in
 * repair), it lays out each stripe's live holders, asks @trinity/topology's Rebalancer for the fewest
 * moves within the byte and move budget, and runs each move as a saga: copy the shard to the new
 * holder (which checks it against the owner-signed descriptor and signs its receipt), publish the
 * record with the new receipt in place of the old holder's, then ask the old holder to release its
 * copy. A failed publish undoes the copy (the new holder releases it again). Shards whose holder left
 * are the repair loop's: they need a rebuild from k others, not a copy.
 */
export class RebalanceService implements Startable {
  readonly #init: RebalanceInit;
  readonly #c: RebalanceComponents;
  readonly #topology: Topology = builtinTopology();
  readonly #rebalancer: Rebalancer;
  readonly #saga: SagaRunner;
  readonly #stats: RebalanceStats = {
    rounds: 0,
    moved: 0,
    bytesMoved: 0,
    roundBytesMax: 0,
    compensated: 0,
    stuck: 0,
    releaseFailures: 0,
    deferred: 0,
    leftToRepair: 0,
  };
  #timer: TimerHandle | undefined;
  #round: Promise<void> | undefined;
  /** Rounds are scheduled only between start (when enabled) and stop. */
  #scheduling = false;
  /** Set by stop: a round in progress ends after its current move. */
  #stopping = false;

  constructor(init: RebalanceInit, components: RebalanceComponents) {
    this.#init = init;
    this.#c = components;
    // As the geography service places: a small network concentrates rather than refuses.
    const placer = new StripePlacer({ allowRegionConcentration: true }, this.#topology);
    this.#rebalancer = new Rebalancer(
      { maxBytesPerInterval: init.maxBytesPerInterval, maxMovesPerInterval: init.maxMovesPerInterval },
      placer,
    );
    const { maxCompensationRetries, compensationBackoffMs, compensationBackoffMaxMs } = init;
    const saga = { maxCompensationRetries, compensationBackoffMs, compensationBackoffMaxMs };
    this.#saga = new SagaRunner({ clock: components.clock, logger: components.logger, config: saga });
  }

  start(): void {
    if (!this.#init.enabled) return;
    this.#scheduling = true;
    this.#stopping = false;
    this.#schedule(this.#init.intervalMs);
  }

  async stop(): Promise<void> {
    this.#scheduling = false;
    this.#stopping = true;
    if (this.#timer !== undefined) this.#c.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#round;
  }

  /** A peer joined or left: plan again soon rather than at the end of the interval. */
  poke(): void {
    if (this.#scheduling && this.#round === undefined) this.#schedule(0);
  }

  stats(): RebalanceStats {
    return { ...this.#stats };
  }

  /** One round: plan within the budget and run the moves; resolves when they are done. */
  async runOnce(): Promise<void> {
    const nodes = this.#placementNodes();
    const { layouts, refs } = await this.#layouts(new Set(nodes.map((node) => node.id)));
    const plan = this.#rebalancer.plan(layouts, nodes);
    this.#stats.deferred = plan.deferredMoves;
    this.#stats.leftToRepair = 0;
    let roundBytes = 0;
    for (const move of plan.moves) {
      if (this.#stopping) break;
      if (move.kind !== 'move' || move.from === null) {
        this.#stats.leftToRepair++;
        continue;
      }
      if ((await this.#moveShard(move, refs.get(move.stripeId)!)) === 'moved') roundBytes += move.bytes;
    }
    this.#stats.rounds++;
    this.#stats.bytesMoved += roundBytes;
    this.#stats.roundBytesMax = Math.max(this.#stats.roundBytesMax, roundBytes);
    if (plan.moves.length > 0) {
      this.#c.logger.info(
        { moves: plan.moves.length, bytes: roundBytes, deferred: plan.deferredMoves },
        'rebalance round',
      );
    }
  }

  /**
   * Moves one shard as a saga (copy, then publish; a failed publish releases the new copy), then asks
   * the old holder to release its copy.
   */
  async #moveShard(move: ShardMove, ref: StripeRef): Promise<MoveOutcome> {
    const context: MoveContext = { move, ref };
    let result: Awaited<ReturnType<SagaRunner['run']>>;
    try {
      result = await this.#saga.run('rebalance-move', this.#moveSteps(), context);
    } catch (error) {
      if (!(error instanceof SagaCompensationError)) throw error;
      this.#stats.stuck++;
      this.#c.events?.onStuck?.(move);
      this.#c.logger.error({ err: error.message, stripe: move.stripeId, to: move.to }, 'shard move stuck');
      return 'stuck';
    }
    if (result.outcome === 'compensated') {
      this.#stats.compensated++;
      this.#c.logger.warn(
        { stripe: move.stripeId, step: result.failedStep, err: String(result.error) },
        'shard move undone',
      );
      this.#c.events?.onCompensated?.(move, result.failedStep);
      return 'compensated';
    }
    const position = { objectId: ref.objectId, stripe: ref.stripe, shard: move.shardIndex };
    try {
      await this.#c.transfer.release(move.from!, position, context.receipt!);
    } catch (error) {
      this.#stats.releaseFailures++;
      this.#c.logger.warn({ err: (error as Error).message, from: move.from }, 'old copy not released');
    }
    this.#stats.moved++;
    this.#c.events?.onMoved?.(move);
    return 'moved';
  }

  #moveSteps(): SagaStep<MoveContext>[] {
    const { transfer, directory, manifests, clock } = this.#c;
    return [
      {
        name: 'copy',
        run: async (context) => {
          const { move, ref } = context;
          const hash = fromHex(ref.hashes[move.shardIndex]!);
          const data = await transfer.fetch(move.from!, hash, ref.record.descriptor.erasure.shardBytes);
          if (toHex(sha256(data)) !== ref.hashes[move.shardIndex]) {
            throw new Error(`shard from ${move.from!.slice(-8)} does not match its hash`);
          }
          // The new holder checks the shard against the owner-signed descriptor: it gets the record first.
          await directory.sendRecord(move.to, ref.record);
          const position = { objectId: ref.objectId, stripe: ref.stripe, shard: move.shardIndex };
          context.receipt = await transfer.storeForRepair(move.to, position, hash, data);
        },
        // The old holder still holds the shard (its receipt is the proof the new holder checks).
        compensate: async (context) => {
          const old = oldReceipt(context);
          if (old === undefined) throw new Error('no receipt of the old holder to release against');
          const position = { objectId: context.ref.objectId, stripe: context.ref.stripe };
          await transfer.release(context.move.to, { ...position, shard: context.move.shardIndex }, old);
        },
      },
      {
        name: 'publish',
        // The new receipt in place of the old holder's; a failure puts the old receipt back, so the
        // step leaves nothing behind and only the copy is compensated.
        run: async (context) => {
          const { ref, move } = context;
          const old = oldReceipt(context);
          const position = { stripe: ref.stripe, shard: move.shardIndex };
          if (old !== undefined) await manifests.dropReceipts(ref.objectId, old.holder, position);
          try {
            await directory.publish(ref.objectId, {
              descriptor: ref.record.descriptor,
              receipts: [context.receipt!],
            });
          } catch (error) {
            if (old !== undefined) await manifests.addReceipts(ref.objectId, [old], clock.nowMs());
            await manifests.dropReceipts(ref.objectId, context.receipt!.holder, position);
            throw error;
          }
        },
        compensate: async () => {},
      },
    ];
  }

  #schedule(delayMs: number): void {
    const { clock } = this.#c;
    if (this.#timer !== undefined) clock.clearTimeout(this.#timer);
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      this.#round = (this.#c.ready?.() === false ? Promise.resolve() : this.runOnce())
        .catch((error: Error) => this.#c.logger.warn({ err: error.message }, 'rebalance round failed'))
        .finally(() => {
          this.#round = undefined;
          if (this.#scheduling) this.#schedule(this.#init.intervalMs);
        });
    }, delayMs);
  }

  /** Live nodes of a known region, as the planner takes them. */
  #placementNodes(): PlacementNode[] {
    return this.#c.nodes
      .liveNodes()
      .filter((node) => this.#topology.has(node.region))
      .map((node) => ({ id: node.id, region: node.region as RegionId }));
  }

  /** The stripes of the objects this node leads, each shard at its newest live holder. */
  async #layouts(live: ReadonlySet<string>): Promise<{
    layouts: StripeLayout[];
    refs: Map<string, StripeRef>;
  }> {
    const { manifests } = this.#c;
    const layouts: StripeLayout[] = [];
    const refs = new Map<string, StripeRef>();
    const ids = (await manifests.listDescriptors()).slice(0, this.#init.manifestsPerRound ?? 10_000);
    for (const objectId of ids) {
      const descriptor = await manifests.getDescriptor(objectId).catch(() => undefined);
      if (descriptor === undefined) continue;
      const record = { descriptor, receipts: await manifests.receipts(objectId) };
      const view = manifestView(record, () => undefined);
      const holderIds = view.stripes.flatMap((s) => s.shards.flatMap((shard) => shard.holders));
      const leader = holderIds
        .map((h) => h.nodeId)
        .filter((id) => live.has(id))
        .sort()[0];
      if (leader !== this.#init.selfId) continue;
      view.stripes.forEach((stripe, s) => {
        const id = `${objectId}/${s}`;
        const holders = stripe.shards.map((shard) => {
          const alive = shard.holders.find((holder) => live.has(holder.nodeId));
          return alive?.nodeId ?? shard.holders[0]?.nodeId ?? null;
        });
        layouts.push({
          id,
          clientRegion: this.#regionOf(holders, live),
          dataShards: descriptor.erasure.dataShards,
          parityShards: descriptor.erasure.parityShards,
          shardBytes: descriptor.erasure.shardBytes,
          holders,
        });
        refs.set(id, { objectId, stripe: s, hashes: stripe.shards.map((shard) => shard.hash), record });
      });
    }
    return { layouts, refs };
  }

  /** The region the stripe is written from: this node's, else any holder's known region. */
  #regionOf(holders: readonly (string | null)[], live: ReadonlySet<string>): RegionId {
    const regions = new Map(this.#c.nodes.liveNodes().map((node) => [node.id, node.region]));
    const own = regions.get(this.#init.selfId);
    if (own !== undefined && this.#topology.has(own)) return own as RegionId;
    for (const holder of holders) {
      const region = holder === null || !live.has(holder) ? undefined : regions.get(holder);
      if (region !== undefined && this.#topology.has(region)) return region as RegionId;
    }
    return this.#topology.regions[0]!;
  }
}

/** The old holder's receipt for the moving shard (what proves the shard is still held there). */
function oldReceipt(context: MoveContext): SignedReceipt | undefined {
  const { move, ref } = context;
  return ref.record.receipts.find(
    (r) => r.stripe === ref.stripe && r.shard === move.shardIndex && peerIdOfNodeKey(r.holder) === move.from,
  );
}
