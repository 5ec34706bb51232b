import type { ConfigOutput } from '@trinity/core';
import { z } from 'zod';

/**
 * Settings of the S3 gateway itself (`S3Gateway`). Every field has a default and every number a
 * bound; the gateway parses them once, at construction.
 */
export const s3GatewayConfigSchema = z
  .object({
    /** Interface to listen on; the gateway is meant for loopback or a trusted network behind TLS. */
    host: z.string().min(1).max(255).default('127.0.0.1'),
    /** 0 picks a free port (see `S3Gateway.port`). */
    port: z.number().int().min(0).max(65_535).default(0),
    /** The region clients must sign for; GetBucketLocation answers it. */
    region: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/)
      .default('us-east-1'),
    /**
     * Virtual-host-style requests: `Host: <bucket>.<baseDomain>` names the bucket. Empty: path style
     * only. A request to the base domain itself (or any other host) is path style.
     */
    baseDomain: z
      .string()
      .max(200)
      .regex(/^$|^[a-z0-9.-]+$/)
      .default(''),
    /** All request headers together (node:http `maxHeaderSize`). S3's own limit is 8 KiB. */
    requestHeaderBytesMax: z
      .number()
      .int()
      .min(8 * 1024)
      .max(64 * 1024)
      .default(16 * 1024),
    /** XML request bodies (DeleteObjects, CompleteMultipartUpload, CreateBucket). */
    xmlBodyBytesMax: z
      .number()
      .int()
      .min(64 * 1024)
      .max(8 * 1024 * 1024)
      .default(2 * 1024 * 1024),
    /** Requests served at once; more are answered 503 SlowDown-style (ServiceUnavailable). */
    concurrentRequestsMax: z.number().int().min(1).max(10_000).default(256),
    /** Idle socket and slow-header guards (node:http). */
    headersTimeoutMs: z.number().int().min(1000).max(600_000).default(60_000),
    keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(5000),
    /** A connection with no bytes either way for this long is closed (a stalled upload frees its slot). */
    idleTimeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
  })
  .strict();

export type S3GatewayConfig = ConfigOutput<typeof s3GatewayConfigSchema>;
export type S3GatewayConfigInput = z.input<typeof s3GatewayConfigSchema>;

/**
 * The node config's `s3` section: the gateway's settings, whether the node serves it at all (off by
 * default; `--s3-port` turns it on), and the sweep of abandoned multipart uploads.
 */
export const s3NodeConfigSchema = s3GatewayConfigSchema.extend({
  /** Serve the S3 gateway. */
  enabled: z.boolean().default(false),
  /**
   * Where buckets and keys live: `network` (every gateway of the same owner sees them: an
   * owner-signed head on a replica group naming a snapshot stored as a Trinity object) or `local`
   * (this node's own log, `<dataDir>/s3/index.log`; other nodes do not see it).
   */
  index: z.enum(['network', 'local']).default('network'),
  /** 0 picks a free port (written to ready.json as `s3Url`). */
  port: z.number().int().min(0).max(65_535).default(9000),
  /** A multipart upload neither completed nor aborted for this long is aborted and its parts freed. */
  abandonedUploadMs: z
    .number()
    .int()
    .min(60_000)
    .max(365 * 86_400_000)
    .default(7 * 86_400_000),
  /** How often the node looks for abandoned uploads (and orphaned pieces). */
  uploadSweepIntervalMs: z.number().int().min(1_000).max(86_400_000).default(3_600_000),
  /**
   * A piece this gateway stored that no index entry has referred to for this long (a crash between
   * storing it and indexing it, or between an overwrite and freeing the old one) is deleted.
   */
  orphanedPieceGraceMs: z
    .number()
    .int()
    .min(60_000)
    .max(30 * 86_400_000)
    .default(86_400_000),
});

export type S3NodeConfig = z.output<typeof s3NodeConfigSchema>;

/** The gateway's own settings out of the node's `s3` section. */
export function gatewaySettings(config: S3NodeConfig): S3GatewayConfigInput {
  const {
    enabled: _enabled,
    index: _index,
    abandonedUploadMs: _age,
    uploadSweepIntervalMs: _interval,
    orphanedPieceGraceMs: _grace,
    ...gateway
  } = config;
  return gateway;
}
