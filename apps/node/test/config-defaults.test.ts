import { scrubberConfigSchema } from '@trinity/storage';
import { describe, expect, it } from 'vitest';
import { parseNodeConfig } from '../src/config/config.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('node config composed from the packages’ schemas', () => {
  it('keeps every default the daemon documents (README table)', () => {
    expect(parseNodeConfig({})).toEqual({
      dataDir: '.trinity/node',
      listen: { host: '127.0.0.1', port: 0 },
      api: {
        host: '127.0.0.1',
        port: 7070,
        allowedHosts: [],
        corsOrigins: [],
        insecureHttp: false,
        headersTimeoutMs: 30_000,
        bodyIdleTimeoutMs: 30_000,
        requestTimeoutMs: 120_000,
        maxConnections: 256,
        rateLimit: { requestsPerSecond: 100, burst: 200 },
      },
      dataChannel: {
        enabled: true,
        port: 0,
        peerInFlightBytesMax: 64 * MiB,
        nodeInFlightBytesMax: 256 * MiB,
      },
      bootstrap: [],
      capacityBytes: 10 * GiB,
      erasure: {
        dataShards: 4,
        parityShards: 2,
        shardBytes: MiB,
        adaptive: {
          enabled: false,
          minParityShards: 1,
          maxParityShards: 4,
          targetDurability: 0.999_999,
          nodeFailureProbabilityMin: 0.000_1,
          downWindowMs: 3_600_000,
        },
      },
      limits: {
        maxConnections: 128,
        peerConcurrency: 16,
        peerInFlightMax: 64,
        requestTimeoutMs: 30_000,
        maxObjectBytes: 64 * GiB,
        maxStripesInFlight: 6,
        decryptWorkers: 1,
        decryptWorkerMinBytes: 8 * MiB,
        maxObjects: 1_000_000,
      },
      breaker: { failureThreshold: 3, baseBackoffMs: 1_000, maxBackoffMs: 30_000 },
      repair: {
        intervalMs: 30_000,
        bytesPerSecond: 64 * MiB,
        maxConcurrentStripes: 4,
        nodeLossGraceMs: 300_000,
      },
      rebalance: {
        enabled: false,
        intervalMs: 60_000,
        maxBytesPerInterval: GiB,
        maxMovesPerInterval: 100_000,
        maxCompensationRetries: 3,
        compensationBackoffMs: 100,
        compensationBackoffMaxMs: 5_000,
      },
      scrub: { intervalMs: 3_600_000, bytesPerSecond: 32 * MiB },
      gc: { enabled: true, intervalMs: 600_000, graceMs: 3_600_000 },
      pos: {
        enabled: true,
        intervalMs: 30_000,
        perHolderMinIntervalMs: 300_000,
        leaves: 64,
        deadlineMs: 2_000,
        answersPerChallengerPerMinute: 6,
      },
      tx: {
        prepareTimeoutMs: 30_000,
        statusQueryIntervalMs: 1_000,
        commitRetryIntervalMs: 1_000,
        bestPerRegion: false,
        orphanTtlMs: 1_800_000,
      },
      shardLocks: { binding: 'sha256', bindingDims: 1024, waitMs: 5_000 },
      prometheus: { enabled: false, host: '127.0.0.1', port: 9464 },
      trust: {
        peerStagedBytesMax: 4 * GiB,
        segmentBytes: 256 * 1024,
        tombstoneRetentionMs: 30 * 86_400_000,
        tombstoneSyncMs: 60_000,
        tombstoneCatchUpMs: 5_000,
        intentLifetimeMs: 3_600_000,
      },
      s3: {
        enabled: false,
        host: '127.0.0.1',
        port: 9000,
        region: 'us-east-1',
        baseDomain: '',
        requestHeaderBytesMax: 16 * 1024,
        xmlBodyBytesMax: 2 * MiB,
        concurrentRequestsMax: 256,
        headersTimeoutMs: 60_000,
        keepAliveTimeoutMs: 5_000,
        idleTimeoutMs: 120_000,
        abandonedUploadMs: 7 * 86_400_000,
        uploadSweepIntervalMs: 3_600_000,
        orphanedPieceGraceMs: 86_400_000,
        index: 'network',
      },
      regionTopology: true,
      routing: {
        mode: 'static',
        adaptive: {
          policy: 'least-squares',
          forgetting: 0.999,
          discount: 0.995,
          exploration: 0.25,
          rewardScaleMs: 100,
        },
      },
      semantic: false,
      economics: {
        escrow: false,
        genesis: { timeMs: 0, rewardPool: 0n, accounts: [] },
        unbondingMs: 7 * 86_400_000,
        epochMs: 3_600_000,
        rewardPerEpoch: 1_000_000n,
        commissionBps: 1_000,
        reputationHalfLifeMs: 7 * 86_400_000,
        slashBps: { 'pos-failure': 100, 'data-corruption': 500, downtime: 50, 'protocol-violation': 1_000 },
        disputeWindowMs: 86_400_000,
        votingWindowMs: 86_400_000,
        appealWindowMs: 86_400_000,
        quorumMin: 5,
        quorumFractionBps: 1_000,
        overturnThresholdBps: 6_670,
        voteWeighting: 'node',
        escrowsPerNodeMax: 10,
        settleDelayMs: 2_000,
        eventsMax: 2_000_000,
        posFailuresToSlash: 3,
        posFailureWindowMs: 3_600_000,
        voteUpholdReputationBelow: 0.3,
        tickMs: 1_000,
        antiEntropyMs: 10_000,
        peerQueueEventsMax: 4_096,
        uptimeReportMs: 600_000,
        bandwidthReportMs: 600_000,
        logBytesMax: GiB,
      },
      logLevel: 'info',
      fsync: true,
    });
  });

  it('fills the defaults of a section given in part', () => {
    const config = parseNodeConfig({ tx: { orphanTtlMs: 5_000 }, scrub: { intervalMs: 1_000 } });
    expect(config.tx).toEqual({
      prepareTimeoutMs: 30_000,
      statusQueryIntervalMs: 1_000,
      commitRetryIntervalMs: 1_000,
      bestPerRegion: false,
      orphanTtlMs: 5_000,
    });
    expect(config.scrub).toEqual({ intervalMs: 1_000, bytesPerSecond: 32 * MiB });
  });

  it('takes its bounds from the package that owns the setting', () => {
    // The scrubber's own upper bound on its interval, not one the daemon re-declared.
    const max = 30 * 24 * 3_600_000;
    expect(scrubberConfigSchema.parse({ intervalMs: max }).intervalMs).toBe(max);
    expect(parseNodeConfig({ scrub: { intervalMs: max } }).scrub.intervalMs).toBe(max);
    expect(() => parseNodeConfig({ scrub: { intervalMs: max + 1 } })).toThrow(/scrub\.intervalMs/);
    expect(() => parseNodeConfig({ scrub: { burstBytes: 1 } })).toThrow(/scrub/);
    expect(() => parseNodeConfig({ prometheus: { port: 70_000 } })).toThrow(/prometheus\.port/);
    expect(() => parseNodeConfig({ s3: { port: 70_000 } })).toThrow(/s3\.port/);
    expect(() => parseNodeConfig({ s3: { bogus: 1 } })).toThrow(/s3/);
    // The economics rules' bounds are @trinity/economics's own.
    expect(() => parseNodeConfig({ economics: { quorumMin: 0 } })).toThrow(/economics\.quorumMin/);
    expect(() => parseNodeConfig({ economics: { genesis: { accounts: [{ id: 'xyz' }] } } })).toThrow(
      /economics\.genesis\.accounts/,
    );
    expect(parseNodeConfig({ economics: { rewardPerEpoch: '5' } }).economics.rewardPerEpoch).toBe(5n);
  });
});
