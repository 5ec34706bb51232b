import { Worker } from 'node:worker_threads';
import { DecryptionError, type DecryptionErrorCode, type DecryptorInit } from '@trinity/core';
import { NodeError } from '../../errors.js';
import type { WorkerReply, WorkerRequest } from './decrypt-protocol.js';

/**
 * The decryption worker died, failed outside decryption, or the pool stopped under a read: 503, a
 * transient failure (the next read gets a new worker, or the main thread).
 */
export class DecryptWorkerError extends NodeError {
  constructor(message: string) {
    super('DECRYPT_WORKER_FAILED', message, 503);
  }
}

export interface DecryptPoolInit {
  /** Worker threads decrypting (each takes streams round-robin); 0 disables the pool. */
  readonly workers: number;
  /**
   * Ciphertext bytes one stream may have posted and not yet taken back as plaintext (plus the one
   * chunk that crosses it). Per stream: concurrent reads share a worker first come, first served.
   */
  readonly inFlightBytesMax: number;
  /** Where the built worker is (default: dist/decrypt-worker.js beside the built daemon). */
  readonly workerUrl?: URL;
  /** Told once, why, when the pool turns itself off (a worker died before its module loaded). */
  readonly onBroken?: (why: string) => void;
}

export const decryptPoolLimits = {
  workersMax: 8,
  inFlightBytesMin: 64 * 1024,
  inFlightBytesMax: 256 * 1024 * 1024,
};

/** The replies of one stream, in order; a failure ends it. */
class Replies {
  readonly #ready: WorkerReply[] = [];
  #waiter: { resolve: (reply: WorkerReply) => void; reject: (error: unknown) => void } | undefined;
  #failure: unknown;

  push(reply: WorkerReply): void {
    if (this.#waiter === undefined) this.#ready.push(reply);
    else {
      this.#waiter.resolve(reply);
      this.#waiter = undefined;
    }
  }

  fail(error: unknown): void {
    this.#failure ??= error;
    this.#waiter?.reject(error);
    this.#waiter = undefined;
  }

  get available(): number {
    return this.#ready.length;
  }

  next(): Promise<WorkerReply> {
    const reply = this.#ready.shift();
    if (reply !== undefined) return Promise.resolve(reply);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }
}

/**
 * Chunk buffers the worker gave back, reused for the next chunks: a fresh large buffer costs page
 * faults and zeroing (it was a third of the main thread's cost of handing a chunk over). At most
 * sparesMax of them, each at least spareBytesMin (capacity rounded up to it), the largest kept.
 */
const sparesMax = 16;
/**
 * Reads one worker takes at once: more would queue behind each other's outstanding bytes (first come,
 * first served) and hold that many times inFlightBytesMax; reads beyond it decrypt on the main thread.
 */
export const decryptStreamsPerWorker = 4;
const spareBytesMin = 64 * 1024;

interface Thread {
  readonly worker: Worker;
  readonly streams: Map<number, Replies>;
  /** Whether the worker's module loaded (it says so): one that dies before disables the pool (#lose). */
  online: boolean;
  /** Waiters of `stats` replies, in order. */
  readonly stats: ((open: number) => void)[];
  /** Resolves once the worker said it is ready or was lost, whichever comes first. */
  readonly settled: Promise<void>;
  readonly settle: () => void;
}

/** How long start() waits for the workers to come up before leaving them to come up on their own. */
const startWaitMs = 10_000;

function replyError(error: NonNullable<WorkerReply['error']>): Error {
  if (error.decryption)
    return new DecryptionError(error.code as DecryptionErrorCode, error.message, error.details);
  return new DecryptWorkerError(`decryption worker: ${error.message}`);
}

/**
 * AES-256-GCM segment decryption on worker threads, pipelined with the caller: the read path hands
 * ciphertext chunks over (copied once into buffers the worker then owns: fetched shards are pooled)
 * and takes plaintext back in order, with at most `inFlightBytesMax` ciphertext bytes outstanding,
 * so receiving, verifying and sending on the main thread overlap with decryption on another core.
 * Behaviour is the main-thread decryptor's (the worker runs it); a worker that dies fails its
 * streams with DecryptWorkerError and is replaced on the next stream. A Startable: stop()
 * terminates the workers.
 */
export class DecryptPool {
  readonly #init: DecryptPoolInit;
  readonly #threads: (Thread | undefined)[];
  readonly #spares: ArrayBuffer[] = [];
  #nextId = 1;
  #turn = 0;
  #stopped = false;
  /** Set when a worker could not start (its file missing, say): reads stay on the main thread. */
  #broken: string | undefined;
  /** Reads decrypting on the workers now. */
  #open = 0;

