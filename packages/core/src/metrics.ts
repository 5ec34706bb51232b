/** Label values of one series, e.g. `{ peer: 'abc', outcome: 'ok' }`. */
export type Labels = Readonly<Record<string, string>>;

export interface MetricOptions {
  /** Full metric name, `trinity_` prefix and unit suffix included (`trinity_repair_bytes_total`). */
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
}

export interface HistogramOptions extends MetricOptions {
  /** Upper bounds of the buckets, ascending. */
  readonly buckets?: readonly number[];
}

export interface Counter {
  inc(value?: number, labels?: Labels): void;
}

export interface Gauge {
  set(value: number, labels?: Labels): void;
  inc(value?: number, labels?: Labels): void;
  dec(value?: number, labels?: Labels): void;
}

export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

/**
 * The metrics interface libraries record into. Only @trinity/metrics implements it on Prometheus;
 * libraries take a Metrics and never import a metrics client. Asking twice for one name returns the same metric.
 */
export interface Metrics {
  counter(options: MetricOptions): Counter;
  gauge(options: MetricOptions): Gauge;
  histogram(options: HistogramOptions): Histogram;
}

const noopCounter: Counter = { inc: () => {} };
const noopGauge: Gauge = { set: () => {}, inc: () => {}, dec: () => {} };
const noopHistogram: Histogram = { observe: () => {} };

/** Metrics that record nothing: the default wherever metrics are optional. */
export const noopMetrics: Metrics = {
  counter: () => noopCounter,
  gauge: () => noopGauge,
  histogram: () => noopHistogram,
};

function seriesKey(name: string, labels: Labels | undefined): string {
  if (labels === undefined) return name;
  const parts = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${JSON.stringify(labels[key])}`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/**
 * Metrics kept in memory, for tests: `value('name', labels)` reads a counter or gauge, and the
 * sum of a histogram's observations; `count` reads how many observations a histogram had.
 */
export class MemoryMetrics implements Metrics {
  readonly #values = new Map<string, number>();
  readonly #counts = new Map<string, number>();

  counter(options: MetricOptions): Counter {
    return { inc: (value = 1, labels) => this.#add(seriesKey(options.name, labels), value) };
  }

  gauge(options: MetricOptions): Gauge {
    return {
      set: (value, labels) => void this.#values.set(seriesKey(options.name, labels), value),
      inc: (value = 1, labels) => this.#add(seriesKey(options.name, labels), value),
      dec: (value = 1, labels) => this.#add(seriesKey(options.name, labels), -value),
    };
  }

  histogram(options: HistogramOptions): Histogram {
    return {
      observe: (value, labels) => {
        const key = seriesKey(options.name, labels);
        this.#add(key, value);
        this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
      },
    };
  }

  value(name: string, labels?: Labels): number {
    return this.#values.get(seriesKey(name, labels)) ?? 0;
  }

  count(name: string, labels?: Labels): number {
    return this.#counts.get(seriesKey(name, labels)) ?? 0;
  }

  #add(key: string, value: number): void {
    this.#values.set(key, (this.#values.get(key) ?? 0) + value);
  }
}
