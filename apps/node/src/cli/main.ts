import '../polyfill.js';
import './runtime-flags.js';
import { readFileSync } from 'node:fs';
import { ConfigError, isTrinityError } from '@trinity/core';
import { clientCommand, clientHelps } from './commands/client.js';
import { devnetCommand, devnetHelp } from './commands/devnet.js';
import { type EconomicsCommand, economicsCommand, economicsHelps } from './commands/economics.js';
import { keygen, keygenHelp } from './commands/keygen.js';
import { nodeInit, nodeInitHelp } from './commands/node-init.js';
import { nodeStart, nodeStartHelp } from './commands/node-start.js';
import { rotateToken, rotateTokenHelp } from './commands/rotate-token.js';
import { s3Command, s3KeysHelp } from './commands/s3-keys.js';
import { CliError, describeSystemError, ExitCode, UsageError } from './errors.js';

const help = `Usage: trinity <command> [options]

Commands:
  node start     run a storage node
  node init      write a commented config file
  node rotate-token  replace a node's API token (restart the node to use it)
  devnet         run a local network of nodes
  put FILE       store a file
  get ID         read an object back
  rm ID          delete an object
  ls             list objects
  share ID       print an object's read capability
  keygen [FILE]  write a new owner key (mode 0600)
  s3 keys create|list|revoke  access keys of the S3 gateway (node start --s3-port)
  status         show a node's status
  search FILE    find stored objects similar to a file
  stake AMOUNT | unstake AMOUNT | withdraw    the node's own stake
  delegate OP AMOUNT | undelegate OP AMOUNT   stake bonded to an operator
  escrows        open slashing escrows; dispute ID | vote ID overturn|uphold | appeal ID
  economics [NODE]  a node's balance, stake, reputation and escrows

\`trinity help <command>\` or \`trinity <command> --help\` tells more; \`trinity --version\` the version.
Exit codes: 0 ok, 1 failure, 2 usage error, 3 not found, 4 node unreachable or network
unavailable, 5 port in use, 6 invalid or unsafe node config.
`;

const helps: Record<string, string> = {
  ...clientHelps,
  ...economicsHelps,
  node: nodeStartHelp,
  'node init': nodeInitHelp,
  'node rotate-token': rotateTokenHelp,
  devnet: devnetHelp,
  keygen: keygenHelp,
  s3: s3KeysHelp,
};

/** The version of @trinity/node (dist/cli.js sits beside ../package.json). */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return `trinity ${manifest.version} (node ${process.version})\n`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      process.stderr.write(help);
      return ExitCode.usage;
    case '-h':
    case '--help':
      process.stdout.write(help);
      return ExitCode.ok;
    case '-v':
    case '--version':
    case 'version':
      process.stdout.write(version());
      return ExitCode.ok;
    case 'help': {
      const topic =
        rest[0] === 'node' && rest[1] === 'start'
          ? 'node'
          : rest[0] === 'node' && rest[1] === 'init'
            ? 'node init'
            : rest[0] === 'node' && rest[1] === 'rotate-token'
              ? 'node rotate-token'
              : rest[0];
      if (topic === undefined) process.stdout.write(help);
      else if (helps[topic] !== undefined) process.stdout.write(helps[topic]);
      else throw new UsageError(`no help for "${topic}": not a command (see "trinity --help")`);
      return ExitCode.ok;
    }
    case 'node':
      if (rest[0] === 'start') return nodeStart(rest.slice(1));
      if (rest[0] === 'init') return nodeInit(rest.slice(1));
      if (rest[0] === 'rotate-token') return rotateToken(rest.slice(1));
      if (rest[0] === '--help' || rest[0] === '-h') {
        process.stdout.write(nodeStartHelp);
        return ExitCode.ok;
      }
      throw new UsageError(
        rest[0] === undefined
          ? 'node: which? "trinity node start" or "trinity node init" (see "trinity node start --help")'
          : `node: unknown subcommand "${rest[0]}" (see "trinity node start --help")`,
      );
    case 'devnet':
      return devnetCommand(rest);
    case 'put':
    case 'get':
    case 'rm':
    case 'ls':
    case 'status':
    case 'search':
    case 'share':
      return clientCommand(command, rest);
    case 'keygen':
      return keygen(rest);
    case 'stake':
    case 'unstake':
    case 'delegate':
    case 'undelegate':
    case 'withdraw':
    case 'dispute':
    case 'vote':
    case 'appeal':
    case 'escrows':
    case 'economics':
      return economicsCommand(command as EconomicsCommand, rest);
    case 's3':
      return s3Command(rest);
    default:
      throw new UsageError(`unknown command "${command}" (see "trinity --help")`);
  }
}

/** The one line and exit code of a failure. */
function report(error: unknown): { line: string; exitCode: number } {
  const system = error instanceof CliError ? error : describeSystemError(error);
  if (system !== undefined) return { line: system.message, exitCode: system.exitCode };
  if (error instanceof ConfigError) return { line: error.message, exitCode: ExitCode.config };
  const message = error instanceof Error ? error.message : String(error);
  // Foreign errors (libp2p, the OS) put the useful part on later lines: keep it, on one line.
  const line = isTrinityError(error) ? message : message.replace(/\s+/g, ' ').trim().slice(0, 500);
  return { line, exitCode: ExitCode.failure };
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const { line, exitCode } = report(error);
    process.stderr.write(`trinity: ${line}\n`);
    // Exit now: a node that failed half-way through start may still hold sockets open.
    process.exit(exitCode);
  },
);
