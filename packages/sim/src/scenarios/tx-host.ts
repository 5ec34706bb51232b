import {
  type CommitShard,
  type Coordinator,
  decodeFrames,
  encodeFrame,
  type Participant,
  type StageShard,
  type TxLogRecord,
  txLogConfigSchema,
} from '@trinity/tx';
import type { SimDisk } from '../disk.js';

/** The coordinator methods the simulator drives (a test's deliberately broken variant implements them too). */
export type CoordinatorLike = Pick<
  Coordinator,
  | 'beginTransaction'
  | 'addParticipant'
  | 'prepare'
  | 'handle'
  | 'logged'
  | 'tick'
  | 'nextWakeMs'
  | 'recover'
  | 'activeCount'
  | 'transactionIds'
  | 'liveRecords'
>;

/** The participant methods the simulator drives. */
export type ParticipantLike = Pick<
  Participant,
  | 'handle'
  | 'staged'
  | 'logged'
  | 'applied'
  | 'tick'
  | 'nextWakeMs'
  | 'recover'
  | 'unfinished'
  | 'liveRecords'
>;

const LOG_FILE = 'tx.log';
const recordMaxBytes = txLogConfigSchema.parse({}).recordMaxBytes;

/** What a node finds in its log at start-up. */
export interface RecoveredLog {
  readonly records: readonly TxLogRecord[];
  /** Bytes dropped from the end (a torn or lost tail). */
  readonly truncatedBytes: number;
  /** Damage before the tail: never expected without bit rot. */
  readonly corruption: string | undefined;
}

/**
 * A node's transaction log as @trinity/tx frames it (checksummed frames, consecutive sequence
 * numbers), kept in a file of the node's simulated disk. Appends sit in the page cache until the
 * next sync; records are reported durable (`logged`) only after it. At start-up the file is
 * decoded the way TxLog does it, and a torn tail is cut off before anything is appended.
 */
export class SimTxLog {
  readonly #disk: SimDisk;
  #nextSeq = 1;
  /** Appended, not yet synced, in order. */
  #unsynced: TxLogRecord[] = [];
  /** What the last `sync` returned, emptied and reused by the next one (no array per sync). */
  #synced: TxLogRecord[] = [];
  #appendedSinceCheckpoint = 0;

  constructor(disk: SimDisk) {
    this.#disk = disk;
  }

  get unsyncedCount(): number {
    return this.#unsynced.length;
  }

  /** Records appended since the last checkpoint (or start-up). */
  get appendedSinceCheckpoint(): number {
    return this.#appendedSinceCheckpoint;
  }

  /**
   * Replaces the log by `live` (the records that rebuild the machines' state), atomically, as
   * TxEngine's checkpoint does. Only with nothing unsynced: what is pending must not be lost.
   */
  checkpoint(live: readonly TxLogRecord[]): void {
    if (this.#unsynced.length > 0) throw new Error('checkpoint with unsynced records');
    const frames = live.map((record) => encodeFrame(record, this.#nextSeq++));
    let size = 0;
    for (const frame of frames) size += frame.length;
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const frame of frames) {
      bytes.set(frame, offset);
      offset += frame.length;
    }
    this.#disk.replace(LOG_FILE, bytes);
    this.#appendedSinceCheckpoint = 0;
  }

  append(record: TxLogRecord): void {
    this.#disk.append(LOG_FILE, encodeFrame(record, this.#nextSeq++));
    this.#unsynced.push(record);
    this.#appendedSinceCheckpoint++;
  }

  /**
   * Makes every append durable; returns the records that became durable, in an array that is
   * valid until the next `sync` (which reuses it).
   */
  sync(): readonly TxLogRecord[] {
    this.#disk.sync(LOG_FILE);
    const synced = this.#unsynced;
    this.#unsynced = this.#synced;
    this.#unsynced.length = 0;
    this.#synced = synced;
    return synced;
  }

  /** After a crash (the disk kept what it kept): decodes the file and truncates a torn tail. */
  recover(): RecoveredLog {
    this.#unsynced = [];
    this.#appendedSinceCheckpoint = 0;
    const bytes = this.#disk.read(LOG_FILE);
    const decoded = decodeFrames(bytes, 0, recordMaxBytes);
    if (decoded.validEnd < bytes.length) this.#disk.replace(LOG_FILE, bytes.subarray(0, decoded.validEnd));
    this.#nextSeq = (decoded.lastSeq ?? 0) + 1;
    return {
      records: decoded.records,
      truncatedBytes: bytes.length - decoded.validEnd,
      corruption:
        decoded.corruption === undefined
          ? undefined
          : `${decoded.corruption.reason} at byte ${decoded.corruption.offset}`,
    };
  }
}

/** One committed shard in a node's store. */
export interface StoredShard {
  readonly txId: string;
  readonly fencingToken: number;
}

/**
 * A node's shard store, reduced to what 2PC needs: a staging area per transaction, the committed
 * shards with the fencing token each was written under (a write with an older token than the
 * shard's newest is refused), and which transactions committed here. All of it durable: an
 * operation takes effect when it completes.
 */
export class SimShardStore {
  readonly staged = new Map<string, readonly string[]>();
  readonly committed = new Map<string, StoredShard>();
  /** Transactions whose shards were made visible here. */
  readonly committedTxs = new Set<string>();
  /** Writes refused for a stale fencing token (a lock exclusion failure). */
  readonly staleWrites: string[] = [];
  #maxToken = 0;

  /** The newest fencing token any write carried: a restarted lock table must start above it. */
  get maxToken(): number {
    return this.#maxToken;
  }

  stage(txId: string, shards: readonly StageShard[]): void {
    this.staged.set(
      txId,
      shards.map((s) => s.shardHash),
    );
  }

  /** Makes the shards visible; false (nothing written) when a token is stale. */
  commit(txId: string, shards: readonly CommitShard[]): boolean {
    for (const { shardHash, fencingToken } of shards) {
      const current = this.committed.get(shardHash);
      if (current !== undefined && current.txId !== txId && current.fencingToken > fencingToken) {
        this.staleWrites.push(
          `${txId} wrote ${shardHash.slice(0, 8)} with token ${fencingToken} < ${current.fencingToken}`,
        );
        return false;
      }
    }
    for (const { shardHash, fencingToken } of shards) {
      this.committed.set(shardHash, { txId, fencingToken });
      if (fencingToken > this.#maxToken) this.#maxToken = fencingToken;
    }
    this.committedTxs.add(txId);
    this.staged.delete(txId);
    return true;
  }

  abort(txId: string): void {
    this.staged.delete(txId);
  }

  purge(keep: readonly string[]): void {
    const kept = new Set(keep);
    for (const txId of [...this.staged.keys()]) if (!kept.has(txId)) this.staged.delete(txId);
  }
}
