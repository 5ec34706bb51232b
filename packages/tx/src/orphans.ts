/**
 * Finds staged transactions nobody will finish: staged on this node, unknown to its coordinator and
 * participant (no prepare ever arrived, or the node restarted before it did), and whose lease
 * lapsed. A lease is `ttlMs` from the later of when the sweep first saw the transaction and when its
 * coordinator last renewed it (a stage or a renewal while its upload makes progress), so a slow but
 * live upload keeps its staged data however long it takes, and a dead one loses it after `ttlMs`.
 *
 * Sans-IO: the caller lists what is staged, says what the engine knows and when each lease was
 * renewed, aborts what `due` returns, and calls it again on a timer.
 */
export class OrphanSweep {
  readonly #ttlMs: number;
  readonly #firstSeenMs = new Map<string, number>();

  constructor(ttlMs: number) {
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 0)
      throw new RangeError(`orphan ttl must be ≥ 0 ms, got ${ttlMs}`);
    this.#ttlMs = ttlMs;
  }

  /**
   * The transactions among `staged` to abort now. `known(txId)`: the engine has it (it ends it);
   * `committing(txId)`: its commit began (never aborted); `renewedAtMs(txId)`: its lease's last renewal.
   */
  due(
    staged: Iterable<string>,
    nowMs: number,
    hooks: {
      readonly known: (txId: string) => boolean;
      readonly committing: (txId: string) => boolean;
      readonly renewedAtMs: (txId: string) => number | undefined;
    },
  ): string[] {
    const present = new Set<string>();
    const due: string[] = [];
    for (const txId of staged) {
      present.add(txId);
      if (hooks.known(txId)) {
        this.#firstSeenMs.delete(txId);
        continue;
      }
      const seenMs = this.#firstSeenMs.get(txId) ?? nowMs;
      this.#firstSeenMs.set(txId, seenMs);
      const leaseFromMs = Math.max(seenMs, hooks.renewedAtMs(txId) ?? seenMs);
      if (nowMs - leaseFromMs < this.#ttlMs || hooks.committing(txId)) continue;
      due.push(txId);
      this.#firstSeenMs.delete(txId);
    }
    for (const txId of this.#firstSeenMs.keys()) if (!present.has(txId)) this.#firstSeenMs.delete(txId);
    return due;
  }

  /** Transactions being watched (seen staged and unknown, lease not yet lapsed). */
  get watching(): number {
    return this.#firstSeenMs.size;
  }
}