  constructor(init: DecryptPoolInit) {
    if (!Number.isInteger(init.workers) || init.workers < 0 || init.workers > decryptPoolLimits.workersMax)
      throw new RangeError(`decrypt workers ${init.workers} is outside [0, ${decryptPoolLimits.workersMax}]`);
    const { inFlightBytesMin: min, inFlightBytesMax: max } = decryptPoolLimits;
    if (
      !Number.isInteger(init.inFlightBytesMax) ||
      init.inFlightBytesMax < min ||
      init.inFlightBytesMax > max
    )
      throw new RangeError(`decrypt in-flight bytes ${init.inFlightBytesMax} is outside [${min}, ${max}]`);
    this.#init = init;
    this.#threads = new Array<Thread | undefined>(init.workers).fill(undefined);
  }

  get enabled(): boolean {
    return this.#threads.length > 0 && !this.#stopped && this.#broken === undefined;
  }

  /**
   * Whether a new read should go to the workers: enabled, and fewer than decryptStreamsPerWorker
   * reads per worker in progress (which bounds the workers' memory at that many times
   * inFlightBytesMax each, and a read's wait behind others').
   */
  get accepting(): boolean {
    return this.enabled && this.#open < this.#threads.length * decryptStreamsPerWorker;
  }

  /** Why the pool turned itself off (a worker died before it came up), if it did. */
  get broken(): string | undefined {
    return this.#broken;
  }

  /** Streams open in each running worker (tests: a finished read leaves none behind). */
  async openStreams(): Promise<number[]> {
    const threads = this.#threads.filter((t): t is Thread => t !== undefined);
    return Promise.all(
      threads.map(
        (thread) =>
          new Promise<number>((resolve) => {
            thread.stats.push(resolve);
            thread.worker.postMessage({ op: 'stats' } satisfies WorkerRequest);
          }),
      ),
    );
  }

