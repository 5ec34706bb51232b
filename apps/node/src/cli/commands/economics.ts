import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { sha256, toHex, utf8ToBytes } from '@trinity/core';
import { CliError, ExitCode, UsageError } from '../errors.js';
import { apiBase, apiHelpNote, authorize, call } from './client.js';
import { noExtraArguments, parseFlags } from './flags.js';

/** The economics commands and the arguments each takes (besides flags). */
const arity = {
  stake: 1,
  unstake: 1,
  delegate: 2,
  undelegate: 2,
  withdraw: 0,
  dispute: 1,
  vote: 2,
  appeal: 1,
  escrows: 0,
  economics: 1,
} as const;
export type EconomicsCommand = keyof typeof arity;

const amountNote = 'AMOUNT is a whole number of base units (no decimals, no sign).';
const evidenceNote = `--evidence HEX (64 hex: the SHA-256 of your evidence) or --evidence-file FILE (hashed here);
without either, the hash of the escrow id is sent.`;

export const economicsHelps: Record<EconomicsCommand, string> = {
  stake: `Usage:
  trinity stake AMOUNT [--api URL]   bond AMOUNT of the node's balance as its own stake; prints the event

${amountNote}

${apiHelpNote}`,
  unstake: `Usage:
  trinity unstake AMOUNT [--api URL]   start unbonding AMOUNT of the node's own stake (withdrawable
                                       after the unbonding period: "trinity withdraw")

${apiHelpNote}`,
  delegate: `Usage:
  trinity delegate OPERATOR AMOUNT [--api URL]   bond AMOUNT of the node's balance to OPERATOR (a node key,
                                                 64 hex, or a peer id)

Example:
  trinity delegate 12D3KooW… 5000

${apiHelpNote}`,
  undelegate: `Usage:
  trinity undelegate OPERATOR AMOUNT [--api URL]   start unbonding AMOUNT delegated to OPERATOR

${apiHelpNote}`,
  withdraw: `Usage:
  trinity withdraw [--api URL]   move every matured unbonding entry back to the node's balance

${apiHelpNote}`,
  dispute: `Usage:
  trinity dispute ESCROW_ID [--evidence HEX | --evidence-file FILE] [--api URL]
      dispute a slash of this node (only the accused may): the network votes overturn or uphold

${evidenceNote}

${apiHelpNote}`,
  vote: `Usage:
  trinity vote ESCROW_ID overturn|uphold [--api URL]   vote on a disputed escrow (once per round; never on
                                                       one's own, nor as its reporter)

${apiHelpNote}`,
  appeal: `Usage:
  trinity appeal ESCROW_ID [--evidence HEX | --evidence-file FILE] [--api URL]
      ask for one more voting round (larger quorum) on a decided escrow

${evidenceNote}

${apiHelpNote}`,
  escrows: `Usage:
  trinity escrows [--all] [--api URL]   the open slashing escrows ("ID  STATUS  REASON  AMOUNT  VOTES/QUORUM
                                        ACCUSED" per line); --all: every escrow

${apiHelpNote}`,
  economics: `Usage:
  trinity economics [NODE] [--api URL]   a node's balance, stake, delegations, reputation and escrows
                                         (NODE: a key, 64 hex, or a peer id; default this node), as JSON

${apiHelpNote}`,
};

