import type { Counter, Gauge, Histogram, Metrics } from '@trinity/core';
import type { MetricKind } from './names.js';

/** One metric of the trinity_* set. `seedName` is the seed's name where ours differs (Prometheus conventions). */
export interface MetricDefinition {
  readonly name: string;
  readonly kind: MetricKind;
  readonly help: string;
  readonly labelNames?: readonly string[];
  readonly buckets?: readonly number[];
  readonly seedName?: string;
}

type Extra = Pick<MetricDefinition, 'labelNames' | 'buckets' | 'seedName'>;

function define<K extends MetricKind>(kind: K) {
  return (name: string, help: string, extra: Extra = {}): MetricDefinition & { readonly kind: K } => ({
    name,
    kind,
    help,
    ...extra,
  });
}
const counter = define('counter');
const gauge = define('gauge');
const histogram = define('histogram');

/**
 * The trinity_* metric set: the seed's 18 (renamed where Prometheus conventions demand: counters end
 * in _total, gauges do not, units last) plus transactions, locks, repair, escrow and routing.
 * Durations are in seconds and sizes in bytes, Prometheus's base units.
 */
export const TRINITY_METRICS = {
  // The seed's 18 (v2.0 NetworkHealthReport).
  nodes: gauge('trinity_nodes', 'Nodes known in the network.', { seedName: 'trinity_node_count' }),
  shardsStored: gauge('trinity_shards_stored', 'Shards held by this node.', {
    seedName: 'trinity_shards_total',
  }),
  storageUsedBytes: gauge('trinity_storage_used_bytes', 'Bytes of shard data stored.', {
    seedName: 'trinity_storage_bytes_used',
  }),
  storageAvailableBytes: gauge('trinity_storage_available_bytes', 'Bytes of storage still free.', {
    seedName: 'trinity_storage_bytes_available',
  }),
  posChallengesIssued: counter('trinity_pos_challenges_issued_total', 'Proof-of-storage challenges issued.', {
    seedName: 'trinity_pos_challenges_issued',
  }),
  posChallengesPassed: counter(
    'trinity_pos_challenges_passed_total',
    'Proof-of-storage challenges answered correctly.',
    {
      seedName: 'trinity_pos_challenges_passed',
    },
  ),
  posChallengesFailed: counter(
    'trinity_pos_challenges_failed_total',
    'Proof-of-storage challenges failed or unanswered.',
    {
      seedName: 'trinity_pos_challenges_failed',
    },
  ),
  reputationAvg: gauge('trinity_reputation_avg', 'Mean reputation of known nodes, 0 to 1.'),
  reputationMin: gauge('trinity_reputation_min', 'Lowest reputation of known nodes, 0 to 1.'),
  reputationMax: gauge('trinity_reputation_max', 'Highest reputation of known nodes, 0 to 1.'),
  bandwidthUploadBytes: counter('trinity_bandwidth_upload_bytes_total', 'Bytes sent to peers.'),
  bandwidthDownloadBytes: counter('trinity_bandwidth_download_bytes_total', 'Bytes received from peers.'),
  scrubRounds: counter('trinity_scrub_rounds_total', 'Completed scrub passes over the shard store.', {
    seedName: 'trinity_scrub_rounds',
  }),
  scrubCorruptions: counter('trinity_scrub_corruptions_total', 'Shards found corrupt by the scrubber.'),
  shardsRepaired: counter('trinity_shards_repaired_total', 'Shards rebuilt by repair.'),
  slashingEvents: counter('trinity_slashing_events_total', 'Slashing events by reason.', {
    labelNames: ['reason'],
  }),
  stakedTokens: gauge(
    'trinity_staked_tokens',
    'Tokens staked on this node, in base units (float: exact to 2^53).',
  ),
  peersConnected: gauge('trinity_peers_connected', 'Peers with an open connection.'),
  // Transactions (2PC).
  txStarted: counter('trinity_tx_started_total', 'Transactions begun by this coordinator.'),
  txCommitted: counter('trinity_tx_committed_total', 'Transactions committed.'),
  txAborted: counter('trinity_tx_aborted_total', 'Transactions aborted.'),
  txRolledBack: counter('trinity_tx_rolled_back_total', 'Committed work compensated by rollback.'),
  txActive: gauge('trinity_tx_active', 'Transactions in flight.'),
  txDurationSeconds: histogram('trinity_tx_duration_seconds', 'Time from begin to commit or abort.'),
  // Shard locks.
  locksHeld: gauge('trinity_locks_held', 'Shard locks currently held.'),
  lockAcquisitions: counter('trinity_lock_acquisitions_total', 'Lock requests by result.', {
    labelNames: ['result'],
  }),
  locksExpired: counter('trinity_locks_expired_total', 'Locks that expired before release.'),
  lockStaleTokenRejections: counter(
    'trinity_lock_stale_token_rejections_total',
    'Writes rejected for carrying a stale fencing token.',
  ),
  // Repair.
  repairQueueStripes: gauge('trinity_repair_queue_stripes', 'Stripes waiting for repair.'),
  repairBytes: counter('trinity_repair_bytes_total', 'Bytes written by repair.'),
  repairFailures: counter('trinity_repair_failures_total', 'Repair attempts that failed.'),
  repairDurationSeconds: histogram('trinity_repair_duration_seconds', 'Time to repair one stripe.'),
  // Rebalancing (shards moved onto joined nodes, each move a saga).
  rebalanceMoves: counter(
    'trinity_rebalance_moves_total',
    'Shard moves by outcome (moved, compensated, stuck).',
    {
      labelNames: ['outcome'],
    },
  ),
  rebalanceBytesMoved: counter(
    'trinity_rebalance_bytes_moved_total',
    'Bytes of shards moved by the rebalancer.',
  ),
  // Garbage collection.
  leakedShardBytes: gauge(
    'trinity_leaked_shard_bytes',
    'Bytes of shards held here that no object refers to (collected once the grace period ends).',
  ),
  gcShardsCollected: counter(
    'trinity_gc_shards_collected_total',
    'Unreferenced shards deleted by the collector.',
  ),
  gcBytesCollected: counter(
    'trinity_gc_bytes_collected_total',
    'Bytes of unreferenced shards deleted by the collector.',
  ),
  gcSweepsSkipped: counter(
    'trinity_gc_sweeps_skipped_total',
    'Collector sweeps that deleted nothing because a descriptor held here could not be read.',
  ),
  // Escrow and governance.
  escrowsPending: gauge('trinity_escrows_pending', 'Slashing escrows inside their dispute window.'),
  escrowDisputes: counter('trinity_escrow_disputes_total', 'Disputes filed against slashes.'),
  escrowVotes: counter('trinity_escrow_votes_total', 'Governance votes cast on disputes.'),
  escrowResolutions: counter('trinity_escrow_resolutions_total', 'Escrows resolved, by outcome.', {
    labelNames: ['outcome'],
  }),
  escrowLowParticipationAlerts: counter(
    'trinity_escrow_low_participation_alerts_total',
    'Escrow voting rounds extended because fewer eligible voters existed than the quorum.',
  ),
  // Routing and placement.
  regionNodes: gauge('trinity_region_nodes', 'Nodes known per region.', { labelNames: ['region'] }),
  routeDecisions: counter(
    'trinity_route_decisions_total',
    'Routing decisions by locality of the chosen node.',
    {
      labelNames: ['locality'],
    },
  ),
  routeDecisionSeconds: histogram('trinity_route_decision_seconds', 'Time to make one routing decision.', {
    buckets: [0.000_001, 0.000_01, 0.000_1, 0.001, 0.01, 0.1],
  }),
  fetchDurationSeconds: histogram('trinity_fetch_duration_seconds', 'Time to fetch one shard from a peer.'),
  fetchFailures: counter('trinity_fetch_failures_total', 'Shard fetches that failed or timed out.'),
  placementFallbacks: counter(
    'trinity_placement_fallbacks_total',
    'Stripes placed under a relaxed rule, by rule.',
    {
      labelNames: ['rule'],
    },
  ),
  peerRttSeconds: histogram('trinity_peer_rtt_seconds', 'Ping round-trip times to peers.'),
} as const satisfies Record<string, MetricDefinition>;

