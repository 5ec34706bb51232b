import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '@trinity/core';
import { deepMerge } from '../config/config.js';
import { type AccessKeyRecord, FileAccessKeyStore } from '../s3/access-keys.js';
import { accessKeysPath, s3Dir } from '../s3/s3-service.js';
import { apiTokenPath, readApiToken } from '../stores/api-token.js';
import { loadOrCreateIdentity } from '../stores/identity.js';
import { loadOrCreateOwnerKey } from '../stores/owner-key.js';
import type { ReadyFile } from '../stores/ready-file.js';

/** The regions a devnet spreads its nodes over, round robin. */
export const devnetRegions = ['us-east', 'eu-west', 'asia-east'] as const;

export interface DevnetOptions {
  readonly nodes: number;
  readonly dataDir: string;
  /** Node i serves its API on basePort + i, peers on basePort + 100 + i, metrics on basePort + 200 + i. */
  readonly basePort: number;
  /** Path of the CLI entry (dist/cli.js) the node processes run. */
  readonly cliPath: string;
  /** Extra arguments for every `trinity node start`. */
  readonly nodeArgs?: readonly string[];
  /** Extra JSON config for every node (written to a config file). */
  readonly nodeConfig?: Record<string, unknown>;
  /** Flags for the node processes' Node.js itself, e.g. ['--cpu-prof'] to profile them. */
  readonly execArgv?: readonly string[];
  /** Milliseconds to wait for a node to start. */
  readonly startTimeoutMs?: number;
  /** Node 0 serves the S3 gateway on basePort + 300, with an access key of the devnet's owner. */
  readonly s3?: boolean;
  /**
   * Node i's address (default 127.0.0.1 for all): its API, peer and metrics ports listen there, and
   * peers find it there. A non-loopback address serves the API over plain HTTP (a test network).
   */
  readonly hosts?: readonly string[];
  /** A command prefix node i's process runs under, e.g. `ip netns exec <ns>` to run it in a namespace. */
  readonly launcher?: (index: number) => readonly string[];
}

/** What the devnet's genesis gives every node (base units): a balance, and part of it staked. */
export const devnetGenesisAmounts = {
  balance: '1000000',
  stake: '100000',
  rewardPool: '1000000000',
} as const;

/** The economics genesis every node of a devnet shares (`<dataDir>/genesis.json`). */
export interface DevnetGenesis {
  readonly timeMs: number;
  readonly rewardPool: string;
  readonly accounts: readonly { readonly id: string; readonly balance: string; readonly stake: string }[];
}

/** Where node 0's S3 gateway listens, relative to the devnet's base port. */
export const devnetS3PortOffset = 300;

export interface DevnetNode {
  readonly index: number;
  /** The address its ports listen on. */
  readonly host: string;
  readonly region: string;
  readonly dataDir: string;
  readonly apiPort: number;
  readonly listenPort: number;
  /** Prometheus /metrics on basePort + 200 + i. */
  readonly metricsPort: number;
  /** The node's API token file (`<dataDir>/api-token`): created by the node at its first start. */
  readonly tokenPath: string;
  process: ChildProcess | undefined;
  ready: ReadyFile | undefined;
  /** The token read from `tokenPath` once the node is up. */
  token: string | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A local network of separate node processes on 127.0.0.1: start, stop (SIGTERM, graceful), kill
 * (any signal, e.g. SIGKILL), restart. Node data lives under `dataDir/node-<i>` and survives restarts.
 */
export class Devnet {
  readonly options: DevnetOptions;
  readonly nodes: DevnetNode[];

  constructor(options: DevnetOptions) {
    if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > 64) {
      throw new RangeError(`a devnet has 1 to 64 nodes, got ${options.nodes}`);
    }
    if (
      !Number.isInteger(options.basePort) ||
      options.basePort < 1024 ||
      options.basePort + devnetS3PortOffset + options.nodes > 65_535
    ) {
      throw new RangeError(`base port ${options.basePort} leaves no room for ${options.nodes} nodes`);
    }
    this.options = options;
    this.nodes = Array.from({ length: options.nodes }, (_, index) => ({
      index,
      host: options.hosts?.[index] ?? '127.0.0.1',
      region: devnetRegions[index % devnetRegions.length]!,
      dataDir: join(options.dataDir, `node-${index}`),
      apiPort: options.basePort + index,
      listenPort: options.basePort + 100 + index,
      metricsPort: options.basePort + 200 + index,
      tokenPath: apiTokenPath(join(options.dataDir, `node-${index}`)),
      process: undefined,
      ready: undefined,
      token: undefined,
    }));
  }

