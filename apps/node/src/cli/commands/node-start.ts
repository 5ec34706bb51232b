import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadNodeConfig } from '../../config/config.js';
import { TrinityNode } from '../../node/trinity-node.js';
import { apiTokenPath, readApiToken, readPem } from '../../stores/api-token.js';
import { ExitCode } from '../errors.js';
import { intFlag, parseFlags } from './flags.js';

export const nodeStartHelp = `Usage: trinity node start [options]

Starts a storage node in the foreground. Options override the config file.

  --config FILE               JSON or JSONC config file; \`trinity node init\` writes one with
                              every key, its default, bounds and flag
  --data-dir DIR              data directory (shards, manifests, identity key)
  --api-port PORT             HTTP API port (0 picks a free one)
  --api-host HOST             HTTP API address (default 127.0.0.1); anything but loopback needs
                              --tls-cert and --tls-key, or --insecure-http
  --tls-cert FILE             PEM certificate: serve the API over HTTPS (with --tls-key)
  --tls-key FILE              PEM private key of --tls-cert
  --insecure-http             allow plain HTTP on a non-loopback --api-host (logs a warning)
  --api-allowed-host NAME     a name the API answers to in Host besides localhost, 127.0.0.1 and
                              [::1] ("name" any port, "name:port"; repeatable)
  --api-cors-origin ORIGIN    a web origin allowed to call the API, e.g. https://app.example.com
                              (repeatable; without one, every request with an Origin is refused)
  --api-token-file FILE       the API's bearer token file (default DATA_DIR/api-token; created
                              mode 0600 at first start)
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
  --s3-port PORT              serve the S3-compatible gateway on PORT (0 picks a free one; off
                              without it); keys: "trinity s3 keys create"
  --semantic                  fingerprint shards of public objects into the semantic index
  --escrow                    take part in slashing escrow governance (seed v2.0) automatically:
                              propose proof-of-storage slashes from this node's failing
                              challenges, vote on disputed escrows (economics.escrow)
  --owner-key FILE            the owner key this node acts for (default <data-dir>/owner.key,
                              created at first start; see "trinity keygen")
  --exit-with-parent          stop when the parent process (TRINITY_PARENT_PID, else the one that
                              started this) goes away; used by devnet
  -h, --help                  this help
`;

/** Flags as a partial config object (undefined where a flag was not given). */
export function flagsToConfig(
  values: Record<string, string | boolean | string[] | undefined>,
): Record<string, unknown> {
  const str = (key: string) => values[key] as string | undefined;
  const prometheusPort = intFlag(str('prometheus-http-port'), 'prometheus-http-port');
  const s3Port = intFlag(str('s3-port'), 's3-port');
  return {
    dataDir: str('data-dir'),
    region: str('region'),
    api: {
      port: intFlag(str('api-port'), 'api-port'),
      host: str('api-host'),
      tlsCertFile: str('tls-cert'),
      tlsKeyFile: str('tls-key'),
      insecureHttp: values['insecure-http'],
      allowedHosts: values['api-allowed-host'],
      corsOrigins: values['api-cors-origin'],
      tokenFile: str('api-token-file'),
    },
    listen: { port: intFlag(str('listen-port'), 'listen-port'), host: str('listen-host') },
    bootstrap: values.bootstrap,
    capacityBytes: intFlag(str('capacity'), 'capacity'),
    logLevel: str('log-level'),
    regionTopology: values['no-region-topology'] ? false : values['region-topology'],
    semantic: values.semantic,
    economics: values.escrow === undefined ? undefined : { escrow: values.escrow },
    s3: s3Port === undefined ? undefined : { enabled: true, port: s3Port },
    trust: { ownerKeyFile: str('owner-key') },
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
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'insecure-http': { type: 'boolean' },
  'api-allowed-host': { type: 'string', multiple: true },
  'api-cors-origin': { type: 'string', multiple: true },
  'api-token-file': { type: 'string' },
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
  escrow: { type: 'boolean' },
  's3-port': { type: 'string' },
  'owner-key': { type: 'string' },
  'exit-with-parent': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * The parent this process was started by: named by the parent itself in TRINITY_PARENT_PID (a
 * parent killed before this process ran any code would leave `process.ppid` already 1), else read
 * when this module loads, before the node starts.
 */
const parentAtStart = /^\d+$/.test(process.env.TRINITY_PARENT_PID ?? '')
  ? Number(process.env.TRINITY_PARENT_PID)
  : process.ppid;

/** How long a node may take to stop after SIGTERM or SIGINT before the process exits anyway. */
const forceExitMs = 10_000;

export async function nodeStart(argv: string[]): Promise<number> {
  const { values } = parseFlags('node start', () =>
    parseArgs({ args: argv, options: nodeFlags, strict: true, allowPositionals: false }),
  );
  if (values.help) {
    process.stdout.write(nodeStartHelp);
    return 0;
  }
  // Signals and the parent watchdog come first: a stop asked for while the node is still starting
  // is carried out as soon as it has started.
  let stopSignal: NodeJS.Signals | undefined;
  let wake = () => {};
  const stopRequested = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal !== undefined) return;
    stopSignal = signal;
    // A stop that hangs (a peer that never answers, a start that never ends) must not keep the
    // process: exit anyway, unref'd so that it never holds a clean exit back.
    setTimeout(() => {
      process.stderr.write(
        `trinity: the node did not stop within ${forceExitMs / 1000} s of ${signal}; exiting\n`,
      );
      process.exit(ExitCode.failure);
    }, forceExitMs).unref();
    wake();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (values['exit-with-parent']) {
    // A devnet's nodes must not outlive the devnet, even when it is killed with SIGKILL before
    // they are up: compare with the parent this process was started by, not the one it has now.
    const gone = () => process.ppid !== parentAtStart;
    if (gone()) onSignal('SIGTERM');
    setInterval(() => {
      if (gone()) onSignal('SIGTERM');
    }, 1_000).unref();
  }

  const config = await loadNodeConfig(values.config, flagsToConfig(values));
  // An API token file others can read, or TLS files that cannot be read, refuse the start before
  // anything opens (the API itself checks them again when it starts).
  await readApiToken(apiTokenPath(config.dataDir, config.api.tokenFile));
  if (config.api.tlsCertFile !== undefined && config.api.tlsKeyFile !== undefined) {
    await readPem(config.api.tlsCertFile, 'api.tlsCertFile');
    await readPem(config.api.tlsKeyFile, 'api.tlsKeyFile');
  }
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
  await stopRequested;
  logger.info({ signal: stopSignal }, 'shutting down');
  await node.stop().catch((error: Error) => logger.error({ err: error.message }, 'unclean shutdown'));
  logger.flush();
  return 0;
}
