export { type MetricsConfig, type MetricsConfigInput, metricsConfigSchema } from './config.js';
export {
  MetricDefinitionError,
  MetricLabelError,
  MetricsError,
  type MetricsErrorCode,
  MetricsServerError,
} from './errors.js';
export { lintExposition } from './exposition-lint.js';
export { type MetricsServer, type MetricsServerOptions, startMetricsServer } from './metrics-server.js';
export { labelNameProblems, type MetricKind, metricNameProblems } from './names.js';
export {
  BYTES_BUCKETS,
  PrometheusMetrics,
  type PrometheusMetricsOptions,
  SECONDS_BUCKETS,
} from './prometheus-metrics.js';
export {
  type MetricDefinition,
  type NodeMetrics,
  registerTrinityMetrics,
  TRINITY_METRICS,
} from './trinity-metrics.js';
