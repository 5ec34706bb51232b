import type { Clock } from '@trinity/core';
import type { NodeMetrics } from '@trinity/metrics';
import type { BandwidthLedger } from '@trinity/storage';
import type { TransferDirection } from '../../p2p/rpc.js';

export interface TrafficMeterComponents {
  readonly ledger: BandwidthLedger;
  readonly metrics: Pick<NodeMetrics, 'bandwidthUploadBytes' | 'bandwidthDownloadBytes'>;
  readonly clock: Clock;
}

/** Counts the bytes moved with each peer: the bandwidth ledger (per peer) and the byte counters. */
export class TrafficMeter {
  readonly #c: TrafficMeterComponents;

  constructor(components: TrafficMeterComponents) {
    this.#c = components;
  }

  /** Bound, so it can be handed to the RPC client and server as their traffic listener. */
  readonly record = (peer: string, direction: TransferDirection, bytes: number): void => {
    const nowMs = this.#c.clock.nowMs();
    if (direction === 'upload') {
      this.#c.ledger.recordUpload(peer, bytes, nowMs);
      this.#c.metrics.bandwidthUploadBytes.inc(bytes);
    } else {
      this.#c.ledger.recordDownload(peer, bytes, nowMs);
      this.#c.metrics.bandwidthDownloadBytes.inc(bytes);
    }
  };

  totals(): ReturnType<BandwidthLedger['totals']> {
    return this.#c.ledger.totals();
  }
}