  /** Node 0's S3 endpoint (when started with `s3`). */
  get s3Url(): string {
    return `http://${this.nodes[0]!.host}:${this.options.basePort + devnetS3PortOffset}`;
  }

  /**
   * The access key of node 0's gateway: the first one bound to the devnet's owner in node 0's key
   * file, created on first use (a devnet is a local playground: its secret may be shown every run).
   */
  async s3AccessKey(): Promise<AccessKeyRecord> {
    const dataDir = this.nodes[0]!.dataDir;
    await mkdir(s3Dir(dataDir), { recursive: true, mode: 0o700 });
    const owner = await loadOrCreateOwnerKey(join(this.options.dataDir, 'owner.key'));
    const store = await FileAccessKeyStore.open(accessKeysPath(dataDir));
    const existing = store.list(owner.publicKey)[0];
    if (existing !== undefined) {
      const found = await store.lookup(existing.accessKeyId);
      if (found !== undefined) return { ...existing, secretKey: found.secretKey };
    }
    return store.create(owner.publicKey, Date.now());
  }

  apiUrl(index: number): string {
    return `http://${this.nodes[index]!.host}:${this.nodes[index]!.apiPort}`;
  }

  /** Node `index`'s Prometheus endpoint. */
  metricsUrl(index: number): string {
    return `http://${this.nodes[index]!.host}:${this.nodes[index]!.metricsPort}/metrics`;
  }

  /** Node `index`'s API token (known once it has started). */
  apiToken(index: number): string {
    const token = this.nodes[index]!.token;
    if (token === undefined) throw new Error(`node ${index} has not started: its API token is not known yet`);
    return token;
  }

