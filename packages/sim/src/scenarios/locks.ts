import { isTrinityError, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { builtinTopology } from '@trinity/topology';
import { ShardLockManager } from '@trinity/vsa';
import type { SimRandom } from '../random.js';
import type { Scenario, ScenarioOptions, ScenarioOutcome } from '../scenario.js';
import { messageFaults, randomRegions, ScenarioWorld, withDefaults } from './world.js';

export interface LocksOptions extends ScenarioOptions {
  /**
   * How long a restarted lock server refuses every acquire (default: the lock lifetime, so every
   * grant of its previous life has expired). Tests set 0 to plant the classic bug.
   */
  readonly restartGraceMs?: number;
  /** Lock requests in all (default 20 per node). */
  readonly requests?: number;
}

const lockTimeoutMs = 2_000;
/** A client trusts its lease for this share of the lock lifetime, measured on its own (drifting) clock. */
const leaseTrustShare = 0.8;
const clockDriftMax = 0.05;
const requestTimeoutMs = 400;
const faultIntervalMs = 200;
/** Share of work periods that stall far beyond the lease (a long GC pause, a swapped-out process). */
const stallRate = 0.05;

type Message =
  | { readonly t: 'acquire'; readonly req: number; readonly shard: number }
  | { readonly t: 'granted'; readonly req: number; readonly shard: number; readonly token: number }
  | { readonly t: 'refused'; readonly req: number }
  | { readonly t: 'release'; readonly shard: number; readonly token: number }
  | { readonly t: 'write'; readonly shard: number; readonly token: number };

interface Client {
  readonly node: number;
  readonly holder: string;
  readonly drift: number;
  epoch: number;
  up: boolean;
  /** The request awaited (0: none). */
  req: number;
  shard: number;
  token: number;
  /** On the client's own clock: until when it trusts its lease. */
  leaseUntilLocalMs: number;
}

interface Server {
  up: boolean;
  epoch: number;
  locks: ShardLockManager;
  /** The newest token ever granted, kept durably (a restarted table starts above it). */
  durableTokenMax: number;
  refuseUntilMs: number;
}

interface GrantRecord {
  readonly client: number;
  readonly token: number;
  readonly grantedMs: number;
  expiresMs: number;
  releasedMs: number;
}

/**
 * Shard locks of @trinity/vsa as a lock service: lock servers (each owning a share of the shards)
 * grant leases to clients over the simulated network; clients with drifting clocks and occasional
 * long stalls write to a storage node with the fencing token they were given, then release. Lock
 * servers and clients crash and restart; messages drop, duplicate and reorder. Checkers: never two
 * valid holders of one shard (a grant only when the previous one expired or was released), fencing
 * tokens strictly increase per shard, and storage never accepts a write with a token older than one
 * it accepted.
 */
class LocksWorld extends ScenarioWorld<Message> {
  readonly #options: Required<LocksOptions>;
  readonly #random: SimRandom;
  readonly #faultRandom: SimRandom;
  readonly #servers: Server[] = [];
  readonly #clients: Client[] = [];
  readonly #shards: string[];
  /** Per shard: the latest grant, as the servers made it (the ground truth the checker reads). */
  readonly #lastGrant: (GrantRecord | undefined)[];
  /** Per shard: newest token the storage accepted. */
  readonly #storedToken: number[];
  readonly #faults: Record<string, number> = { serverCrashes: 0, clientCrashes: 0, stalls: 0 };
  readonly #counts: Record<string, number> = {
    grants: 0,
    refusals: 0,
    writes: 0,
    staleWritesRefused: 0,
    leasesLapsed: 0,
  };
  readonly #kind: Record<
    'next' | 'timeout' | 'workDone' | 'fault' | 'restartServer' | 'restartClient',
    number
  >;
  #nextReq = 1;
  #requestsLeft: number;

  constructor(options: LocksOptions) {
    super(options.seed);
    const n = options.nodes;
    this.#options = withDefaults(options, {
      restartGraceMs: options.restartGraceMs ?? lockTimeoutMs,
      requests: options.requests ?? 20 * n,
    });
    this.#requestsLeft = this.#options.requests;
    this.#random = this.root.fork('workload');
    this.#faultRandom = this.root.fork('faults');
    const topology = builtinTopology();
    const layout = this.root.fork('layout');
    const serverCount = Math.max(1, Math.floor(n / 20));
    // Node 0..S-1: lock servers; node S: storage; the rest: clients.
    const regionOf = randomRegions(n, topology, layout);
    for (let i = 0; i < serverCount; i++) this.#servers.push(this.#newServer(0, 0));
    const shardCount = Math.max(4, Math.floor(n / 2));
    this.#shards = Array.from({ length: shardCount }, (_, i) =>
      toHex(sha256(utf8ToBytes(`lock-shard/${i}`))),
    );
    this.#lastGrant = new Array(shardCount).fill(undefined);
    this.#storedToken = new Array<number>(shardCount).fill(0);
    for (let node = serverCount + 1; node < n; node++) {
      this.#clients.push({
        node,
        holder: toHex(sha256(utf8ToBytes(`lock-client/${node}`))),
        drift: (layout.float() * 2 - 1) * clockDriftMax,
        epoch: 0,
        up: true,
        req: 0,
        shard: -1,
        token: 0,
        leaseUntilLocalMs: 0,
      });
    }
    this.connect(topology, regionOf, (to, from, message) => this.#deliver(to, from, message));
    const s = this.scheduler;
    this.#kind = {
      next: s.register('client-next', (client, epoch) => this.#clientNext(client, epoch)),
      timeout: s.register('request-timeout', (client, req) => this.#requestTimeout(client, req)),
      workDone: s.register('work-done', (client, epoch) => this.#workDone(client, epoch)),
      fault: s.register('fault', () => this.#fault()),
      restartServer: s.register('restart-server', (server) => this.#restartServer(server)),
      restartClient: s.register('restart-client', (client) => this.#restartClient(client)),
    };
  }

  get #storageNode(): number {
    return this.#servers.length;
  }

  run(): ScenarioOutcome {
    const s = this.scheduler;
    if (this.#options.faults) {
      this.network.setRates({ dropRate: 0.01, duplicateRate: 0.02, reorderRate: 0.02 });
      s.at(faultIntervalMs, this.#kind.fault, 0);
    }
    for (let c = 0; c < this.#clients.length; c++) s.at(this.#random.float() * 50, this.#kind.next, c, 0);
    const end = s.run(3_600_000);
    this.checks.check('settles', end === 'idle', () => 'events still pending after an hour of virtual time');
    return this.outcome({
      faults: { ...this.#faults, ...messageFaults(this.network.stats) },
      counts: { ...this.#counts, shards: this.#shards.length, servers: this.#servers.length },
    });
  }

  #newServer(firstToken: number, refuseUntilMs: number): Server {
    return {
      up: true,
      epoch: 0,
      locks: new ShardLockManager({ lockTimeoutMs, maxLocksPerHolder: 4, firstFencingToken: firstToken + 1 }),
      durableTokenMax: firstToken,
      refuseUntilMs,
    };
  }

  #serverOf(shard: number): number {
    return shard % this.#servers.length;
  }

  #localMs(client: Client): number {
    return this.scheduler.nowMs * (1 + client.drift);
  }

  // --- clients -------------------------------------------------------------------------------

  #clientNext(index: number, epoch: number): void {
    const client = this.#clients[index]!;
    if (!client.up || client.epoch !== epoch || client.req !== 0) return;
    if (this.#requestsLeft <= 0) return;
    this.#requestsLeft--;
    client.shard = this.#random.int(0, this.#shards.length - 1);
    client.req = this.#nextReq++;
    client.leaseUntilLocalMs = this.#localMs(client) + lockTimeoutMs * leaseTrustShare;
    this.network.send(
      client.node,
      this.#serverOf(client.shard),
      { t: 'acquire', req: client.req, shard: client.shard },
      100,
    );
    this.scheduler.after(requestTimeoutMs, this.#kind.timeout, index, client.req);
  }

  #requestTimeout(index: number, req: number): void {
    const client = this.#clients[index]!;
    if (client.req !== req || !client.up) return;
    client.req = 0;
    this.scheduler.after(this.#random.exponential(50), this.#kind.next, index, client.epoch);
  }

  #onGranted(client: Client, index: number, message: Extract<Message, { t: 'granted' }>): void {
    if (client.req !== message.req) {
      // A grant the client no longer waits for (timed out, duplicated): give it back.
      this.network.send(
        client.node,
        this.#serverOf(message.shard),
        { t: 'release', shard: message.shard, token: message.token },
        100,
      );
      return;
    }
    client.req = 0;
    client.token = message.token;
    const stall = this.#random.chance(stallRate);
    if (stall) this.#faults.stalls!++;
    const workMs = stall ? lockTimeoutMs + this.#random.exponential(2_000) : this.#random.exponential(150);
    this.scheduler.after(workMs, this.#kind.workDone, index, client.epoch);
  }

  #workDone(index: number, epoch: number): void {
    const client = this.#clients[index]!;
    if (!client.up || client.epoch !== epoch) return;
    // The client writes only while it believes its lease valid, on its own clock: a fast-running
    // server clock or a slow client clock makes that belief wrong, and the fencing token must save it.
    if (this.#localMs(client) < client.leaseUntilLocalMs) {
      this.network.send(
        client.node,
        this.#storageNode,
        { t: 'write', shard: client.shard, token: client.token },
        4_096,
      );
    } else this.#counts.leasesLapsed!++;
    this.network.send(
      client.node,
      this.#serverOf(client.shard),
      { t: 'release', shard: client.shard, token: client.token },
      100,
    );
    client.token = 0;
    this.scheduler.after(this.#random.exponential(30), this.#kind.next, index, client.epoch);
  }

  // --- servers and storage -------------------------------------------------------------------

  #deliver(to: number, from: number, message: Message): void {
    if (to < this.#servers.length) this.#serverHandle(to, from, message);
    else if (to === this.#storageNode) this.#storageHandle(message);
    else {
      const index = to - this.#servers.length - 1;
      const client = this.#clients[index]!;
      if (!client.up) return;
      if (message.t === 'granted') this.#onGranted(client, index, message);
      else if (message.t === 'refused' && client.req === message.req) {
        client.req = 0;
        this.#counts.refusals!++;
        this.scheduler.after(this.#random.exponential(80), this.#kind.next, index, client.epoch);
      }
    }
  }

  #serverHandle(index: number, from: number, message: Message): void {
    const server = this.#servers[index]!;
    if (!server.up) return;
    const now = Math.floor(this.scheduler.nowMs);
    const client = this.#clients[from - this.#servers.length - 1];
    if (client === undefined) return;
    if (message.t === 'acquire') {
      if (now < server.refuseUntilMs) {
        this.network.send(index, from, { t: 'refused', req: message.req }, 60);
        return;
      }
      try {
        const grant = server.locks.acquire(
          this.#shards[message.shard]!,
          client.holder,
          `r${message.req}`,
          now,
        );
        server.durableTokenMax = Math.max(server.durableTokenMax, grant.fencingToken);
        this.#recordGrant(message.shard, from, grant.fencingToken, now, grant.expiresAtMs);
        this.network.send(
          index,
          from,
          { t: 'granted', req: message.req, shard: message.shard, token: grant.fencingToken },
          80,
        );
      } catch (error) {
        if (!isTrinityError(error) || error.code === 'ASSERTION_FAILED') throw error;
        this.network.send(index, from, { t: 'refused', req: message.req }, 60);
      }
    } else if (message.t === 'release') {
      const info = server.locks.get(this.#shards[message.shard]!, now);
      if (
        info !== undefined &&
        info.fencingToken === message.token &&
        server.locks.tryRelease(this.#shards[message.shard]!, client.holder, now)
      ) {
        const last = this.#lastGrant[message.shard];
        if (last !== undefined && last.token === message.token) last.releasedMs = now;
      }
    }
  }

  #storageHandle(message: Message): void {
    if (message.t !== 'write') return;
    const current = this.#storedToken[message.shard]!;
    if (message.token < current) {
      this.#counts.staleWritesRefused!++;
      return;
    }
    this.checks.check(
      'storage-tokens-monotonic',
      message.token >= current,
      () => `shard ${message.shard}: token ${message.token} after ${current}`,
    );
    this.#storedToken[message.shard] = message.token;
    this.#counts.writes!++;
  }

  /** The checker: a new grant only once the previous holder's grant expired or was released. */
  #recordGrant(shard: number, client: number, token: number, nowMs: number, expiresMs: number): void {
    const last = this.#lastGrant[shard];
    if (last !== undefined && last.client === client && last.token === token) {
      // The same request again (a duplicated message): the lease is renewed, not granted anew.
      last.expiresMs = expiresMs;
      return;
    }
    this.#counts.grants!++;
    if (last !== undefined) {
      const validUntil = Math.min(last.expiresMs, last.releasedMs);
      this.checks.check(
        'one-valid-holder',
        last.client === client || validUntil <= nowMs,
        () =>
          `shard ${shard}: granted to node ${client} (token ${token}) at ${nowMs} ms while node ${last.client}'s token ${last.token} is valid until ${validUntil} ms`,
      );
      this.checks.check(
        'tokens-increase',
        token > last.token,
        () => `shard ${shard}: token ${token} after ${last.token}`,
      );
    }
    this.#lastGrant[shard] = {
      client,
      token,
      grantedMs: nowMs,
      expiresMs,
      releasedMs: Number.POSITIVE_INFINITY,
    };
  }

  // --- faults --------------------------------------------------------------------------------

  #fault(): void {
    if (this.#requestsLeft <= 0) {
      this.network.setRates({ dropRate: 0, duplicateRate: 0, reorderRate: 0 });
      return;
    }
    const random = this.#faultRandom;
    const roll = random.float();
    if (roll < 0.08) {
      const index = random.int(0, this.#servers.length - 1);
      const server = this.#servers[index]!;
      if (server.up) {
        this.#faults.serverCrashes!++;
        server.up = false;
        this.network.setUp(index, false);
        this.scheduler.after(100 + random.exponential(1_000), this.#kind.restartServer, index);
      }
    } else if (roll < 0.4) {
      const index = random.int(0, this.#clients.length - 1);
      const client = this.#clients[index]!;
      if (client.up) {
        this.#faults.clientCrashes!++;
        client.up = false;
        client.epoch++;
        this.network.setUp(client.node, false);
        this.scheduler.after(100 + random.exponential(1_000), this.#kind.restartClient, index);
      }
    }
    this.scheduler.after(faultIntervalMs, this.#kind.fault, 0);
  }

  /** The lock table was in memory: a new one above the durable token mark, refusing during the grace. */
  #restartServer(index: number): void {
    const old = this.#servers[index]!;
    const now = Math.floor(this.scheduler.nowMs);
    const server = this.#newServer(old.durableTokenMax, now + this.#options.restartGraceMs);
    server.epoch = old.epoch + 1;
    this.#servers[index] = server;
    this.network.setUp(index, true);
  }

  #restartClient(index: number): void {
    const client = this.#clients[index]!;
    client.up = true;
    client.req = 0;
    client.token = 0;
    this.network.setUp(client.node, true);
    this.scheduler.after(this.#random.exponential(30), this.#kind.next, index, client.epoch);
  }
}

export const locksScenario: Scenario<LocksOptions> = {
  name: 'locks',
  description:
    '@trinity/vsa shard locks as a lease service with fencing tokens, under crashes, stalls and clock drift',
  nodesMin: 10,
  nodesMax: 100_000,
  run: (options) => new LocksWorld(options).run(),
};
