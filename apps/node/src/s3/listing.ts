import type { KeyRange, ObjectEntry } from './backend.js';
import { S3Error } from './errors.js';
import { compareKeys, prefixSuccessor } from './keys.js';

/**
 * One page of a ListObjects (v1 or v2) answer, computed over any index that lists keys in order.
 * Common prefixes count towards `maxKeys` like keys do, and a rolled-up prefix is skipped in one jump
 * (`prefixSuccessor`), so a page costs one index query per common prefix plus one per batch of keys.
 *
 * Resuming: `startAfter` is the last item (key or common prefix) of the previous page. Keys after it
 * that roll up into a common prefix not after it are skipped, so a common prefix never repeats.
 */

export interface ListParams {
  readonly prefix: string;
  /** '' for none. */
  readonly delimiter: string;
  /** Exclusive; '' to start at the beginning. */
  readonly startAfter: string;
  readonly maxKeys: number;
}

export interface ListPage {
  readonly contents: Array<readonly [string, ObjectEntry]>;
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
  /** The last item returned (a key or a common prefix); where the next page starts after. */
  readonly lastItem: string | undefined;
}

export type ListSource = (range: KeyRange) => Promise<Array<readonly [string, ObjectEntry]>>;

/** Keys asked of the index per query. */
const batchMax = 1000;

export async function listPage(source: ListSource, params: ListParams): Promise<ListPage> {
  const contents: Array<readonly [string, ObjectEntry]> = [];
  const commonPrefixes: string[] = [];
  let lastItem: string | undefined;
  let count = 0;
  const afterStart = compareKeys(params.startAfter, params.prefix) >= 0;
  let from = afterStart ? params.startAfter : params.prefix;
  let inclusive = !afterStart;
  if (params.maxKeys === 0) return { contents, commonPrefixes, isTruncated: false, lastItem };
  for (;;) {
    const limit = Math.min(batchMax, params.maxKeys - count + 1);
    const batch = await source({ from, inclusive, prefix: params.prefix, limit });
    let jumped = false;
    for (const [key, entry] of batch) {
      const rollUp = commonPrefixOf(key, params.prefix, params.delimiter);
      if (rollUp !== undefined && compareKeys(rollUp, params.startAfter) <= 0) {
        // Keys under a prefix already returned (or before the start): skip the whole prefix.
        jumped = true;
      } else {
        if (count === params.maxKeys) return { contents, commonPrefixes, isTruncated: true, lastItem };
        count++;
        lastItem = rollUp ?? key;
        if (rollUp === undefined) contents.push([key, entry]);
        else {
          commonPrefixes.push(rollUp);
          jumped = true;
        }
      }
      if (jumped) {
        const next = prefixSuccessor(rollUp!);
        if (next === undefined) return { contents, commonPrefixes, isTruncated: false, lastItem };
        from = next;
        inclusive = true;
        break;
      }
      from = key;
      inclusive = false;
    }
    if (!jumped && batch.length < limit) return { contents, commonPrefixes, isTruncated: false, lastItem };
  }
}

/** The common prefix `key` rolls up into, or undefined when it is listed as itself. */
export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '') return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}

/** ListObjectsV2 continuation tokens: the page's last item, opaque to clients (base64url). */
export function encodeContinuationToken(lastItem: string): string {
  return Buffer.from(lastItem, 'utf8').toString('base64url');
}

export function decodeContinuationToken(token: string): string {
  const value = /^[A-Za-z0-9_-]{1,2800}$/.test(token)
    ? Buffer.from(token, 'base64url').toString('utf8')
    : undefined;
  if (
    value === undefined ||
    value.length === 0 ||
    Buffer.from(value, 'utf8').toString('base64url') !== token
  ) {
    throw new S3Error('InvalidArgument', 'the continuation token provided is incorrect');
  }
  return value;
}