  /** A request to node `index`'s API (`path` from the root, e.g. `/v1/status`), with its token. */
  async fetch(index: number, path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${this.apiToken(index)}`);
    return fetch(`${this.apiUrl(index)}${path}`, { ...init, headers });
  }

  /**
   * The devnet's economics genesis: every node (its identity key, made here if it has none yet) with
   * a balance and a stake. Written once to `<dataDir>/genesis.json` and kept while the node set is
   * the same, so restarts replay against the same genesis; a devnet of other nodes gets a new one.
   */
  async genesis(): Promise<DevnetGenesis> {
    const path = join(this.options.dataDir, 'genesis.json');
    const ids: string[] = [];
    for (const node of this.nodes) {
      const key = await loadOrCreateIdentity(node.dataDir);
      ids.push(toHex(key.publicKey.raw));
    }
    const existing = await readFile(path, 'utf8')
      .then((text) => JSON.parse(text) as DevnetGenesis)
      .catch(() => undefined);
    if (
      existing !== undefined &&
      existing.accounts?.length === ids.length &&
      existing.accounts.every((account, i) => account.id === ids[i])
    )
      return existing;
    const { balance, stake, rewardPool } = devnetGenesisAmounts;
    const genesis: DevnetGenesis = {
      timeMs: Date.now(),
      rewardPool,
      accounts: ids.map((id) => ({ id, balance, stake })),
    };
    await writeFile(path, `${JSON.stringify(genesis, null, 2)}\n`);
    return genesis;
  }

  /** Starts every node (the first, then the rest in parallel) and waits until they all see each other. */
  async start(): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true });
    await loadOrCreateOwnerKey(join(this.options.dataDir, 'owner.key'));
    await this.startNode(0);
    await Promise.all(this.nodes.slice(1).map((node) => this.startNode(node.index)));
    await this.waitForMesh();
  }

  /** Starts node `index` (no-op if running); `env` is added to its environment (e.g. test crash points). */
  async startNode(index: number, env: Record<string, string> = {}): Promise<void> {
    const node = this.nodes[index]!;
    if (this.isRunning(index)) return;
    await mkdir(node.dataDir, { recursive: true });
    await rm(join(node.dataDir, 'ready.json'), { force: true });
    const bootstrap = this.nodes
      .filter((other) => other.index !== index)
      .map((other) => `/ip4/${other.host}/tcp/${other.listenPort}`);
    const args = [
      ...(this.options.execArgv ?? []),
      this.options.cliPath,
      'node',
      'start',
      '--data-dir',
      node.dataDir,
      '--api-port',
      String(node.apiPort),
      '--listen-port',
      String(node.listenPort),
      '--region',
      node.region,
      // One operator owns every devnet node: any of them reads what another stored.
      '--owner-key',
      join(this.options.dataDir, 'owner.key'),
      '--prometheus-http-port',
      String(node.metricsPort),
      ...bootstrap.flatMap((address) => ['--bootstrap', address]),
      '--exit-with-parent',
      ...(index === 0 && this.options.s3 === true
        ? ['--s3-port', String(this.options.basePort + devnetS3PortOffset)]
        : []),
      ...(this.options.nodeArgs ?? []),
    ];
    const hostConfig =
      node.host === '127.0.0.1'
        ? {}
        : {
            listen: { host: node.host },
            api: { host: node.host, insecureHttp: true, allowedHosts: [node.host] },
            prometheus: { host: node.host },
          };
    // Every devnet node takes part in escrow governance (the seed's --escrow) on the devnet's genesis.
    // All its processes share one machine, where a busy honest holder can take seconds to answer a
    // proof-of-storage challenge: a 10 s deadline keeps it from being slashed as late (on loopback a
    // holder fetching the shard on demand costs milliseconds, so no deadline could tell it apart).
    const economics = {
      economics: { escrow: true, genesis: await this.genesis() },
      pos: { deadlineMs: 10_000 },
    };
    const configPath = join(node.dataDir, 'devnet-config.json');
    await writeFile(
      configPath,
      JSON.stringify(deepMerge(deepMerge(economics, this.options.nodeConfig ?? {}), hostConfig)),
    );
    args.push('--config', configPath);
    const log = createWriteStream(join(node.dataDir, 'node.log'), { flags: 'a' });
    const [command, ...prefix] = [...(this.options.launcher?.(index) ?? []), process.execPath];
    const child = spawn(command!, [...prefix, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // The node compares its parent with this pid (--exit-with-parent), even if it starts orphaned.
      env: { ...process.env, TRINITY_PARENT_PID: String(process.pid), ...env },
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    node.process = child;
    node.ready = await this.#waitReady(node, child);
    node.token = await readApiToken(node.tokenPath);
  }

  async #waitReady(node: DevnetNode, child: ChildProcess): Promise<ReadyFile> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        const tail = await readFile(join(node.dataDir, 'node.log'), 'utf8').catch(() => '');
        throw new Error(
          `node ${node.index} exited with code ${child.exitCode}: ${tail.trim().split('\n').slice(-3).join(' | ')}`,
        );
      }
      try {
        const ready = JSON.parse(await readFile(join(node.dataDir, 'ready.json'), 'utf8')) as ReadyFile;
        if (ready.pid === child.pid) return ready;
      } catch {
        // not written yet
      }
      await sleep(100);
    }
    throw new Error(`node ${node.index} did not start within ${this.options.startTimeoutMs ?? 30_000} ms`);
  }

  /** Waits until every running node sees every other running node as a peer. */
  async waitForMesh(timeoutMs = this.options.startTimeoutMs ?? 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.nodes.filter((node) => this.isRunning(node.index));
      const counts = await Promise.all(running.map((node) => this.peerCount(node.index)));
      if (counts.every((count) => count >= running.length - 1)) return;
      if (Date.now() > deadline) throw new Error(`devnet mesh incomplete: peer counts ${counts.join(', ')}`);
      await sleep(250);
    }
  }

  async peerCount(index: number): Promise<number> {
    try {
      const response = await this.fetch(index, '/v1/status', { signal: AbortSignal.timeout(5_000) });
      const status = (await response.json()) as { peers: unknown[] };
      return status.peers.length;
    } catch {
      return -1;
    }
  }

  isRunning(index: number): boolean {
    const child = this.nodes[index]!.process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Resolves when node `index` has exited by itself (e.g. at a crash point). */
  async exited(index: number, timeoutMs = 30_000): Promise<void> {
    const child = this.nodes[index]!.process;
    if (child === undefined || !this.isRunning(index)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`node ${index} still running after ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Sends `signal` to node `index` and waits for it to exit. */
  async kill(index: number, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 15_000): Promise<void> {
    const child = this.nodes[index]!.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Stops every node gracefully (SIGTERM, then SIGKILL after the timeout). */
  async stop(timeoutMs = 15_000): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.kill(node.index, 'SIGTERM', timeoutMs)));
  }
}
