import { type Clock, fromHex, type Logger, toHex } from '@trinity/core';
import type { ManifestStore, ShardStore } from '@trinity/storage';
import type { Startable } from '../../startable.js';
import { Repeater } from '../../timers.js';

export interface GcServiceInit {
  readonly enabled: boolean;
  /** How often the collector sweeps this node's shards. */
  readonly intervalMs: number;
  /** How long a shard must stay unreferenced, sweep after sweep, before it is deleted. */
  readonly graceMs: number;
}

/** Told after every sweep (the GC metrics). */
export interface GcEvents {
  /** Bytes of unreferenced shards still held after the sweep (inside their grace period). */
  onSweep?(leakedBytes: number): void;
  onCollected?(shards: number, bytes: number): void;
}

export interface GcServiceComponents {
  readonly store: ShardStore;
  readonly manifests: ManifestStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: GcEvents;
}

/** What one sweep found and did. */
export interface GcSweep {
  /** False when a descriptor could not be read: nothing is collected on a partial picture. */
  readonly complete: boolean;
  readonly referencedShards: number;
  readonly leakedShards: number;
  readonly leakedBytes: number;
  readonly collectedShards: number;
  readonly collectedBytes: number;
}

/** The collector's factory: `gcService(init)(components)`. */
export function gcService(init: GcServiceInit): (components: GcServiceComponents) => GcService {
  return (components) => new GcService(init, components);
}

/**
 * Garbage collection of shards no object refers to. A node holds the signed descriptor of every
 * object it holds a shard of (a commit writes records before shards; a repair store needs the
 * descriptor first), so unlike Storj's satellites, which send each node a bloom filter of pieces to
 * keep, each node here decides from its own manifest store: a shard is referenced while a
 * descriptor held here names its hash or a transaction has it staged. One that stays unreferenced
 * for `graceMs` (sweep after sweep, and not staged at the moment of deletion) is deleted. What the
 * sweeps leave behind while the grace runs is `trinity_leaked_shard_bytes`.
 */
export class GcService implements Startable {
  readonly #init: GcServiceInit;
  readonly #c: GcServiceComponents;
  readonly #repeater: Repeater;
  /** Unreferenced shard (hex hash) -> when a sweep first found it so. */
  readonly #unreferencedSinceMs = new Map<string, number>();

  constructor(init: GcServiceInit, components: GcServiceComponents) {
    this.#init = init;
    this.#c = components;
    this.#repeater = new Repeater(components.clock, init.intervalMs, async () => {
      await this.sweep();
    });
  }

  start(): void {
    if (this.#init.enabled) this.#repeater.start();
  }

  async stop(): Promise<void> {
    await this.#repeater.stop();
  }

  /** One sweep: finds unreferenced shards and deletes those whose grace has run out. */
  async sweep(): Promise<GcSweep> {
    const { store, manifests, clock, logger, events } = this.#c;
    const nowMs = clock.nowMs();
    const referenced = this.#staged();
    for (const id of await manifests.listDescriptors()) {
      let descriptor: Awaited<ReturnType<ManifestStore['getDescriptor']>>;
      try {
        descriptor = await manifests.getDescriptor(id);
      } catch (error) {
        // A descriptor that cannot be read may name shards held here: collect nothing this time.
        if (!(await manifests.hasDescriptor(id))) continue;
        logger.warn(
          { id, err: (error as Error).message },
          'garbage collection skipped: unreadable descriptor',
        );
        return {
          complete: false,
          referencedShards: 0,
          leakedShards: 0,
          leakedBytes: 0,
          collectedShards: 0,
          collectedBytes: 0,
        };
      }
      for (const stripe of descriptor.stripes) for (const shard of stripe.shards) referenced.add(shard.hash);
    }
    const due: [hash: string, bytes: number][] = [];
    const unreferenced = new Set<string>();
    let leakedShards = 0;
    let leakedBytes = 0;
    for (const [hash, bytes] of store.entries()) {
      if (referenced.has(hash)) continue;
      unreferenced.add(hash);
      const sinceMs = this.#unreferencedSinceMs.get(hash) ?? nowMs;
      this.#unreferencedSinceMs.set(hash, sinceMs);
      if (nowMs - sinceMs >= this.#init.graceMs) due.push([hash, bytes]);
      else {
        leakedShards++;
        leakedBytes += bytes;
      }
    }
    for (const hash of this.#unreferencedSinceMs.keys())
      if (!unreferenced.has(hash)) this.#unreferencedSinceMs.delete(hash);
    let collectedShards = 0;
    let collectedBytes = 0;
    // A put of the same bytes may have staged one of them since the sweep began: it stays.
    const stagedNow = this.#staged();
    for (const [hash, bytes] of due) {
      this.#unreferencedSinceMs.delete(hash);
      if (stagedNow.has(hash)) continue;
      if (await store.delete(fromHex(hash))) {
        collectedShards++;
        collectedBytes += bytes;
      }
    }
    events?.onSweep?.(leakedBytes);
    if (collectedShards > 0) {
      events?.onCollected?.(collectedShards, collectedBytes);
      logger.info({ shards: collectedShards, bytes: collectedBytes }, 'unreferenced shards collected');
    }
    return {
      complete: true,
      referencedShards: referenced.size,
      leakedShards,
      leakedBytes,
      collectedShards,
      collectedBytes,
    };
  }

  #staged(): Set<string> {
    const { store } = this.#c;
    const staged = new Set<string>();
    for (const txId of store.stagedTransactions())
      for (const hash of store.stagedShards(txId)) staged.add(toHex(hash));
    return staged;
  }
}
