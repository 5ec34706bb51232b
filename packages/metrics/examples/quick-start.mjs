import {
  lintExposition,
  PrometheusMetrics,
  registerTrinityMetrics,
  startMetricsServer,
} from '@trinity/metrics';

// One registry per node (never prom-client's global one), with the trinity_* set on it.
const metrics = new PrometheusMetrics({ collectDefaultMetrics: false });
const node = registerTrinityMetrics(metrics);
node.nodes.set(6);
node.txCommitted.inc();
node.routeDecisions.inc(1, { locality: 'local' });
node.txDurationSeconds.observe(0.012);

// A real HTTP listener: port 0 picks a free port; the page is regenerated at most every 5 s.
const server = await startMetricsServer({ metrics, host: '127.0.0.1', port: 0, cacheTtlMs: 5_000 });
const response = await fetch(server.url);
const text = await response.text();
console.log(response.status, response.headers.get('content-type'));
for (const line of text.split('\n')) {
  if (/^trinity_(nodes|tx_committed_total|route_decisions_total)/.test(line)) console.log(line);
}
console.log('convention problems:', lintExposition(text).length);
console.log('other paths:', (await fetch(new URL('/other', server.url))).status);
await server.close();
