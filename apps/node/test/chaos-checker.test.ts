import { describe, expect, it } from 'vitest';
import { checkHistory } from '../chaos/checker.js';
import { History } from '../chaos/history.js';

/** A history on a clock the test moves: `at(ms)` sets the time of the next invoke or complete. */
function scripted() {
  let now = 0;
  const history = new History(() => now);
  return { history, at: (ms: number) => (now = ms) };
}

const check = (history: History) => checkHistory(history.ops, { deletePropagationMs: 1_000 }).violations;

describe('the chaos history checker', () => {
  it('passes a history where every read is right', () => {
    const { history, at } = scripted();
    const put = history.invoke(0, 'put', 0, { digest: 'aa' });
    at(10);
    history.complete(put, 'ok', { id: 'x' });
    const get = history.invoke(1, 'get', 3, { id: 'x' });
    at(20);
    history.complete(get, 'ok', { digest: 'aa' });
    const del = history.invoke(0, 'delete', 2, { id: 'x' });
    at(30);
    history.complete(del, 'ok');
    // A 404 while the delete propagates, or after it, is right; so is a read inside the bound.
    const early = history.invoke(1, 'get', 4, { id: 'x' });
    history.complete(early, 'ok', { digest: 'aa' });
    at(5_000);
    const late = history.invoke(1, 'get', 5, { id: 'x' });
    history.complete(late, 'fail', { status: 404 });
    expect(check(history)).toEqual([]);
    expect(checkHistory(history.ops, { deletePropagationMs: 1_000 }).counts).toEqual({
      'put ok': 1,
      'get ok': 2,
      'get fail': 1,
      'delete ok': 1,
    });
  });

  it('finds bytes other than the ones stored', () => {
    const { history, at } = scripted();
    const put = history.invoke(0, 'put', 0, { digest: 'aa' });
    history.complete(put, 'ok', { id: 'x' });
    at(5);
    const get = history.invoke(1, 'get', 1, { id: 'x' });
    history.complete(get, 'ok', { digest: 'bb' });
    expect(check(history).map((v) => v.rule)).toEqual(['wrong-bytes']);
  });

  it('finds an acknowledged object that a later read does not find', () => {
    const { history, at } = scripted();
    const put = history.invoke(0, 'put', 0, { digest: 'aa' });
    at(10);
    history.complete(put, 'ok', { id: 'x' });
    at(11);
    const get = history.invoke(1, 'get', 2, { id: 'x' });
    history.complete(get, 'fail', { status: 404 });
    // A read that failed without an answer says nothing.
    const cut = history.invoke(1, 'get', 3, { id: 'x' });
    history.complete(cut, 'unknown');
    expect(check(history).map((v) => v.rule)).toEqual(['lost']);
  });

  it('finds a deleted object read after the propagation bound', () => {
    const { history, at } = scripted();
    const put = history.invoke(0, 'put', 0, { digest: 'aa' });
    history.complete(put, 'ok', { id: 'x' });
    const del = history.invoke(0, 'delete', 1, { id: 'x' });
    at(100);
    history.complete(del, 'ok');
    at(1_200);
    const get = history.invoke(1, 'get', 2, { id: 'x' });
    history.complete(get, 'ok', { digest: 'aa' });
    const violations = check(history);
    expect(violations.map((v) => v.rule)).toEqual(['resurrected']);
    expect(violations[0]!.message).toMatch(/1100 ms after delete #1/);
  });

  it('counts the bound from the return of a node that was away during the delete', () => {
    const { history, at } = scripted();
    const put = history.invoke(0, 'put', 0, { digest: 'aa' });
    history.complete(put, 'ok', { id: 'x' });
    const del = history.invoke(0, 'delete', 1, { id: 'x' });
    at(100);
    history.complete(del, 'ok');
    // Node 2 was down during the delete and came back at 1,000 ms.
    const returns = new Map([[2, [50, 1_000]]]);
    const readAt = (ms: number, node: number) => {
      at(ms);
      const get = history.invoke(1, 'get', node, { id: 'x' });
      history.complete(get, 'ok', { digest: 'aa' });
    };
    readAt(1_500, 2); // within the bound of its return: allowed
    expect(checkHistory(history.ops, { deletePropagationMs: 1_000, returns }).violations).toEqual([]);
    readAt(1_500, 3); // node 3 never left: past the bound of the acknowledgement
    readAt(2_100, 2); // past the bound of node 2's return
    const violations = checkHistory(history.ops, { deletePropagationMs: 1_000, returns }).violations;
    expect(violations.map((v) => [v.rule, v.op])).toEqual([
      ['resurrected', 3],
      ['resurrected', 4],
    ]);
  });

  it('finds a read of an id no acknowledged put produced', () => {
    const { history } = scripted();
    const put = history.invoke(0, 'put', 0, { digest: 'aa' });
    history.complete(put, 'unknown');
    const get = history.invoke(1, 'get', 2, { id: 'y' });
    history.complete(get, 'ok', { digest: 'aa' });
    expect(check(history).map((v) => v.rule)).toEqual(['unknown-id']);
  });
});
