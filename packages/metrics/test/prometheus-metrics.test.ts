import { ConfigError, MemoryMetrics } from '@trinity/core';
import * as prom from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  BYTES_BUCKETS,
  lintExposition,
  MetricDefinitionError,
  MetricLabelError,
  PrometheusMetrics,
  registerTrinityMetrics,
  SECONDS_BUCKETS,
  TRINITY_METRICS,
} from '../src/index.js';

describe('PrometheusMetrics', () => {
  it('implements core Metrics: counters, gauges and histograms in the text format', async () => {
    const metrics = new PrometheusMetrics({ collectDefaultMetrics: false });
    metrics.counter({ name: 'trinity_demo_events_total', help: 'Demo events.' }).inc(3);
    const gauge = metrics.gauge({ name: 'trinity_demo_level', help: 'Demo level.', labelNames: ['region'] });
    gauge.set(5, { region: 'us-east' });
    gauge.dec(2, { region: 'us-east' });
    gauge.inc(1, { region: 'eu-west' });
    const histogram = metrics.histogram({ name: 'trinity_demo_duration_seconds', help: 'Demo durations.' });
    histogram.observe(0.003);
    histogram.observe(2);
    const text = await metrics.render();
    expect(text).toContain(
      '# HELP trinity_demo_events_total Demo events.\n# TYPE trinity_demo_events_total counter\n',
    );
    expect(text).toContain('trinity_demo_events_total 3\n');
    expect(text).toContain('trinity_demo_level{region="us-east"} 3\n');
    expect(text).toContain('trinity_demo_level{region="eu-west"} 1\n');
    expect(text).toContain('trinity_demo_duration_seconds_bucket{le="0.005"} 1\n');
    expect(text).toContain('trinity_demo_duration_seconds_bucket{le="+Inf"} 2\n');
    expect(text).toContain('trinity_demo_duration_seconds_sum 2.003\n');
    expect(text).toContain('trinity_demo_duration_seconds_count 2\n');
    expect(lintExposition(text)).toEqual([]);
    expect(metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('keeps its own registry, never the global one', async () => {
    const metrics = new PrometheusMetrics();
    metrics.counter({ name: 'trinity_private_total', help: 'Private.' }).inc();
    expect(await prom.register.metrics()).not.toContain('trinity_private_total');
    expect(await metrics.render()).toContain('process_cpu_seconds_total');
  });

  it('returns the same metric for the same name, and rejects a conflicting redefinition', () => {
    const metrics = new PrometheusMetrics({ collectDefaultMetrics: false });
    const a = metrics.counter({ name: 'trinity_x_total', help: 'X.' });
    expect(metrics.counter({ name: 'trinity_x_total', help: 'X.' })).toBe(a);
    expect(() => metrics.gauge({ name: 'trinity_x_total', help: 'X.' })).toThrow(MetricDefinitionError);
    expect(() => metrics.counter({ name: 'trinity_x_total', help: 'X.', labelNames: ['a'] })).toThrow(
      /already a counter/,
    );
  });

  it('rejects names and help that break Prometheus conventions, with the reason', () => {
    const metrics = new PrometheusMetrics({ collectDefaultMetrics: false });
    const bad: [() => unknown, RegExp][] = [
      [() => metrics.counter({ name: 'trinity_scrub_rounds', help: 'h' }), /must end in _total/],
      [() => metrics.gauge({ name: 'trinity_shards_total', help: 'h' }), /must not end in _total/],
      [() => metrics.gauge({ name: 'trinity_node_count', help: 'h' }), /_count/],
      [() => metrics.histogram({ name: 'trinity_fetch_latency_ms', help: 'h' }), /abbreviated unit "ms"/],
      [() => metrics.gauge({ name: 'trinity_uptime_milliseconds', help: 'h' }), /base unit "seconds"/],
      [() => metrics.gauge({ name: 'other_metric', help: 'h' }), /must start with trinity_/],
      [() => metrics.gauge({ name: 'trinity_x', help: '' }), /help text/],
      [() => metrics.gauge({ name: 'trinity bad', help: 'h' }), /not a valid/],
      [() => metrics.gauge({ name: 'trinity_y', help: 'h', labelNames: ['__x'] }), /reserved/],
      [() => metrics.histogram({ name: 'trinity_z_seconds', help: 'h', buckets: [2, 1] }), /ascending/],
    ];
    for (const [define, reason] of bad) {
      expect(define).toThrow(MetricDefinitionError);
      expect(define).toThrow(reason);
    }
  });

  it('checks label sets and sample values', () => {
    const metrics = new PrometheusMetrics({ collectDefaultMetrics: false });
    const counter = metrics.counter({ name: 'trinity_l_total', help: 'L.', labelNames: ['peer'] });
    expect(() => counter.inc(1)).toThrow(MetricLabelError);
    expect(() => counter.inc(1, { peer: 'a', extra: 'b' })).toThrow(/takes labels \[peer\]/);
    expect(() => counter.inc(-1, { peer: 'a' })).toThrow(RangeError);
    expect(() => counter.inc(Number.NaN, { peer: 'a' })).toThrow(TypeError);
    const gauge = metrics.gauge({ name: 'trinity_g', help: 'G.' });
    expect(() => gauge.set(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => gauge.set(1, { peer: 'a' })).toThrow(MetricLabelError);
  });

  it('refuses a registry it cannot register in, and leaves that registry as it was', () => {
    const registry = new prom.Registry();
    new PrometheusMetrics({ registry, namePrefix: 'a_' });
    const names = () => registry.getMetricsAsArray().map((metric) => metric.name);
    const before = names();
    expect(() => new PrometheusMetrics({ registry, namePrefix: 'b_' })).toThrow(MetricDefinitionError);
    expect(() => new PrometheusMetrics({ registry, namePrefix: 'a_', collectDefaultMetrics: false })).toThrow(
      /cannot register in the given registry/,
    );
    expect(names()).toEqual(before);
    expect(registry.getSingleMetric('b_metrics_series_dropped_total')).toBeUndefined();
  });

  it('hands each histogram its own copy of the frozen default buckets', async () => {
    expect(() => (SECONDS_BUCKETS as number[]).push(60)).toThrow(TypeError);
    expect(() => (BYTES_BUCKETS as number[]).reverse()).toThrow(TypeError);
    const metrics = new PrometheusMetrics({ collectDefaultMetrics: false });
    metrics.histogram({ name: 'trinity_hop_seconds', help: 'Hop.' }).observe(0.2);
    const text = await metrics.render();
    expect(text.match(/^trinity_hop_seconds_bucket/gm)).toHaveLength(SECONDS_BUCKETS.length + 1);
    expect(text).toContain('trinity_hop_seconds_bucket{le="0.25"} 1');
  });

  it('refuses labels of the wrong type from untyped callers with a MetricLabelError', () => {
    const metrics = new PrometheusMetrics({ collectDefaultMetrics: false });
    const counter = metrics.counter({ name: 'trinity_t_total', help: 'T.', labelNames: ['peer'] });
    const gauge = metrics.gauge({ name: 'trinity_t', help: 'T.' });
    const untyped = (labels: unknown) => labels as Record<string, string>;
    expect(() => counter.inc(1, untyped(null))).toThrow(MetricLabelError);
    expect(() => gauge.set(1, untyped(null))).toThrow(/labels must be an object/);
    expect(() => counter.inc(1, untyped({ peer: 5 }))).toThrow(/label peer must be a string, got number/);
    const labelNames = 'peer' as unknown as string[];
    expect(() => metrics.gauge({ name: 'trinity_u', help: 'U.', labelNames })).toThrow(
      /labelNames must be an array/,
    );
    expect(metrics.names()).not.toContain('trinity_u');
  });

  it('keeps at most maxSeriesPerMetric label combinations and counts what it drops', async () => {
    const metrics = new PrometheusMetrics({ collectDefaultMetrics: false, maxSeriesPerMetric: 3 });
    const counter = metrics.counter({ name: 'trinity_peer_bytes_total', help: 'P.', labelNames: ['peer'] });
    for (let i = 0; i < 10; i++) counter.inc(1, { peer: `p${i % 5}` });
    const text = await metrics.render();
    expect(text.match(/^trinity_peer_bytes_total\{/gm)).toHaveLength(3);
    expect(text).toContain('trinity_peer_bytes_total{peer="p0"} 2');
    expect(text).toContain('trinity_metrics_series_dropped_total{metric="trinity_peer_bytes_total"} 4');
  });

  it('validates its options', () => {
    expect(() => new PrometheusMetrics({ maxSeriesPerMetric: 0 })).toThrow(ConfigError);
    expect(() => new PrometheusMetrics({ namePrefix: 'Bad' })).toThrow(ConfigError);
  });
});

describe('the trinity_* metric set', () => {
  it('has the seed 18 plus the subsystems, every name clean', () => {
    const names = Object.values(TRINITY_METRICS).map((definition) => definition.name);
    expect(new Set(names).size).toBe(names.length);
    const seedNames = [
      'trinity_node_count',
      'trinity_shards_total',
      'trinity_storage_bytes_used',
      'trinity_storage_bytes_available',
      'trinity_pos_challenges_issued',
      'trinity_pos_challenges_passed',
      'trinity_pos_challenges_failed',
      'trinity_reputation_avg',
      'trinity_reputation_min',
      'trinity_reputation_max',
      'trinity_bandwidth_upload_bytes_total',
      'trinity_bandwidth_download_bytes_total',
      'trinity_scrub_rounds',
      'trinity_scrub_corruptions_total',
    ];
    const covered = Object.values(TRINITY_METRICS).map((d) => ('seedName' in d ? d.seedName : d.name));
    for (const seed of seedNames) expect(covered).toContain(seed);
    for (const prefix of [
      'trinity_tx_',
      'trinity_lock',
      'trinity_repair_',
      'trinity_escrow',
      'trinity_route_',
    ]) {
      expect(names.some((name) => name.startsWith(prefix))).toBe(true);
    }
  });

  it('registers on any core Metrics, so libraries never import Prometheus code', () => {
    const memory = new MemoryMetrics();
    const node = registerTrinityMetrics(memory);
    node.txCommitted.inc();
    node.slashingEvents.inc(2, { reason: 'downtime' });
    expect(memory.value('trinity_tx_committed_total')).toBe(1);
    expect(memory.value('trinity_slashing_events_total', { reason: 'downtime' })).toBe(2);
  });

  it('registers twice on one PrometheusMetrics without conflict', () => {
    const metrics = new PrometheusMetrics({ collectDefaultMetrics: false });
    const a = registerTrinityMetrics(metrics);
    const b = registerTrinityMetrics(metrics);
    expect(b.nodes).toBe(a.nodes);
  });
});
