import type { Logger } from '@trinity/core';
import {
  type MetricsServer,
  type NodeMetrics,
  PrometheusMetrics,
  registerTrinityMetrics,
  startMetricsServer,
} from '@trinity/metrics';

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

/**
 * The node's trinity_* metrics on a Prometheus registry, and (when enabled) the /metrics endpoint.
 * Counters move as things happen; gauges are refreshed from a snapshot before each scrape can see them.
 */
export class Telemetry {
  readonly prometheus = new PrometheusMetrics();
  readonly metrics: NodeMetrics = registerTrinityMetrics(this.prometheus);
  #server: MetricsServer | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  async start(
    options: { enabled: boolean; host: string; port: number },
    snapshot: () => TelemetrySnapshot,
    logger: Logger,
  ): Promise<string | undefined> {
    this.refresh(snapshot());
    this.#timer = setInterval(() => this.refresh(snapshot()), 1_000);
    this.#timer.unref();
    if (!options.enabled) return undefined;
    this.#server = await startMetricsServer({
      metrics: this.prometheus,
      host: options.host,
      port: options.port,
      logger,
    });
    return this.#server.url;
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#server?.close();
  }

  refresh(s: TelemetrySnapshot): void {
    const m = this.metrics;
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
