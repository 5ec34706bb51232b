import {
  type Counter,
  type Gauge,
  type Histogram,
  type HistogramOptions,
  type Labels,
  type MetricOptions,
  type Metrics,
  parseConfig,
} from '@trinity/core';
import * as prom from 'prom-client';
import { type MetricsConfigInput, metricsConfigSchema } from './config.js';
import { MetricDefinitionError, MetricLabelError } from './errors.js';
import { labelNameProblems, type MetricKind, metricNameProblems } from './names.js';

/** Settings of PrometheusMetrics: the registry-related part of `metricsConfigSchema`. */
export type PrometheusMetricsOptions = Pick<
  MetricsConfigInput,
  'collectDefaultMetrics' | 'maxSeriesPerMetric' | 'namePrefix'
> & {
  /** Register into this registry instead of a new one (never prom-client's global one by default). */
  readonly registry?: prom.Registry;
};

type PromMetric = prom.Counter<string> | prom.Gauge<string> | prom.Histogram<string>;

interface Entry {
  readonly kind: MetricKind;
  readonly labelNames: readonly string[];
  readonly metric: PromMetric;
  readonly series: Set<string>;
  readonly handle: Counter | Gauge | Histogram;
}

const helpLengthMax = 1_024;
const labelValueLengthMax = 1_024;
const labelsMax = 16;

/**
 * Default buckets by unit: durations in seconds, sizes in bytes, and prom-client's otherwise. Frozen,
 * and each histogram gets a copy: prom-client keeps the array it is given as the histogram's bounds.
 */
export const SECONDS_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]);
export const BYTES_BUCKETS: readonly number[] = Object.freeze([
  1_024, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864, 268_435_456,
]);

/**
 * The core `Metrics` interface on prom-client, in a registry of its own. Every metric is checked
 * against Prometheus conventions when defined (`metricNameProblems`), every label set against the
 * declared label names when recorded, and each metric keeps at most `maxSeriesPerMetric` label
 * combinations: new ones beyond are dropped and counted in trinity_metrics_series_dropped_total.
 */
export class PrometheusMetrics implements Metrics {
  readonly registry: prom.Registry;
  readonly maxSeriesPerMetric: number;
  readonly namePrefix: string;
  readonly #entries = new Map<string, Entry>();
  readonly #dropped: prom.Counter<string>;

