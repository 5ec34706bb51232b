import { assertBytes, parseConfig } from '@trinity/core';
import { wordsFor } from './_bits.js';
import { JsCountsHost, KernelCountsHost } from './_fingerprint-host.js';
import { type CountsHost, FingerprintSums } from './_fingerprint-sums.js';
import { resolveKernel } from './_kernel.js';
import { Codebook } from './codebook.js';
import { type FingerprintConfig, type FingerprintConfigInput, fingerprintConfigSchema } from './config.js';
import { FingerprinterFinishedError, FingerprintInputTooLargeError } from './errors.js';
import { _hypervector, type Hypervector } from './hypervector.js';

/** Most input bytes one fingerprint covers (2 GiB - 1): the integer sums stay exact in 32 bits. */
export const fingerprintInputBytesMax = 2 ** 31 - 1;

/**
 * The shard fingerprint encoder (seed): bytes → one hypervector. Byte i contributes its codebook
 * vector rotated by i (mod dims), `permute(codebook.vector(b_i), i)`, and the fingerprint is the
 * bundle (trit-wise majority, ties to 0) of all of them. Equal inputs give equal fingerprints; inputs
 * that agree on most positions give similar ones ("Hello, World!" vs "Hello, Earth!" ≈ 0.65); unrelated
 * inputs score near 0. Position-sensitive by design: a shift of the content changes the fingerprint.
 *
 * The result equals `bundle(bytes.map((b, i) => permute(codebook.vector(b), i)))` exactly, computed
 * much faster: long inputs only count (byte, position mod dims) pairs and convolve the counts at the end.
 */
export class FingerprintEncoder {
  readonly config: FingerprintConfig;
  readonly codebook: Codebook;
  readonly kernel: 'wasm' | 'js';
  /** @internal Where fingerprints in progress keep their counts, and the kernel that folds them. */
  readonly _host: CountsHost;

  constructor(config: FingerprintConfigInput = {}) {
    this.config = parseConfig(fingerprintConfigSchema, config, 'fingerprint config');
    this.codebook = Codebook.for(this.config.dims, this.config.codebookSeed);
    this.kernel = resolveKernel(this.config.kernel);
    this._host =
      this.kernel === 'wasm' ? new KernelCountsHost(this.codebook) : new JsCountsHost(this.codebook);
  }

  get dims(): number {
    return this.config.dims;
  }

  /** The fingerprint of `data`. */
  encode(data: Uint8Array): Hypervector {
    assertBytes(data, 'data');
    return this.createFingerprinter().update(data).digest();
  }

  /** The fingerprint of a stream of chunks (a Node Readable, a web ReadableStream's iterator, ...). */
  async encodeStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Hypervector> {
    const fingerprinter = this.createFingerprinter();
    for await (const chunk of source) fingerprinter.update(chunk);
    return fingerprinter.digest();
  }

  /** A streaming fingerprinter: `update(chunk)` any number of times, then `digest()` once. */
  createFingerprinter(): Fingerprinter {
    return new Fingerprinter(this);
  }
}

/** Incremental fingerprinting of one input, in pieces. Holds 256 × dims counters once past 8 × dims bytes. */
export class Fingerprinter {
  #sums: FingerprintSums | undefined;

  constructor(encoder: FingerprintEncoder) {
    this.#sums = new FingerprintSums(encoder.codebook, encoder._host);
    abandoned.register(this, this.#sums, this);
  }

  /** Bytes fed so far. */
  get bytesSeen(): number {
    return this.#sums?.bytesSeen ?? 0;
  }

  /** Feeds the next piece of the input. */
  update(chunk: Uint8Array): this {
    assertBytes(chunk, 'chunk');
    const sums = this.#sums;
    if (sums === undefined) throw new FingerprinterFinishedError();
    if (sums.bytesSeen + chunk.length > fingerprintInputBytesMax) {
      throw new FingerprintInputTooLargeError(fingerprintInputBytesMax);
    }
    sums.add(chunk);
    return this;
  }

  /** The fingerprint of everything fed; the fingerprinter is finished afterwards. */
  digest(): Hypervector {
    const sums = this.#sums;
    if (sums === undefined) throw new FingerprinterFinishedError();
    this.#sums = undefined;
    abandoned.unregister(this);
    return majorityOf(sums.finish());
  }

  /** Gives up without a digest, handing the counters back to the encoder at once. */
  abort(): void {
    const sums = this.#sums;
    if (sums === undefined) return;
    this.#sums = undefined;
    abandoned.unregister(this);
    sums.abandon();
  }
}

/** Fingerprinters dropped without `digest` or `abort` hand their counters back when collected. */
const abandoned = new FinalizationRegistry<FingerprintSums>((sums) => sums.abandon());

/** Ternary majority of integer sums: +1 above zero, -1 below, 0 on a tie. */
function majorityOf(sums: Int32Array): Hypervector {
  const dims = sums.length;
  const sign = new Uint32Array(wordsFor(dims));
  const nonzero = new Uint32Array(wordsFor(dims));
  for (let j = 0; j < dims; j++) {
    const s = sums[j]!;
    if (s === 0) continue;
    nonzero[j >>> 5]! |= 1 << (j & 31);
    if (s < 0) sign[j >>> 5]! |= 1 << (j & 31);
  }
  return _hypervector(dims, sign, nonzero);
}

const encoders = new Map<string, FingerprintEncoder>();
const cachedEncodersMax = 8;

function sharedEncoder(config: FingerprintConfigInput): FingerprintEncoder {
  const parsed = parseConfig(fingerprintConfigSchema, config, 'fingerprint config');
  const key = `${parsed.dims}/${parsed.codebookSeed}/${parsed.kernel}`;
  let encoder = encoders.get(key);
  if (encoder === undefined) {
    encoder = new FingerprintEncoder(parsed);
    if (encoders.size >= cachedEncodersMax) encoders.delete(encoders.keys().next().value!);
    encoders.set(key, encoder);
  }
  return encoder;
}

/** The fingerprint of `data` with a shared encoder for `config` (default: 1024 dims, default codebook). */
export function fingerprint(data: Uint8Array, config: FingerprintConfigInput = {}): Hypervector {
  return sharedEncoder(config).encode(data);
}

/** A streaming fingerprinter on a shared encoder for `config`. */
export function createFingerprinter(config: FingerprintConfigInput = {}): Fingerprinter {
  return sharedEncoder(config).createFingerprinter();
}
