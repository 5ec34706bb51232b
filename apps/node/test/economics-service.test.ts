import { appendFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ManualClock, MemoryLogger, MemoryMetrics, seededRandom, toHex } from '@trinity/core';
import { decodeEvent, EventSigner, encodeEvent } from '@trinity/economics';
import { registerTrinityMetrics } from '@trinity/metrics';
import { afterEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { NodeError, RemoteError } from '../src/errors.js';
import { peerIdOfNodeKey } from '../src/p2p/node-keys.js';
import type { PeerRpc, ProtocolHandler, ProtocolServer, RpcReply } from '../src/p2p/rpc.js';
import { EconomicsMetrics } from '../src/services/economics/economics-metrics.js';
import {
  PosFailureIndex,
  posEvidence,
  shouldProposeSlash,
  voteOverturn,
} from '../src/services/economics/economics-policy.js';
import { economicsProtocol, encodeEventFrames } from '../src/services/economics/economics-protocol.js';
import {
  type EconomicsService,
  type EconomicsServiceInit,
  economicsService,
} from '../src/services/economics/economics-service.js';
import { EconomicsLog, EconomicsLogFullError } from '../src/stores/economics-log.js';
import { tempDir } from './helpers.js';

/** In-process peers: each service's protocol handler, reached by peer id; `links` says who is connected. */
class FakeNet {
  readonly handlers = new Map<string, ProtocolHandler<z.ZodType>>();
  readonly schemas = new Map<string, z.ZodType>();
  readonly down = new Set<string>();
  /** Nodes that left the others' membership. */
  readonly gone = new Set<number>();
  /** The peers node i's node info lists, as the others' membership holds it (unset: none yet). */
  readonly reported = new Map<number, Set<string>>();
  /** Event pushes sent, relays included. */
  pushes = 0;

  server(self: string): ProtocolServer {
    return {
      handle: async (_protocol, schema, handler) => {
        this.handlers.set(self, handler as ProtocolHandler<z.ZodType>);
        this.schemas.set(self, schema);
      },
      unhandle: async () => {
        this.handlers.delete(self);
      },
    };
  }

  rpc(self: string): PeerRpc {
    return {
      call: async (peer, _protocol, header, body): Promise<RpcReply> => {
        const handler = this.handlers.get(peer);
        if (handler === undefined || this.down.has(peer) || this.down.has(self))
          throw new NodeError('PEER_UNAVAILABLE', `${peer} unreachable`, 503);
        const request = this.schemas.get(peer)!.parse(JSON.parse(JSON.stringify(header)));
        if ((header as { op?: string }).op === 'push') this.pushes++;
        try {
          return await handler(request, {
            peer: self,
            connection: undefined as never,
            readBody: async (size) => {
              if ((body?.length ?? 0) !== size) throw new Error('body size mismatch');
              return body ?? new Uint8Array(0);
            },
          });
        } catch (error) {
          throw new RemoteError(
            peer,
            (error as { code?: string }).code ?? 'INTERNAL',
            (error as Error).message,
          );
        }
      },
    };
  }
}

const signers = Array.from({ length: 7 }, (_, i) => new EventSigner(new Uint8Array(32).fill(i + 1)));
const keyOf = (i: number) => signers[i]!.nodeId;
const peerOf = (i: number) => peerIdOfNodeKey(keyOf(i))!;
const secretOf = (i: number) => new Uint8Array(32).fill(i + 1);

const genesis = {
  timeMs: 0,
  rewardPool: 0n,
  accounts: signers.map((s) => ({ id: s.nodeId, balance: 1_000_000n, stake: 100_000n })),
};

function init(overrides: Partial<EconomicsServiceInit> = {}): EconomicsServiceInit {
  return {
    network: { genesis, settleDelayMs: 0, appealWindowMs: 0 },
    escrow: false,
    posFailuresToSlash: 3,
    posFailureWindowMs: 3_600_000,
    voteUpholdReputationBelow: 0.3,
    tickMs: 1_000,
    antiEntropyMs: 60_000,
    peerQueueEventsMax: 64,
    uptimeReportMs: 0,
    bandwidthReportMs: 0,
    ...overrides,
  };
}

describe('economics service', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Services 0..n-1 on one clock, each connected to all others (its membership), logs under a temp dir. */
  async function network(n: number, overrides: (i: number) => Partial<EconomicsServiceInit> = () => ({})) {
    const dir = await tempDir('trinity-econ-');
    const clock = new ManualClock(10_000);
    const net = new FakeNet();
    const services: EconomicsService[] = [];
    const members = (i: number) => ({
      peers: () =>
        Array.from({ length: n }, (_, j) => j)
          .filter((j) => j !== i && !net.gone.has(j))
          .map((j) => ({ id: peerOf(j), reportedPeers: net.reported.get(j) ?? new Set() }) as never),
    });
    const open = async (i: number) => {
      const log = await EconomicsLog.open(join(dir.path, `economics-${i}.log`), {
        sizeBytesMax: 1 << 20,
        recordsMax: 100_000,
        fsync: false,
      });
      const service = economicsService(init(overrides(i)))({
        secretKey: secretOf(i),
        log,
        rpc: net.rpc(peerOf(i)),
        server: net.server(peerOf(i)),
        membership: members(i),
        clock,
        random: seededRandom(i + 1),
        logger: new MemoryLogger(),
      });
      await service.start();
      services[i] = service;
      return service;
    };
    for (let i = 0; i < n; i++) await open(i);
    live = services;
    cleanups.push(async () => {
      for (const s of services) await s.stop().catch(() => {});
      await dir.remove();
    });
    return { dir: dir.path, clock, net, services, open };
  }

  /** The services of the running test's network. */
  let live: EconomicsService[] = [];

  /**
   * Lets what the services started run to the end: ticks the clock fired, emits, pushes and the
   * peers' floods they cause (passes until one finds every service idle, not a count of turns).
   */
  async function settle(): Promise<void> {
    for (let pass = 0; pass < 20; pass++) {
      await new Promise((resolve) => setImmediate(resolve));
      for (const s of live) await s.idle();
    }
  }

  it('signs a stake, applies it at once, and persists it: a restart replays to the same state hash', async () => {
    const { services, open, clock } = await network(2);
    const a = services[0]!;
    const result = await a.stake(5_000n);
    expect(result.outcome).toBe('applied');
    expect(result.event).toMatchObject({ type: 'stake', actor: keyOf(0), seq: 1, amount: '5000' });
    await a.recordPosResult({ holder: peerOf(1), shard: 'ab'.repeat(32), passed: true });
    clock.advance(5_000);
    await a.tick();
    const hash = a.state.stateHash();
    expect(a.summary(keyOf(0)).stake).toBe('105000');
    await a.stop();
    const again = await open(0);
    await again.tick();
    expect(again.state.stateHash()).toBe(hash);
    expect(again.state.lastSeqOf(keyOf(0))).toBe(2);
    // The signer continues after the replayed events.
    expect((await again.unstake(1n)).event.seq).toBe(3);
  });

  it('cuts a torn tail off the log and keeps every whole event', async () => {
    const { services, open, dir } = await network(1);
    await services[0]!.stake(1n);
    await services[0]!.stake(2n);
    await services[0]!.stop();
    const path = join(dir, 'economics-0.log');
    const whole = (await stat(path)).size;
    await appendFile(path, new Uint8Array([0, 120, 1, 2, 3])); // a record's header and 3 of its 120 bytes
    const log = await EconomicsLog.open(path, { sizeBytesMax: 1 << 20, recordsMax: 100, fsync: false });
    expect(log.recovery).toEqual({ records: 2, truncatedBytes: 5 });
    await log.close();
    expect((await stat(path)).size).toBe(whole);
    await appendFile(path, new Uint8Array([0, 120, 1, 2, 3]));
    const again = await open(0);
    expect(again.state.lastSeqOf(keyOf(0))).toBe(2);
    expect(again.summary(keyOf(0)).stake).toBe('100003');
  });

  it('refuses an append past its limit with a typed error, writing nothing', async () => {
    const dir = await tempDir('trinity-econ-log-');
    cleanups.push(dir.remove);
    const log = await EconomicsLog.open(join(dir.path, 'e.log'), {
      sizeBytesMax: 1 << 20,
      recordsMax: 2,
      fsync: true,
    });
    await log.append([new Uint8Array([1]), new Uint8Array([2])]);
    await expect(log.append([new Uint8Array([3])])).rejects.toBeInstanceOf(EconomicsLogFullError);
    await log.close();
    expect((await readFile(join(dir.path, 'e.log'))).length).toBe(2 * 7);
  });

  it('gossips accepted events to its peers, who flood them on', async () => {
    const { services } = await network(3);
    await services[0]!.stake(7n);
    await settle();
    for (const s of services) expect(s.summary(keyOf(0)).stake).toBe('100007');
    expect(services[1]!.stats.accepted).toBe(1);
    // Node 2 got it from node 0 and from node 1: the second copy is a duplicate, not an error.
    expect(services[2]!.stats.rejected).toBe(0);
  });

  it('does not relay an event its author pushed itself: only to the peers the author does not list', async () => {
    const { services, net } = await network(4);
    const all = [0, 1, 2, 3].map(peerOf);
    for (let i = 0; i < 4; i++) net.reported.set(i, new Set(all.filter((_, j) => j !== i)));
    await services[0]!.stake(7n);
    await settle();
    for (const s of services) expect(s.summary(keyOf(0)).stake).toBe('100007');
    // A full mesh: the author's three pushes and nothing else (flooding sent 3 + 3 × 2).
    expect(net.pushes).toBe(3);
    for (const s of services) expect(s.stats.duplicates).toBe(0);

    // A peer the author does not list still gets relays: here from both others.
    net.reported.set(0, new Set([peerOf(1), peerOf(2)]));
    net.pushes = 0;
    await services[0]!.stake(8n);
    await settle();
    expect(services[3]!.state.lastSeqOf(keyOf(0))).toBe(2);
    expect(net.pushes).toBe(3 + 2);
    expect(services[3]!.stats.duplicates).toBe(2);

    // Events relayed by another node are relayed on as before (node 1 is not their author).
    net.pushes = 0;
    await services[1]!.antiEntropy(peerOf(0)); // nothing new: no pushes
    expect(net.pushes).toBe(0);

    // A listed peer the author's push missed gets the event by anti-entropy.
    net.reported.set(0, new Set(all.slice(1)));
    net.down.add(peerOf(3));
    await services[0]!.stake(9n);
    await settle();
    expect(services[3]!.state.lastSeqOf(keyOf(0))).toBe(2);
    net.down.delete(peerOf(3));
    expect(await services[3]!.antiEntropy(peerOf(2))).toBe(1);
    expect(services[3]!.state.lastSeqOf(keyOf(0))).toBe(3);
  });

  it("relays an author's events it pulled by anti-entropy: the author's own push did not reach its peers", async () => {
    const { services, net } = await network(3);
    const all = [0, 1, 2].map(peerOf);
    for (let i = 0; i < 3; i++) net.reported.set(i, new Set(all.filter((_, j) => j !== i)));
    // Node 0 writes while cut off from both: its pushes are dropped.
    net.down.add(peerOf(1));
    net.down.add(peerOf(2));
    await services[0]!.stake(7n);
    await settle();
    net.down.clear();
    // Node 1 pulls them from their author; node 2, which missed the author's push too, gets them from node 1.
    expect(await services[1]!.antiEntropy(peerOf(0))).toBe(1);
    await settle();
    expect(services[2]!.state.lastSeqOf(keyOf(0))).toBe(1);
  });

  it('anti-entropy brings a peer that missed pushes up to date, and asks for what it lacks after a gap', async () => {
    const { services, net, clock } = await network(2);
    net.down.add(peerOf(1));
    for (let i = 1; i <= 5; i++) await services[0]!.stake(BigInt(i));
    await settle();
    expect(services[1]!.state.lastSeqOf(keyOf(0))).toBe(0);
    net.down.delete(peerOf(1));
    // Node 1 pulls with its version vector.
    expect(await services[1]!.antiEntropy(peerOf(0))).toBe(5);
    // Own events are stamped by the hybrid logical clock, a little ahead: both settle once the clock passes them.
    clock.advance(1_000);
    for (const s of services) await s.tick();
    expect(services[1]!.state.stateHash()).toBe(services[0]!.state.stateHash());
    // Node 1's own events reach node 0 through the `wants` of the same exchange.
    net.down.add(peerOf(0));
    await services[1]!.stake(9n);
    net.down.delete(peerOf(0));
    await services[0]!.antiEntropy(peerOf(1));
    await settle();
    expect(services[0]!.state.lastSeqOf(keyOf(1))).toBe(1);
  });

  it('a push with a gap makes the receiver catch up from the sender at its next tick', async () => {
    const { services, net } = await network(2);
    net.down.add(peerOf(1));
    await services[0]!.stake(1n);
    await services[0]!.stake(2n);
    net.down.delete(peerOf(1));
    await services[0]!.stake(3n); // seq 3 arrives first: a gap
    await settle();
    expect(services[1]!.stats.gaps).toBe(1);
    expect(services[1]!.state.lastSeqOf(keyOf(0))).toBe(0);
    await services[1]!.tick();
    expect(services[1]!.state.lastSeqOf(keyOf(0))).toBe(3);
  });

  it('refuses forged, malformed and non-member pushes with typed errors; the state does not change', async () => {
    const { services, net } = await network(2);
    const b = services[1]!;
    const before = b.state.stateHash();
    const rpcFromA = net.rpc(peerOf(0));
    // A forged event: signed by key 2 but claiming key 0 as its actor.
    const real = signers[2]!.sign({ type: 'stake', amount: 5n }, 10_000);
    const forged = encodeEvent(real);
    forged.set(Uint8Array.from(Buffer.from(keyOf(0), 'hex')), 4);
    const reply = await rpcFromA.call(
      peerOf(1),
      economicsProtocol,
      { op: 'push', network: services[0]!.networkId, count: 1, size: forged.length + 2 },
      encodeEventFrames([forged]),
    );
    expect(reply.value).toEqual({ accepted: 0, duplicates: 0, rejected: 1 });
    // Garbage bytes: a rejected event, never a crash.
    const junk = new Uint8Array(100).fill(7);
    const junkReply = await rpcFromA.call(
      peerOf(1),
      economicsProtocol,
      { op: 'push', network: services[0]!.networkId, count: 1, size: 102 },
      encodeEventFrames([junk]),
    );
    expect(junkReply.value).toMatchObject({ rejected: 1 });
    // Frames that do not add up: a protocol error.
    await expect(
      rpcFromA.call(
        peerOf(1),
        economicsProtocol,
        { op: 'push', network: services[0]!.networkId, count: 2, size: 102 },
        encodeEventFrames([junk]),
      ),
    ).rejects.toThrow(/holds 1 events, header says 2/);
    // A peer that is not a member.
    const stranger = net.rpc(peerOf(5));
    await expect(
      stranger.call(
        peerOf(1),
        economicsProtocol,
        { op: 'push', network: services[0]!.networkId, count: 1, size: 102 },
        encodeEventFrames([junk]),
      ),
    ).rejects.toThrow(/known storage peers/);
    expect(b.state.stateHash()).toBe(before);
    expect(b.stats.rejected).toBe(2);
  });

  it('refuses gossip from a peer on other economics settings (genesis or rules), mixing nothing in', async () => {
    const { services } = await network(2, (i) =>
      i === 1 ? { network: { genesis, settleDelayMs: 0, appealWindowMs: 1 } } : {},
    );
    expect(services[0]!.networkId).not.toBe(services[1]!.networkId);
    await services[0]!.stake(3n);
    await settle();
    expect(services[1]!.state.lastSeqOf(keyOf(0))).toBe(0);
    expect(await services[1]!.antiEntropy(peerOf(0))).toBe(0);
    expect(services[1]!.state.lastSeqOf(keyOf(0))).toBe(0);
  });

  it('holds an event stamped ahead of its clock and applies it once the clock gets there', async () => {
    const { services, net, clock } = await network(2);
    const ahead = signers[0]!.sign({ type: 'stake', amount: 4n }, clock.nowMs() + 120_000);
    const bytes = encodeEvent(ahead);
    await net
      .rpc(peerOf(0))
      .call(
        peerOf(1),
        economicsProtocol,
        { op: 'push', network: services[0]!.networkId, count: 1, size: bytes.length + 2 },
        encodeEventFrames([bytes]),
      );
    expect(services[1]!.stats.future).toBe(1);
    expect(services[1]!.state.lastSeqOf(keyOf(0))).toBe(0);
    clock.advance(121_000);
    await services[1]!.tick();
    expect(services[1]!.state.lastSeqOf(keyOf(0))).toBe(1);
  });

  it('user actions that cannot take effect are refused (409) before anything is signed', async () => {
    const { services } = await network(2);
    const a = services[0]!;
    await expect(a.stake(10_000_000n)).rejects.toMatchObject({ status: 409, code: 'INSUFFICIENT_BALANCE' });
    await expect(a.delegate(keyOf(0), 1n)).rejects.toMatchObject({ code: 'SELF_DELEGATION' });
    await expect(a.vote(`${keyOf(1)}:1`, true)).rejects.toMatchObject({ status: 404 });
    await expect(a.delegate('not-a-node', 1n)).rejects.toMatchObject({ status: 400 });
    expect(a.state.lastSeqOf(keyOf(0))).toBe(0);
    expect((await a.delegate(peerOf(1), 10n)).outcome).toBe('applied');
  });

  it('reports its peers’ uptime and the bytes they served it, batched, as signed events', async () => {
    // Ticks only when the test calls them (the clock's own would run concurrently with them).
    const { services, clock, net } = await network(3, () => ({
      uptimeReportMs: 1_000,
      bandwidthReportMs: 1_000,
      tickMs: 600_000,
    }));
    const a = services[0]!;
    a.recordBandwidth(peerOf(1), 3_000);
    a.recordBandwidth(keyOf(1), 2_000);
    a.recordBandwidth(peerOf(2), 100); // under 1 KiB: not worth an event
    a.recordBandwidth(keyOf(0), 9_000); // itself: ignored
    clock.advance(1_500);
    await a.tick();
    const own = a.state
      .eventBytesOf(keyOf(0), 0)
      .map((bytes) => decodeEvent(bytes))
      .map((e) =>
        e.type === 'uptime'
          ? `uptime ${e.subject} ${e.up}`
          : e.type === 'bandwidth'
            ? `bw ${e.subject} ${e.bytes}`
            : e.type,
      );
    expect(own.sort()).toEqual(
      [`bw ${keyOf(1)} 5000`, `uptime ${keyOf(1)} true`, `uptime ${keyOf(2)} true`].sort(),
    );
    clock.advance(1_500);
    await a.tick();
    expect(a.state.lastSeqOf(keyOf(0))).toBe(5); // two more uptime reports, no bandwidth
    // Node 2 leaves: it is reported down for three rounds, then forgotten.
    net.gone.add(2);
    const downs: boolean[] = [];
    for (let round = 0; round < 4; round++) {
      clock.advance(1_500);
      const before = a.state.lastSeqOf(keyOf(0));
      await a.tick();
      for (const bytes of a.state.eventBytesOf(keyOf(0), before)) {
        const e = decodeEvent(bytes);
        if (e.type === 'uptime' && e.subject === keyOf(2)) downs.push(e.up);
      }
    }
    expect(downs).toEqual([false, false, false]);
  });

  it('with --escrow: failing challenges make a slash proposal; voters check its evidence and uphold', async () => {
    const { services, clock } = await network(7, () => ({ escrow: true }));
    const [challenger, holder] = [services[0]!, services[1]!];
    for (let i = 0; i < 3; i++) {
      await challenger.recordPosResult({
        holder: keyOf(1),
        shard: toHex(new Uint8Array(32).fill(i)),
        passed: false,
      });
      clock.advance(1_000);
    }
    await settle();
    await challenger.tick();
    await settle();
    const [escrow] = challenger.escrows();
    expect(escrow).toMatchObject({
      accused: keyOf(1),
      reporter: keyOf(0),
      reason: 'pos-failure',
      status: 'open',
    });
    // No second proposal while one is open.
    await challenger.tick();
    expect(challenger.escrows({ all: true })).toHaveLength(1);
    await holder.dispute(escrow!.id, 'ee'.repeat(32));
    await settle();
    clock.advance(5_000);
    for (const s of services) await s.tick();
    await settle();
    const voted = services[2]!.state.escrow(escrow!.id)!;
    expect(voted.votes).toBe(5); // nodes 2..6: never the accused, never the reporter
    expect(voted.overturnVotes).toBe(0);
    clock.advance(86_400_000 + 1_000);
    for (const s of services) await s.tick();
    expect(services[3]!.state.escrow(escrow!.id)!.status).toBe('executed');
    expect(services[3]!.state.stateHash()).toBe(services[0]!.state.stateHash());
    const registry = new MemoryMetrics();
    const m = registerTrinityMetrics(registry);
    const exporter = new EconomicsMetrics(m);
    exporter.update(services[3]!.state, keyOf(3));
    exporter.update(services[3]!.state, keyOf(3)); // idempotent: counters add only what is new
    expect(registry.value('trinity_pos_challenges_failed_total')).toBe(3);
    expect(registry.value('trinity_pos_challenges_issued_total')).toBe(3);
    expect(registry.value('trinity_slashing_events_total', { reason: 'pos-failure' })).toBe(1);
    expect(registry.value('trinity_escrow_disputes_total')).toBe(1);
    expect(registry.value('trinity_escrow_votes_total')).toBe(5);
    expect(registry.value('trinity_escrow_resolutions_total', { outcome: 'executed' })).toBe(1);
    expect(registry.value('trinity_staked_tokens')).toBe(100_000);
  });
});

