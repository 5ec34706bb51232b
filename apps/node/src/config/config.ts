import { readFile } from 'node:fs/promises';
import { multiaddr } from '@multiformats/multiaddr';
import { parseConfig } from '@trinity/core';
import { z } from 'zod';

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
  })
  .strict()
  .refine((e) => e.dataShards + e.parityShards <= 256, 'dataShards + parityShards must be ≤ 256');

/** Everything a node reads from its config file and flags. Every field has a default and a bound. */
export const nodeConfigSchema = z
  .object({
    dataDir: z.string().min(1).max(4096).default('.trinity/node'),
    /** Unset: the node classifies itself by RTT to nodes of known regions. */
    region: regionIdSchema.optional(),
    listen: z
      .object({ host: host.default('127.0.0.1'), port: port.default(0) })
      .strict()
      .default({ host: '127.0.0.1', port: 0 }),
    api: z
      .object({ host: host.default('127.0.0.1'), port: port.default(7070) })
      .strict()
      .default({ host: '127.0.0.1', port: 7070 }),
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
    erasure: erasureDefaultsSchema.default({ dataShards: 4, parityShards: 2, shardBytes: MiB }),
    limits: z
      .object({
        maxConnections: z.number().int().min(2).max(10_000).default(128),
        peerConcurrency: z.number().int().min(1).max(256).default(16),
        requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
        maxObjectBytes: z
          .number()
          .int()
          .min(1)
          .max(2 ** 50)
          .default(64 * GiB),
        maxStripesInFlight: z.number().int().min(1).max(64).default(6),
        maxObjects: z.number().int().min(1).max(10_000_000).default(1_000_000),
      })
      .strict()
      .default({
        maxConnections: 128,
        peerConcurrency: 16,
        requestTimeoutMs: 30_000,
        maxObjectBytes: 64 * GiB,
        maxStripesInFlight: 6,
        maxObjects: 1_000_000,
      }),
    breaker: z
      .object({
        failureThreshold: z.number().int().min(1).max(100).default(3),
        baseBackoffMs: z.number().int().min(10).max(600_000).default(1_000),
        maxBackoffMs: z.number().int().min(10).max(3_600_000).default(30_000),
      })
      .strict()
      .default({ failureThreshold: 3, baseBackoffMs: 1_000, maxBackoffMs: 30_000 }),
    repair: z
      .object({
        intervalMs: z.number().int().min(100).max(86_400_000).default(30_000),
        bytesPerSecond: z
          .number()
          .int()
          .min(64 * 1024)
          .max(10 * GiB)
          .default(64 * MiB),
        maxConcurrentStripes: z.number().int().min(1).max(64).default(4),
        /** How long a holder may be unreachable before its shards are rebuilt elsewhere. */
        nodeLossGraceMs: z
          .number()
          .int()
          .min(0)
          .max(7 * 86_400_000)
          .default(300_000),
      })
      .strict()
      .default({
        intervalMs: 30_000,
        bytesPerSecond: 64 * MiB,
        maxConcurrentStripes: 4,
        nodeLossGraceMs: 300_000,
      }),
    scrub: z
      .object({
        intervalMs: z
          .number()
          .int()
          .min(100)
          .max(7 * 86_400_000)
          .default(3_600_000),
        bytesPerSecond: z
          .number()
          .int()
          .min(64 * 1024)
          .max(10 * GiB)
          .default(32 * MiB),
      })
      .strict()
      .default({ intervalMs: 3_600_000, bytesPerSecond: 32 * MiB }),
    tx: z
      .object({
        /** A put not fully voted this long after prepare is aborted. */
        prepareTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
        /** A prepared participant that heard nothing asks the coordinator this often. */
        statusQueryIntervalMs: z.number().int().min(10).max(600_000).default(1_000),
        /** The coordinator resends prepare/commit to silent participants this often. */
        commitRetryIntervalMs: z.number().int().min(10).max(600_000).default(1_000),
        /** Staged data of an upload that never reached prepare is dropped after this long. */
        orphanTtlMs: z
          .number()
          .int()
          .min(1_000)
          .max(7 * 86_400_000)
          .default(1_800_000),
      })
      .strict()
      .default({
        prepareTimeoutMs: 30_000,
        statusQueryIntervalMs: 1_000,
        commitRetryIntervalMs: 1_000,
        orphanTtlMs: 1_800_000,
      }),
    prometheus: z
      .object({
        enabled: z.boolean().default(false),
        host: host.default('127.0.0.1'),
        port: port.default(9464),
      })
      .strict()
      .default({ enabled: false, host: '127.0.0.1', port: 9464 }),
    regionTopology: z.boolean().default(true),
    semantic: z.boolean().default(false),
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

/** Reads a JSON config file, then lays `overrides` (from flags) over it, then validates the whole. */
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
    try {
      fromFile = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`config file ${path} is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      throw new Error(`config file ${path} must hold a JSON object`);
    }
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
