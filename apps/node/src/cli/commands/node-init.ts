import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '@trinity/core/fs';
import { configTemplate } from '../../config/template.js';
import { CliError, ExitCode } from '../errors.js';
import { noExtraArguments, parseFlags } from './flags.js';

/** Where `trinity node init` writes without `--config`. */
export const defaultConfigPath = 'trinity.jsonc';

export const nodeInitHelp = `Usage: trinity node init [--config FILE] [--force]

Writes a commented config file for \`trinity node start --config FILE\`: every key at its default,
each with a one-line comment saying what it is, its bounds and the flag that overrides it. The
file is JSONC (JSON with // and /* */ comments and trailing commas). Prints the path written.

  --config FILE   file to write (default ${defaultConfigPath})
  --force         replace FILE if it exists (without it, an existing file is never touched)
  -h, --help      this help

Examples:
  trinity node init --config /etc/trinity/node.jsonc
  trinity node start --config /etc/trinity/node.jsonc
`;

const initFlags = {
  config: { type: 'string' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function nodeInit(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('node init', () =>
    parseArgs({ args: argv, options: initFlags, strict: true, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(nodeInitHelp);
    return ExitCode.ok;
  }
  noExtraArguments('node init', positionals, 0);
  const path = resolve(values.config ?? defaultConfigPath);
  const existing = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new CliError('CLI_CONFIG_UNWRITABLE', `cannot write ${path}: ${error.code}`, ExitCode.failure);
  });
  if (existing?.isDirectory()) {
    throw new CliError('CLI_CONFIG_UNWRITABLE', `cannot write ${path}: it is a directory`, ExitCode.failure);
  }
  if (existing !== undefined && !values.force) {
    throw new CliError(
      'CLI_CONFIG_EXISTS',
      `${path} exists; not overwritten (use --force to replace it)`,
      ExitCode.failure,
    );
  }
  await writeFileAtomic(path, configTemplate(), { mode: 0o644 }).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(
      'CLI_CONFIG_UNWRITABLE',
      `cannot write ${path}: ${error.code ?? error.message}`,
      ExitCode.failure,
      { cause: error },
    );
  });
  process.stdout.write(`${path}\n`);
  return ExitCode.ok;
}
