/** The codes of the errors @trinity/core itself throws. */
export type CoreErrorCode = 'CONFIG_INVALID' | 'ASSERTION_FAILED';

/**
 * The base of every error Trinity throws on purpose. `code` is stable across releases (match on it,
 * or on `name`, never on the message); `details` carries machine-readable context. Each package
 * narrows `Code` to the literal union of its codes (`ErasureErrorCode`, `VsaErrorCode`, …).
 */
export class TrinityError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: Code,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }

  /** A plain object for logs and JSON error bodies. */
  toJSON(): { name: string; code: string; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, details: { ...this.details } };
  }
}

/** A configuration object (file, flags or constructor options) broke its schema. */
export class ConfigError extends TrinityError<'CONFIG_INVALID'> {
  readonly issues: readonly ConfigIssue[];

  constructor(message: string, issues: readonly ConfigIssue[]) {
    super('CONFIG_INVALID', message, { details: { issues } });
    this.issues = issues;
  }
}

/** One rule one field broke. `path` is dotted (`erasure.dataShards`), empty for the root. */
export interface ConfigIssue {
  readonly path: string;
  readonly rule: string;
  readonly received: string;
}

/** A broken invariant: a bug in Trinity, never a caller's mistake. Assertions stay on in production. */
export class AssertionError extends TrinityError<'ASSERTION_FAILED'> {
  constructor(message: string) {
    super('ASSERTION_FAILED', message);
  }
}

/** True when `error` is a TrinityError with the given code, also across package copies (matched by shape). */
export function isTrinityError<Code extends string = string>(
  error: unknown,
  code?: Code,
): error is TrinityError<Code> {
  if (!(error instanceof Error)) return false;
  const candidate = error as Partial<TrinityError>;
  if (typeof candidate.code !== 'string') return false;
  return code === undefined || candidate.code === code;
}
