import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@trinity/core/fs';

/** What a started node writes to `<dataDir>/ready.json` (and removes on a clean stop). */
export interface ReadyFile {
  readonly peerId: string;
  readonly multiaddrs: string[];
  /** The data channel's "host:port", when enabled. */
  readonly dataChannel?: string;
  readonly apiUrl: string;
  readonly metricsUrl: string | undefined;
  /** The S3 gateway's endpoint, when the node serves one. */
  readonly s3Url?: string;
  readonly region: string | undefined;
  readonly pid: number;
}

/** `<dataDir>/ready.json`: how a devnet (or any supervisor) learns that a node is up and where. */
export class ReadyFileStore {
  readonly #path: string;

  constructor(dataDir: string) {
    this.#path = join(dataDir, 'ready.json');
  }

  async write(ready: ReadyFile): Promise<void> {
    await writeFileAtomic(this.#path, JSON.stringify(ready));
  }

  async remove(): Promise<void> {
    await rm(this.#path, { force: true });
  }
}
