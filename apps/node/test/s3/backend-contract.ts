import { describe, expect, it } from 'vitest';
import type { S3Backend } from '../../src/s3/backend.js';
import { S3Error } from '../../src/s3/errors.js';
import { patternBytes } from './helpers.js';

/**
 * The contract every `S3Backend` keeps, as a reusable suite: run it against the daemon's Trinity-backed
 * backend when it exists (`s3BackendContract('trinity', () => make())`). `count` (optional) reports how
 * many objects the backend holds, to check that a failed put keeps nothing.
 */
export function s3BackendContract(
  name: string,
  make: () => Promise<{ backend: S3Backend; count?: () => number }>,
): void {
  async function* from(pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
    for (const piece of pieces) yield piece;
  }

  async function read(backend: S3Backend, id: string, offset: number, length: number): Promise<Buffer> {
    const out: Uint8Array[] = [];
    for await (const piece of backend.getObject(id, offset, length)) out.push(Buffer.from(piece));
    return Buffer.concat(out);
  }

  describe(`S3Backend contract: ${name}`, () => {
    it('stores what it is given, in any piece sizes, and reads back any range', async () => {
      const { backend } = await make();
      const data = patternBytes(300_001, 3);
      const pieces = [data.subarray(0, 1), data.subarray(1, 70_000), data.subarray(70_000)];
      const stored = await backend.putObject('owner', from(pieces));
      expect(stored.sizeBytes).toBe(data.length);
      expect(Buffer.compare(await read(backend, stored.id, 0, data.length), data)).toBe(0);
      for (const [offset, length] of [
        [0, 1],
        [299_999, 2],
        [65_535, 3],
        [12_345, 200_000],
        [5, 0],
      ] as const) {
        expect(
          Buffer.compare(
            await read(backend, stored.id, offset, length),
            data.subarray(offset, offset + length),
          ),
        ).toBe(0);
      }
    });

    it('stores an empty object', async () => {
      const { backend } = await make();
      const stored = await backend.putObject('owner', from([]));
      expect(stored.sizeBytes).toBe(0);
      expect((await read(backend, stored.id, 0, 0)).length).toBe(0);
    });

    it('a source that throws rejects the put with that error and keeps nothing', async () => {
      const { backend, count } = await make();
      const before = count?.();
      const failure = new S3Error('SignatureDoesNotMatch', 'bad chunk');
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield patternBytes(1000, 1);
        throw failure;
      }
      await expect(backend.putObject('owner', failing())).rejects.toBe(failure);
      if (count !== undefined) expect(count()).toBe(before);
    });

    it('delete frees the object and is idempotent; ids are distinct', async () => {
      const { backend, count } = await make();
      const a = await backend.putObject('owner', from([Buffer.from('same bytes')]));
      const b = await backend.putObject('owner', from([Buffer.from('same bytes')]));
      expect(a.id).not.toBe(b.id);
      const before = count?.();
      await backend.deleteObject(a.id);
      await backend.deleteObject(a.id);
      if (count !== undefined) expect(count()).toBe(before! - 1);
      expect((await read(backend, b.id, 0, 10)).toString()).toBe('same bytes');
    });
  });
}
