import type { Counter, Gauge, Histogram, Metrics } from '@trinity/core';

interface TxMetricSet {
  readonly total: Counter;
  readonly committed: Counter;
  readonly aborted: Counter;
  readonly rolledBack: Counter;
  readonly participants: Counter;
  readonly votes: Counter;
  readonly commitAcks: Counter;
  readonly rollbacks: Counter;
  readonly duration: Histogram;
  readonly active: Gauge;
}

/** Seconds; from 1 ms (a local commit) to 60 s (a prepare that timed out). */
const durationBucketsSeconds = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * The seed's transaction statistics, kept as plain numbers and, once `registerTxMetrics` attached
 * a Metrics, exported as `trinity_tx_*`. One TxStats may be shared by a coordinator, a participant
 * and a saga runner of one node.
 */
export class TxStats {
  /** Transactions begun. */
  total = 0;
  committed = 0;
  aborted = 0;
  /** Sagas whose completed steps were all compensated. */
  rolledBack = 0;
  /** Participants (shard, node) added to transactions. */
  participants = 0;
  /** Per-shard votes received by coordinators. */
  votes = 0;
  /** Per-shard commit acknowledgements received by coordinators. */
  commitAcks = 0;
  /** Compensation runs (each attempt of each compensating step). */
  rollbacks = 0;
  /** Transactions a coordinator tracks now. */
  active = 0;
  #durationMsSum = 0;
  #durationCount = 0;
  #metrics: TxMetricSet | undefined;

  /** Mean time from begin to decision of decided transactions, in ms (0 before the first). */
  get averageDurationMs(): number {
    return this.#durationCount === 0 ? 0 : this.#durationMsSum / this.#durationCount;
  }

  began(): void {
    this.total++;
    this.#metrics?.total.inc();
  }

  addParticipants(count: number): void {
    this.participants += count;
    this.#metrics?.participants.inc(count);
  }

  addVotes(count: number): void {
    this.votes += count;
    this.#metrics?.votes.inc(count);
  }

  addCommitAcks(count: number): void {
    this.commitAcks += count;
    this.#metrics?.commitAcks.inc(count);
  }

  decided(outcome: 'committed' | 'aborted', durationMs: number): void {
    if (outcome === 'committed') {
      this.committed++;
      this.#metrics?.committed.inc();
    } else {
      this.aborted++;
      this.#metrics?.aborted.inc();
    }
    this.#durationMsSum += durationMs;
    this.#durationCount++;
    this.#metrics?.duration.observe(durationMs / 1000);
  }

  compensationRun(): void {
    this.rollbacks++;
    this.#metrics?.rollbacks.inc();
  }

  rolledBackOne(): void {
    this.rolledBack++;
    this.#metrics?.rolledBack.inc();
  }

  setActive(count: number): void {
    this.active = count;
    this.#metrics?.active.set(count);
  }

  /** A plain copy, for logs and status pages. */
  snapshot(): Record<string, number> {
    return {
      total: this.total,
      committed: this.committed,
      aborted: this.aborted,
      rolledBack: this.rolledBack,
      participants: this.participants,
      votes: this.votes,
      commitAcks: this.commitAcks,
      rollbacks: this.rollbacks,
      active: this.active,
      averageDurationMs: this.averageDurationMs,
    };
  }

  /** @internal Used by registerTxMetrics. */
  _attach(metrics: TxMetricSet): void {
    this.#metrics = metrics;
    metrics.active.set(this.active);
  }
}

/**
 * Creates the `trinity_tx_*` metrics in `metrics` and makes `stats` (a new TxStats if none is
 * given) record into them from now on. Returns the stats to hand to the coordinator and participant.
 */
export function registerTxMetrics(metrics: Metrics, stats: TxStats = new TxStats()): TxStats {
  const counter = (name: string, help: string) => metrics.counter({ name: `trinity_tx_${name}`, help });
  stats._attach({
    total: counter('total', 'Transactions begun'),
    committed: counter('committed_total', 'Transactions committed'),
    aborted: counter('aborted_total', 'Transactions aborted'),
    rolledBack: counter('rolled_back_total', 'Sagas rolled back by their compensations'),
    participants: counter('participants_total', 'Participants (shard, node) added to transactions'),
    votes: counter('votes_total', 'Per-shard votes received'),
    commitAcks: counter('commit_acks_total', 'Per-shard commit acknowledgements received'),
    rollbacks: counter('rollbacks_total', 'Compensation attempts run'),
    duration: metrics.histogram({
      name: 'trinity_tx_duration_seconds',
      help: 'Time from begin to decision',
      buckets: durationBucketsSeconds,
    }),
    active: metrics.gauge({ name: 'trinity_tx_active', help: 'Transactions a coordinator tracks now' }),
  });
  return stats;
}
