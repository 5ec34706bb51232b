/**
 * Serializes async work per key: `run(key, fn)` starts fn only after every earlier fn of that key
 * settled. Idle keys are forgotten, so the map holds only keys with work in flight.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  get activeKeys(): number {
    return this.#tails.size;
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
