import { describe, expect, it } from 'vitest';
import { apiFetch } from './helpers.js';
import { withNodes } from './with-nodes.js';

/** The economics routes of one in-process node: answers, and 4xx (never 500) for bad input. */
describe('HTTP /v1/economics', () => {
  const nodes = withNodes('trinity-econ-http-', 1, () => ({ fsync: false }));
  const api = () => nodes[0]!.apiUrl;
  const post = (action: string, body: string | object) =>
    apiFetch(`${api()}/v1/economics/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const code = async (response: Response) =>
    ((await response.json()) as { error?: { code: string } }).error?.code;

  it('answers a node summary by key, by peer id and as self; a malformed id is 400', async () => {
    const node = nodes[0]!;
    const self = (await (await apiFetch(`${api()}/v1/economics/self`)).json()) as Record<string, unknown>;
    expect(self).toMatchObject({ nodeId: node.economics.nodeId, balance: '0', stake: '0', escrows: [] });
    expect((self.reputation as { score: number }).score).toBeCloseTo(0.4, 5);
    const byPeer = await apiFetch(`${api()}/v1/economics/${node.peerId}`);
    expect(((await byPeer.json()) as { nodeId: string }).nodeId).toBe(node.economics.nodeId);
    // A well-formed key nobody has events for: an empty summary, not 404.
    const other = await apiFetch(`${api()}/v1/economics/${'ab'.repeat(32)}`);
    expect(other.status).toBe(200);
    const bad = await apiFetch(`${api()}/v1/economics/not-a-node`);
    expect(bad.status).toBe(400);
    expect(await code(bad)).toBe('BAD_NODE_ID');
    const escrows = await apiFetch(`${api()}/v1/economics/escrows`);
    expect(await escrows.json()).toEqual({ escrows: [] });
    expect((await apiFetch(`${api()}/v1/economics/escrows?all=2`)).status).toBe(400);
  });

  it('refuses malformed action bodies with 400 and oversized ones with 413', async () => {
    for (const body of [
      '{',
      {},
      { amount: 'abc' },
      { amount: -1 },
      { amount: 1.5 },
      { amount: '0' },
      { amount: (1n << 96n).toString() },
      { amount: '5', extra: 1 },
    ]) {
      const response = await post('stake', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect((await post('delegate', { operator: 'x'.repeat(200), amount: '1' })).status).toBe(400);
    expect((await post('dispute', { escrowId: 'nope', evidence: '00'.repeat(32) })).status).toBe(400);
    expect((await post('dispute', { escrowId: `${'ab'.repeat(32)}:1`, evidence: 'XY' })).status).toBe(400);
    expect((await post('vote', { escrowId: `${'ab'.repeat(32)}:1`, overturn: 'yes' })).status).toBe(400);
    expect((await post('stake', { amount: '1'.padEnd(5_000, '0') })).status).toBe(413);
  });

  it('refuses actions that cannot take effect with 409 or 404, signing nothing', async () => {
    const node = nodes[0]!;
    const stake = await post('stake', { amount: '5' });
    expect(stake.status).toBe(409);
    expect(await code(stake)).toBe('INSUFFICIENT_BALANCE');
    const vote = await post('vote', { escrowId: `${'ab'.repeat(32)}:1`, overturn: true });
    expect(vote.status).toBe(404);
    expect(await code(vote)).toBe('ESCROW_NOT_FOUND');
    expect((await post('withdraw', {})).status).toBe(409);
    expect(node.economics.state.lastSeqOf(node.economics.nodeId)).toBe(0);
  });

  it('needs the API token', async () => {
    const response = await fetch(`${api()}/v1/economics/self`);
    expect(response.status).toBe(401);
    const action = await fetch(`${api()}/v1/economics/stake`, { method: 'POST', body: '{"amount":"1"}' });
    expect(action.status).toBe(401);
  });
});
