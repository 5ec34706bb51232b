import { TrinityError } from '@trinity/core';

/** Every `code` an error of @trinity/metrics carries; stable across releases. */
export type MetricsErrorCode = 'METRIC_INVALID' | 'METRIC_LABELS_INVALID' | 'METRICS_SERVER';

/** The base of every error @trinity/metrics throws on purpose; match on `code` or `name`. */
export class MetricsError<Code extends MetricsErrorCode = MetricsErrorCode> extends TrinityError<Code> {}

/** A metric name, help text, type or bucket list that breaks Prometheus conventions or an earlier definition. */
export class MetricDefinitionError extends MetricsError<'METRIC_INVALID'> {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('METRIC_INVALID', message, { details });
  }
}

/** Label names or values that do not match the metric's declared label names. */
export class MetricLabelError extends MetricsError<'METRIC_LABELS_INVALID'> {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('METRIC_LABELS_INVALID', message, { details });
  }
}

/** The /metrics listener could not start (port in use, address not available...). */
export class MetricsServerError extends MetricsError<'METRICS_SERVER'> {
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('METRICS_SERVER', message, options);
  }
}
