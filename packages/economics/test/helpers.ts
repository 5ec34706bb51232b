import { seededRandom } from '@trinity/core';
import {
  type ApplyResult,
  type EconomicsConfigInput,
  type EconomicsEvent,
  EconomicsState,
  type EventBody,
  EventSigner,
} from '../src/index.js';

/** `n` deterministic key pairs (secret keys from a seeded generator: test keys, never real ones). */
export function signers(n: number, seed = 1): EventSigner[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => new EventSigner(random.bytes(32)));
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/**
 * A small network for tests: signers, one state, and a clock the test moves. Every node starts with
 * `balance` liquid and `stake` staked unless `genesis` says otherwise.
 */
export class TestNet {
  readonly nodes: EventSigner[];
  readonly state: EconomicsState;
  nowMs = 1_000;

  constructor(
    n: number,
    options: { balance?: bigint; stake?: bigint; config?: EconomicsConfigInput; seed?: number } = {},
  ) {
    this.nodes = signers(n, options.seed ?? 1);
    const accounts = this.nodes.map((node) => ({
      id: node.nodeId,
      balance: options.balance ?? 1_000_000n,
      stake: options.stake ?? 100_000n,
    }));
    this.state = new EconomicsState({
      config: {
        settleDelayMs: 0,
        ...options.config,
        genesis: { timeMs: 0, rewardPool: 0n, accounts, ...options.config?.genesis },
      },
    });
  }

  id(i: number): string {
    return this.nodes[i]!.nodeId;
  }

  /** Node `i` signs `body` now and the state applies it. */
  emit(i: number, body: EventBody): ApplyResult & { event: EconomicsEvent } {
    // The test clock follows the hybrid logical clock, so every event settles as it is applied.
    this.nowMs = this.state.nextTimeMs(this.nowMs);
    const event = this.nodes[i]!.sign(body, this.nowMs);
    return { ...this.state.apply(event, { nowMs: this.nowMs }), event };
  }

  /** Like `emit`, and fails the test unless the event took effect. */
  ok(i: number, body: EventBody): EconomicsEvent {
    const { outcome, rejection, event } = this.emit(i, body);
    if (outcome !== 'applied') throw new Error(`${body.type} by node ${i} rejected: ${rejection}`);
    return event;
  }

  advance(ms: number): void {
    this.nowMs += ms;
    this.state.advanceTo(this.nowMs);
  }
}

export const evidence = (n: number) => n.toString(16).padStart(64, '0');
