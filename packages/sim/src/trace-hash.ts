/**
 * A running 64-bit hash of the event trace: every event the scheduler runs is folded in as a few
 * 32-bit words (time, kind, target, datum). Two runs with the same trace hash ran the same events
 * at the same virtual times in the same order; a replay that drifts shows it in the first digits.
 *
 * Two MurmurHash3-style 32-bit lanes with different multipliers, each also fed the other's state so
 * the pair behaves as one 64-bit state. Not cryptographic (nobody chooses the events adversarially)
 * but an order of magnitude cheaper than SHA-256 per event, which matters at millions of events.
 */
export class TraceHash {
  #h1 = 0x9747b28c;
  #h2 = 0x3c6ef372;
  #words = 0;

  /** Folds in one 32-bit word (any number; its low 32 bits are used). */
  addWord(word: number): void {
    let k1 = Math.imul(word, 0xcc9e2d51);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, 0x1b873593);
    let h1 = this.#h1 ^ k1;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    let k2 = Math.imul(word ^ this.#h1, 0x85ebca6b);
    k2 = (k2 << 17) | (k2 >>> 15);
    k2 = Math.imul(k2, 0xc2b2ae35);
    let h2 = this.#h2 ^ k2;
    h2 = (h2 << 19) | (h2 >>> 13);
    h2 = (Math.imul(h2, 5) + 0x561ccd1b) | 0;
    this.#h1 = h1;
    this.#h2 = h2;
    this.#words++;
  }

  /** Folds in a non-negative safe integer as two words (low, high). */
  addInt(value: number): void {
    this.addWord(value >>> 0);
    this.addWord(Math.floor(value / 0x1_0000_0000) >>> 0);
  }

  /** Folds in a string, one word per UTF-16 code unit pair (and its length). */
  addString(text: string): void {
    this.addWord(text.length);
    for (let i = 0; i < text.length; i += 2)
      this.addWord(text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16));
  }

  /** Words folded in so far. */
  get words(): number {
    return this.#words;
  }

  /** The hash so far as 16 lowercase hex characters (does not change the state). */
  hex(): string {
    const h1 = fmix32((this.#h1 ^ this.#words) >>> 0);
    const h2 = fmix32((this.#h2 ^ Math.imul(this.#words, 0x9e3779b1)) >>> 0);
    // Each lane's final mix also takes the other's, so a difference in one shows in both halves.
    return hex8(fmix32((h1 ^ h2) >>> 0)) + hex8(h2 ^ h1 ^ fmix32(h1));
  }
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hex8(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}
