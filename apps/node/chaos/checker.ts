import type { Operation } from './history.js';

export interface CheckOptions {
  /**
   * How long after an acknowledged delete a read may still find the object (propagation bound),
   * counted on each node from the later of the acknowledgement and the node's return.
   */
  readonly deletePropagationMs: number;
  /**
   * When each node came back (restarted or resumed), in order. A node that was away during a
   * delete learns of it from its peers after it returns (trust.tombstoneSyncMs).
   */
  readonly returns?: ReadonlyMap<number, readonly number[]>;
}

export interface Violation {
  readonly rule: 'wrong-bytes' | 'lost' | 'resurrected' | 'unknown-id' | 'leak';
  readonly op: number;
  readonly message: string;
}

export interface CheckResult {
  readonly violations: Violation[];
  /** Operations by kind and outcome, e.g. counts['get ok']. */
  readonly counts: Record<string, number>;
}

/**
 * Checks a history of puts, gets and deletes (objects are immutable and named by the id a put
 * returns, so each id has one value):
 * - wrong-bytes: a read returned bytes other than the ones the put of that id sent (partial, mixed
 *   or another object's data);
 * - lost: a read that began after the put was acknowledged and ended before any delete of the id
 *   was invoked answered 404;
 * - resurrected: a read that began `deletePropagationMs` after a delete of the id was acknowledged
 *   (and after the node read from last came back, if it was away) returned the object;
 * - unknown-id: a read returned an object for an id no acknowledged put produced.
 * Reads that failed or timed out (a node killed or paused) say nothing and are only counted.
 */
export function checkHistory(ops: readonly Operation[], options: CheckOptions): CheckResult {
  const counts: Record<string, number> = {};
  for (const op of ops) counts[`${op.kind} ${op.outcome}`] = (counts[`${op.kind} ${op.outcome}`] ?? 0) + 1;
  const puts = new Map<string, Operation>();
  for (const op of ops)
    if (op.kind === 'put' && op.outcome === 'ok' && op.id !== undefined) puts.set(op.id, op);
  const deletes = new Map<string, Operation[]>();
  for (const op of ops) {
    if (op.kind !== 'delete' || op.id === undefined) continue;
    deletes.set(op.id, [...(deletes.get(op.id) ?? []), op]);
  }
  const violations: Violation[] = [];
  for (const op of ops) {
    if (op.kind !== 'get' || op.id === undefined) continue;
    const put = puts.get(op.id);
    const dels = deletes.get(op.id) ?? [];
    if (op.outcome === 'ok') {
      if (put === undefined) {
        violations.push({
          rule: 'unknown-id',
          op: op.index,
          message: `get #${op.index} read ${op.id}, which no acknowledged put produced`,
        });
        continue;
      }
      if (op.digest !== put.digest) {
        violations.push({
          rule: 'wrong-bytes',
          op: op.index,
          message: `get #${op.index} of ${op.id} from node ${op.node} read sha-256 ${op.digest}, the put stored ${put.digest}`,
        });
      }
      const back = lastBefore(options.returns?.get(op.node) ?? [], op.invokedMs);
      const settled = dels.find(
        (d) =>
          d.outcome === 'ok' && Math.max(d.completedMs, back) + options.deletePropagationMs <= op.invokedMs,
      );
      if (settled !== undefined) {
        violations.push({
          rule: 'resurrected',
          op: op.index,
          message: `get #${op.index} of ${op.id} from node ${op.node} read it ${op.invokedMs - settled.completedMs} ms after delete #${settled.index} was acknowledged`,
        });
      }
    } else if (op.status === 404 && put !== undefined && put.completedMs <= op.invokedMs) {
      const deleting = dels.some((d) => d.invokedMs <= op.completedMs);
      if (!deleting) {
        violations.push({
          rule: 'lost',
          op: op.index,
          message: `get #${op.index} of ${op.id} from node ${op.node} answered 404, though put #${put.index} was acknowledged and no delete was invoked`,
        });
      }
    }
  }
  return { violations, counts };
}

/** The last of `times` (ascending) at or before `ms`, or -Infinity. */
function lastBefore(times: readonly number[], ms: number): number {
  let last = Number.NEGATIVE_INFINITY;
  for (const t of times) {
    if (t > ms) break;
    last = t;
  }
  return last;
}
