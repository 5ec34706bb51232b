import { labelNameProblems, type MetricKind, metricNameProblems } from './names.js';

interface Family {
  kind: string | undefined;
  help: string | undefined;
  samples: number;
  infBuckets: number;
  sums: number;
  counts: number;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const labelPair = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)/y;
// Prometheus parses values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes "Nan").
const valuePattern = /^(nan|[+-]?inf|[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)$/i;
const histogramSuffixes = ['_bucket', '_sum', '_count'];

/**
 * Strict checks of a Prometheus text exposition (format 0.0.4), independent of promtool: every family
 * has HELP and TYPE before its samples and only once, names and labels follow the conventions
 * (`metricNameProblems`), sample lines and values parse, histograms have le buckets up to +Inf, _sum
 * and _count. Names starting with `prefix` are ours and checked for the prefix too. Returns the
 * problems found, empty when clean.
 */
export function lintExposition(text: string, prefix = 'trinity_'): string[] {
  const problems: string[] = [];
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let entry = families.get(name);
    if (entry === undefined) {
      entry = { kind: undefined, help: undefined, samples: 0, infBuckets: 0, sums: 0, counts: 0 };
      families.set(name, entry);
    }
    return entry;
  };
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const where = `line ${index + 1}`;
    if (line.startsWith('#')) lintComment(line, where, family, problems);
    else lintSample(line, where, families, problems);
  }
  for (const [name, entry] of families) {
    if (entry.kind === undefined) problems.push(`${name}: no TYPE`);
    if (entry.help === undefined || entry.help.trim() === '') problems.push(`${name}: no help text`);
    if (entry.kind !== undefined && ['counter', 'gauge', 'histogram'].includes(entry.kind)) {
      const ownPrefix = name.startsWith(prefix) ? prefix : '';
      problems.push(...metricNameProblems(name, entry.kind as MetricKind, ownPrefix));
    }
    if (
      entry.kind === 'histogram' &&
      entry.samples > 0 &&
      (entry.infBuckets === 0 || entry.sums === 0 || entry.counts === 0)
    ) {
      problems.push(`${name}: histogram without +Inf bucket, _sum or _count`);
    }
  }
  return problems;
}

function lintComment(
  line: string,
  where: string,
  family: (name: string) => Family,
  problems: string[],
): void {
  const match = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/.exec(line);
  if (match === null) return; // other comments are allowed
  const [, keyword, name, rest = ''] = match;
  const entry = family(name!);
  if (keyword === 'HELP') {
    if (entry.help !== undefined) problems.push(`${where}: second HELP for ${name}`);
    entry.help = rest;
    return;
  }
  if (entry.kind !== undefined) problems.push(`${where}: second TYPE for ${name}`);
  if (entry.samples > 0) problems.push(`${where}: TYPE for ${name} after its samples`);
  if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) {
    problems.push(`${where}: unknown type ${JSON.stringify(rest)} for ${name}`);
  }
  entry.kind = rest;
}

function lintSample(line: string, where: string, families: Map<string, Family>, problems: string[]): void {
  const match = sampleLine.exec(line);
  if (match === null) {
    problems.push(`${where}: not a sample line: ${line.slice(0, 80)}`);
    return;
  }
  const [, name, , labelText = '', value] = match;
  const labels = parseLabels(labelText, where, problems);
  if (!valuePattern.test(value!)) problems.push(`${where}: bad value ${JSON.stringify(value)}`);
  const owner = familyOf(name!, families);
  if (owner === undefined) {
    problems.push(`${where}: sample ${name} has no TYPE or HELP before it`);
    return;
  }
  const [familyName, entry] = owner;
  entry.samples++;
  const kind = (entry.kind ?? 'untyped') as MetricKind;
  for (const label of labels.keys()) {
    if (!(kind === 'histogram' && label === 'le'))
      problems.push(...labelNameProblems(label, kind).map((p) => `${where}: ${p}`));
  }
  if (entry.kind === 'histogram') {
    if (name === `${familyName}_bucket`) {
      if (!labels.has('le')) problems.push(`${where}: bucket without le`);
      if (labels.get('le') === '+Inf') entry.infBuckets++;
    } else if (name === `${familyName}_sum`) entry.sums++;
    else if (name === `${familyName}_count`) entry.counts++;
    else problems.push(`${where}: ${name} is not a sample of histogram ${familyName}`);
  } else if (name !== familyName) {
    problems.push(`${where}: ${name} does not belong to ${familyName}`);
  }
}

function familyOf(name: string, families: Map<string, Family>): [string, Family] | undefined {
  const exact = families.get(name);
  if (exact !== undefined && exact.kind !== 'histogram') return [name, exact];
  for (const suffix of histogramSuffixes) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const entry = families.get(base);
    if (entry !== undefined && entry.kind === 'histogram') return [base, entry];
  }
  return exact === undefined ? undefined : [name, exact];
}

function parseLabels(text: string, where: string, problems: string[]): Map<string, string> {
  const labels = new Map<string, string>();
  labelPair.lastIndex = 0;
  while (labelPair.lastIndex < text.length) {
    const start = labelPair.lastIndex;
    const match = labelPair.exec(text);
    if (match === null || match.index !== start) {
      problems.push(`${where}: bad labels {${text.slice(0, 80)}}`);
      break;
    }
    if (labels.has(match[1]!)) problems.push(`${where}: label ${match[1]} repeated`);
    labels.set(match[1]!, match[2]!);
    if (match[3] === '') break;
  }
  return labels;
}