type Handle<K extends MetricKind> = K extends 'counter' ? Counter : K extends 'gauge' ? Gauge : Histogram;

/** The trinity_* metrics, typed: `nodeMetrics.txCommitted.inc()`. */
export type NodeMetrics = {
  readonly [K in keyof typeof TRINITY_METRICS]: Handle<(typeof TRINITY_METRICS)[K]['kind']>;
};

/**
 * Defines every trinity_* metric on any core `Metrics` (PrometheusMetrics in the daemon, MemoryMetrics
 * in tests) and returns them typed. Calling it twice on one Metrics returns the same metrics.
 */
export function registerTrinityMetrics(metrics: Metrics): NodeMetrics {
  const out: Record<string, Counter | Gauge | Histogram> = {};
  for (const [key, definition] of Object.entries(TRINITY_METRICS) as [string, MetricDefinition][]) {
    const options = { name: definition.name, help: definition.help, labelNames: definition.labelNames ?? [] };
    if (definition.kind === 'counter') out[key] = metrics.counter(options);
    else if (definition.kind === 'gauge') out[key] = metrics.gauge(options);
    else
      out[key] = metrics.histogram({
        ...options,
        ...(definition.buckets ? { buckets: definition.buckets } : {}),
      });
  }
  return out as NodeMetrics;
}
