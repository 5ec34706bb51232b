/** Which descriptors name which shard hashes: each descriptor counted once, however often added. */
export class ShardRefs {
  readonly #shardsOf = new Map<string, readonly string[]>();
  readonly #count = new Map<string, number>();

  add(
    id: string,
    descriptor: { readonly stripes: readonly { readonly shards: readonly { readonly hash: string }[] }[] },
  ): void {
    if (this.#shardsOf.has(id)) return;
    const hashes = descriptor.stripes.flatMap((stripe) => stripe.shards.map((shard) => shard.hash));
    this.#shardsOf.set(id, hashes);
    for (const hash of hashes) this.#count.set(hash, (this.#count.get(hash) ?? 0) + 1);
  }

  remove(id: string): void {
    const hashes = this.#shardsOf.get(id);
    if (hashes === undefined) return;
    this.#shardsOf.delete(id);
    for (const hash of hashes) {
      const left = this.#count.get(hash)! - 1;
      if (left > 0) this.#count.set(hash, left);
      else this.#count.delete(hash);
    }
  }

  /** Whether some descriptor added and not removed, other than `except`, names `hash`. */
  names(hash: string, except?: string): boolean {
    const count = this.#count.get(hash) ?? 0;
    const own =
      except === undefined ? 0 : (this.#shardsOf.get(except)?.filter((h) => h === hash).length ?? 0);
    return count > own;
  }
}
