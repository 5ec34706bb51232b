/** The kinds of metric Trinity defines. */
export type MetricKind = 'counter' | 'gauge' | 'histogram';

const namePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelPattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Units Prometheus wants in base form, and the unit to use instead (as promtool's linter says). */
const nonBaseUnits: Readonly<Record<string, string>> = {
  milliseconds: 'seconds',
  microseconds: 'seconds',
  nanoseconds: 'seconds',
  minutes: 'seconds',
  hours: 'seconds',
  days: 'seconds',
  kilobytes: 'bytes',
  megabytes: 'bytes',
  gigabytes: 'bytes',
  terabytes: 'bytes',
  kibibytes: 'bytes',
  mebibytes: 'bytes',
  gibibytes: 'bytes',
  bits: 'bytes',
  percent: 'ratio',
};

/** Abbreviated units promtool rejects anywhere in a name. */
const abbreviations = [
  's',
  'ms',
  'us',
  'ns',
  'sec',
  'b',
  'kb',
  'mb',
  'gb',
  'tb',
  'pb',
  'm',
  'h',
  'd',
  'kib',
  'mib',
  'gib',
];

/**
 * The convention problems of a metric name, empty when clean: the Prometheus name syntax, our prefix,
 * `_total` on counters and only on counters, no `_count`/`_sum`/`_bucket` outside histograms, base
 * units spelled out (seconds, bytes), snake_case, no colons. The same rules as `promtool check metrics`.
 */
export function metricNameProblems(name: string, kind: MetricKind, prefix = ''): string[] {
  const problems: string[] = [];
  if (!namePattern.test(name)) return [`${JSON.stringify(name)} is not a valid Prometheus metric name`];
  if (!name.startsWith(prefix)) problems.push(`${name} must start with ${prefix}`);
  if (name.includes(':')) problems.push(`${name} must not contain ':' (reserved for recording rules)`);
  if (/[A-Z]/.test(name)) problems.push(`${name} must be snake_case`);
  if (kind === 'counter' && !name.endsWith('_total')) problems.push(`counter ${name} must end in _total`);
  if (kind !== 'counter' && name.endsWith('_total')) problems.push(`${kind} ${name} must not end in _total`);
  for (const suffix of ['_count', '_sum', '_bucket']) {
    if (name.endsWith(suffix)) problems.push(`${name} must not end in ${suffix} (reserved for histograms)`);
  }
  const words = name.split('_');
  for (const word of words) {
    const base = nonBaseUnits[word];
    if (base !== undefined) problems.push(`${name}: use base unit "${base}" instead of "${word}"`);
    if (abbreviations.includes(word))
      problems.push(`${name} must not contain the abbreviated unit "${word}"`);
  }
  return problems;
}

/** Problems of a label name: syntax, and the names Prometheus reserves. */
export function labelNameProblems(label: string, kind: MetricKind): string[] {
  if (!labelPattern.test(label)) return [`${JSON.stringify(label)} is not a valid label name`];
  if (label.startsWith('__')) return [`label ${label} is reserved (starts with __)`];
  if (kind === 'histogram' && label === 'le') return ['label le is reserved in histograms'];
  if (label === 'quantile') return ['label quantile is reserved'];
  return [];
}
