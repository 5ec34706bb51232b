import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Devnet } from '../src/cli/devnet.js';
import type { DataChannelStats } from '../src/p2p/data-channel.js';
import { apiFetch, getObject, putObject, sha256Hex, startDevnet } from './helpers.js';

const MiB = 1024 * 1024;

async function channelStats(devnet: Devnet): Promise<DataChannelStats[]> {
  return Promise.all(
    devnet.nodes.map(async (node) => {
      const status = (await (await apiFetch(`${devnet.apiUrl(node.index)}/v1/status`)).json()) as {
        dataChannel: DataChannelStats | null;
      };
      return status.dataChannel!;
    }),
  );
}

const sum = (stats: DataChannelStats[], key: 'requestsIn' | 'requestsOut' | 'unavailable') =>
  stats.reduce((total, s) => total + s[key], 0);

/** Six real processes; shards of 4 MiB, so every stage and fetch carries a ≥ 4 MiB body. */
function devnetWith(nodeConfig: Record<string, unknown>) {
  const state: { devnet?: Devnet; close?: () => Promise<void> } = {};
  beforeAll(async () => {
    const started = await startDevnet('trinity-channel-', {
      erasure: { shardBytes: 4 * MiB },
      ...nodeConfig,
    });
    state.devnet = started.devnet;
    state.close = started.close;
  }, 600_000);
  afterAll(async () => {
    await state.close?.();
  }, 120_000);
  return state;
}

describe('shards over the data channel (6 processes)', () => {
  const state = devnetWith({});

  it('puts and gets a 40 MiB object with every shard body on the channel', async () => {
    const devnet = state.devnet!;
    const before = await channelStats(devnet);
    expect(before.every((s) => s.address !== null)).toBe(true);
    const data = randomBytes(40 * MiB);
    const id = await putObject(devnet.apiUrl(0), data, 'channel.bin');
    expect(sha256Hex(await getObject(devnet.apiUrl(5), id))).toBe(sha256Hex(data));
    const after = await channelStats(devnet);
    // RS(4,2) over 3 stripes: 18 shards, at most 3 of them on node 0 itself; node 5 fetches ≥ 12
    // shards, at most 3 of them its own.
    expect(sum(after, 'requestsIn') - sum(before, 'requestsIn')).toBeGreaterThanOrEqual(15 + 9);
    expect(sum(after, 'unavailable')).toBe(0);
  }, 600_000);
});

describe('shards over libp2p where the data channel cannot be reached (6 processes)', () => {
  // Every node advertises a port nobody listens on: each dial is refused, and libp2p carries it.
  const state = devnetWith({ dataChannel: { announce: '127.0.0.1:1' } });

  it('puts and gets a 40 MiB object through the fallback', async () => {
    const devnet = state.devnet!;
    const data = randomBytes(40 * MiB);
    const id = await putObject(devnet.apiUrl(0), data, 'fallback.bin');
    expect(sha256Hex(await getObject(devnet.apiUrl(5), id))).toBe(sha256Hex(data));
    const stats = await channelStats(devnet);
    expect(sum(stats, 'requestsIn')).toBe(0);
    expect(stats[0]!.unavailable).toBeGreaterThan(0);
    expect(stats[5]!.unavailable).toBeGreaterThan(0);
  }, 600_000);
});
