import {
  assertInt,
  assertNumber,
  type Counter,
  describe,
  type Metrics,
  noopMetrics,
  parseConfig,
} from '@trinity/core';
import {
  type BandwidthLedgerConfig,
  type BandwidthLedgerConfigInput,
  bandwidthLedgerConfigSchema,
} from './config.js';

/** Bytes moved with one peer. */
export interface PeerBandwidth {
  peerId: string;
  uploadedBytes: number;
  downloadedBytes: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface BandwidthTotals {
  uploadedBytes: number;
  downloadedBytes: number;
  /** Peers tracked one by one right now. */
  peers: number;
  /** Peers evicted to stay within `maxPeers` (their bytes stay in the totals). */
  evictedPeers: number;
}

const peerIdMaxLength = 256;

/**
 * Uploaded and downloaded bytes per peer and for the whole node. Bounded: past `maxPeers` the least
 * recently active peer is forgotten; the node totals keep every byte. Time comes in as `nowMs`.
 */
export class BandwidthLedger {
  readonly config: BandwidthLedgerConfig;
  // A Map iterates in insertion order; re-inserting on every record keeps the least recent first.
  readonly #peers = new Map<string, PeerBandwidth>();
  readonly #upload: Counter;
  readonly #download: Counter;
  #uploadedBytes = 0;
  #downloadedBytes = 0;
  #evicted = 0;

  constructor(config?: BandwidthLedgerConfigInput, deps: { metrics?: Metrics } = {}) {
    this.config = parseConfig(bandwidthLedgerConfigSchema, config ?? {}, 'bandwidth ledger config');
    const metrics = deps.metrics ?? noopMetrics;
    this.#upload = metrics.counter({
      name: 'trinity_bandwidth_upload_bytes_total',
      help: 'Bytes sent to peers',
    });
    this.#download = metrics.counter({
      name: 'trinity_bandwidth_download_bytes_total',
      help: 'Bytes received from peers',
    });
  }

  /** Bytes this node sent to `peerId`. */
  recordUpload(peerId: string, bytes: number, nowMs: number): void {
    const peer = this.#touch(peerId, bytes, nowMs);
    peer.uploadedBytes += bytes;
    this.#uploadedBytes += bytes;
    this.#upload.inc(bytes);
  }

  /** Bytes this node received from `peerId`. */
  recordDownload(peerId: string, bytes: number, nowMs: number): void {
    const peer = this.#touch(peerId, bytes, nowMs);
    peer.downloadedBytes += bytes;
    this.#downloadedBytes += bytes;
    this.#download.inc(bytes);
  }

  /** One peer's bytes (zeros for a peer never seen or evicted). */
  peer(peerId: string): { uploadedBytes: number; downloadedBytes: number } {
    const peer = this.#peers.get(peerId);
    return { uploadedBytes: peer?.uploadedBytes ?? 0, downloadedBytes: peer?.downloadedBytes ?? 0 };
  }

  /** Every tracked peer, most recently active first. */
  peers(): PeerBandwidth[] {
    return [...this.#peers.values()].reverse().map((peer) => ({ ...peer }));
  }

  totals(): BandwidthTotals {
    return {
      uploadedBytes: this.#uploadedBytes,
      downloadedBytes: this.#downloadedBytes,
      peers: this.#peers.size,
      evictedPeers: this.#evicted,
    };
  }

  #touch(peerId: string, bytes: number, nowMs: number): PeerBandwidth {
    if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > peerIdMaxLength) {
      throw new TypeError(
        `peerId must be a string of 1-${peerIdMaxLength} characters, got ${describe(peerId)}`,
      );
    }
    assertInt(bytes, 'bytes', 0);
    assertNumber(nowMs, 'nowMs');
    let peer = this.#peers.get(peerId);
    if (peer === undefined) {
      peer = { peerId, uploadedBytes: 0, downloadedBytes: 0, firstSeenMs: nowMs, lastSeenMs: nowMs };
      if (this.#peers.size >= this.config.maxPeers) {
        const oldest = this.#peers.keys().next().value as string;
        this.#peers.delete(oldest);
        this.#evicted++;
      }
    } else {
      this.#peers.delete(peerId);
    }
    peer.lastSeenMs = Math.max(peer.lastSeenMs, nowMs);
    this.#peers.set(peerId, peer);
    return peer;
  }
}
