import type { DecryptorInit } from '@trinity/core';

/** Messages to the decryption worker: one stream per id, its messages in order. */
export type WorkerRequest =
  | { readonly op: 'open'; readonly id: number; readonly init: DecryptorInit }
  /** `chunk` is transferred: it is the worker's from then on. */
  | { readonly op: 'update'; readonly id: number; readonly chunk: Uint8Array }
  | { readonly op: 'final'; readonly id: number }
  /** The consumer stopped: work still queued for the stream is dropped. */
  | { readonly op: 'close'; readonly id: number }
  /** How many streams the worker holds (tests): answered with id 0 and `open`. */
  | { readonly op: 'stats' };

/** One reply per update and final, in order: the plaintext pieces (transferred), or the failure. */
export interface WorkerReply {
  readonly id: number;
  readonly pieces?: Uint8Array[];
  /** An update's chunk buffer, given back (transferred) for the next chunk: no fresh allocation. */
  readonly spare?: ArrayBuffer;
  /** Sent once with id 0 when the worker's module has loaded. */
  readonly ready?: true;
  /** The answer to `stats` (id 0): streams open in the worker. */
  readonly open?: number;
  readonly error?: {
    /** A DecryptionError of @trinity/core (`code` is its code), or anything else that failed. */
    readonly decryption: boolean;
    readonly code: string;
    readonly message: string;
    readonly details?: Record<string, unknown>;
  };
}
