import type { Clock, Logger } from '@trinity/core';
import { Scrubber, type ScrubberConfigInput, type ShardStore } from '@trinity/storage';
import type { Startable } from '../../startable.js';

/** Told of every scrub round and every corrupt shard found (the scrub metrics, the repair loop). */
export interface ScrubEvents {
  onCorruption?(): void;
  onRound?(): void;
}

export interface ScrubStats {
  readonly rounds: number;
  readonly corruptionsFound: number;
}

export interface ScrubServiceComponents {
  readonly store: ShardStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: ScrubEvents;
}

/** The scrub service's factory: `scrubService(init)(components)`. */
export function scrubService(
  init: ScrubberConfigInput,
): (components: ScrubServiceComponents) => ScrubService {
  return (components) => new ScrubService(init, components);
}

/**
 * @trinity/storage's Scrubber over the node's shard store: re-hashes every shard at a bounded rate
 * and quarantines corrupt ones; counts its rounds and finds for `trinity status`.
 */
export class ScrubService implements Startable {
  readonly #scrubber: Scrubber;
  #rounds = 0;
  #corruptionsFound = 0;

  constructor(init: ScrubberConfigInput, components: ScrubServiceComponents) {
    this.#scrubber = new Scrubber(components.store, init, {
      clock: components.clock,
      logger: components.logger,
      onCorruption: () => {
        this.#corruptionsFound++;
        components.events?.onCorruption?.();
      },
      onReport: () => {
        this.#rounds++;
        components.events?.onRound?.();
      },
    });
  }

  start(): void {
    this.#scrubber.start();
  }

  async stop(): Promise<void> {
    await this.#scrubber.stop();
  }

  stats(): ScrubStats {
    return { rounds: this.#rounds, corruptionsFound: this.#corruptionsFound };
  }
}
