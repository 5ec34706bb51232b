import { readFile } from 'node:fs/promises';
import { multiaddr } from '@multiformats/multiaddr';
import { ConfigError, parseConfig } from '@trinity/core';
import { economicsConfigSchema, genesisSchema } from '@trinity/economics';
import { metricsConfigSchema } from '@trinity/metrics';
import {
  leavesPerChallengeDefault,
  proofLimits,
  proofWindowMsDefault,
  repairQueueConfigSchema,
  scrubberConfigSchema,
} from '@trinity/storage';
import { adaptiveRouterConfigSchema, rebalanceConfigSchema } from '@trinity/topology';
import { txConfigSchema } from '@trinity/tx';
import { hypervectorDimsMax, lockBindingDimsMin, shardLockConfigSchema } from '@trinity/vsa';
import jsonc from 'jsonc-parser';
import { z } from 'zod';
import { s3NodeConfigSchema } from './s3.js';

function isMultiaddr(value: string): boolean {
  try {
    multiaddr(value);
    return value.startsWith('/');
  } catch {
    return false;
  }
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const port = z.number().int().min(0).max(65_535);
const host = z.string().min(1).max(255);

/** Region ids: lower-case words joined by dashes (`us-east`, `south-america`, or a custom one). */
export const regionIdSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,31}$/,
    'must be a region id like "us-east" (lower-case, digits, dashes, ≤ 32 chars)',
  );

export const erasureDefaultsSchema = z
  .object({
    dataShards: z.number().int().min(1).max(128).default(4),
    parityShards: z.number().int().min(1).max(128).default(2),
    shardBytes: z
      .number()
      .int()
      .min(4096)
      .max(16 * MiB)
      .default(MiB),
    /**
     * Parity for new puts chosen from measured network health (nodes gone, failed requests) within
     * bounds; k stays `dataShards`. Off: every put uses `parityShards`.
     */
    adaptive: z
      .object({
        enabled: z.boolean().default(false),
        minParityShards: z.number().int().min(1).max(128).default(1),
        maxParityShards: z.number().int().min(1).max(128).default(4),
        targetDurability: z.number().min(0.5).max(1).default(0.999_999),
        nodeFailureProbabilityMin: z.number().min(0).max(0.5).default(0.000_1),
        downWindowMs: z
          .number()
          .int()
          .min(1_000)
          .max(7 * 86_400_000)
          .default(3_600_000),
      })
      .strict()
      .refine((a) => a.minParityShards <= a.maxParityShards, 'minParityShards must be ≤ maxParityShards')
      .prefault({}),
  })
  .strict()
  .refine((e) => e.dataShards + e.parityShards <= 256, 'dataShards + parityShards must be ≤ 256')
  .refine(
    (e) => e.dataShards + e.adaptive.maxParityShards <= 256,
    'dataShards + adaptive.maxParityShards must be ≤ 256',
  );

/** A loopback address or name: the API may listen there without TLS. */
export function isLoopbackHost(name: string): boolean {
  const bare = name.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  return (
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare) || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)
  );
}

/** A name the API answers to in `Host`: a DNS name or an IP literal, optionally with `:port`. */
const allowedHost = z
  .string()
  .min(1)
  .max(260)
  .regex(
    /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?$/,
    'must be a host name or IP like "node.example.com", "10.0.0.2:7070" or "[fd00::2]"',
  );

/** A web origin allowed to call the API from a browser: scheme, host and optional port, nothing else. */
const corsOrigin = z
  .string()
  .min(1)
  .max(260)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
    } catch {
      return false;
    }
  }, 'must be an origin like "https://app.example.com" (scheme, host, optional port; no path or slash)');

const filePath = z.string().min(1).max(4096);

