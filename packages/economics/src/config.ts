import { z } from 'zod';

/** Largest amount any balance, stake or event may carry, in base units: 2^96 - 1. The genesis supply is bounded by it, so no sum overflows. */
export const AMOUNT_MAX = (1n << 96n) - 1n;
/** Largest encoded event (header, body and signature); a peer's bytes longer than this are refused before decoding. */
export const EVENT_BYTES_MAX = 256;
/** Accounts a genesis may list. */
export const GENESIS_ACCOUNTS_MAX = 100_000;
/** Basis points: 10,000 is 100 %. */
export const BPS = 10_000;

const ms = (min: number, max: number, fallback: number) =>
  z.number().int().min(min).max(max).default(fallback);
const bps = (fallback: number) => z.number().int().min(0).max(BPS).default(fallback);
const count = (min: number, max: number, fallback: number) =>
  z.number().int().min(min).max(max).default(fallback);

/** An amount in base units: a bigint, a safe non-negative integer, or a decimal string (config files are JSON). */
export const amountSchema = z
  .union([
    z.bigint(),
    z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    z.string().regex(/^(0|[1-9][0-9]{0,28})$/, 'a decimal integer string'),
  ])
  .transform((value) => BigInt(value))
  .refine((value) => value >= 0n && value <= AMOUNT_MAX, `an amount in [0, 2^96 - 1]`);

/** A node id: the lower-case hex of its 32-byte ed25519 public key. */
export const nodeIdSchema = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex characters');

const hour = 3_600_000;
const day = 24 * hour;

/** Initial balances and stakes: the devnet writes one; every node of a network must use the same. */
export const genesisSchema = z
  .object({
    /** Time of genesis: epochs and reputation decay steps count from here. */
    timeMs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /** Tokens held by the reward pool, paid out epoch by epoch. */
    rewardPool: amountSchema.default(0n),
    accounts: z
      .array(
        z
          .object({
            id: nodeIdSchema,
            balance: amountSchema.default(0n),
            /** Self-bonded stake: an account with at least `operatorStakeMin` is an operator. */
            stake: amountSchema.default(0n),
          })
          .strict(),
      )
      .max(GENESIS_ACCOUNTS_MAX)
      .default([])
      .refine(
        (accounts) => new Set(accounts.map((a) => a.id)).size === accounts.length,
        'ids must be distinct',
      ),
  })
  .strict()
  .refine(
    // Zod runs this refinement even when a field failed; such a genesis is refused for that field already.
    (g) =>
      !g.accounts.every((a) => typeof a.balance === 'bigint' && typeof a.stake === 'bigint') ||
      typeof g.rewardPool !== 'bigint' ||
      g.accounts.reduce((sum, a) => sum + a.balance + a.stake, g.rewardPool) <= AMOUNT_MAX,
    'total supply must be at most 2^96 - 1',
  );

/** Slash size per reason, in basis points of the accused's bonded stake (own and delegated). */
const slashBpsSchema = z
  .object({
    'pos-failure': bps(100),
    'data-corruption': bps(500),
    downtime: bps(50),
    'protocol-violation': bps(1_000),
  })
  .strict();

