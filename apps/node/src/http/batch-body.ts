import { BadRequestError } from '../errors.js';

/**
 * The body of POST /v1/batches (`application/x-trinity-batch`): for each object, a 4-byte big-endian
 * header length, a JSON header `{"name"?: string, "size": number}`, then exactly `size` bytes.
 * Objects are read one after another, each streamed as it arrives.
 */
export const batchContentType = 'application/x-trinity-batch';
const headerBytesMax = 4096;

export interface BatchEntry {
  readonly name: string | undefined;
  readonly size: number;
  readonly source: AsyncIterable<Uint8Array>;
}

/** Reads exact byte counts off an async iterable of chunks. */
class ChunkReader {
  readonly #iterator: AsyncIterator<Uint8Array>;
  #pending: Uint8Array = new Uint8Array(0);
  #ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  async atEnd(): Promise<boolean> {
    while (this.#pending.length === 0 && !this.#ended) await this.#pull();
    return this.#pending.length === 0;
  }

  async exactly(count: number): Promise<Uint8Array> {
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const part = await this.upTo(count - filled);
      if (part === undefined) throw new BadRequestError(`batch body ended ${count - filled} bytes early`);
      out.set(part, filled);
      filled += part.length;
    }
    return out;
  }

  /** At most `count` bytes (fewer at a chunk boundary), or undefined at the end. */
  async upTo(count: number): Promise<Uint8Array | undefined> {
    while (this.#pending.length === 0) {
      if (this.#ended) return undefined;
      await this.#pull();
    }
    const part = this.#pending.subarray(0, Math.min(count, this.#pending.length));
    this.#pending = this.#pending.subarray(part.length);
    return part;
  }

  async #pull(): Promise<void> {
    const next = await this.#iterator.next();
    if (next.done) this.#ended = true;
    else this.#pending = next.value;
  }
}

/** Splits a batch body into its objects; at most `objectsMax` of them. */
export async function* readBatch(
  body: AsyncIterable<Uint8Array>,
  objectsMax: number,
): AsyncGenerator<BatchEntry> {
  const reader = new ChunkReader(body);
  for (let index = 0; !(await reader.atEnd()); index++) {
    if (index >= objectsMax) throw new BadRequestError(`a batch holds at most ${objectsMax} objects`);
    const lengthBytes = await reader.exactly(4);
    const headerLength = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 4).getUint32(0);
    if (headerLength === 0 || headerLength > headerBytesMax) {
      throw new BadRequestError(
        `batch object ${index}: header of ${headerLength} bytes (1 to ${headerBytesMax})`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(
        new TextDecoder('utf-8', { fatal: true }).decode(await reader.exactly(headerLength)),
      );
    } catch (error) {
      if (error instanceof BadRequestError) throw error;
      throw new BadRequestError(`batch object ${index}: header is not JSON`);
    }
    // `null`, a number or an array parse as JSON too: only an object is a header.
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new BadRequestError(`batch object ${index}: header must be a JSON object`);
    const header = parsed as { name?: unknown; size?: unknown };
    const { name, size } = header;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new BadRequestError(`batch object ${index}: size must be a whole number of bytes`);
    }
    if (name !== undefined && typeof name !== 'string')
      throw new BadRequestError(`batch object ${index}: name must be a string`);
    let consumed = false;
    const source = (async function* () {
      for (let left = size; left > 0; ) {
        const part = await reader.upTo(Math.min(left, 1024 * 1024));
        if (part === undefined)
          throw new BadRequestError(`batch object ${index}: body ended ${left} bytes early`);
        left -= part.length;
        yield part;
      }
      consumed = true;
    })();
    yield { name, size, source };
    if (!consumed) throw new BadRequestError(`batch object ${index} was not read to its end`);
  }
}

/** Encodes one object's header for a batch body. */
export function batchHeader(name: string | undefined, size: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(name === undefined ? { size } : { name, size }));
  const out = new Uint8Array(4 + json.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, 4);
  return out;
}
