import type { z } from 'zod';
import { nodeConfigSchema, parseNodeConfig } from './config.js';

/** What one key of the node config is, and the `trinity node start` flag that sets it, if any. */
export interface KeyComment {
  readonly what: string;
  readonly flag?: string;
}

/**
 * One line per leaf key of the node config, by dotted path. Bounds are read from the schema, so only
 * what a key means and its flag are written here. `configTemplate` refuses a key missing from this
 * table, so a key added to the schema without a comment fails the tests.
 */
export const configKeyComments: Readonly<Record<string, KeyComment>> = {
  dataDir: { what: 'shards, manifests, transaction log, identity key, semantic index', flag: '--data-dir' },
  region: {
    what: 'this node\'s region (e.g. "us-east"); unset, the node classifies itself by RTT',
    flag: '--region',
  },
  'listen.host': { what: 'peer-to-peer TCP address', flag: '--listen-host' },
  'listen.port': { what: 'peer-to-peer TCP port (0 picks a free one)', flag: '--listen-port' },
  'dataChannel.enabled': {
    what: 'move shard bytes over a TLS 1.3 data channel beside libp2p (libp2p where a peer has none)',
  },
  'dataChannel.host': { what: 'data channel address; unset: listen.host' },
  'dataChannel.port': { what: 'data channel TCP port (0 picks a free one)' },
  'dataChannel.announce': {
    what: '"host:port" peers reach the data channel at (NAT, wildcard host); unset: host and bound port',
  },
  'dataChannel.peerInFlightBytesMax': {
    what: 'data channel bytes in flight with one peer, each way (bodies under 64 KiB: 1 MiB more)',
  },
  'dataChannel.nodeInFlightBytesMax': {
    what: 'data channel bytes in flight with all peers, each way (bodies under 64 KiB: 16 MiB more)',
  },
  'api.host': { what: 'HTTP API address', flag: '--api-host' },
  'api.port': { what: 'HTTP API port (0 picks a free one)', flag: '--api-port' },
  'api.allowedHosts': {
    what: 'names a request\'s Host may carry besides localhost, 127.0.0.1 and [::1] ("name" any port, "name:port")',
    flag: '--api-allowed-host (repeatable)',
  },
  'api.corsOrigins': {
    what: 'web origins allowed to call the API (CORS); a request from any other Origin is refused',
    flag: '--api-cors-origin (repeatable)',
  },
  'api.tlsCertFile': { what: 'PEM certificate: serve the API over HTTPS', flag: '--tls-cert' },
  'api.tlsKeyFile': { what: 'PEM private key of the certificate', flag: '--tls-key' },
  'api.insecureHttp': {
    what: 'allow plain HTTP on a non-loopback api.host (logs a warning)',
    flag: '--insecure-http',
  },
  'api.tokenFile': {
    what: 'bearer token file (mode 0600, created when missing); unset: <dataDir>/api-token',
    flag: '--api-token-file',
  },
  'api.headersTimeoutMs': { what: "time a client has to send a request's headers" },
  'api.bodyIdleTimeoutMs': { what: 'a request body idle this long is aborted and its upload cleaned up' },
  'api.requestTimeoutMs': { what: 'longest a request other than an object upload or download may take' },
  'api.maxConnections': { what: 'most API connections open at once' },
  'api.rateLimit.requestsPerSecond': { what: 'requests per second per client address (token bucket)' },
  'api.rateLimit.burst': { what: 'requests a client address may make at once before being limited' },
  bootstrap: {
    what: 'multiaddrs of peers to join through, e.g. "/ip4/10.0.0.2/tcp/7170"',
    flag: '--bootstrap (repeatable)',
  },
  capacityBytes: { what: 'shard store capacity in bytes', flag: '--capacity' },
  'erasure.dataShards': { what: 'k of RS(k, m) for new objects; k + m ≤ 256' },
  'erasure.parityShards': { what: 'm of RS(k, m): shards that may be lost; k + m ≤ 256' },
  'erasure.shardBytes': {
    what: 'largest shard size; each object gets the smallest multiple of 4 KiB that fills as few stripes',
  },
  'erasure.adaptive.enabled': {
    what: 'choose the parity of new puts from measured network health (nodes gone, failed requests); k stays dataShards',
  },
  'erasure.adaptive.minParityShards': { what: 'least parity adaptive erasure chooses' },
  'erasure.adaptive.maxParityShards': { what: 'most parity adaptive erasure chooses' },
  'erasure.adaptive.targetDurability': { what: 'probability a stripe must survive one repair window' },
  'erasure.adaptive.nodeFailureProbabilityMin': {
    what: 'failure probability of a node assumed when the network shows none',
  },
  'erasure.adaptive.downWindowMs': { what: 'how long a node that left counts as failed' },
  'limits.maxConnections': { what: 'libp2p connection limit' },
  'limits.peerConcurrency': { what: 'requests in flight per peer' },
  'limits.peerInFlightMax': { what: 'requests one peer may have in flight here; more are refused' },
  'limits.requestTimeoutMs': { what: 'timeout of one request to a peer' },
  'limits.maxObjectBytes': { what: 'largest object accepted' },
  'limits.maxStripesInFlight': { what: 'stripes being stored or fetched at once per object' },
  'limits.decryptWorkers': {
    what: 'worker threads decrypting large encrypted reads beside the main thread (0: on it)',
  },
  'limits.decryptWorkerMinBytes': {
    what: 'encrypted reads of less ciphertext are decrypted on the main thread',
  },
  'limits.maxObjects': {
    what: 'most objects this node is to hold (validated, not yet enforced by the daemon)',
  },
  'breaker.failureThreshold': { what: "failures in a row that open a peer's circuit breaker" },
  'breaker.baseBackoffMs': { what: 'first back-off of an open breaker' },
  'breaker.maxBackoffMs': { what: 'longest back-off of an open breaker' },
  'repair.bytesPerSecond': { what: 'repair bandwidth' },
  'repair.maxConcurrentStripes': { what: 'stripes being repaired at once' },
  'repair.intervalMs': { what: 'how often the repair loop looks for lost shards' },
  'repair.nodeLossGraceMs': { what: 'how long a holder may be unreachable before its shards are rebuilt' },
  'rebalance.enabled': {
    what: 'move shards onto nodes that join (and off over-full ones) under the placement rules',
  },
  'rebalance.intervalMs': {
    what: 'how often the rebalancer plans; a peer joining or leaving starts a round at once',
  },
  'rebalance.maxBytesPerInterval': {
    what: 'byte budget of shard moves per interval; the rest waits for the next',
  },
  'rebalance.maxMovesPerInterval': { what: 'most shard moves per interval, whatever their size' },
  'rebalance.maxCompensationRetries': {
    what: 'a failed undo of a shard move (releasing the new copy) is retried this many times, then left',
  },
  'rebalance.compensationBackoffMs': { what: 'first delay before retrying an undo; doubles each time' },
  'rebalance.compensationBackoffMaxMs': { what: 'longest delay between two retries of an undo' },
  'scrub.intervalMs': { what: 'how often the scrubber starts a pass over stored shards' },
  'gc.enabled': { what: 'delete shards that no object held here refers to' },
  'gc.intervalMs': { what: 'how often the garbage collector sweeps' },
  'gc.graceMs': { what: 'how long a shard stays unreferenced before it is deleted' },
  'scrub.bytesPerSecond': { what: 'scrubber read bandwidth' },
  'pos.enabled': {
    what: 'issue proof-of-storage challenges to other holders (challenges are answered either way)',
  },
  'pos.intervalMs': { what: 'how often this node issues one proof-of-storage challenge' },
  'pos.perHolderMinIntervalMs': { what: 'this node challenges one holder at most once per this long' },
  'pos.leaves': { what: 'leaves of the shard asked per challenge' },
  'pos.deadlineMs': {
    what: 'an answer arriving later than this after the challenge fails (a holder fetching the bytes on demand must not pass)',
  },
  'pos.answersPerChallengerPerMinute': {
    what: 'challenges answered per challenger per minute; more are refused',
  },
  'tx.statusQueryIntervalMs': { what: "how often an in-doubt participant asks for a transaction's outcome" },
  'tx.commitRetryIntervalMs': { what: 'how often a coordinator resends an unacknowledged commit' },
  'tx.prepareTimeoutMs': { what: 'how long a put waits for every prepare vote' },
  'tx.bestPerRegion': {
    what: "a stripe's shards in each region go first to that region's best node (latency, reputation, locality), so a put's participants are the best node per region",
  },
  'shardLocks.binding': {
    what: 'how a lock binds its holder: "sha256" (SHA-256 of key XOR holder) or "hypervector" (bound hypervectors, @trinity/vsa)',
  },
  'shardLocks.bindingDims': { what: 'dimensions of the hypervector binding' },
  'shardLocks.waitMs': {
    what: "how long a put's prepare waits for a younger put's lock on the same object (wait-die; 0: never)",
  },
  'tx.orphanTtlMs': {
    what: 'staged data whose upload stopped renewing its lease (stalled, or its coordinator died) is dropped after this',
  },
  'prometheus.enabled': { what: 'serve Prometheus metrics at /metrics', flag: '--prometheus-http' },
  'prometheus.host': { what: 'address of the metrics endpoint' },
  'prometheus.port': {
    what: 'port of the metrics endpoint (0 picks a free one)',
    flag: '--prometheus-http-port',
  },
  'trust.ownerKeyFile': {
    what: 'the owner key this node acts for (unset: <dataDir>/owner.key, created at first start)',
    flag: '--owner-key',
  },
  'trust.peerStagedBytesMax': { what: 'most bytes one peer may have staged here in unfinished puts' },
  'trust.segmentBytes': { what: 'plaintext bytes per AES-256-GCM segment of new encrypted objects' },
  'trust.tombstoneRetentionMs': { what: 'how long a delete is remembered (and the object refused)' },
  'trust.tombstoneSyncMs': { what: 'how often a node asks peers which of the objects it holds were deleted' },
  'trust.tombstoneCatchUpMs': {
    what: 'back from a restart, how often it tries its first such sync until answered',
  },
  'trust.intentLifetimeMs': { what: "how long an owner's put intent authorizes stores" },
  's3.enabled': { what: 'serve the S3-compatible gateway', flag: '--s3-port' },
  's3.host': { what: 'address of the S3 gateway (loopback, or a trusted network behind TLS)' },
  's3.port': { what: 'port of the S3 gateway (0 picks a free one)', flag: '--s3-port' },
  's3.region': { what: 'the region S3 clients sign for' },
  's3.baseDomain': { what: 'virtual-host-style requests: <bucket>.<baseDomain> (empty: path style only)' },
  's3.requestHeaderBytesMax': { what: 'most bytes of headers in one S3 request' },
  's3.xmlBodyBytesMax': {
    what: 'largest XML body of an S3 request (DeleteObjects, CompleteMultipartUpload)',
  },
  's3.concurrentRequestsMax': { what: 'S3 requests served at once; more get 503' },
  's3.headersTimeoutMs': { what: "time an S3 client has to send a request's headers" },
  's3.keepAliveTimeoutMs': { what: 'idle keep-alive S3 connections are closed after this' },
  's3.idleTimeoutMs': { what: 'an S3 connection moving no byte for this long is closed' },
  's3.abandonedUploadMs': { what: 'multipart uploads older than this are aborted and their parts freed' },
  's3.uploadSweepIntervalMs': { what: 'how often abandoned multipart uploads are looked for' },
  's3.index': {
    what: 'where buckets and keys live: "network" (seen by every gateway of the same owner) or "local" (this node only)',
  },
  's3.orphanedPieceGraceMs': {
    what: 'a piece the gateway stored that no index entry refers to for this long is deleted',
  },
  regionTopology: {
    what: 'region-aware placement and routing (false: shards over distinct nodes, reads by RTT)',
    flag: '--region-topology / --no-region-topology',
  },
  'routing.mode': {
    what: '"static": fixed router weights and ping RTTs; "adaptive": a router that learns from every shard fetch',
  },
  'routing.adaptive.policy': {
    what: 'adaptive router: "least-squares" fit of fetch reward, or a "bandit" over the weight sets',
  },
  'routing.adaptive.forgetting': { what: 'adaptive router, least squares: per-fetch forgetting factor' },
  'routing.adaptive.discount': { what: 'adaptive router, bandit: per-fetch discount of past rewards' },
  'routing.adaptive.exploration': { what: 'adaptive router, bandit: exploration strength' },
  'routing.adaptive.rewardScaleMs': {
    what: 'adaptive router: a fetch of this latency earns half the reward of an instant one',
  },
  semantic: { what: 'fingerprint stored shards and answer semantic queries', flag: '--semantic' },
  'economics.escrow': {
    what: 'take part in slashing escrow governance automatically: propose proof-of-storage slashes, vote on disputed escrows',
    flag: '--escrow',
  },
  'economics.genesis.timeMs': {
    what: 'network setting: time of genesis (epochs count from it); every node of a network uses the same genesis',
  },
  'economics.genesis.rewardPool': {
    what: 'network setting: tokens in the reward pool at genesis (base units)',
  },
  'economics.genesis.accounts': {
    what: 'network setting: initial accounts, [{ "id": <node key, 64 hex>, "balance": "<base units>", "stake": "<base units>" }]',
  },
  'economics.unbondingMs': {
    what: 'network setting: unstaked or undelegated tokens are withdrawable this long after',
  },
  'economics.epochMs': { what: 'network setting: length of a reward epoch' },
  'economics.rewardPerEpoch': {
    what: 'network setting: paid from the reward pool at each epoch end (base units)',
  },
  'economics.commissionBps': {
    what: "network setting: an operator's commission until it sets one (basis points)",
  },
  'economics.reputationHalfLifeMs': {
    what: 'network setting: the weight of old reputation evidence halves this often',
  },
  'economics.slashBps.pos-failure': {
    what: 'network setting: slash for a proof-of-storage failure, in bps of bonded stake',
  },
  'economics.slashBps.data-corruption': {
    what: 'network setting: slash for data corruption, in bps of bonded stake',
  },
  'economics.slashBps.downtime': { what: 'network setting: slash for downtime, in bps of bonded stake' },
  'economics.slashBps.protocol-violation': {
    what: 'network setting: slash for a protocol violation, in bps of bonded stake',
  },
  'economics.disputeWindowMs': {
    what: 'network setting: the accused may dispute an escrow this long; undisputed, it executes',
  },
  'economics.votingWindowMs': { what: 'network setting: a dispute (or appeal) is voted on this long' },
  'economics.appealWindowMs': {
    what: 'network setting: a decision may be appealed this long (0: no appeals)',
  },
  'economics.quorumMin': { what: 'network setting: votes a round needs at least' },
  'economics.quorumFractionBps': {
    what: 'network setting: quorum as a share of eligible voters (the larger applies)',
  },
  'economics.overturnThresholdBps': { what: 'network setting: share of votes that overturns a slash' },
  'economics.voteWeighting': { what: 'network setting: one vote per node, or votes weighted by stake' },
  'economics.escrowsPerNodeMax': { what: 'network setting: escrows one node may have open at once' },
  'economics.settleDelayMs': {
    what: "network setting: peers' events wait this long past their time before they apply",
  },
  'economics.eventsMax': { what: 'economics events held (and logged) at most' },
  'economics.posFailuresToSlash': {
    what: "failing results of one holder (any challengers', one of them this node's) that make it propose a slash (with economics.escrow)",
  },
  'economics.posFailureWindowMs': {
    what: 'network setting: the window those failures count in, and that a slash evidence hash covers',
  },
  'economics.voteUpholdReputationBelow': {
    what: "an automatic vote upholds a slash it cannot check when the accused's reputation is below this",
  },
  'economics.tickMs': {
    what: 'the state follows the clock (deadlines, epochs), policy runs and metrics are set this often',
  },
  'economics.antiEntropyMs': {
    what: 'economics version vectors are exchanged with a random peer this often',
  },
  'economics.peerQueueEventsMax': {
    what: 'events waiting to be pushed to one peer; more are dropped (anti-entropy delivers them)',
  },
  'economics.uptimeReportMs': { what: "peers' uptime is reported (signed events) this often; 0: never" },
  'economics.bandwidthReportMs': {
    what: 'bytes each peer served this node are reported this often; 0: never',
  },
  'economics.logBytesMax': { what: 'largest the economics event log may grow' },
  logLevel: { what: 'pino JSON logs on stdout', flag: '--log-level' },
  fsync: { what: 'fsync writes; turn off only for throwaway test data' },
};

