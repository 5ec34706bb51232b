/**
 * Folder fsyncs shared between concurrent writers (group commit). A request resolves only after an
 * fsync of the folder that started after the request was made, so every entry the caller created,
 * renamed or removed in it before asking is durable, exactly as with its own fsync. Requests made
 * while an fsync of the folder runs all wait for the one next fsync, started when the running one
 * settles: n concurrent writers into one folder cost at most two fsyncs, not n.
 */
export class SharedDirSync {
  readonly #fsync: (dir: string) => Promise<void>;
  /** Per folder with an fsync in flight: that fsync, and the one queued behind it (if any). */
  readonly #dirs = new Map<string, { running: Promise<void>; queued: Promise<void> | undefined }>();
  #fsyncs = 0;

  constructor(fsync: (dir: string) => Promise<void>) {
    this.#fsync = fsync;
  }

  /** fsyncs run so far (for tests). */
  get fsyncs(): number {
    return this.#fsyncs;
  }

  /** Folders with an fsync in flight (0 when idle: nothing is kept). */
  get pending(): number {
    return this.#dirs.size;
  }

  /** Resolves once an fsync of `dir` that started after this call has succeeded; rejects with its error. */
  sync(dir: string): Promise<void> {
    const state = this.#dirs.get(dir);
    if (state === undefined) {
      const fresh: { running: Promise<void>; queued: Promise<void> | undefined } = {
        running: Promise.resolve(),
        queued: undefined,
      };
      this.#dirs.set(dir, fresh);
      return this.#launch(dir, fresh);
    }
    // The running fsync may have started before this caller's change: wait for the next one.
    if (state.queued === undefined) {
      const ignore = () => {};
      state.queued = state.running.then(ignore, ignore).then(() => {
        // From here on, new requests queue behind this fsync rather than join it.
        state.queued = undefined;
        return this.#launch(dir, state);
      });
    }
    return state.queued;
  }

  #launch(dir: string, state: { running: Promise<void>; queued: Promise<void> | undefined }): Promise<void> {
    this.#fsyncs++;
    const running = this.#fsync(dir);
    state.running = running;
    const settled = () => {
      if (state.running === running && state.queued === undefined) this.#dirs.delete(dir);
    };
    running.then(settled, settled);
    return running;
  }
}
