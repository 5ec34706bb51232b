/**
 * A participant node's shard store as the simulator models it: durable across crashes, with a
 * staging area per transaction and a fencing check on commit. It records each transaction's last
 * action here (committed or aborted) and every rule broken.
 */
export class SimStore {
  readonly staged = new Map<string, Map<string, string>>();
  readonly committed = new Map<string, { txId: string; token: number }>();
  readonly highestToken = new Map<string, number>();
  readonly outcomes = new Map<string, 'committed' | 'aborted'>();
  readonly violations: string[] = [];

  constructor(readonly node: string) {}

  get maxToken(): number {
    let max = 0;
    for (const token of this.highestToken.values()) max = Math.max(max, token);
    return max;
  }

  stage(txId: string, shards: readonly { shardHash: string; ref: string }[]): void {
    this.staged.set(txId, new Map(shards.map((s) => [s.shardHash, s.ref])));
  }

  commit(txId: string, shards: readonly { shardHash: string; fencingToken: number }[]): void {
    const staged = this.staged.get(txId);
    if (staged === undefined) {
      // A repeated commit after a crash finds the staging area already consumed: fine, and only then.
      if (this.outcomes.get(txId) !== 'committed') this.#violation(`${txId}: commit without staged data`);
      return;
    }
    for (const { shardHash, fencingToken } of shards) {
      if (!staged.has(shardHash))
        this.#violation(`${txId}: commit of unstaged shard ${shardHash.slice(0, 8)}`);
      const highest = this.highestToken.get(shardHash) ?? 0;
      if (fencingToken < highest) {
        this.#violation(
          `${txId}: stale fencing token ${fencingToken} < ${highest} on ${shardHash.slice(0, 8)}`,
        );
        continue;
      }
      this.highestToken.set(shardHash, fencingToken);
      this.committed.set(shardHash, { txId, token: fencingToken });
    }
    this.staged.delete(txId);
    this.outcomes.set(txId, 'committed');
  }

  abort(txId: string): void {
    if (this.outcomes.get(txId) === 'committed') this.#violation(`${txId}: aborted after it committed`);
    this.staged.delete(txId);
    this.outcomes.set(txId, 'aborted');
  }

  purge(keep: readonly string[]): void {
    const kept = new Set(keep);
    for (const txId of [...this.staged.keys()]) if (!kept.has(txId)) this.abort(txId);
  }

  #violation(message: string): void {
    this.violations.push(`${this.node}: ${message}`);
  }
}
