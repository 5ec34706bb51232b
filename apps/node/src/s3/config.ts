import type { ConfigOutput } from '@trinity/core';
import { z } from 'zod';

/**
 * Settings of the S3 gateway. Every field has a default and every number a bound; the daemon parses
 * its `s3` config section with `parseConfig(s3GatewayConfigSchema, …)` once, at construction.
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
