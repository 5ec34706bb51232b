import { z } from 'zod';
import { AMOUNT_MAX, BPS, nodeIdSchema, SLASH_REASONS, type SlashReason } from './config.js';

/** A 32-byte hash (shard, evidence) as lower-case hex. */
export const hash32Schema = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex characters');
const signatureSchema = z.string().regex(/^[0-9a-f]{128}$/, '128 lower-case hex characters');
/** An amount in an event: a bigint, or a decimal string in the JSON form; 1 .. 2^96 - 1 base units. */
const eventAmountSchema = z
  .union([z.bigint(), z.string().regex(/^[1-9][0-9]{0,28}$/, 'a positive decimal integer string')])
  .transform((value) => (typeof value === 'bigint' ? value : BigInt(value)))
  .refine((value) => value > 0n && value <= AMOUNT_MAX, 'an amount in [1, 2^96 - 1]');
const u53 = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** An escrow is named by the slash event that created it: `<reporter id>:<seq>`. */
export const escrowIdSchema = z.string().regex(/^[0-9a-f]{64}:[1-9][0-9]{0,15}$/, '<reporter id>:<seq>');

/** Fields every event has: who signed it, its place in the actor's sequence (1, 2, …) and the actor's time. */
const header = {
  actor: nodeIdSchema,
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  timeMs: u53,
  signature: signatureSchema,
};

const bodies = {
  /** Move liquid tokens to another account. */
  transfer: { to: nodeIdSchema, amount: eventAmountSchema },
  /** Bond liquid tokens as the actor's own stake. */
  stake: { amount: eventAmountSchema },
  /** Start unbonding own stake: withdrawable `unbondingMs` after this event's time. */
  unstake: { amount: eventAmountSchema },
  /** Bond liquid tokens to an operator. */
  delegate: { operator: nodeIdSchema, amount: eventAmountSchema },
  /** Start unbonding a delegation. */
  undelegate: { operator: nodeIdSchema, amount: eventAmountSchema },
  /** Move every matured unbonding entry back to the liquid balance. */
  withdraw: {},
  /** Set the actor's commission as an operator. */
  'set-commission': { commissionBps: z.number().int().min(0).max(BPS) },
  /** A proof-of-storage challenge result, signed by the challenger. */
  'pos-result': { holder: nodeIdSchema, shard: hash32Schema, passed: z.boolean() },
  /** An uptime probe of `subject` by the actor. */
  uptime: { subject: nodeIdSchema, up: z.boolean() },
  /** Bytes `subject` served to the actor. */
  bandwidth: { subject: nodeIdSchema, bytes: u53.min(1) },
  /** Propose slashing `accused`: the amount is locked in escrow until governance is done. */
  slash: {
    accused: nodeIdSchema,
    reason: z.enum(SLASH_REASONS as [SlashReason, ...SlashReason[]]),
    evidence: hash32Schema,
  },
  /** The accused disputes an escrow, with the hash of its evidence. */
  dispute: { escrowId: escrowIdSchema, evidence: hash32Schema },
  /** A vote in the escrow's current round: overturn (return the funds) or uphold (burn them). */
  vote: { escrowId: escrowIdSchema, overturn: z.boolean() },
  /** The losing side of a decision asks for one more round, with a larger quorum. */
  appeal: { escrowId: escrowIdSchema, evidence: hash32Schema },
} as const;

const variant = <T extends keyof typeof bodies>(type: T) =>
  z.object({ type: z.literal(type), ...header, ...bodies[type] }).strict();

/** An event object (amounts as bigint or decimal strings): validate anything not built by this package with it. */
export const economicsEventSchema = z.discriminatedUnion('type', [
  variant('transfer'),
  variant('stake'),
  variant('unstake'),
  variant('delegate'),
  variant('undelegate'),
  variant('withdraw'),
  variant('set-commission'),
  variant('pos-result'),
  variant('uptime'),
  variant('bandwidth'),
  variant('slash'),
  variant('dispute'),
  variant('vote'),
  variant('appeal'),
]);

/** A signed event. Ids and hashes are lower-case hex; amounts are bigint base units. */
export type EconomicsEvent = z.output<typeof economicsEventSchema>;
export type EventType = EconomicsEvent['type'];
/** What the actor says, without the header the signer adds. */
export type EventBody = EconomicsEvent extends infer E
  ? E extends EconomicsEvent
    ? Omit<E, 'actor' | 'seq' | 'timeMs' | 'signature'>
    : never
  : never;
export type EventOf<T extends EventType> = Extract<EconomicsEvent, { type: T }>;

/** Event types in wire order: the byte after the version is the index here. */
export const EVENT_TYPES: readonly EventType[] = [
  'transfer',
  'stake',
  'unstake',
  'delegate',
  'undelegate',
  'withdraw',
  'set-commission',
  'pos-result',
  'uptime',
  'bandwidth',
  'slash',
  'dispute',
  'vote',
  'appeal',
];

/** The escrow id of the slash event `actor`/`seq`. */
export function escrowIdOf(actor: string, seq: number): string {
  return `${actor}:${seq}`;
}

/** A JSON-safe copy of an event (amounts as decimal strings), for HTTP bodies and logs. */
export function eventToJson(event: EconomicsEvent): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(event)) {
    out[key] = typeof value === 'bigint' ? value.toString() : (value as string | number | boolean);
  }
  return out;
}