describe('economics governance policy', () => {
  const holder = keyOf(1);
  const failing = (actor: number, seq: number, timeMs: number) => {
    const event = new EventSigner(secretOf(actor), { nextSeq: seq }).sign(
      { type: 'pos-result', holder, shard: 'cd'.repeat(32), passed: false },
      timeMs,
    );
    return { actor: keyOf(actor), seq, timeMs, bytes: encodeEvent(event) };
  };

  it('proposes after N failures in the window, one its own, not counting failures before the last escrow', () => {
    const index = new PosFailureIndex();
    const policy = { posFailuresToSlash: 3, posFailureWindowMs: 1_000 };
    index.add(holder, failing(0, 1, 100));
    expect(shouldProposeSlash(policy, index, keyOf(0), holder, [], 500)).toBe(false);
    index.add(holder, failing(2, 1, 150)); // another challenger's counts, but 2 < 3
    expect(shouldProposeSlash(policy, index, keyOf(0), holder, [], 500)).toBe(false);
    index.add(holder, failing(3, 1, 200));
    expect(shouldProposeSlash(policy, index, keyOf(0), holder, [], 500)).toBe(true);
    // Node 1 saw none of them fail itself: it has no evidence of its own to propose with.
    expect(shouldProposeSlash(policy, index, keyOf(1), holder, [], 500)).toBe(false);
    expect(shouldProposeSlash(policy, index, keyOf(0), holder, [], 1_150)).toBe(false); // its own left the window
    const executed = { createdAtMs: 150, status: 'executed' } as never;
    expect(shouldProposeSlash(policy, index, keyOf(0), holder, [executed], 500)).toBe(false);
    const open = { createdAtMs: 50, status: 'open' } as never;
    expect(shouldProposeSlash(policy, index, keyOf(0), holder, [open], 500)).toBe(false);
  });

  it('a voter upholds exactly the evidence it recomputes; anything else is overturned unless reputation is low', () => {
    const index = new PosFailureIndex();
    index.add(holder, failing(0, 1, 100));
    index.add(holder, failing(0, 2, 200));
    const { hash, failures } = posEvidence(index, keyOf(0), holder, 300, 1_000);
    expect(failures).toBe(2);
    const escrow = {
      reporter: keyOf(0),
      accused: holder,
      reason: 'pos-failure',
      createdAtMs: 300,
      evidence: hash,
    } as never;
    const policy = { upholdReputationBelow: 0.3, posFailureWindowMs: 1_000 };
    expect(voteOverturn(policy, index, escrow, 0.9)).toBe(false);
    const made = { ...(escrow as object), evidence: 'ab'.repeat(32) } as never;
    expect(voteOverturn(policy, index, made, 0.9)).toBe(true);
    expect(voteOverturn(policy, index, made, 0.1)).toBe(false);
    const other = { ...(escrow as object), reason: 'downtime' } as never;
    expect(voteOverturn(policy, index, other, 0.9)).toBe(true);
  });
});
