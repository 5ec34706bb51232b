/** The erasure browser test page (bundled by test/browser.test.ts, run in headless Chromium). */
import { publishPageResult } from '../../../../scripts/browser-page.ts';
import { createEncoder } from '../../dist/index.js';
import { runBackend, workloadBackends } from './workload.ts';

function attempt(action: () => void): string {
  try {
    action();
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.name : String(error);
  }
}

/** Shards from allocateShards: what backs them, and whether a page can post and decode them. */
function allocatedShards(): Record<string, unknown> {
  const rs = createEncoder({ dataShards: 4, parityShards: 2 });
  const shards = rs.allocateShards(64);
  for (let i = 0; i < 4; i++) shards[i]!.fill(65 + i);
  rs.encode(shards);
  const channel = new MessageChannel();
  const result = {
    kernel: rs.backend,
    buffer: Object.prototype.toString.call(shards[0]!.buffer),
    verified: rs.verify(shards),
    postMessage: attempt(() => channel.port1.postMessage(shards[0])),
    textDecoder: attempt(() => new TextDecoder().decode(shards[0])),
  };
  channel.port1.close();
  rs.releaseShards(shards);
  return result;
}

publishPageResult(async () => ({
  crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated,
  backends: workloadBackends.map((backend) => runBackend(backend)),
  allocated: allocatedShards(),
}));
