import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A Linux network-namespace lab for chaos runs: one namespace per node, each joined to a bridge in
 * the host namespace by a veth pair, so nodes talk over real interfaces that can be cut. The test
 * process stays in the host namespace and reaches every node through the bridge, partitioned or not.
 *
 * - `partition(side)` cuts every path between `side` and the other nodes in both directions with
 *   blackhole routes inside the namespaces (the bridge, hence the test's own access, is untouched);
 *   `heal()` removes them.
 * - `slow(node, …)` adds latency (`tc netem`) or, where the kernel lacks netem, a rate limit (`tc tbf`)
 *   on the node's interface; `unslow(node)` removes it.
 *
 * Needs root and `ip`/`tc` (iproute2). Names carry the creating process's pid, and `create` first
 * removes labs left by processes that are gone (a run killed before its `destroy`).
 */
export class NetnsLab {
  readonly #tag: string;
  readonly #subnet: string;
  readonly #nodes: number;
  readonly #cut = new Set<string>();
  readonly #delayed = new Set<number>();
  /** Whether the kernel has sch_netem: unknown until the first `slow`. */
  #netem: boolean | undefined;

  private constructor(tag: string, subnet: string, nodes: number) {
    this.#tag = tag;
    this.#subnet = subnet;
    this.#nodes = nodes;
  }

  /** Why a lab cannot be built here, or undefined when it can. */
  static async unavailable(): Promise<string | undefined> {
    if (process.platform !== 'linux')
      return `network namespaces are Linux-only (this is ${process.platform})`;
    if (process.getuid?.() !== 0) return 'network namespaces need root (this run is not root)';
    const name = `trp${process.pid}`;
    try {
      await ip('netns', 'add', name);
      await ip('netns', 'del', name);
      await run('tc', ['-V']);
      return undefined;
    } catch (error) {
      return `cannot create a network namespace here: ${oneLine(error)}`;
    }
  }

  /** Builds a lab of `nodes` namespaces on a fresh /24 (10.(pid-derived).(pid-derived).0). */
  static async create(nodes: number): Promise<NetnsLab> {
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 200)
      throw new RangeError(`1 to 200 nodes, got ${nodes}`);
    await removeStale();
    const tag = `tr${process.pid}`;
    const subnet = `10.${200 + ((process.pid >> 8) % 50)}.${process.pid % 256}`;
    const lab = new NetnsLab(tag, subnet, nodes);
    try {
      await ip('link', 'add', lab.#bridge, 'type', 'bridge');
      await ip('addr', 'add', `${subnet}.1/24`, 'dev', lab.#bridge);
      await ip('link', 'set', lab.#bridge, 'up');
      for (let node = 0; node < nodes; node++) {
        const ns = lab.namespace(node);
        const host = `${tag}h${node}`;
        await ip('netns', 'add', ns);
        await ip('link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
        await ip('link', 'set', host, 'master', lab.#bridge);
        await ip('link', 'set', host, 'up');
        await ip('-n', ns, 'addr', 'add', `${lab.host(node)}/24`, 'dev', 'eth0');
        await ip('-n', ns, 'link', 'set', 'eth0', 'up');
        await ip('-n', ns, 'link', 'set', 'lo', 'up');
      }
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  get #bridge(): string {
    return `${this.#tag}br`;
  }

  namespace(node: number): string {
    return `${this.#tag}n${node}`;
  }

  /** Node `node`'s address on the bridge. */
  host(node: number): string {
    return `${this.#subnet}.${10 + node}`;
  }

  /** The command prefix that runs a program inside node `node`'s namespace. */
  launcher(node: number): string[] {
    return ['ip', 'netns', 'exec', this.namespace(node)];
  }

  /** Cuts `side` off from every other node (both directions); the test process still reaches all. */
  async partition(side: readonly number[]): Promise<void> {
    const inside = new Set(side);
    for (let a = 0; a < this.#nodes; a++) {
      for (let b = 0; b < this.#nodes; b++) {
        if (a === b || inside.has(a) === inside.has(b)) continue;
        const key = `${a}>${b}`;
        if (this.#cut.has(key)) continue;
        await ip('-n', this.namespace(a), 'route', 'add', 'blackhole', `${this.host(b)}/32`);
        this.#cut.add(key);
      }
    }
  }

  /** Removes every partition. */
  async heal(): Promise<void> {
    for (const key of [...this.#cut]) {
      const [a, b] = key.split('>').map(Number) as [number, number];
      await ip('-n', this.namespace(a), 'route', 'del', 'blackhole', `${this.host(b)}/32`).catch(() => {});
      this.#cut.delete(key);
    }
  }

  /**
   * Slows what node `node` sends: `ms` ± 20 % of latency with `tc netem` where the kernel has it,
   * else (no sch_netem) a `tc tbf` rate limit of `rateMbit` with queueing delay up to `ms`. Returns
   * what it did, for the log.
   */
  async slow(node: number, ms: number, rateMbit: number): Promise<string> {
    const verb = this.#delayed.has(node) ? 'change' : 'add';
    const tc = (...qdisc: string[]) =>
      run('ip', [
        'netns',
        'exec',
        this.namespace(node),
        'tc',
        'qdisc',
        verb,
        'dev',
        'eth0',
        'root',
        ...qdisc,
      ]);
    if (this.#netem !== false) {
      try {
        await tc('netem', 'delay', `${ms}ms`, `${Math.max(1, Math.round(ms / 5))}ms`);
        this.#netem = true;
        this.#delayed.add(node);
        return `${ms} ms of latency (netem)`;
      } catch (error) {
        if (!/unknown/i.test(oneLine(error))) throw error;
        this.#netem = false;
      }
    }
    await tc('tbf', 'rate', `${rateMbit}mbit`, 'burst', '64kb', 'latency', `${ms}ms`);
    this.#delayed.add(node);
    return `${rateMbit} Mbit/s, queueing up to ${ms} ms (tbf; this kernel has no netem)`;
  }

  /** Removes what `slow` added. */
  async unslow(node: number): Promise<void> {
    if (!this.#delayed.delete(node)) return;
    await run('ip', [
      'netns',
      'exec',
      this.namespace(node),
      'tc',
      'qdisc',
      'del',
      'dev',
      'eth0',
      'root',
    ]).catch(() => {});
  }

  /** Removes the namespaces (and with them the veth pairs and routes) and the bridge. */
  async destroy(): Promise<void> {
    await removeLab(this.#tag);
  }
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (error) {
    throw new Error(`ip ${args.join(' ')}: ${oneLine(error)}`);
  }
}

function oneLine(error: unknown): string {
  const text =
    (error as { stderr?: string }).stderr?.trim() || (error instanceof Error ? error.message : String(error));
  return text.split('\n')[0] ?? '';
}

async function removeLab(tag: string): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }));
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (name.startsWith(`${tag}n`)) await run('ip', ['netns', 'del', name]).catch(() => {});
  }
  await run('ip', ['link', 'del', `${tag}br`]).catch(() => {});
}

/** Labs whose creating process is gone. */
async function removeStale(): Promise<void> {
  const { stdout } = await run('ip', ['-o', 'link', 'show', 'type', 'bridge']).catch(() => ({ stdout: '' }));
  for (const match of stdout.matchAll(/\d+: tr(\d+)br[:@]/g)) {
    const pid = Number(match[1]);
    if (pid !== process.pid && !alive(pid)) await removeLab(`tr${pid}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
