/**
 * The decryption worker's entry point (built to dist/decrypt-worker.js, run by DecryptPool in a
 * worker_threads worker). It runs @trinity/core's segment decryptor, the same code the main thread
 * runs, so every rule (header, key commitment, tags, truncation, ranges) is that one's. Streams are
 * independent; the messages of one stream are handled strictly in order, one reply per update and
 * final, then none after a failure.
 */
import { parentPort } from 'node:worker_threads';
import { createDecryptor, DecryptionError, type Decryptor } from '@trinity/core';
import type { WorkerReply, WorkerRequest } from './decrypt-protocol.js';

interface Stream {
  readonly decryptor: Promise<Decryptor>;
  chain: Promise<void>;
}

const port = parentPort;
if (port === null) throw new Error('decrypt-worker.js runs only as a worker thread');
const streams = new Map<number, Stream>();

/** Pieces made transferable: a piece that is a view of a larger (or pooled) buffer is copied. */
function transferable(pieces: Uint8Array[]): { pieces: Uint8Array[]; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const owned = pieces.map((piece) => {
    const whole =
      piece.byteOffset === 0 &&
      piece.byteLength === piece.buffer.byteLength &&
      piece.buffer instanceof ArrayBuffer &&
      !transfer.includes(piece.buffer);
    // Uint8Array#slice copies (the pieces are plain Uint8Array views, not Buffers).
    const out = whole ? piece : Uint8Array.prototype.slice.call(piece);
    transfer.push(out.buffer as ArrayBuffer);
    return out;
  });
  return { pieces: owned, transfer };
}

function failure(error: unknown): WorkerReply['error'] {
  if (error instanceof DecryptionError) {
    const details = error.details === undefined ? undefined : { ...error.details };
    return { decryption: true, code: error.code, message: error.message, details };
  }
  return {
    decryption: false,
    code: 'DECRYPT_WORKER_FAILED',
    message: String((error as Error)?.message ?? error),
  };
}

function step(
  id: number,
  stream: Stream,
  run: (decryptor: Decryptor) => Promise<Uint8Array[]>,
  spare?: ArrayBuffer,
  last = false,
): void {
  stream.chain = stream.chain.then(async () => {
    if (streams.get(id) !== stream) return; // closed, or failed before
    try {
      const { pieces, transfer } = transferable(await run(await stream.decryptor));
      // The decryptor only reads its input during update: the chunk's buffer goes back for reuse.
      if (spare !== undefined && !transfer.includes(spare)) transfer.push(spare);
      const reply: WorkerReply = spare === undefined ? { id, pieces } : { id, pieces, spare };
      port!.postMessage(reply, transfer);
      if (last) streams.delete(id); // final answered: the stream (its decryptor and key) is gone
    } catch (error) {
      streams.delete(id);
      port!.postMessage({ id, error: failure(error) } satisfies WorkerReply);
    }
  });
}

port.on('message', (request: WorkerRequest) => {
  if (request.op === 'stats') {
    port!.postMessage({ id: 0, open: streams.size } satisfies WorkerReply);
    return;
  }
  if (request.op === 'open') {
    // The key was transferred to this worker; the decryptor keeps its own copy, so this one is zeroed.
    const decryptor = createDecryptor(request.init).finally(() => request.init.key.fill(0));
    decryptor.catch(() => {}); // reported by the stream's first step
    streams.set(request.id, { decryptor, chain: Promise.resolve() });
    return;
  }
  const stream = streams.get(request.id);
  if (stream === undefined) return; // closed, or failed: the main thread already has its error
  if (request.op === 'update') {
    const { chunk } = request;
    const spare = chunk.buffer instanceof ArrayBuffer ? chunk.buffer : undefined;
    step(request.id, stream, (d) => d.update(chunk), spare);
  } else if (request.op === 'final') step(request.id, stream, (d) => d.final(), undefined, true);
  else streams.delete(request.id);
});

port.postMessage({ id: 0, ready: true } satisfies WorkerReply);