/** Keys the default config leaves unset, written commented out with an example value. */
const unsetExamples: Readonly<Record<string, unknown>> = {
  region: 'us-east',
  'trust.ownerKeyFile': '/etc/trinity/owner.key',
  'api.tlsCertFile': '/etc/trinity/api-cert.pem',
  'api.tlsKeyFile': '/etc/trinity/api-key.pem',
  'api.tokenFile': '/etc/trinity/api-token',
  'dataChannel.host': '0.0.0.0',
  'dataChannel.announce': '203.0.113.7:7171',
};

type Schema = z.ZodType;

/** The schema under defaults, prefaults and optionals. */
function unwrap(schema: Schema): Schema {
  let inner = schema;
  for (let depth = 0; depth < 8; depth++) {
    const def = inner._zod.def as { type: string; innerType?: Schema };
    if ((def.type === 'default' || def.type === 'prefault' || def.type === 'optional') && def.innerType)
      inner = def.innerType;
    else break;
  }
  return inner;
}

function shapeOf(schema: Schema): Record<string, Schema> | undefined {
  const inner = unwrap(schema) as Schema & { shape?: Record<string, Schema> };
  return inner._zod.def.type === 'object' ? inner.shape : undefined;
}

const KiB = 1024;
const units: readonly [number, string][] = [
  [KiB ** 5, 'PiB'],
  [KiB ** 4, 'TiB'],
  [KiB ** 3, 'GiB'],
  [KiB ** 2, 'MiB'],
  [KiB, 'KiB'],
];
const durations: readonly [number, string][] = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1_000, 's'],
];

