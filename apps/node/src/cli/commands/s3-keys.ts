import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadNodeConfig } from '../../config/config.js';
import { FileAccessKeyStore } from '../../s3/access-keys.js';
import { accessKeysPath, s3Dir } from '../../s3/s3-service.js';
import { OwnerKeyError, readOwnerKey } from '../../stores/owner-key.js';
import { CliError, ExitCode, UsageError } from '../errors.js';
import { noExtraArguments, parseFlags } from './flags.js';

export const s3KeysHelp = `Usage:
  trinity s3 keys create [options]        a new access key bound to the node's owner key; prints
                                          the id and the secret (shown this once)
  trinity s3 keys list [options]          the access keys (ids, owners, creation times; no secrets)
  trinity s3 keys revoke ACCESS_KEY_ID    refuse every request the key signs from now on

The keys live in DATA_DIR/s3/access-keys.json (mode 0600); a running node picks up a change at its
next request. S3 objects put with a key are Trinity objects owned, signed and encrypted by the owner
key the access key is bound to; a node serves only keys bound to the owner key it acts for.

  --config FILE      the node's config file (its dataDir and trust.ownerKeyFile)
  --data-dir DIR     the node's data directory (default .trinity/node)
  --owner-key FILE   the owner key to bind to (default: the node's, DATA_DIR/owner.key)
  --json             machine-readable output
  -h, --help         this help
`;

const flags = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  'owner-key': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function s3Command(argv: string[]): Promise<number> {
  const [group, action, ...rest] = argv;
  if (group === undefined || group === '--help' || group === '-h' || group === 'help') {
    process.stdout.write(s3KeysHelp);
    return group === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (group !== 'keys') throw new UsageError(`s3: unknown subcommand "${group}" (see "trinity s3 --help")`);
  if (action === '--help' || action === '-h') {
    process.stdout.write(s3KeysHelp);
    return ExitCode.ok;
  }
  if (action !== 'create' && action !== 'list' && action !== 'revoke') {
    throw new UsageError(
      action === undefined
        ? 's3 keys: which? create, list or revoke (see "trinity s3 --help")'
        : `s3 keys: unknown action "${action}" (see "trinity s3 --help")`,
    );
  }
  const command = `s3 keys ${action}`;
  const { values, positionals } = parseFlags('s3', () =>
    parseArgs({ args: rest, options: flags, strict: true, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(s3KeysHelp);
    return ExitCode.ok;
  }
  noExtraArguments(command, positionals, action === 'revoke' ? 1 : 0);
  const config = await loadNodeConfig(values.config, {
    dataDir: values['data-dir'],
    trust: { ownerKeyFile: values['owner-key'] },
  });
  await mkdir(s3Dir(config.dataDir), { recursive: true, mode: 0o700 });
  const path = accessKeysPath(config.dataDir);
  const store = await FileAccessKeyStore.open(path).catch((error: Error) => {
    throw new CliError('CLI_S3_KEYS', error.message, ExitCode.failure);
  });
  const out = (line: string) => process.stdout.write(`${line}\n`);

  if (action === 'revoke') {
    const id = positionals[0];
    if (id === undefined) throw new UsageError('s3 keys revoke: which key? give its ACCESS_KEY_ID');
    if (!(await store.revoke(id))) {
      throw new CliError('CLI_S3_KEY_NOT_FOUND', `no access key ${id} in ${path}`, ExitCode.notFound);
    }
    if (values.json) out(JSON.stringify({ revoked: id }));
    else process.stderr.write(`access key ${id} revoked\n`);
    return ExitCode.ok;
  }

  if (action === 'list') {
    const keys = store.list();
    if (values.json) out(JSON.stringify({ keys }));
    else {
      if (keys.length === 0) process.stderr.write(`no access keys in ${path}\n`);
      for (const key of keys)
        out(`${key.accessKeyId}  owner ${key.owner}  created ${new Date(key.createdMs).toISOString()}`);
    }
    return ExitCode.ok;
  }

  const ownerKeyFile = config.trust.ownerKeyFile ?? `${config.dataDir}/owner.key`;
  const owner = await readOwnerKey(ownerKeyFile).catch((error: unknown) => {
    if (error instanceof OwnerKeyError) {
      throw new CliError(
        'CLI_S3_KEYS',
        `${error.message} (start the node once, or point --owner-key at the key it uses)`,
        ExitCode.failure,
      );
    }
    throw error;
  });
  const key = await store.create(owner.publicKey, Date.now());
  if (values.json) {
    out(JSON.stringify({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretKey, owner: key.owner }));
  } else {
    out(`AWS_ACCESS_KEY_ID=${key.accessKeyId}`);
    out(`AWS_SECRET_ACCESS_KEY=${key.secretKey}`);
    process.stderr.write(
      `access key bound to owner ${key.owner}; saved in ${path} (mode 0600). The secret is not shown again.\n`,
    );
  }
  return ExitCode.ok;
}
