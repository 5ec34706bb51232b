/**
 * Exact order of search hits for one query: by similarity dot / sqrt(|q|²·norm) descending, then by
 * slot ascending. |q|² is common to all hits, so it compares dot/sqrt(norm) through the integers
 * dot·|dot|·norm' (below 2^53 for every allowed dimension): no rounding can swap two hits.
 */
export function compareHits(
  dotA: number,
  normA: number,
  slotA: number,
  dotB: number,
  normB: number,
  slotB: number,
) {
  const a = dotA * Math.abs(dotA) * Math.max(normB, 1);
  const b = dotB * Math.abs(dotB) * Math.max(normA, 1);
  if (a !== b) return a > b ? -1 : 1;
  return slotA - slotB;
}

/** The best `k` hits seen so far, as a binary heap with the worst on top. */
export class TopK {
  readonly k: number;
  size = 0;
  readonly slots: Int32Array;
  readonly dots: Int32Array;
  readonly norms: Uint32Array;

  constructor(k: number) {
    this.k = k;
    this.slots = new Int32Array(k);
    this.dots = new Int32Array(k);
    this.norms = new Uint32Array(k);
  }

  get full(): boolean {
    return this.size === this.k;
  }

  /** Offers a hit; keeps it when it beats the worst kept one (or there is room). */
  offer(slot: number, dot: number, norm: number): void {
    if (this.size < this.k) {
      this.#place(this.size, slot, dot, norm);
      this.#up(this.size++);
      return;
    }
    if (this.#worseThanTop(slot, dot, norm)) return;
    this.#place(0, slot, dot, norm);
    this.#down(0);
  }

  /** dot / sqrt(norm) of the worst kept hit (the cut-off once full). */
  worstScore(): number {
    return this.dots[0]! / Math.sqrt(Math.max(this.norms[0]!, 1));
  }

  /** The kept hits, best first, as [slot, dot, norm] triples. */
  sorted(): Array<[number, number, number]> {
    const out: Array<[number, number, number]> = [];
    for (let i = 0; i < this.size; i++) out.push([this.slots[i]!, this.dots[i]!, this.norms[i]!]);
    return out.sort((x, y) => compareHits(x[1], x[2], x[0], y[1], y[2], y[0]));
  }

  #worseThanTop(slot: number, dot: number, norm: number): boolean {
    return compareHits(dot, norm, slot, this.dots[0]!, this.norms[0]!, this.slots[0]!) > 0;
  }

  /** True when the hit at i is worse than the one at j. */
  #worse(i: number, j: number): boolean {
    return (
      compareHits(
        this.dots[i]!,
        this.norms[i]!,
        this.slots[i]!,
        this.dots[j]!,
        this.norms[j]!,
        this.slots[j]!,
      ) > 0
    );
  }

  #place(i: number, slot: number, dot: number, norm: number): void {
    this.slots[i] = slot;
    this.dots[i] = dot;
    this.norms[i] = norm;
  }

  #swap(i: number, j: number): void {
    const slot = this.slots[i]!;
    const dot = this.dots[i]!;
    const norm = this.norms[i]!;
    this.#place(i, this.slots[j]!, this.dots[j]!, this.norms[j]!);
    this.#place(j, slot, dot, norm);
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#worse(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.size) return;
      let worst = left;
      if (left + 1 < this.size && this.#worse(left + 1, left)) worst = left + 1;
      if (!this.#worse(worst, i)) return;
      this.#swap(i, worst);
      i = worst;
    }
  }
}
