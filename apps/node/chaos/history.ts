/**
 * A Jepsen-style history of client operations against a Trinity network: each operation is recorded
 * when it is invoked and when it completes, with its outcome: ok, fail (a definite answer that it did
 * not happen, e.g. a 4xx or a 409 abort) or unknown (a timeout, a dropped connection, a 5xx: it may
 * or may not have happened).
 */

export type OpKind = 'put' | 'get' | 'delete';
export type Outcome = 'ok' | 'fail' | 'unknown';

export interface Operation {
  readonly index: number;
  readonly client: number;
  readonly kind: OpKind;
  /** The node asked. */
  readonly node: number;
  readonly invokedMs: number;
  completedMs: number;
  outcome: Outcome;
  /** put: the object id answered (ok only); get and delete: the id asked for. */
  id: string | undefined;
  /** put: sha-256 of the bytes sent; get (ok): sha-256 of the bytes read. */
  digest: string | undefined;
  /** get: 'not-found' when the node answered 404 (a definite "there is no such object"). */
  status: number | undefined;
  detail: string | undefined;
}

export class History {
  readonly ops: Operation[] = [];
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  invoke(
    client: number,
    kind: OpKind,
    node: number,
    fields: { id?: string; digest?: string } = {},
  ): Operation {
    const op: Operation = {
      index: this.ops.length,
      client,
      kind,
      node,
      invokedMs: this.#now(),
      completedMs: Number.POSITIVE_INFINITY,
      outcome: 'unknown',
      id: fields.id,
      digest: fields.digest,
      status: undefined,
      detail: undefined,
    };
    this.ops.push(op);
    return op;
  }

  complete(
    op: Operation,
    outcome: Outcome,
    fields: { id?: string; digest?: string; status?: number; detail?: string } = {},
  ): void {
    op.completedMs = this.#now();
    op.outcome = outcome;
    if (fields.id !== undefined) op.id = fields.id;
    if (fields.digest !== undefined) op.digest = fields.digest;
    if (fields.status !== undefined) op.status = fields.status;
    if (fields.detail !== undefined) op.detail = fields.detail;
  }
}
