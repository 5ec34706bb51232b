import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadNodeConfig } from '../../config/config.js';
import { TrinityNode } from '../../node/trinity-node.js';
import { intFlag, parseFlags } from './flags.js';

export const nodeStartHelp = `Usage: trinity node start [options]

Starts a storage node in the foreground. Options override the config file.

  --config FILE               JSON config file (see apps/node/README.md for every key)
  --data-dir DIR              data directory (shards, manifests, identity key)
  --api-port PORT             HTTP API port (0 picks a free one)
  --api-host HOST             HTTP API address (default 127.0.0.1)
  --listen-port PORT          peer-to-peer TCP port (0 picks a free one)
  --listen-host HOST          peer-to-peer address (default 127.0.0.1)
  --region REGION             this node's region (e.g. us-east); unset: detected by RTT
  --bootstrap ADDR            multiaddr of a peer to join through (repeatable)
  --capacity BYTES            shard store capacity in bytes
  --log-level LEVEL           trace | debug | info | warn | error | fatal | silent
  --region-topology           region-aware placement and routing (on by default)
  --no-region-topology        spread shards over distinct nodes and read by RTT instead
  --prometheus-http           serve Prometheus metrics over HTTP
  --prometheus-http-port P    port of the metrics endpoint (default 9464)
  --semantic                  fingerprint stored shards into the semantic index
  --exit-with-parent          stop when the parent process goes away (used by devnet)
  -h, --help                  this help
`;

/** Flags as a partial config object (undefined where a flag was not given). */
export function flagsToConfig(
  values: Record<string, string | boolean | string[] | undefined>,
): Record<string, unknown> {
  const str = (key: string) => values[key] as string | undefined;
  const prometheusPort = intFlag(str('prometheus-http-port'), 'prometheus-http-port');
  return {
    dataDir: str('data-dir'),
    region: str('region'),
    api: { port: intFlag(str('api-port'), 'api-port'), host: str('api-host') },
    listen: { port: intFlag(str('listen-port'), 'listen-port'), host: str('listen-host') },
    bootstrap: values.bootstrap,
    capacityBytes: intFlag(str('capacity'), 'capacity'),
    logLevel: str('log-level'),
    regionTopology: values['no-region-topology'] ? false : values['region-topology'],
    semantic: values.semantic,
    prometheus:
      values['prometheus-http'] || prometheusPort !== undefined
        ? { enabled: true, ...(prometheusPort === undefined ? {} : { port: prometheusPort }) }
        : undefined,
  };
}

export const nodeFlags = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  'api-port': { type: 'string' },
  'api-host': { type: 'string' },
  'listen-port': { type: 'string' },
  'listen-host': { type: 'string' },
  region: { type: 'string' },
  bootstrap: { type: 'string', multiple: true },
  capacity: { type: 'string' },
  'log-level': { type: 'string' },
  'region-topology': { type: 'boolean' },
  'no-region-topology': { type: 'boolean' },
  'prometheus-http': { type: 'boolean' },
  'prometheus-http-port': { type: 'string' },
  semantic: { type: 'boolean' },
  'exit-with-parent': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function nodeStart(argv: string[]): Promise<number> {
  const { values } = parseFlags('node start', () =>
    parseArgs({ args: argv, options: nodeFlags, strict: true, allowPositionals: false }),
  );
  if (values.help) {
    process.stdout.write(nodeStartHelp);
    return 0;
  }
  const config = await loadNodeConfig(values.config, flagsToConfig(values));
  const logger = pino({ level: config.logLevel, base: { pid: process.pid } });
  const crashPoint = process.env.TRINITY_CRASH_POINT;
  const node = await TrinityNode.create(config, logger, crashPoint ? { crashPoint } : {});
  try {
    await node.start();
  } catch (error) {
    // A port in use or an address the machine lacks: release what did start, then fail.
    await node.stop().catch(() => {});
    throw error;
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      node
        .stop()
        .catch((error: Error) => logger.error({ err: error.message }, 'unclean shutdown'))
        .finally(() => resolve());
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    if (values['exit-with-parent']) {
      // A devnet's nodes must not outlive the devnet, even when it is killed with SIGKILL.
      const parent = process.ppid;
      setInterval(() => {
        if (process.ppid !== parent) onSignal('SIGTERM');
      }, 1_000).unref();
    }
  });
  logger.flush();
  return 0;
}
