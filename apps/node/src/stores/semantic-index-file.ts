import { stat } from 'node:fs/promises';
import { SemanticIndex } from '@trinity/vsa';

/** Where the semantic index is saved between runs (a cache: the shards are the source of truth). */
export class SemanticIndexFile {
  readonly #path: string;
  readonly #dims: number;

  constructor(path: string, dims: number) {
    this.#path = path;
    this.#dims = dims;
  }

  /** The saved index, or undefined when none was saved. Throws when the file is unreadable. */
  async load(): Promise<SemanticIndex | undefined> {
    const exists = await stat(this.#path).then(
      () => true,
      () => false,
    );
    return exists ? SemanticIndex.load(this.#path, { dims: this.#dims }) : undefined;
  }

  async save(index: SemanticIndex): Promise<void> {
    await index.save(this.#path);
  }
}
