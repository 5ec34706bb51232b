import { afterAll, beforeAll } from 'vitest';
import type { TrinityNode } from '../src/node/trinity-node.js';
import { startNodes } from './helpers.js';

/**
 * `count` in-process nodes for the enclosing describe block, filled in before its tests (generous
 * timeouts for a loaded machine), stopped and their temp dir removed after, even when a test fails.
 * A test may put a restarted node in place of another: every node in the array is stopped.
 */
export function withNodes(
  prefix: string,
  count: number,
  config: Parameters<typeof startNodes>[2] = () => ({}),
): TrinityNode[] {
  const nodes: TrinityNode[] = [];
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const started = await startNodes(prefix, count, config);
    close = started.close;
    nodes.push(...started.nodes);
  }, 300_000);
  afterAll(async () => {
    try {
      for (const node of [...nodes].reverse()) await node.stop();
    } finally {
      await close?.();
    }
  }, 120_000);
  return nodes;
}