const flags = {
  api: { type: 'string' },
  'token-file': { type: 'string' },
  'data-dir': { type: 'string' },
  evidence: { type: 'string' },
  'evidence-file': { type: 'string' },
  all: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function amountArg(value: string | undefined): string {
  if (value === undefined) throw new UsageError('an AMOUNT is required');
  if (!/^[1-9][0-9]{0,28}$/.test(value))
    throw new UsageError(`AMOUNT must be a positive whole number of base units, got "${value.slice(0, 40)}"`);
  return value;
}

function escrowArg(value: string | undefined): string {
  if (value === undefined) throw new UsageError('an ESCROW_ID is required ("trinity escrows" lists them)');
  if (!/^[0-9a-f]{64}:[1-9][0-9]{0,15}$/.test(value))
    throw new UsageError(`"${value.slice(0, 80)}" is not an escrow id (<reporter key>:<seq>)`);
  return value;
}

async function evidenceOf(
  values: { evidence?: string; 'evidence-file'?: string },
  escrowId: string,
): Promise<string> {
  if (values.evidence !== undefined && values['evidence-file'] !== undefined)
    throw new UsageError('give --evidence or --evidence-file, not both');
  if (values.evidence !== undefined) {
    if (!/^[0-9a-f]{64}$/.test(values.evidence))
      throw new UsageError('--evidence must be 64 lower-case hex characters');
    return values.evidence;
  }
  if (values['evidence-file'] !== undefined) {
    const file = values['evidence-file'];
    const bytes = await readFile(file).catch(() => {
      throw new CliError('CLI_READ', `cannot read ${file}`, ExitCode.failure);
    });
    return toHex(sha256(bytes));
  }
  return toHex(sha256(utf8ToBytes(escrowId)));
}

async function post(api: string, action: string, body: unknown): Promise<void> {
  const response = await call(`${api}/v1/economics/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const result = (await response.json()) as {
    event: { type: string; seq: number };
    outcome: string;
    rejection?: string;
  };
  const why = result.rejection === undefined ? '' : ` (${result.rejection})`;
  process.stdout.write(`${result.event.type} #${result.event.seq}: ${result.outcome}${why}\n`);
  if (result.outcome === 'rejected')
    throw new CliError('CLI_REJECTED', `${action} had no effect${why}`, ExitCode.failure);
}

interface EscrowJson {
  id: string;
  status: string;
  reason: string;
  amount: string;
  votes: number;
  quorum: number;
  accused: string;
}

export async function economicsCommand(command: EconomicsCommand, argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(command, () =>
    parseArgs({ args: argv, options: flags, strict: true, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(economicsHelps[command]);
    return 0;
  }
  noExtraArguments(command, positionals, arity[command]);
  const api = apiBase(values.api);
  await authorize(api, values);
  const [first, second] = positionals;
  switch (command) {
    case 'stake':
    case 'unstake':
      await post(api, command, { amount: amountArg(first) });
      return 0;
    case 'delegate':
    case 'undelegate':
      if (first === undefined) throw new UsageError('an OPERATOR (node key or peer id) is required');
      await post(api, command, { operator: first, amount: amountArg(second) });
      return 0;
    case 'withdraw':
      await post(api, 'withdraw', {});
      return 0;
    case 'dispute':
    case 'appeal': {
      const escrowId = escrowArg(first);
      await post(api, command, { escrowId, evidence: await evidenceOf(values, escrowId) });
      return 0;
    }
    case 'vote': {
      const escrowId = escrowArg(first);
      if (second !== 'overturn' && second !== 'uphold')
        throw new UsageError(`vote: say "overturn" or "uphold", got "${(second ?? '').slice(0, 40)}"`);
      await post(api, 'vote', { escrowId, overturn: second === 'overturn' });
      return 0;
    }
    case 'escrows': {
      const response = await call(`${api}/v1/economics/escrows${values.all ? '?all=1' : ''}`);
      const { escrows } = (await response.json()) as { escrows: EscrowJson[] };
      for (const e of escrows) {
        process.stdout.write(
          `${e.id}  ${e.status.padEnd(13)}  ${e.reason.padEnd(18)}  ${e.amount.padStart(12)}  ${`${e.votes}/${e.quorum}`.padStart(5)}  ${e.accused}\n`,
        );
      }
      if (escrows.length === 0) process.stdout.write(values.all ? 'no escrows\n' : 'no open escrows\n');
      return 0;
    }
    case 'economics': {
      const response = await call(`${api}/v1/economics/${encodeURIComponent(first ?? 'self')}`);
      process.stdout.write(`${JSON.stringify(await response.json(), null, 2)}\n`);
      return 0;
    }
  }
}
