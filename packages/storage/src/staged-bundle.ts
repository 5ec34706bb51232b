import { sha256, toHex, utf8ToBytes } from '@trinity/core';

/** A record staged with a transaction's shards, as `ShardStore.commitStaged` hands it to `publish`. */
export interface StagedRecord {
  /** 64 lower-case hex (an object id). */
  readonly id: string;
  readonly bytes: Uint8Array;
}

/** Options of `ShardStore.commitStaged`. */
export interface CommitStagedOptions {
  /**
   * Publishes the transaction's staged records (e.g. into a ManifestStore). Called after the commit
   * marker is durable and before any shard moves; called again when an interrupted commit is
   * finished, so it must be idempotent. If it throws, the commit stays pending (call again).
   */
  readonly publish?: (records: readonly StagedRecord[]) => Promise<void>;
}

/**
 * The digest of a transaction's bundle on one node: the shard hashes and record ids staged there
 * (duplicates ignored, order irrelevant). The coordinator computes it over what it sent to `node`,
 * the participant over what it holds (`ShardStore.stagedDigest`); equal digests mean the participant
 * holds exactly what was sent. The tx package carries it as the `ref` of the node's locks.
 */
export function stagedBundleDigest(
  txId: string,
  node: string,
  shardHashes: readonly string[],
  recordIds: readonly string[],
): string {
  const unique = (items: readonly string[]) => [...new Set(items)].sort().join(',');
  const text = `trinity-bundle/1\n${txId}\n${node}\n${unique(shardHashes)}\n${unique(recordIds)}`;
  return toHex(sha256(utf8ToBytes(text)));
}