/** Amounts (bigint) are written as decimal strings, which the config reads back exactly. */
function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** `n` with a readable form beside it for byte counts and milliseconds: `1048576 (1 MiB)`. */
function readable(key: string, n: number): string {
  const table = /Ms$/.test(key) ? durations : /[bB]ytes/.test(key) ? units : [];
  for (const [size, unit] of table) {
    if (n >= size && n % size === 0) return `${n} (${n / size} ${unit})`;
  }
  return String(n);
}

/** The bounds of a leaf as the schema states them, e.g. `1..128` or `one of a | b`. */
function boundsOf(key: string, schema: Schema): string | undefined {
  const inner = unwrap(schema) as Schema & {
    minValue?: number | null;
    maxValue?: number | null;
    minLength?: number | null;
    maxLength?: number | null;
    options?: readonly string[];
  };
  switch (inner._zod.def.type) {
    case 'number': {
      const { minValue: min, maxValue: max } = inner;
      if (min == null || max == null || !Number.isFinite(min) || !Number.isFinite(max)) return undefined;
      return `range ${readable(key, min)} to ${readable(key, max)}`;
    }
    case 'string':
      return inner.maxLength == null ? undefined : `${inner.minLength ?? 0} to ${inner.maxLength} characters`;
    case 'enum':
      return inner.options === undefined ? undefined : `one of ${inner.options.join(' | ')}`;
    case 'boolean':
      return 'true or false';
    case 'array': {
      const checks = (inner._zod.def as { checks?: { _zod: { def: { maximum?: number } } }[] }).checks ?? [];
      const max = checks.map((c) => c._zod.def.maximum).find((m) => m !== undefined);
      return max === undefined ? undefined : `at most ${max} entries`;
    }
    default:
      return undefined;
  }
}

