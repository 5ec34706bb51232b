import { TrinityError } from '@trinity/core';

/** A metric name, help text, type or bucket list that breaks Prometheus conventions or an earlier definition. */
export class MetricDefinitionError extends TrinityError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('METRIC_INVALID', message, { details });
  }
}

/** Label names or values that do not match the metric's declared label names. */
export class MetricLabelError extends TrinityError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('METRIC_LABELS_INVALID', message, { details });
  }
}

/** The /metrics listener could not start (port in use, address not available...). */
export class MetricsServerError extends TrinityError {
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('METRICS_SERVER', message, options);
  }
}
