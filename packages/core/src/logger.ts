/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * The logging interface libraries depend on. It is pino's calling convention (fields first, then
 * the message), so a pino logger satisfies it as is; libraries never import a logging library.
 */
export interface Logger {
  trace(fields: LogFields, message?: string): void;
  debug(fields: LogFields, message?: string): void;
  info(fields: LogFields, message?: string): void;
  warn(fields: LogFields, message?: string): void;
  error(fields: LogFields, message?: string): void;
  fatal(fields: LogFields, message?: string): void;
  /** A logger that adds `bindings` to every line. */
  child(bindings: LogFields): Logger;
}

const noop = (): void => {};

/** A logger that drops everything. The default wherever a logger is optional. */
export const noopLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child: () => noopLogger,
};

/** One captured line of a MemoryLogger. */
export interface LogRecord {
  readonly level: LogLevel;
  readonly message: string | undefined;
  readonly fields: LogFields;
}

/** A logger that keeps its lines (at most `limit`, oldest dropped) so tests can assert on them. */
export class MemoryLogger implements Logger {
  readonly records: LogRecord[];
  readonly #bindings: LogFields;
  readonly #limit: number;

  constructor(limit = 10_000, bindings: LogFields = {}, records: LogRecord[] = []) {
    this.#limit = limit;
    this.#bindings = bindings;
    this.records = records;
  }

  trace(fields: LogFields, message?: string): void {
    this.#push('trace', fields, message);
  }
  debug(fields: LogFields, message?: string): void {
    this.#push('debug', fields, message);
  }
  info(fields: LogFields, message?: string): void {
    this.#push('info', fields, message);
  }
  warn(fields: LogFields, message?: string): void {
    this.#push('warn', fields, message);
  }
  error(fields: LogFields, message?: string): void {
    this.#push('error', fields, message);
  }
  fatal(fields: LogFields, message?: string): void {
    this.#push('fatal', fields, message);
  }

  child(bindings: LogFields): Logger {
    return new MemoryLogger(this.#limit, { ...this.#bindings, ...bindings }, this.records);
  }

  #push(level: LogLevel, fields: LogFields, message: string | undefined): void {
    if (this.records.length >= this.#limit) this.records.shift();
    this.records.push({ level, message, fields: { ...this.#bindings, ...fields } });
  }
}
