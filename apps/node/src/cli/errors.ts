import { TrinityError } from '@trinity/core';

/**
 * The CLI's exit codes, documented in apps/node/README.md ("Exit codes"). Scripts may rely on them:
 * they never change meaning.
 */
export const ExitCode = {
  /** The command did what it was asked. */
  ok: 0,
  /** Anything else went wrong: a server error, a file that cannot be read or written. */
  failure: 1,
  /** The command line is wrong: unknown command or option, missing or extra argument, bad value. */
  usage: 2,
  /** The object (or route) does not exist on the node asked. */
  notFound: 3,
  /** The node cannot be reached, or the network has too few nodes or shards to answer. */
  unavailable: 4,
  /** A port the node needs is already in use. */
  portInUse: 5,
  /**
   * The node's configuration is invalid or unsafe: a bad value, a non-loopback API address without
   * TLS or --insecure-http, an API token file that others can read. A restart cannot fix it.
   */
  config: 6,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the CLI reports in one line and exits with `exitCode`. */
export class CliError extends TrinityError {
  readonly exitCode: ExitCodeValue;

  constructor(code: string, message: string, exitCode: ExitCodeValue, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.exitCode = exitCode;
  }
}

/** The command line is wrong (exit code 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super('CLI_USAGE', message, ExitCode.usage);
  }
}

/** What a node's HTTP API answered, or that it could not be reached. */
export class ApiError extends CliError {}

/** The exit code of an HTTP error status. */
export function exitCodeOfStatus(status: number): ExitCodeValue {
  if (status === 404) return ExitCode.notFound;
  if (status === 400) return ExitCode.usage;
  if (status === 502 || status === 503 || status === 504) return ExitCode.unavailable;
  return ExitCode.failure;
}

/**
 * One line for an error from libp2p or the OS, or undefined when it is not one the CLI knows. The
 * raw message of such errors spans lines (a stack, a multiaddr list); the user needs the cause.
 */
export function describeSystemError(error: unknown): CliError | undefined {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 8; depth++) {
    const { code, address, port } = cause as Error & { code?: string; address?: string; port?: number };
    if (code === 'EADDRINUSE') {
      const where = port === undefined ? 'a port' : `port ${port}${address ? ` on ${address}` : ''}`;
      return new CliError('CLI_PORT_IN_USE', `${where} is in use`, ExitCode.portInUse, { cause: error });
    }
    if (code === 'EADDRNOTAVAIL') {
      const where = address === undefined ? 'an address to listen on' : `address ${address}`;
      return new CliError('CLI_ADDRESS_UNAVAILABLE', `${where} is not on this machine`, ExitCode.failure, {
        cause: error,
      });
    }
    if (code === 'EACCES' && port !== undefined) {
      return new CliError('CLI_PORT_DENIED', `no permission to listen on port ${port}`, ExitCode.failure, {
        cause: error,
      });
    }
    // libp2p folds its transports' listen errors into the text of one error: read them from there.
    const inUse = /EADDRINUSE: address already in use (\S+):(\d+)/.exec(cause.message);
    if (inUse !== null) {
      return new CliError(
        'CLI_PORT_IN_USE',
        `port ${inUse[2]} on ${inUse[1]} is in use`,
        ExitCode.portInUse,
        {
          cause: error,
        },
      );
    }
    cause = (cause as { cause?: unknown }).cause ?? (cause as { errors?: unknown[] }).errors?.[0];
  }
  return undefined;
}