/** The HTTP API: where it listens, who may call it, and the limits every request is held to. */
export const apiConfigSchema = z
  .object({
    /**
     * Address the API listens on. Anything but a loopback address needs `tlsCertFile` and `tlsKeyFile`,
     * or `insecureHttp`.
     * @defaultValue '127.0.0.1'
     */
    host: host.default('127.0.0.1'),
    /** @defaultValue 7070 */
    port: port.default(7070),
    /**
     * Names besides the loopback ones (`localhost`, `127.0.0.1`, `[::1]` at the bound port) that a
     * request's `Host` may carry; `name` matches any port, `name:port` that port only.
     * @defaultValue []
     */
    allowedHosts: z.array(allowedHost).max(64).default([]),
    /**
     * Web origins whose requests are served (with CORS headers); a request with any other `Origin`
     * is refused.
     * @defaultValue []
     */
    corsOrigins: z.array(corsOrigin).max(64).default([]),
    /** PEM certificate chain: with `tlsKeyFile`, the API is served over HTTPS. */
    tlsCertFile: filePath.optional(),
    /** PEM private key of `tlsCertFile`. */
    tlsKeyFile: filePath.optional(),
    /**
     * Serve plain HTTP on a non-loopback address anyway (a warning is logged at start).
     * @defaultValue false
     */
    insecureHttp: z.boolean().default(false),
    /**
     * The bearer token file; unset, `<dataDir>/api-token`. Created (mode 0600) when missing.
     */
    tokenFile: filePath.optional(),
    /**
     * Time a client has to send the request's headers.
     * @defaultValue 30000
     */
    headersTimeoutMs: z.number().int().min(1_000).max(600_000).default(30_000),
    /**
     * A request body that sends no byte for this long is aborted (its upload cleaned up).
     * @defaultValue 30000
     */
    bodyIdleTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(30_000),
    /**
     * Longest a request other than an object upload or download may take, answer included.
     * @defaultValue 120000
     */
    requestTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(120_000),
    /**
     * Most connections open at once; more are closed as they arrive.
     * @defaultValue 256
     */
    maxConnections: z.number().int().min(1).max(100_000).default(256),
    /** Per client address: a token bucket of requests. */
    rateLimit: z
      .object({
        /** @defaultValue 100 */
        requestsPerSecond: z.number().min(0.1).max(1_000_000).default(100),
        /** @defaultValue 200 */
        burst: z.number().int().min(1).max(1_000_000).default(200),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((api, context) => {
    if ((api.tlsCertFile === undefined) !== (api.tlsKeyFile === undefined)) {
      context.addIssue({
        code: 'custom',
        path: [api.tlsCertFile === undefined ? 'tlsCertFile' : 'tlsKeyFile'],
        message: 'tlsCertFile and tlsKeyFile go together: give both or neither',
      });
    }
    if (!isLoopbackHost(api.host) && api.tlsCertFile === undefined && !api.insecureHttp) {
      context.addIssue({
        code: 'custom',
        path: ['host'],
        message:
          'a non-loopback API address needs TLS (--tls-cert and --tls-key) or --insecure-http (plain HTTP, anyone on the network sees the token)',
      });
    }
  });

export type ApiConfig = z.output<typeof apiConfigSchema>;

/** The lock table's defaults, from @trinity/vsa (the one place they are written). */
const shardLockDefaults = parseConfig(shardLockConfigSchema, {}, 'shard lock config');

/** How a participant's lock table (@trinity/vsa ShardLockManager) binds holders to lock keys. */
const shardLocksSchema = z
  .object({
    /** SHA-256(key XOR holder) (the seed) or a bound hypervector from which the holder is unbound. */
    binding: z.enum(['sha256', 'hypervector']).default(shardLockDefaults.binding),
    /** Dimensions of the hypervector binding (read only with `binding: 'hypervector'`). */
    bindingDims: z
      .number()
      .int()
      .min(lockBindingDimsMin)
      .max(hypervectorDimsMax)
      .default(shardLockDefaults.bindingDims),
    /**
     * Wait-die: a prepare whose transaction is older (smaller id) than the one holding a lock it
     * needs waits this long for it; a younger one loses at once. 0: never wait.
     */
    waitMs: z.number().int().min(0).max(60_000).default(5_000),
  })
  .strict();

/** @trinity/economics's settings, with their bounds and defaults from the package. */
const economics = economicsConfigSchema.shape;

/**
 * The economics (@trinity/economics) as this node runs it. `genesis` and the rules below it are the
 * network's: every node of a network must use the same (they decide effects). The rest is this
 * node's own: governance automation, gossip and reports.
 */
export const economicsNodeConfigSchema = z
  .object({
    /** `--escrow`: propose proof-of-storage slashes and vote on disputed escrows automatically. */
    escrow: z.boolean().default(false),
    genesis: genesisSchema.prefault({}),
    unbondingMs: economics.unbondingMs,
    epochMs: economics.epochMs,
    rewardPerEpoch: economics.rewardPerEpoch,
    commissionBps: economics.commissionBps,
    reputationHalfLifeMs: economics.reputationHalfLifeMs,
    slashBps: economics.slashBps,
    disputeWindowMs: economics.disputeWindowMs,
    votingWindowMs: economics.votingWindowMs,
    appealWindowMs: economics.appealWindowMs,
    quorumMin: economics.quorumMin,
    quorumFractionBps: economics.quorumFractionBps,
    overturnThresholdBps: economics.overturnThresholdBps,
    voteWeighting: economics.voteWeighting,
    escrowsPerNodeMax: economics.escrowsPerNodeMax,
    settleDelayMs: economics.settleDelayMs,
    eventsMax: economics.eventsMax,
    /** Failing results of one holder from this node's own challenges that make it propose a slash… */
    posFailuresToSlash: z.number().int().min(1).max(1_000).default(3),
    /** …within this long; also the window a slash's evidence hash covers (a network setting). */
    posFailureWindowMs: z
      .number()
      .int()
      .min(1_000)
      .max(30 * 86_400_000)
      .default(3_600_000),
    /** An automatic vote upholds a slash it cannot check when the accused's reputation is below this. */
    voteUpholdReputationBelow: z.number().min(0).max(1).default(0.3),
    /** The state follows the clock, policy runs and metrics are set this often. */
    tickMs: z.number().int().min(100).max(600_000).default(1_000),
    /** Version vectors are exchanged with a random peer this often. */
    antiEntropyMs: z.number().int().min(100).max(3_600_000).default(10_000),
    /** Events waiting to be pushed to one peer; more are dropped (anti-entropy delivers them). */
    peerQueueEventsMax: z.number().int().min(16).max(1_000_000).default(4_096),
    /** Peers' uptime is reported this often (0: never). */
    uptimeReportMs: z.number().int().min(0).max(86_400_000).default(600_000),
    /** Bytes each peer served this node are reported this often (0: never). */
    bandwidthReportMs: z.number().int().min(0).max(86_400_000).default(600_000),
    /** Largest the event log file may grow. */
    logBytesMax: z
      .number()
      .int()
      .min(MiB)
      .max(2 ** 40)
      .default(GiB),
  })
  .strict();

export type EconomicsNodeConfig = z.output<typeof economicsNodeConfigSchema>;

/** Everything a node reads from its config file and flags. Every field has a default and a bound. */
export const nodeConfigSchema = z
  .object({
    dataDir: z.string().min(1).max(4096).default('.trinity/node'),
    /** Unset: the node classifies itself by RTT to nodes of known regions. */
    region: regionIdSchema.optional(),
    listen: z
      .object({ host: host.default('127.0.0.1'), port: port.default(0) })
      .strict()
      .prefault({}),
    api: apiConfigSchema.prefault({}),
    /** TLS 1.3 channel for shard bytes beside libp2p (src/p2p/data-channel.ts). */
    dataChannel: z
      .object({
        enabled: z.boolean().default(true),
        /** Unset: listen.host. */
        host: host.optional(),
        port: port.default(0),
        /** "host:port" advertised to peers (behind NAT or a wildcard host); unset: host and bound port. */
        announce: z
          .string()
          .max(256)
          .regex(/^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):\d{1,5}$/, 'must be host:port or [v6]:port')
          .optional(),
        peerInFlightBytesMax: z
          .number()
          .int()
          .min(16 * MiB)
          .max(16 * GiB)
          .default(64 * MiB),
        nodeInFlightBytesMax: z
          .number()
          .int()
          .min(16 * MiB)
          .max(64 * GiB)
          .default(256 * MiB),
      })
      .strict()
      .prefault({}),
    bootstrap: z
      .array(
        z
          .string()
          .min(1)
          .max(512)
          .refine(
            isMultiaddr,
            'must be a multiaddr like /ip4/127.0.0.1/tcp/7170 (optionally ending in /p2p/<peer id>)',
          ),
      )
      .max(64)
      .default([]),
    capacityBytes: z
      .number()
      .int()
      .min(MiB)
      .max(2 ** 50)
      .default(10 * GiB),
    erasure: erasureDefaultsSchema.prefault({}),
    limits: z
      .object({
        maxConnections: z.number().int().min(2).max(10_000).default(128),
        peerConcurrency: z.number().int().min(1).max(256).default(16),
        peerInFlightMax: z.number().int().min(1).max(4096).default(64),
        requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
        maxObjectBytes: z
          .number()
          .int()
          .min(1)
          .max(2 ** 50)
          .default(64 * GiB),
        maxStripesInFlight: z.number().int().min(1).max(64).default(6),
        decryptWorkers: z.number().int().min(0).max(8).default(1),
        decryptWorkerMinBytes: z
          .number()
          .int()
          .min(0)
          .max(2 ** 40)
          .default(8 * MiB),
        maxObjects: z.number().int().min(1).max(10_000_000).default(1_000_000),
      })
      .strict()
      .prefault({}),
    breaker: z
      .object({
        failureThreshold: z.number().int().min(1).max(100).default(3),
        baseBackoffMs: z.number().int().min(10).max(600_000).default(1_000),
        maxBackoffMs: z.number().int().min(10).max(3_600_000).default(30_000),
      })
      .strict()
      .prefault({}),
    /** The repair queue's own settings (@trinity/storage), plus the loop around it. */
    repair: repairQueueConfigSchema
      .pick({ bytesPerSecond: true, maxConcurrentStripes: true })
      .extend({
        intervalMs: z.number().int().min(100).max(86_400_000).default(30_000),
        /** How long a holder may be unreachable before its shards are rebuilt elsewhere. */
        nodeLossGraceMs: z
          .number()
          .int()
          .min(0)
          .max(7 * 86_400_000)
          .default(300_000),
      })
      .strict()
      .prefault({}),
    /**
     * Moving shards onto nodes that joined (and off over-full nodes) under the placement rules: the
     * planner's byte and move budget per interval (@trinity/topology), plus the loop around it.
     */
    rebalance: rebalanceConfigSchema
      .extend({
        enabled: z.boolean().default(false),
        intervalMs: z.number().int().min(100).max(86_400_000).default(60_000),
        /** A move's compensation (the saga's, @trinity/tx) is retried this often, then left stuck. */
        maxCompensationRetries: txConfigSchema.shape.maxCompensationRetries,
        compensationBackoffMs: txConfigSchema.shape.compensationBackoffMs,
        compensationBackoffMaxMs: txConfigSchema.shape.compensationBackoffMaxMs,
      })
      .strict()
      .prefault({}),
    /** The scrubber's settings (@trinity/storage). */
    scrub: scrubberConfigSchema.pick({ intervalMs: true, bytesPerSecond: true }).strict().prefault({}),
    /** Garbage collection of shards no object held here refers to (see services/gc). */
    gc: z
      .object({
        enabled: z.boolean().default(true),
        intervalMs: z.number().int().min(100).max(86_400_000).default(600_000),
        graceMs: z
          .number()
          .int()
          .min(0)
          .max(30 * 86_400_000)
          .default(3_600_000),
      })
      .strict()
      .prefault({}),
    /** Proof-of-storage challenges this node issues and answers (see services/pos and the README). */
    pos: z
      .object({
        enabled: z.boolean().default(true),
        intervalMs: z.number().int().min(100).max(86_400_000).default(30_000),
        perHolderMinIntervalMs: z
          .number()
          .int()
          .min(0)
          .max(7 * 86_400_000)
          .default(300_000),
        leaves: z
          .number()
          .int()
          .min(1)
          .max(proofLimits.leavesPerChallengeMax)
          .default(leavesPerChallengeDefault),
        deadlineMs: z.number().int().min(100).max(proofLimits.windowMsMax).default(proofWindowMsDefault),
        answersPerChallengerPerMinute: z.number().int().min(1).max(6_000).default(6),
      })
      .strict()
      .prefault({}),
    /** The two-phase commit's settings (@trinity/tx), plus the daemon's clean-up of orphaned uploads. */
    tx: txConfigSchema
      .pick({ statusQueryIntervalMs: true, commitRetryIntervalMs: true })
      .extend({
        /** A put's prepare follows the upload of whole stripes: the daemon waits longer than the library. */
        prepareTimeoutMs: txConfigSchema.shape.prepareTimeoutMs.unwrap().default(30_000),
        /** Each region's shards of a stripe go first to its best node (topology's bestPerRegion). */
        bestPerRegion: z.boolean().default(false),
        /** Staged data of an upload that never reached prepare is dropped after this long. */
        orphanTtlMs: z
          .number()
          .int()
          .min(1_000)
          .max(7 * 86_400_000)
          .default(1_800_000),
      })
      .strict()
      .prefault({}),
    /** The participant's lock table (@trinity/vsa). */
    shardLocks: shardLocksSchema.prefault({}),
    /** The /metrics endpoint (@trinity/metrics), on the daemon's own default port. */
    prometheus: metricsConfigSchema
      .pick({ enabled: true, host: true })
      .extend({ port: metricsConfigSchema.shape.port.unwrap().default(9464) })
      .strict()
      .prefault({}),
    /** Owners, signatures and encryption (SECURITY.md). */
    trust: z
      .object({
        /** Unset: `<dataDir>/owner.key`, created at first start. */
        ownerKeyFile: z.string().min(1).max(4096).optional(),
        peerStagedBytesMax: z
          .number()
          .int()
          .min(MiB)
          .max(2 ** 50)
          .default(4 * GiB),
        segmentBytes: z
          .number()
          .int()
          .min(4096)
          .max(16 * MiB)
          .default(256 * 1024),
        tombstoneRetentionMs: z
          .number()
          .int()
          .min(3_600_000)
          .max(365 * 86_400_000)
          .default(30 * 86_400_000),
        /** How often a node asks two peers which of the objects it holds were deleted (anti-entropy). */
        tombstoneSyncMs: z.number().int().min(1_000).max(86_400_000).default(60_000),
        /**
         * Back from a restart, how often a node tries that first sync until peers answer: it checks
         * each object with peers before serving it meanwhile.
         */
        tombstoneCatchUpMs: z.number().int().min(1_000).max(86_400_000).default(5_000),
        intentLifetimeMs: z.number().int().min(60_000).max(86_400_000).default(3_600_000),
      })
      .strict()
      .prefault({}),
    /** The S3-compatible gateway (src/s3): off unless enabled (`--s3-port`). */
    s3: s3NodeConfigSchema.prefault({}),
    regionTopology: z.boolean().default(true),
    /**
     * Read routing with region topology on. `static`: the router's fixed weights, peers' ping RTTs.
     * `adaptive`: @trinity/topology's AdaptiveRegionRouter, fed each shard fetch's latency and
     * outcome by the read path, learning which weight set earns the best fetches.
     */
    routing: z
      .object({
        mode: z.enum(['static', 'adaptive']).default('static'),
        adaptive: adaptiveRouterConfigSchema
          .pick({ policy: true, forgetting: true, discount: true, exploration: true, rewardScaleMs: true })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    semantic: z.boolean().default(false),
    /** Staking, reputation, slashing and escrow (@trinity/economics). */
    economics: economicsNodeConfigSchema.prefault({}),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /** Test and devnet aid: fsync can be turned off for throwaway data. Never off for real data. */
    fsync: z.boolean().default(true),
  })
  .strict();

export type NodeConfig = z.output<typeof nodeConfigSchema>;
export type NodeConfigInput = z.input<typeof nodeConfigSchema>;

/** Parses and validates a node config, throwing ConfigError with one readable line. */
export function parseNodeConfig(input: unknown): NodeConfig {
  return parseConfig(nodeConfigSchema, input, 'node config');
}

/** At most this many bytes of config file are read. */
const configFileBytesMax = 1024 * 1024;

/** Where `offset` falls in `text`, counted from 1 as editors do. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

/**
 * The object a config file holds. The file is JSONC: JSON with // and /* *\/ comments and trailing
 * commas (`trinity node init` writes one). A syntax error is a ConfigError naming file, line and column.
 */
export function parseConfigText(path: string, text: string): Record<string, unknown> {
  const errors: jsonc.ParseError[] = [];
  const value: unknown = jsonc.parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first !== undefined) {
    const { line, column } = lineAndColumn(text, first.offset);
    const what = jsonc.printParseErrorCode(first.error);
    const where = `line ${line}, column ${column}`;
    throw new ConfigError(`config file ${path} is not valid JSONC: ${what} at ${where}`, [
      { path: '', rule: `JSONC syntax: ${what}`, received: where },
    ]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`, [
      { path: '', rule: 'must be an object', received: Array.isArray(value) ? 'array' : typeof value },
    ]);
  }
  return value as Record<string, unknown>;
}

/** Reads a JSON or JSONC config file, then lays `overrides` (from flags) over it, then validates the whole. */
export async function loadNodeConfig(
  path: string | undefined,
  overrides: Record<string, unknown>,
): Promise<NodeConfig> {
  let fromFile: Record<string, unknown> = {};
  if (path !== undefined) {
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new Error(`cannot read config file ${path}: ${error.code ?? error.message}`);
    });
    if (text.length > configFileBytesMax) throw new Error(`config file ${path} is larger than 1 MiB`);
    fromFile = parseConfigText(path, text);
  }
  return parseNodeConfig(deepMerge(fromFile, overrides));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `overrides` laid over `base`, objects merged key by key; undefined values in overrides are ignored. */
export function deepMerge(
  base: Record<string, unknown>,
  overrides: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}