function commentLine(path: string, schema: Schema, value: unknown): string {
  const comment = configKeyComments[path];
  if (comment === undefined) throw new Error(`config key ${path} has no comment in configKeyComments`);
  const bounds = boundsOf(path, schema);
  const parts = [
    comment.what,
    ...(bounds === undefined ? [] : [bounds]),
    ...(typeof value === 'number' && readable(path, value) !== String(value)
      ? [`default ${readable(path, value)}`]
      : []),
    ...(comment.flag === undefined ? [] : [`flag ${comment.flag}`]),
  ];
  return `// ${parts.join('; ')}.`;
}

function render(
  value: Record<string, unknown>,
  shape: Record<string, Schema>,
  prefix: string,
  indent: string,
  out: string[],
): void {
  const keys = Object.keys(shape);
  const present = keys.filter((key) => value[key] !== undefined);
  for (const key of keys) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const schema = shape[key] as Schema;
    const child = value[key];
    const isLast = key === present[present.length - 1];
    const comma = isLast ? '' : ',';
    const nested = shapeOf(schema);
    if (child === undefined) {
      if (!(path in unsetExamples)) throw new Error(`config key ${path} has no default and no example`);
      out.push(`${indent}${commentLine(path, schema, undefined)}`);
      out.push(`${indent}// ${JSON.stringify(key)}: ${JSON.stringify(unsetExamples[path])},`);
    } else if (nested !== undefined) {
      out.push(`${indent}${JSON.stringify(key)}: {`);
      render(child as Record<string, unknown>, nested, path, `${indent}  `, out);
      out.push(`${indent}}${comma}`);
    } else {
      out.push(`${indent}${commentLine(path, schema, child)}`);
      out.push(`${indent}${JSON.stringify(key)}: ${JSON.stringify(child, bigintAsString)}${comma}`);
    }
  }
}

