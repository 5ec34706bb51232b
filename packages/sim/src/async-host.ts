import type { Clock, TimerHandle } from '@trinity/core';
import { assertInt, assertNumber } from '@trinity/core';
import type { Topology } from '@trinity/topology';
import { SimLimitError, SimRpcError } from './errors.js';
import { type NetworkConfig, SimNetwork } from './network.js';
import type { SimRandom } from './random.js';
import type { RunEnd, Scheduler } from './scheduler.js';

/**
 * Runs asynchronous code (a daemon's services: promises, awaits) under the scheduler's virtual time,
 * deterministically. Every event of the host's kinds pauses the run after its handler, and the host
 * lets every promise continuation that event started run to the end before the next event, so the
 * interleaving is a function of the seed alone. The code under test must not wait on anything
 * outside the simulation (real disks, sockets, host timers): the host cannot see those, and a run
 * that used them would not replay.
 */
export class AsyncSimHost {
  readonly scheduler: Scheduler;

  constructor(scheduler: Scheduler) {
    this.scheduler = scheduler;
  }

  /** Registers an event kind whose handler may start asynchronous work. */
  register(name: string, handler: (target: number, datum: number, payload: unknown) => void): number {
    return this.scheduler.register(name, (target, datum, payload) => {
      handler(target, datum, payload);
      this.scheduler.stop();
    });
  }

  /** Pauses the run after the current event (for handlers registered elsewhere, e.g. a network's delivery). */
  pause(): void {
    this.scheduler.stop();
  }

  /** Runs events up to `untilMs`, settling each event's asynchronous work before the next. */
  async run(untilMs = Number.POSITIVE_INFINITY): Promise<RunEnd> {
    for (;;) {
      const end = this.scheduler.run(untilMs);
      await settle();
      if (end !== 'stopped') return end;
    }
  }

  /**
   * Runs `action` (asynchronous work started outside an event) to its end: events run, each settled
   * as in `run`, while it waits on virtual time (a timer, a reply). Throws SimLimitError when no
   * event is left and it has not finished (it waits on something outside the simulation).
   */
  async act<T>(action: () => Promise<T>): Promise<T> {
    let done = false;
    const running = action().finally(() => {
      done = true;
    });
    running.catch(() => {}); // observed below
    for (;;) {
      await settle();
      if (done) return running;
      const end = this.scheduler.run();
      if (end !== 'stopped') {
        await settle();
        if (done) return running;
        throw new SimLimitError(`an action did not finish and the simulation ended (${end})`);
      }
    }
  }
}

/** Lets every pending promise continuation run: one turn of the host's event loop. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A `Clock` on the scheduler's virtual time (whole milliseconds); timers are scheduler events. */
export class SchedulerClock implements Clock {
  readonly #host: AsyncSimHost;
  readonly #kind: number;
  readonly #timers = new Map<number, () => void>();
  #nextId = 1;

  constructor(host: AsyncSimHost) {
    this.#host = host;
    this.#kind = host.register('clock-timer', (_target, id) => {
      const callback = this.#timers.get(id);
      if (callback === undefined) return;
      this.#timers.delete(id);
      callback();
    });
  }

  nowMs(): number {
    return Math.floor(this.#host.scheduler.nowMs);
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    assertNumber(delayMs, 'delayMs', 0);
    const id = this.#nextId++;
    this.#timers.set(id, callback);
    this.#host.scheduler.after(delayMs, this.#kind, 0, id);
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }
}

/** Answers a call: the reply, or a thrown error the caller receives as a refusal. */
export type SimRpcHandler<Req, Rep> = (from: number, request: Req) => Promise<Rep>;

type Wire<Req, Rep> =
  | { readonly kind: 'request'; readonly id: number; readonly request: Req }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly reply: Rep }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: string };

export interface SimRpcInit<Req, Rep> {
  readonly host: AsyncSimHost;
  readonly clock: SchedulerClock;
  readonly random: SimRandom;
  readonly topology: Topology;
  readonly regionOf: readonly number[];
  readonly config?: Partial<NetworkConfig>;
  /** A message's size on the simulated wire (its transmission time). */
  readonly sizeOf: (message: Req | Rep) => number;
}

/**
 * Request and reply between simulated nodes over a `SimNetwork` (its latency, faults, partitions
 * and down nodes): `call` resolves with the peer handler's reply, or rejects with a `SimRpcError`
 * when the peer refused it or no reply came within the timeout (lost either way, or a down peer).
 */
export class SimRpc<Req, Rep> {
  readonly network: SimNetwork<Wire<Req, Rep>>;
  readonly #init: SimRpcInit<Req, Rep>;
  readonly #handlers = new Map<number, SimRpcHandler<Req, Rep>>();
  readonly #waiting = new Map<
    number,
    { resolve: (reply: Rep) => void; reject: (error: Error) => void; timer: TimerHandle }
  >();
  #nextId = 1;

  constructor(init: SimRpcInit<Req, Rep>) {
    this.#init = init;
    this.network = new SimNetwork<Wire<Req, Rep>>({
      scheduler: init.host.scheduler,
      random: init.random,
      topology: init.topology,
      regionOf: init.regionOf,
      config: init.config,
      deliver: (to, from, message) => {
        this.#arrive(to, from, message);
        init.host.pause();
      },
    });
  }

  /** Sets (or, with undefined, removes) the handler of node `node`'s calls. */
  serve(node: number, handler: SimRpcHandler<Req, Rep> | undefined): void {
    if (handler === undefined) this.#handlers.delete(node);
    else this.#handlers.set(node, handler);
  }

  call(from: number, to: number, request: Req, timeoutMs: number): Promise<Rep> {
    assertInt(to, 'to', 0, this.network.nodeCount - 1);
    assertNumber(timeoutMs, 'timeoutMs', 0);
    const id = this.#nextId++;
    return new Promise<Rep>((resolve, reject) => {
      const timer = this.#init.clock.setTimeout(() => {
        this.#waiting.delete(id);
        reject(new SimRpcError('timeout', `no reply from node ${to} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, { resolve, reject, timer });
      this.network.send(from, to, { kind: 'request', id, request }, this.#init.sizeOf(request));
    });
  }

  #arrive(to: number, from: number, message: Wire<Req, Rep>): void {
    if (message.kind === 'reply') {
      const waiting = this.#waiting.get(message.id);
      if (waiting === undefined) return; // timed out, or a duplicate
      this.#waiting.delete(message.id);
      this.#init.clock.clearTimeout(waiting.timer);
      if (message.ok) waiting.resolve(message.reply);
      else waiting.reject(new SimRpcError('refused', message.error));
      return;
    }
    const handler = this.#handlers.get(to);
    if (handler === undefined) return; // nothing listens: the caller times out
    const { id } = message;
    handler(from, message.request).then(
      (reply) =>
        this.network.send(to, from, { kind: 'reply', id, ok: true, reply }, this.#init.sizeOf(reply)),
      (error: unknown) =>
        this.network.send(to, from, { kind: 'reply', id, ok: false, error: (error as Error).message }, 64),
    );
  }
}
