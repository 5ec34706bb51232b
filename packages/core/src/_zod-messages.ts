/**
 * English messages for zod's issues, worded as zod's own `en` locale words them. zod/mini installs no
 * locale (its messages are all "Invalid input"), and the `en` locale costs a browser bundle ~3 KB, so
 * parseConfig hands zod this smaller map whenever no locale was configured globally (zod classic
 * configures `en` when it is imported, and then its messages are used).
 */

const sizeUnits: Readonly<Record<string, string>> = {
  string: 'characters',
  file: 'bytes',
  array: 'items',
  set: 'items',
  map: 'entries',
};

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value;
}

function literal(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}

interface Issue {
  readonly code?: string;
  readonly input?: unknown;
  readonly expected?: string;
  readonly values?: readonly unknown[];
  readonly keys?: readonly string[];
  readonly origin?: string;
  readonly inclusive?: boolean;
  readonly exact?: boolean;
  readonly minimum?: number | bigint;
  readonly maximum?: number | bigint;
  readonly format?: string;
  readonly pattern?: string;
  readonly divisor?: number | bigint;
}

function bound(issue: Issue, big: boolean): string {
  const adj = issue.exact ? 'exactly ' : issue.inclusive ? (big ? '<=' : '>=') : big ? '<' : '>';
  const limit = String(big ? issue.maximum : issue.minimum);
  const origin = issue.origin ?? 'value';
  const unit = sizeUnits[origin];
  const head = big ? 'Too big' : 'Too small';
  return unit === undefined
    ? `${head}: expected ${origin} to be ${adj}${limit}`
    : `${head}: expected ${origin} to have ${adj}${limit} ${unit}`;
}

export function englishMessage(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `Invalid input: expected ${issue.expected}, received ${typeName(issue.input)}`;
    case 'invalid_value': {
      const values = issue.values ?? [];
      return values.length === 1
        ? `Invalid input: expected ${literal(values[0])}`
        : `Invalid option: expected one of ${values.map(literal).join('|')}`;
    }
    case 'too_big':
      return bound(issue, true);
    case 'too_small':
      return bound(issue, false);
    case 'invalid_format':
      return issue.format === 'regex'
        ? `Invalid string: must match pattern ${issue.pattern}`
        : `Invalid ${issue.format}`;
    case 'not_multiple_of':
      return `Invalid number: must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys': {
      const keys = issue.keys ?? [];
      return `Unrecognized key${keys.length > 1 ? 's' : ''}: ${keys.map(literal).join(', ')}`;
    }
    case 'invalid_key':
      return `Invalid key in ${issue.origin}`;
    case 'invalid_element':
      return `Invalid value in ${issue.origin}`;
    default:
      return 'Invalid input';
  }
}
