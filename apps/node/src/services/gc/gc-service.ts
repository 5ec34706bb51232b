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
  /** A sweep collected nothing: a descriptor here could not be read (it may name shards held here). */
  onSkipped?(): void;
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
 * for `graceMs` (sweep after sweep, and not written again since: `ShardStore.delete`'s `ifWrite`) is deleted. What the
 * sweeps leave behind while the grace runs is `trinity_leaked_shard_bytes`.
 */
export class GcService implements Startable {
  readonly #init: GcServiceInit;
  readonly #c: GcServiceComponents;
  readonly #repeater: Repeater;
  /** Unreferenced shard (hex hash) -> when a sweep first found it so, and its write then. */
  readonly #unreferencedSince = new Map<string, { ms: number; write: number }>();

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
    // What is stored, and each shard's last write, taken before the descriptors are listed: a
    // commit that makes a shard an object's after this look is seen by the conditional delete.
    const entries = store
      .entries()
      .map(([hash, bytes]) => ({ hash, bytes, write: store.writeOf(fromHex(hash)) }));
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
        events?.onSkipped?.();
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
    const due: { hash: string; bytes: number; write: number }[] = [];
    const unreferenced = new Set<string>();
    let leakedShards = 0;
    let leakedBytes = 0;
    for (const entry of entries) {
      if (referenced.has(entry.hash)) continue;
      unreferenced.add(entry.hash);
      const seen = this.#unreferencedSince.get(entry.hash);
      // Written again since (the same bytes stored anew): its grace starts over.
      const since =
        seen === undefined || seen.write !== entry.write ? { ms: nowMs, write: entry.write } : seen;
      this.#unreferencedSince.set(entry.hash, since);
      if (nowMs - since.ms >= this.#init.graceMs) due.push(entry);
      else {
        leakedShards++;
        leakedBytes += entry.bytes;
      }
    }
    for (const hash of this.#unreferencedSince.keys())
      if (!unreferenced.has(hash)) this.#unreferencedSince.delete(hash);
    let collectedShards = 0;
    let collectedBytes = 0;
    for (const { hash, bytes, write } of due) {
      this.#unreferencedSince.delete(hash);
      // Only if nothing wrote it since the look above (a staged copy is committed with a new write).
      if (await store.delete(fromHex(hash), { ifWrite: write })) {
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
