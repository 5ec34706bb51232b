import { NotEnoughNodesError } from '../../errors.js';

/** A storage node as placement sees it. */
export interface NodeRef {
  readonly id: string;
  readonly region: string;
}

/**
 * Spreads the `count` shards of stripe `stripeIndex` over distinct nodes, rotating the starting node
 * by stripe so that load evens out. With fewer nodes than shards, a node takes several, but never
 * more than `maxPerNode` (the parity count: losing one node must not lose a stripe).
 */
export function spreadShards(
  stripeIndex: number,
  count: number,
  nodes: readonly NodeRef[],
  maxPerNode: number,
): string[] {
  if (nodes.length === 0) throw new NotEnoughNodesError('no storage node is reachable');
  const perNode = Math.ceil(count / nodes.length);
  if (perNode > maxPerNode) {
    throw new NotEnoughNodesError(
      `${nodes.length} reachable nodes cannot hold ${count} shards with at most ${maxPerNode} per node`,
    );
  }
  const sorted = [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(sorted[(stripeIndex + i) % sorted.length]!.id);
  return out;
}