  constructor(options: PrometheusMetricsOptions = {}) {
    const { registry, ...rest } = options;
    const config = parseConfig(metricsConfigSchema, rest, 'metrics config');
    this.registry = registry ?? new prom.Registry();
    this.maxSeriesPerMetric = config.maxSeriesPerMetric;
    this.namePrefix = config.namePrefix;
    const before = new Set(this.registry.getMetricsAsArray().map((metric) => metric.name));
    try {
      this.#dropped = new prom.Counter({
        name: `${config.namePrefix}metrics_series_dropped_total`,
        help: 'Samples dropped because their metric already had maxSeriesPerMetric label combinations.',
        labelNames: ['metric'],
        registers: [this.registry],
      });
      if (config.collectDefaultMetrics) this.#collectDefaultMetrics();
    } catch (error) {
      // A registry shared with another PrometheusMetrics (same prefix, or both collecting the default
      // metrics): leave it as it was rather than half filled.
      for (const metric of this.registry.getMetricsAsArray()) {
        if (!before.has(metric.name)) this.registry.removeSingleMetric(metric.name);
      }
      throw new MetricDefinitionError(`cannot register in the given registry: ${(error as Error).message}`);
    }
  }

  /**
   * prom-client's process_* and nodejs_* metrics, less the ones that break conventions
   * (nodejs_active_*_total are gauges; their unsuffixed twins carry the same data).
   */
  #collectDefaultMetrics(): void {
    prom.collectDefaultMetrics({ register: this.registry });
    for (const metric of this.registry.getMetricsAsArray()) {
      const kind = (metric as unknown as { type: string }).type as MetricKind;
      const name = (metric as unknown as { name: string }).name;
      if (metricNameProblems(name, kind).length > 0) this.registry.removeSingleMetric(name);
    }
  }

  /** The Content-Type of `render()`'s text (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  counter(options: MetricOptions): Counter {
    return this.#define('counter', options) as Counter;
  }

  gauge(options: MetricOptions): Gauge {
    return this.#define('gauge', options) as Gauge;
  }

  histogram(options: HistogramOptions): Histogram {
    return this.#define('histogram', options) as Histogram;
  }

  /** The whole registry in the Prometheus text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Names of the metrics defined through this object. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  #define(kind: MetricKind, options: MetricOptions | HistogramOptions): Counter | Gauge | Histogram {
    if (typeof options !== 'object' || options === null)
      throw new MetricDefinitionError('metric options must be an object');
    // A string would spread into one-letter label names.
    if (options.labelNames !== undefined && !Array.isArray(options.labelNames))
      throw new MetricDefinitionError(`${String(options.name)}: labelNames must be an array of strings`);
    const labelNames = [...(options.labelNames ?? [])];
    const existing = this.#entries.get(options.name);
    if (existing !== undefined) {
      if (existing.kind !== kind || existing.labelNames.join(',') !== labelNames.join(',')) {
        throw new MetricDefinitionError(
          `metric ${options.name} is already a ${existing.kind} with labels [${existing.labelNames}]`,
          { name: options.name },
        );
      }
      return existing.handle;
    }
    validateDefinition(kind, options, labelNames, this.namePrefix);
    const metric = this.#create(kind, options, labelNames);
    const entry: Entry = { kind, labelNames, metric, series: new Set(), handle: undefined as never };
    (entry as { handle: Entry['handle'] }).handle = this.#handle(entry, options.name);
    this.#entries.set(options.name, entry);
    return entry.handle;
  }

  #create(kind: MetricKind, options: MetricOptions | HistogramOptions, labelNames: string[]): PromMetric {
    const base = { name: options.name, help: options.help, labelNames, registers: [this.registry] };
    try {
      if (kind === 'counter') return new prom.Counter(base);
      if (kind === 'gauge') return new prom.Gauge(base);
      return new prom.Histogram({
        ...base,
        buckets: bucketsFor(options.name, (options as HistogramOptions).buckets),
      });
    } catch (error) {
      throw new MetricDefinitionError(`cannot register ${options.name}: ${(error as Error).message}`, {
        name: options.name,
      });
    }
  }

  #handle(entry: Entry, name: string): Counter | Gauge | Histogram {
    // prom-client takes (labels, value) or (value); an empty label set records the unlabelled series.
    const metric = entry.metric as prom.Gauge<string> & prom.Histogram<string>;
    const run = (labels: Labels | undefined, value: number, op: 'inc' | 'dec' | 'set' | 'observe') => {
      if (entry.labelNames.length === 0 && labels === undefined) {
        metric[op](value);
        return;
      }
      const checked = this.#labels(entry, name, labels);
      if (checked !== null) metric[op](checked, value);
    };
    if (entry.kind === 'counter') {
      return {
        inc: (value = 1, labels) => {
          assertSample(value, name, true);
          run(labels, value, 'inc');
        },
      };
    }
    if (entry.kind === 'gauge') {
      return {
        set: (value, labels) => {
          assertSample(value, name, false);
          run(labels, value, 'set');
        },
        inc: (value = 1, labels) => {
          assertSample(value, name, false);
          run(labels, value, 'inc');
        },
        dec: (value = 1, labels) => {
          assertSample(value, name, false);
          run(labels, value, 'dec');
        },
      };
    }
    return {
      observe: (value, labels) => {
        assertSample(value, name, false);
        run(labels, value, 'observe');
      },
    };
  }

  /** The labels to record with, or null when the series limit drops the sample. */
  #labels(entry: Entry, name: string, labels: Labels | undefined): Labels | null {
    const names = entry.labelNames;
    if (labels !== undefined && (typeof labels !== 'object' || labels === null))
      throw new MetricLabelError(`${name}: labels must be an object, got ${String(labels)}`, { name });
    let given = 0;
    if (labels !== undefined) for (const _ in labels) given++;
    if (given !== names.length) throw labelMismatch(entry, name, labels);
    let key = '';
    for (const label of names) {
      const value = labels![label];
      if (value === undefined) throw labelMismatch(entry, name, labels);
      if (typeof value !== 'string')
        throw new MetricLabelError(`${name}: label ${label} must be a string, got ${typeof value}`, { name });
      if (value.length > labelValueLengthMax) {
        throw new MetricLabelError(`${name}: label values must be at most ${labelValueLengthMax} characters`);
      }
      key += `${value}\u0000`;
    }
    if (!entry.series.has(key)) {
      if (entry.series.size >= this.maxSeriesPerMetric) {
        this.#dropped.inc({ metric: name });
        return null;
      }
      entry.series.add(key);
    }
    return labels!;
  }
}

function labelMismatch(entry: Entry, name: string, labels: Labels | undefined): MetricLabelError {
  const given = labels === undefined ? [] : Object.keys(labels);
  return new MetricLabelError(`${name} takes labels [${entry.labelNames}], got [${given}]`, { name });
}

function validateDefinition(
  kind: MetricKind,
  options: MetricOptions | HistogramOptions,
  labelNames: readonly string[],
  prefix: string,
): void {
  const name = options.name;
  if (typeof name !== 'string') throw new MetricDefinitionError('metric name must be a string');
  const problems = metricNameProblems(name, kind, prefix);
  if (typeof options.help !== 'string' || options.help.trim() === '' || options.help.length > helpLengthMax) {
    problems.push(`${name} needs help text of 1-${helpLengthMax} characters`);
  }
  if (labelNames.length > labelsMax) problems.push(`${name} has more than ${labelsMax} labels`);
  if (new Set(labelNames).size !== labelNames.length) problems.push(`${name} repeats a label name`);
  for (const label of labelNames) problems.push(...labelNameProblems(label, kind));
  if (problems.length > 0) throw new MetricDefinitionError(problems.join('; '), { name, problems });
}

function bucketsFor(name: string, buckets: readonly number[] | undefined): number[] {
  if (buckets !== undefined) {
    const ok =
      buckets.length > 0 &&
      buckets.length <= 64 &&
      buckets.every((b, i) => Number.isFinite(b) && (i === 0 || b > buckets[i - 1]!));
    if (!ok)
      throw new MetricDefinitionError(`${name}: buckets must be 1-64 finite, strictly ascending numbers`);
    return [...buckets];
  }
  if (name.endsWith('_seconds')) return [...SECONDS_BUCKETS];
  if (name.endsWith('_bytes')) return [...BYTES_BUCKETS];
  return prom.linearBuckets(0.1, 0.1, 10);
}

function assertSample(value: unknown, name: string, nonNegative: boolean): asserts value is number {
  if (typeof value !== 'number' || Number.isNaN(value))
    throw new TypeError(`${name}: value must be a number, got ${String(value)}`);
  if (!Number.isFinite(value) || (nonNegative && value < 0)) {
    throw new RangeError(`${name}: value must be finite${nonNegative ? ' and >= 0' : ''}, got ${value}`);
  }
}
