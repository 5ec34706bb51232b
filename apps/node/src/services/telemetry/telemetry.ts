import type { Clock, Logger } from '@trinity/core';
import {
  type MetricsServer,
  type NodeMetrics,
  type PrometheusMetrics,
  startMetricsServer,
} from '@trinity/metrics';
import type { Startable } from '../../startable.js';
import { Repeater } from '../../timers.js';

/** What the gauges are read from, every refresh. */
export interface TelemetrySnapshot {
  readonly peers: number;
  readonly connections: number;
  readonly regions: ReadonlyMap<string, number>;
  readonly shards: number;
  readonly bytesUsed: number;
  readonly bytesAvailable: number;
  readonly reputations: readonly number[];
  readonly repairQueued: number;
}

/** Where the gauges are read from. */
export interface TelemetrySource {
  snapshot(): TelemetrySnapshot;
}

export interface TelemetryInit {
  /** The /metrics endpoint; off: the gauges are still kept (for tests and embedding). */
  readonly prometheus: { readonly enabled: boolean; readonly host: string; readonly port: number };
  /** How often the gauges are refreshed from the snapshot. */
  readonly refreshMs?: number;
}

export interface TelemetryComponents {
  readonly registry: PrometheusMetrics;
  readonly metrics: NodeMetrics;
  readonly source: TelemetrySource;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The telemetry service's factory: `telemetry(init)(components)`. */
export function telemetry(init: TelemetryInit): (components: TelemetryComponents) => Telemetry {
  return (components) => new Telemetry(init, components);
}

/**
 * The node's trinity_* metrics and (when enabled) the /metrics endpoint. Counters move as things
 * happen; gauges are refreshed from a snapshot every second, so a scrape sees them at most that old.
 */
export class Telemetry implements Startable {
  readonly #init: TelemetryInit;
  readonly #c: TelemetryComponents;
  readonly #refresher: Repeater;
  #server: MetricsServer | undefined;

  constructor(init: TelemetryInit, components: TelemetryComponents) {
    this.#init = init;
    this.#c = components;
    this.#refresher = new Repeater(components.clock, init.refreshMs ?? 1_000, () =>
      this.refresh(components.source.snapshot()),
    );
  }

  /** The /metrics endpoint's URL once started, when enabled. */
  get url(): string | undefined {
    return this.#server?.url;
  }

  async start(): Promise<void> {
    this.refresh(this.#c.source.snapshot());
    this.#refresher.start();
    const { enabled, host, port } = this.#init.prometheus;
    if (!enabled) return;
    this.#server = await startMetricsServer({
      metrics: this.#c.registry,
      host,
      port,
      logger: this.#c.logger,
    });
  }

  async stop(): Promise<void> {
    await this.#refresher.stop();
    await this.#server?.close();
    this.#server = undefined;
  }

  refresh(s: TelemetrySnapshot): void {
    const m = this.#c.metrics;
    m.nodes.set(s.peers + 1);
    m.peersConnected.set(s.connections);
    m.shardsStored.set(s.shards);
    m.storageUsedBytes.set(s.bytesUsed);
    m.storageAvailableBytes.set(s.bytesAvailable);
    m.repairQueueStripes.set(s.repairQueued);
    for (const [region, count] of s.regions) m.regionNodes.set(count, { region });
    if (s.reputations.length > 0) {
      m.reputationMin.set(Math.min(...s.reputations));
      m.reputationMax.set(Math.max(...s.reputations));
      m.reputationAvg.set(s.reputations.reduce((a, b) => a + b, 0) / s.reputations.length);
    }
  }
}
