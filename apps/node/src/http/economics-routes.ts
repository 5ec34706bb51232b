import type { IncomingMessage } from 'node:http';
import { AMOUNT_MAX, type EscrowView, escrowIdSchema, hash32Schema } from '@trinity/economics';
import { z } from 'zod';
import { BadRequestError, PayloadTooLargeError } from '../errors.js';
import type { EconomicsService } from '../services/economics/economics-service.js';
import type { Route } from './server.js';

/** Largest JSON body of an economics action. */
const actionBodyBytesMax = 4 * 1024;

/** An amount of base units: a decimal string (amounts pass 2^53) or a safe positive integer. */
const amount = z
  .union([
    z.string().regex(/^[1-9][0-9]{0,28}$/, 'a positive decimal integer string'),
    z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  ])
  .transform((value) => BigInt(value))
  .refine((value) => value <= AMOUNT_MAX, 'at most 2^96 - 1');
/** A node: its key (64 hex) or its peer id. */
const nodeRef = z.string().min(1).max(128);

const bodies = {
  stake: z.object({ amount }).strict(),
  unstake: z.object({ amount }).strict(),
  delegate: z.object({ operator: nodeRef, amount }).strict(),
  undelegate: z.object({ operator: nodeRef, amount }).strict(),
  withdraw: z.object({}).strict(),
  dispute: z.object({ escrowId: escrowIdSchema, evidence: hash32Schema }).strict(),
  vote: z.object({ escrowId: escrowIdSchema, overturn: z.boolean() }).strict(),
  appeal: z.object({ escrowId: escrowIdSchema, evidence: hash32Schema }).strict(),
} as const;

type Economics = Pick<
  EconomicsService,
  | 'nodeId'
  | 'summary'
  | 'escrows'
  | 'stake'
  | 'unstake'
  | 'delegate'
  | 'undelegate'
  | 'withdraw'
  | 'dispute'
  | 'vote'
  | 'appeal'
>;

/**
 * The economics API (token required, like every route but /health):
 * - `GET /v1/economics/escrows[?all=1]`: the open escrows (with `all`, every one), oldest first.
 * - `GET /v1/economics/:nodeId`: a node's summary (its key, 64 hex, or its peer id; `self` for
 *   this node). A well-formed id nobody has events for answers its empty summary (every node exists
 *   with nothing), not 404; a malformed one is 400.
 * - `POST /v1/economics/{stake,unstake,delegate,undelegate,withdraw,dispute,vote,appeal}`: this
 *   node signs the action; body JSON, amounts as decimal strings of base units. An action that
 *   cannot take effect now is 409 with the reason's code; nothing is signed then.
 */
export function economicsRoutes(economics: Economics): Route[] {
  const action = <K extends keyof typeof bodies>(
    name: K,
    run: (body: z.output<(typeof bodies)[K]>) => Promise<unknown>,
  ): Route => ({
    method: 'POST',
    path: `/v1/economics/${name}`,
    handler: async (request) => run(parseBody(bodies[name], await readJson(request), name) as never),
  });
  return [
    {
      method: 'GET',
      path: '/v1/economics/escrows',
      handler: async (_q, _r, _p, url) => {
        const all = url.searchParams.get('all');
        if (all !== null && all !== '0' && all !== '1') throw new BadRequestError('all must be 1 or 0');
        return { escrows: economics.escrows({ all: all === '1' }).map(escrowJson) };
      },
    },
    {
      method: 'GET',
      path: '/v1/economics/:nodeId',
      handler: async (_q, _r, params) => {
        const id = params.nodeId === 'self' ? economics.nodeId : params.nodeId!;
        return economics.summary(id);
      },
    },
    action('stake', (b) => economics.stake(b.amount)),
    action('unstake', (b) => economics.unstake(b.amount)),
    action('delegate', (b) => economics.delegate(b.operator, b.amount)),
    action('undelegate', (b) => economics.undelegate(b.operator, b.amount)),
    action('withdraw', () => economics.withdraw()),
    action('dispute', (b) => economics.dispute(b.escrowId, b.evidence)),
    action('vote', (b) => economics.vote(b.escrowId, b.overturn)),
    action('appeal', (b) => economics.appeal(b.escrowId, b.evidence)),
  ];
}

/** An escrow as JSON: amounts as decimal strings. */
export function escrowJson(e: EscrowView): Record<string, unknown> {
  return {
    ...e,
    amount: String(e.amount),
    sources: e.sources.map((s) => ({ from: s.from, amount: String(s.amount) })),
  };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > actionBodyBytesMax) throw new PayloadTooLargeError(actionBodyBytesMax);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError('body must be JSON');
  }
}

function parseBody<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new BadRequestError(`${what}: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
}