/** Settings of `EconomicsState`. Every field has a default; every node of a network must use the same. */
export const economicsConfigSchema = z
  .object({
    genesis: genesisSchema.default({ timeMs: 0, rewardPool: 0n, accounts: [] }),

    // Staking and delegation.
    /** Stake unstaked or undelegated can be withdrawn this long after (by the time of the unbonding event). */
    unbondingMs: ms(0, 365 * day, 7 * day),
    /** Unbonding entries an account may have at once. */
    unbondingEntriesMax: count(1, 1_024, 32),
    /** Self-stake an account needs to be an operator: to take delegations and earn rewards. */
    operatorStakeMin: amountSchema.default(1n),
    /** Operators one account may delegate to at once. */
    delegationsPerAccountMax: count(1, 1_024, 64),
    /** Delegators one operator may have. */
    delegatorsPerOperatorMax: count(1, 1_000_000, 10_000),
    /** Commission of an operator that never set one, in basis points of its rewards. */
    commissionBps: bps(1_000),
    /** Highest commission an operator may set. */
    commissionMaxBps: bps(5_000),

    // Rewards.
    /** Length of a reward epoch; epoch k ends at genesis.timeMs + (k + 1) * epochMs. */
    epochMs: ms(1_000, 365 * day, hour),
    /** Paid from the reward pool at the end of each epoch (less when the pool holds less). */
    rewardPerEpoch: amountSchema.default(1_000_000n),
    /** Epoch ends handled in one step when events are far apart; the epochs beyond are not paid (the pool keeps them). */
    epochsCatchUpMax: count(1, 100_000, 1_000),

    // Reputation.
    /** Weight of old evidence halves every this long. */
    reputationHalfLifeMs: ms(16, 10 * 365 * day, 7 * day),
    /** Weights of the proof-of-storage pass rate, uptime and bandwidth in a score; they sum to 10,000. */
    reputationPosWeightBps: bps(5_000),
    reputationUptimeWeightBps: bps(3_000),
    reputationBandwidthWeightBps: bps(2_000),
    /** Neutral observations every rate starts with (at a score of 0.5), so that little evidence moves a score little. */
    reputationPriorObservations: count(0, 1_000, 2),
    /** Bandwidth (decayed KiB served to one reporter) at which the bandwidth term is 0.5. */
    reputationBandwidthHalfKiB: count(1, 1 << 30, 1 << 20),
    /**
     * A node whose slash executed (upheld, or undisputed) within `reputationSlashedMs` scores at most
     * `reputationSlashedCapBps` / 10,000, whatever its other evidence: the network's verdict outweighs
     * the passes it earned before it cheated (and a node that dropped its shards is no longer
     * challenged for them once they are re-placed, so its pass rate alone would stay high).
     */
    reputationSlashedCapBps: bps(1_000),
    reputationSlashedMs: ms(0, 10 * 365 * day, 7 * day),
    /** Largest bandwidth one report may claim. */
    bandwidthReportBytesMax: z
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .default(2 ** 40),
    /** Stake a reporter needs for its reports to count in reputation consensus and to propose a slash. */
    reporterStakeMin: amountSchema.default(1n),
    /** (reporter, subject) pairs of reputation evidence held. */
    evidencePairsMax: count(1, 100_000_000, 1_000_000),

    // Slashing and escrow (seed v2.0).
    slashBps: slashBpsSchema.default({
      'pos-failure': 100,
      'data-corruption': 500,
      downtime: 50,
      'protocol-violation': 1_000,
    }),
    /** The accused may dispute an escrow this long after it is created; undisputed, it executes then. Seed: 24 h. */
    disputeWindowMs: ms(1_000, 365 * day, day),
    /** A dispute (and an appeal) is voted on for this long. */
    votingWindowMs: ms(1_000, 365 * day, day),
    /** After a decision the losing side may appeal this long; 0 turns appeals off (decisions final at once). */
    appealWindowMs: ms(0, 365 * day, day),
    /** Votes a round needs at least. Seed: 5. */
    quorumMin: count(1, 100_000, 5),
    /** Quorum as a fraction of eligible voters (staked, neither accused nor reporter); the larger of the two applies. */
    quorumFractionBps: bps(1_000),
    /** An appeal round needs this many times the first round's quorum. */
    appealQuorumMultiplier: count(1, 100, 2),
    /** Share of the vote that overturns a slash. Seed: 66.7 %. */
    overturnThresholdBps: bps(6_670),
    /** `node`: one node one vote; `stake`: votes weighted by the voter's bonded stake (the quorum still counts nodes). */
    voteWeighting: z.enum(['node', 'stake']).default('node'),
    /** Stake a node needs to vote. */
    voterStakeMin: amountSchema.default(1n),
    /** Escrows one node may have open at once. Seed: 10. */
    escrowsPerNodeMax: count(1, 1_000, 10),
    /** Votes one round may take. */
    votesPerRoundMax: count(5, 100_000, 10_000),
    /** A round with fewer eligible voters than its quorum is extended once by this long (and raises an alert). */
    lowParticipationExtensionMs: ms(0, 365 * day, day),

    // Event log.
    /**
     * Live events wait this long past their time (by the daemon's clock) before they are applied, so
     * that events delayed by the network still arrive in canonical order and nothing is re-executed.
     * 0 applies every event as soon as the clock reaches its time.
     */
    settleDelayMs: ms(0, 600_000, 2_000),
    /** A live event (`apply`) stamped more than this far ahead of the receiving node's clock is refused (retry later). */
    clockSkewMaxMs: ms(0, day, 30_000),
    /** Events held (the state keeps them to re-execute when a late event sorts before others). */
    eventsMax: count(1, 100_000_000, 2_000_000),
    /** A snapshot of the state is kept every this many events, to re-execute from after a late event. */
    snapshotIntervalEvents: count(16, 1_000_000, 16_384),
    /** Snapshots kept (the oldest go first; genesis is always kept). */
    snapshotsMax: count(1, 10_000, 16),
  })
  .strict()
  .refine(
    (c) => c.reputationPosWeightBps + c.reputationUptimeWeightBps + c.reputationBandwidthWeightBps === BPS,
    { message: 'reputation weights must sum to 10000 bps', path: ['reputationPosWeightBps'] },
  )
  .refine((c) => c.commissionBps <= c.commissionMaxBps, {
    message: 'commissionBps must be at most commissionMaxBps',
    path: ['commissionBps'],
  });

export type EconomicsConfig = z.output<typeof economicsConfigSchema>;
export type EconomicsConfigInput = z.input<typeof economicsConfigSchema>;
export type Genesis = z.output<typeof genesisSchema>;
export type GenesisInput = z.input<typeof genesisSchema>;
export type SlashReason = keyof z.output<typeof slashBpsSchema>;
export const SLASH_REASONS: readonly SlashReason[] = [
  'pos-failure',
  'data-corruption',
  'downtime',
  'protocol-violation',
];
