import { parseArgs } from 'node:util';
import { createOwnerKey, OwnerKeyError } from '../../stores/owner-key.js';
import { CliError, ExitCode } from '../errors.js';
import { noExtraArguments, parseFlags } from './flags.js';

export const keygenHelp = `Usage:
  trinity keygen [FILE]   write a new owner key to FILE (default ./owner.key), mode 0600; prints
                          its public key. Never overwrites a file.

An owner key signs your objects' descriptors, put intents and deletes, and unwraps their
encryption keys. Give it to a node with "trinity node start --owner-key FILE". Keep it secret;
back it up: objects encrypted for it cannot be read without it (or their read capabilities).
`;

export async function keygen(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('keygen', () =>
    parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    }),
  );
  if (values.help) {
    process.stdout.write(keygenHelp);
    return ExitCode.ok;
  }
  noExtraArguments('keygen', positionals, 1);
  const path = positionals[0] ?? 'owner.key';
  try {
    const key = await createOwnerKey(path);
    process.stdout.write(`${key.publicKey}\n`);
    process.stderr.write(`owner key written to ${path} (mode 0600)\n`);
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof OwnerKeyError) throw new CliError('CLI_KEYGEN', error.message, ExitCode.failure);
    throw error;
  }
}
