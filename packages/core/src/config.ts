import { type $ZodType, safeParse, config as zodConfig } from 'zod/v4/core';
import { englishMessage } from './_zod-messages.js';
import { describe } from './assert.js';
import { ConfigError, type ConfigIssue } from './errors.js';

/**
 * A validator in the Standard Schema v1 shape (https://standardschema.dev): what `parseConfig` takes
 * and what every `xxxConfigSchema` of a Trinity package is. zod 4 schemas (classic and `zod/mini`),
 * valibot and ArkType are all such validators. Declared here, so that no validator library's types
 * are part of Trinity's API.
 */
export interface ConfigSchema<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => ConfigSchemaResult<Output> | Promise<ConfigSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** What a Standard Schema's `validate` returns: the value, or the issues. */
export type ConfigSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };

/** What a schema takes: every field optional where it has a default. */
export type ConfigInput<S extends ConfigSchema> = NonNullable<S['~standard']['types']>['input'];
/** What a schema returns: the defaulted value. */
export type ConfigOutput<S extends ConfigSchema> = NonNullable<S['~standard']['types']>['output'];

/** At most this many issues are spelled out in one message; the rest are counted. */
const issuesShownMax = 8;

function formatPath(path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string {
  let out = '';
  for (const segment of path) {
    const key = typeof segment === 'object' ? segment.key : segment;
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** The value at `path` inside `input`, described; 'nothing' where the path leads nowhere. */
function describeAt(
  input: unknown,
  path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>,
): string {
  let value = input;
  for (const segment of path) {
    if (typeof value !== 'object' || value === null) return 'nothing';
    const key = typeof segment === 'object' ? segment.key : segment;
    if (!Object.hasOwn(value, key)) return 'nothing';
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return describe(value);
}

function isZodSchema(schema: ConfigSchema): schema is ConfigSchema & $ZodType {
  return (schema as { _zod?: unknown })._zod !== undefined;
}

function validate(schema: ConfigSchema, input: unknown): { value: unknown } | { issues: ConfigIssue[] } {
  if (isZodSchema(schema)) {
    // A locale configured globally (zod classic configures `en` on import) wins over ours.
    const messages = zodConfig().localeError === undefined ? { error: englishMessage } : {};
    const result = safeParse(schema, input, { reportInput: true, ...messages });
    if (result.success) return { value: result.data };
    const issues = result.error.issues.map((issue) => ({
      path: formatPath(issue.path),
      rule: issue.message,
      received: 'input' in issue ? describe(issue.input) : 'nothing',
    }));
    return { issues };
  }
  const result = schema['~standard'].validate(input);
  if (result instanceof Promise) throw new TypeError('parseConfig takes synchronous schemas only');
  if (result.issues === undefined) return { value: result.value };
  const issues = result.issues.map((issue) => ({
    path: formatPath(issue.path ?? []),
    rule: issue.message,
    received: describeAt(input, issue.path ?? []),
  }));
  return { issues };
}

/**
 * Parses `input` with a schema (any Standard Schema v1 validator; zod's are the usual ones) and
 * returns the typed, defaulted value, or throws ConfigError with one line naming every bad field,
 * the rule it broke and the value it had:
 * `invalid node config: apiPort: Too big: expected number to be <=65535 (got 70000)`.
 */
export function parseConfig<S extends ConfigSchema>(
  schema: S,
  input: unknown,
  name = 'config',
): ConfigOutput<S> {
  const result = validate(schema, input);
  if ('value' in result) return result.value as ConfigOutput<S>;
  const { issues } = result;
  const shown = issues
    .slice(0, issuesShownMax)
    .map((issue) => `${issue.path === '' ? '(root)' : issue.path}: ${issue.rule} (got ${issue.received})`);
  const more = issues.length > issuesShownMax ? `; and ${issues.length - issuesShownMax} more` : '';
  throw new ConfigError(`invalid ${name}: ${shown.join('; ')}${more}`, issues);
}
