import { parseArgs } from 'node:util';
import { loadNodeConfig } from '../../config/config.js';
import { apiTokenPath, writeNewApiToken } from '../../stores/api-token.js';
import { ExitCode } from '../errors.js';
import { noExtraArguments, parseFlags } from './flags.js';

export const rotateTokenHelp = `Usage: trinity node rotate-token [--data-dir DIR | --config FILE] [--api-token-file FILE]

Replaces a node's API token with a new random one (32 bytes, hex), written atomically with mode
0600, and prints the path. A running node keeps the token it started with: restart it (the old
token then stops working). Clients read the new token from the file as before.

  --data-dir DIR          the node's data directory (default .trinity/node, or the config's)
  --config FILE           the node's config file (its dataDir and api.tokenFile)
  --api-token-file FILE   the token file, when the node is started with one
  -h, --help              this help

Example:
  trinity node rotate-token --data-dir /var/lib/trinity && systemctl restart trinity
`;

const rotateFlags = {
  'data-dir': { type: 'string' },
  config: { type: 'string' },
  'api-token-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function rotateToken(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('node rotate-token', () =>
    parseArgs({ args: argv, options: rotateFlags, strict: true, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(rotateTokenHelp);
    return ExitCode.ok;
  }
  noExtraArguments('node rotate-token', positionals, 0);
  const config = await loadNodeConfig(values.config, {
    dataDir: values['data-dir'],
    api: { tokenFile: values['api-token-file'] },
  });
  const path = apiTokenPath(config.dataDir, config.api.tokenFile);
  await writeNewApiToken(path);
  process.stdout.write(`${path}\n`);
  process.stderr.write('restart the node to use the new token\n');
  return ExitCode.ok;
}
