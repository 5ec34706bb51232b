import { UsageError } from '../errors.js';

/** A whole-number flag value, or undefined when the flag was not given; anything else is an error. */
export function intFlag(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got "${value}"`);
  return Number(value);
}

/**
 * Runs `parse` (a strict `parseArgs`) and turns its mistakes into one-line usage errors naming the
 * command. Node's own messages quote unevenly and suggest `--` tricks; these say what is wrong and
 * where help is.
 */
export function parseFlags<R>(command: string, parse: () => R): R {
  try {
    return parse();
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
    const help = `(see "trinity ${command} --help")`;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(`${command}: unknown option "${flag ?? message}" ${help}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
      throw new UsageError(`${command}: option "${flag ?? message}" needs a value ${help}`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const extra = /'([^']*)'/.exec(message)?.[1];
      throw new UsageError(`${command}: takes no arguments, got "${extra ?? message}" ${help}`);
    }
    throw error;
  }
}

/** Refuses arguments beyond the first `max` with a one-line usage error. */
export function noExtraArguments(command: string, positionals: string[], max: number): void {
  if (positionals.length <= max) return;
  const extra = positionals.slice(max).join(' ');
  const what = max === 0 ? 'takes no arguments' : `takes ${max} argument${max === 1 ? '' : 's'}`;
  throw new UsageError(
    `${command}: ${what}, got extra "${extra.slice(0, 80)}" (see "trinity ${command} --help")`,
  );
}