  /**
   * Starts the workers and waits (bounded) until each is ready or lost, so that a worker that cannot
   * start (its file missing from a bundle, say) turns the pool off here, with `onBroken` told, and
   * no read fails for it. A pool not started starts its workers on the first reads.
   */
  async start(): Promise<void> {
    if (!this.enabled) return;
    const threads = this.#threads.map((_, at) => this.#threads[at] ?? this.#spawn(at));
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, startWaitMs);
      timer.unref();
    });
    await Promise.race([Promise.all(threads.map((thread) => thread.settled)), waited]);
    clearTimeout(timer);
  }

  /** Terminates the workers; streams still reading fail with DecryptWorkerError. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const threads = this.#threads.splice(0).filter((t): t is Thread => t !== undefined);
    for (const thread of threads) this.#fail(thread, 'the node is stopping');
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  /**
   * The plaintext of `source` (the ciphertext a createDecryptor(init) would take), in order. The
   * source's chunks are only read before its next chunk is asked for. Stopping early (return or
   * throw into the generator) drops the stream's queued work in the worker.
   */
  async *decrypt(source: AsyncIterable<Uint8Array>, init: DecryptorInit): AsyncGenerator<Uint8Array> {
    if (!this.enabled) throw new DecryptWorkerError('the decryption pool is stopped or has no workers');
    const thread = this.#thread();
    const id = this.#nextId++;
    this.#open++;
    const replies = new Replies();
    thread.streams.set(id, replies);
    thread.worker.ref(); // a read in progress keeps the process alive; an idle worker does not
    const post = (request: WorkerRequest, transfer: ArrayBuffer[] = []) =>
      thread.worker.postMessage(request, transfer);
    const posted: number[] = []; // ciphertext bytes of each request awaiting its reply
    let inFlight = 0;
    let finished = false;
    const take = async (): Promise<Uint8Array[]> => {
      const reply = await replies.next();
      inFlight -= posted.shift()!;
      if (reply.spare !== undefined) this.#keep(reply.spare);
      if (reply.error !== undefined) {
        finished = true; // the worker dropped the stream itself
        throw replyError(reply.error);
      }
      return reply.pieces!;
    };
    try {
      // The key's copy is transferred, not cloned: no copy stays behind on this thread.
      const key = new Uint8Array(init.key); // its own buffer (a Buffer's slice would be a view)
      post({ op: 'open', id, init: { ...init, key } }, [key.buffer as ArrayBuffer]);
      for await (const chunk of source) {
        if (chunk.length === 0) continue;
        const owned = this.#copy(chunk);
        post({ op: 'update', id, chunk: owned }, [owned.buffer as ArrayBuffer]); // detaches `owned`
        posted.push(chunk.length);
        inFlight += chunk.length;
        while (inFlight > this.#init.inFlightBytesMax || replies.available > 0) yield* await take();
      }
      post({ op: 'final', id });
      posted.push(0);
      while (posted.length > 0) yield* await take();
      finished = true;
    } finally {
      this.#open--;
      thread.streams.delete(id);
      if (thread.streams.size === 0) thread.worker.unref();
      if (!finished && this.#threads.includes(thread)) post({ op: 'close', id });
    }
  }

  /** `chunk` copied into the smallest spare buffer large enough, or a new one. */
  #copy(chunk: Uint8Array): Uint8Array {
    let at = -1;
    for (let i = 0; i < this.#spares.length; i++) {
      const size = this.#spares[i]!.byteLength;
      if (size >= chunk.length && (at === -1 || size < this.#spares[at]!.byteLength)) at = i;
    }
    const capacity = Math.ceil(chunk.length / spareBytesMin) * spareBytesMin;
    const buffer = at === -1 ? new ArrayBuffer(capacity) : this.#spares.splice(at, 1)[0]!;
    const owned = new Uint8Array(buffer, 0, chunk.length);
    owned.set(chunk);
    return owned;
  }

  #keep(spare: ArrayBuffer): void {
    if (spare.byteLength < spareBytesMin) return;
    if (this.#spares.length < sparesMax) {
      this.#spares.push(spare);
      return;
    }
    let smallest = 0;
    for (let i = 1; i < this.#spares.length; i++)
      if (this.#spares[i]!.byteLength < this.#spares[smallest]!.byteLength) smallest = i;
    if (this.#spares[smallest]!.byteLength < spare.byteLength) this.#spares[smallest] = spare;
  }

  #thread(): Thread {
    const at = this.#turn++ % this.#threads.length;
    return this.#threads[at] ?? this.#spawn(at);
  }

  #spawn(at: number): Thread {
    const worker = new Worker(this.#init.workerUrl ?? new URL('./decrypt-worker.js', import.meta.url));
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const thread: Thread = { worker, streams: new Map(), online: false, stats: [], settled, settle };
    worker.on('message', (reply: WorkerReply) => {
      if (reply.id === 0 && reply.ready === true) {
        thread.online = true;
        thread.settle();
      } else if (reply.id === 0) thread.stats.shift()?.(reply.open ?? 0);
      else thread.streams.get(reply.id)?.push(reply);
    });
    // The error's own text (a stack, a file path) is for the log (onBroken), not for a client.
    worker.on('error', (error) => this.#lose(at, thread, `failed (${error.name})`, error.message));
    worker.on('exit', (code) => this.#lose(at, thread, `exited with code ${code}`));
    // A reply that cannot be deserialized would leave its read waiting forever: the worker is lost.
    worker.on('messageerror', (error) => {
      this.#lose(at, thread, `sent an unreadable message: ${error.message}`);
      void worker.terminate();
    });
    this.#threads[at] = thread;
    return thread;
  }

  #lose(at: number, thread: Thread, why: string, detail?: string): void {
    if (this.#threads[at] === thread) this.#threads[at] = undefined;
    // One that never came up will not on the next try either: later reads stay on the main thread.
    if (!thread.online && !this.#stopped && this.#broken === undefined) {
      this.#broken = `the decryption worker ${why} before it started`;
      this.#init.onBroken?.(detail === undefined ? this.#broken : `${this.#broken}: ${detail}`);
    }
    this.#fail(thread, `the decryption worker ${why}`);
    for (const waiter of thread.stats.splice(0)) waiter(0);
    thread.settle();
  }

  #fail(thread: Thread, why: string): void {
    const error = new DecryptWorkerError(why);
    for (const replies of thread.streams.values()) replies.fail(error);
    thread.streams.clear();
  }
}
