import { Agent } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import { type Clock, noopLogger, SystemClock } from '@trinity/core';
import type { S3GatewayConfigInput } from '../../src/s3/config.js';
import { S3Gateway } from '../../src/s3/gateway.js';
import { InMemoryAccessKeyStore, InMemoryS3Backend, InMemoryS3Index } from '../../src/s3/memory.js';

export const accessKeyId = 'TRINITYTESTKEY000001';
export const secretAccessKey = 'trinity-test-secret-0123456789abcdefghij';
export const owner = 'a'.repeat(64);
export const otherAccessKeyId = 'TRINITYTESTKEY000002';
export const otherSecret = 'trinity-other-secret-0123456789abcdefghi';
export const otherOwner = 'b'.repeat(64);

/** Real time plus an adjustable offset, so a test can move the gateway's clock past an expiry. */
export class OffsetClock implements Clock {
  offsetMs = 0;
  readonly #inner = new SystemClock();
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }
  setTimeout(callback: () => void, delayMs: number) {
    return this.#inner.setTimeout(callback, delayMs);
  }
  clearTimeout(handle: Parameters<Clock['clearTimeout']>[0]): void {
    this.#inner.clearTimeout(handle);
  }
}

export interface TestGateway {
  readonly gateway: S3Gateway;
  readonly backend: InMemoryS3Backend;
  readonly index: InMemoryS3Index;
  readonly clock: OffsetClock;
  readonly endpoint: string;
  client(options?: {
    accessKeyId?: string;
    secretAccessKey?: string;
    endpoint?: string;
    forcePathStyle?: boolean;
    /** Connect every host name to the gateway (virtual-host style without DNS). */
    resolveToGateway?: boolean;
  }): S3Client;
  stop(): Promise<void>;
}

/** A gateway on a loopback port over the in-memory backend, with two owners' access keys. */
export async function startTestGateway(
  baseDomain = '',
  config: Omit<S3GatewayConfigInput, 'port' | 'baseDomain'> = {},
): Promise<TestGateway> {
  const backend = new InMemoryS3Backend();
  const index = new InMemoryS3Index();
  const keys = new InMemoryAccessKeyStore();
  keys.add(accessKeyId, secretAccessKey, owner);
  keys.add(otherAccessKeyId, otherSecret, otherOwner);
  const clock = new OffsetClock();
  const gateway = new S3Gateway(
    { ...config, port: 0, baseDomain },
    { backend, index, accessKeys: keys, clock, logger: noopLogger },
  );
  await gateway.start();
  const endpoint = `http://127.0.0.1:${gateway.port}`;
  const clients: S3Client[] = [];
  return {
    gateway,
    backend,
    index,
    clock,
    endpoint,
    client(options = {}) {
      const client = new S3Client({
        endpoint: options.endpoint ?? endpoint,
        region: 'us-east-1',
        forcePathStyle: options.forcePathStyle ?? true,
        credentials: {
          accessKeyId: options.accessKeyId ?? accessKeyId,
          secretAccessKey: options.secretAccessKey ?? secretAccessKey,
        },
        maxAttempts: 1,
        ...(options.resolveToGateway
          ? {
              requestHandler: {
                httpAgent: new Agent({
                  // Every name resolves to loopback, so `<bucket>.s3.test` reaches the gateway.
                  lookup: ((_host: string, _opts: unknown, callback: (...args: unknown[]) => void) =>
                    callback(null, [{ address: '127.0.0.1', family: 4 }])) as never,
                } as ConstructorParameters<typeof Agent>[0]),
              },
            }
          : {}),
      });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await gateway.stop();
    },
  };
}

/** Deterministic, non-zero test bytes. */
export function patternBytes(sizeBytes: number, seed: number): Buffer {
  const out = Buffer.alloc(sizeBytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < sizeBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
