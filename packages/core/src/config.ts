import type { z } from 'zod';
import { describe } from './assert.js';
import { ConfigError, type ConfigIssue } from './errors.js';

/** At most this many issues are spelled out in one message; the rest are counted. */
const issuesShownMax = 8;

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * Parses `input` with a zod schema and returns the typed, defaulted value, or throws ConfigError with
 * one line naming every bad field, the rule it broke and the value it had:
 * `invalid node config: apiPort: Too big: expected number to be <=65535 (got 70000)`.
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, name = 'config'): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const issues: ConfigIssue[] = result.error.issues.map((issue) => ({
    path: formatPath(issue.path),
    rule: issue.message,
    received: 'input' in issue ? describe(issue.input) : 'nothing',
  }));
  const shown = issues
    .slice(0, issuesShownMax)
    .map((issue) => `${issue.path === '' ? '(root)' : issue.path}: ${issue.rule} (got ${issue.received})`);
  const more = issues.length > issuesShownMax ? `; and ${issues.length - issuesShownMax} more` : '';
  throw new ConfigError(`invalid ${name}: ${shown.join('; ')}${more}`, issues);
}
