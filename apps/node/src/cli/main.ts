import '../polyfill.js';
import './runtime-flags.js';
import { ConfigError, isTrinityError } from '@trinity/core';
import { ApiError, clientCommand } from './commands/client.js';
import { devnetCommand } from './commands/devnet.js';
import { nodeStart, nodeStartHelp } from './commands/node-start.js';

const help = `Usage: trinity <command> [options]

Commands:
  node start     run a storage node
  devnet         run a local network of nodes
  put FILE       store a file
  get ID         read an object back
  rm ID          delete an object
  ls             list objects
  status         show a node's status
  search FILE    find stored objects similar to a file

\`trinity <command> --help\` tells more.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(help);
      return command === undefined ? 1 : 0;
    case 'node':
      if (rest[0] === 'start') return nodeStart(rest.slice(1));
      process.stdout.write(nodeStartHelp);
      return rest[0] === '--help' || rest[0] === '-h' ? 0 : 1;
    case 'devnet':
      return devnetCommand(rest);
    case 'put':
    case 'get':
    case 'rm':
    case 'ls':
    case 'status':
    case 'search':
      return clientCommand(command, rest);
    default:
      process.stderr.write(`trinity: unknown command "${command}"\n\n${help}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const known = error instanceof ConfigError || error instanceof ApiError || isTrinityError(error);
    const message = error instanceof Error ? error.message : String(error);
    // Foreign errors (libp2p, the OS) put the useful part on later lines: keep it, on one line.
    const line = known ? message : message.replace(/\s+/g, ' ').trim().slice(0, 500);
    process.stderr.write(`trinity: ${line}\n`);
    // Exit now: a node that failed half-way through start may still hold sockets open.
    process.exit(1);
  },
);