/**
 * The commented config file `trinity node init` writes: every key of the node config at its default
 * (read from the schema, so defaults live in one place), each under a one-line comment saying what
 * it is, its bounds and its flag. It is JSONC, which `loadNodeConfig` reads.
 */
export function configTemplate(): string {
  const defaults = parseNodeConfig({}) as unknown as Record<string, unknown>;
  const out = [
    '// Trinity node config (JSONC: // and /* */ comments and trailing commas are allowed).',
    '// Every key is shown at its default; delete a key to keep its default. Flags of',
    '// `trinity node start` override this file. Reference: apps/node/README.md, "Configuration".',
    '{',
  ];
  render(defaults, nodeConfigSchema.shape as Record<string, Schema>, '', '  ', out);
  out.push('}', '');
  return out.join('\n');
}

/** Dotted paths of every leaf key of the schema (objects are walked, arrays are leaves). */
export function configLeafKeys(): string[] {
  const keys: string[] = [];
  const walk = (shape: Record<string, Schema>, prefix: string) => {
    for (const [key, schema] of Object.entries(shape)) {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      const nested = shapeOf(schema);
      if (nested === undefined) keys.push(path);
      else walk(nested, path);
    }
  };
  walk(nodeConfigSchema.shape as Record<string, Schema>, '');
  return keys;
}
