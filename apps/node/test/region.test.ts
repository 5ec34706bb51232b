import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Devnet } from '../src/cli/devnet.js';
import { apiFetch, getObject, putObject, sha256Hex, startDevnet, until } from './helpers.js';

interface ManifestJson {
  stripes: { shards: { hash: string; holders: { nodeId: string; region: string }[] }[] }[];
}

describe('a devnet over three regions', () => {
  let devnet: Devnet;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ devnet, close } = await startDevnet('trinity-regions-', { logLevel: 'warn' }));
  }, 600_000);

  afterAll(async () => {
    await close?.();
  }, 300_000);

  it('places at most m shards of a stripe per region, and serves every object with a whole region down', async () => {
    const objects = new Map<string, string>();
    for (let i = 0; i < 4; i++) {
      const data = randomBytes(1024 * 1024 * (i + 1) + 12345);
      objects.set(await putObject(devnet.apiUrl(i % 6), data, `obj-${i}`), sha256Hex(data));
    }
    for (const id of objects.keys()) {
      const manifest = (await (
        await apiFetch(`${devnet.apiUrl(0)}/v1/objects/${id}/manifest`)
      ).json()) as ManifestJson;
      for (const stripe of manifest.stripes) {
        // A short last stripe pads with equal (zero) shards: each holder of that hash may vouch for
        // every position it appears at, so the placement of such a stripe is not visible here.
        if (new Set(stripe.shards.map((shard) => shard.hash)).size < stripe.shards.length) continue;
        const perRegion = new Map<string, number>();
        for (const shard of stripe.shards) {
          const region = shard.holders[0]!.region;
          perRegion.set(region, (perRegion.get(region) ?? 0) + 1);
        }
        expect([...perRegion.keys()].sort()).toEqual(['asia-east', 'eu-west', 'us-east']);
        expect(Math.max(...perRegion.values())).toBeLessThanOrEqual(2);
      }
    }
    // Every eu-west node goes down hard.
    const euWest = devnet.nodes.filter((node) => node.region === 'eu-west');
    expect(euWest).toHaveLength(2);
    for (const node of euWest) await devnet.kill(node.index, 'SIGKILL');
    for (const reader of devnet.nodes.filter((node) => node.region !== 'eu-west')) {
      for (const [id, digest] of objects)
        expect(sha256Hex(await getObject(devnet.apiUrl(reader.index), id))).toBe(digest);
    }
  }, 240_000);

  it('reports regions in status and serves Prometheus metrics', async () => {
    const status = (await (await apiFetch(`${devnet.apiUrl(0)}/v1/status`)).json()) as {
      region: string;
      metricsUrl: string;
      peers: { region: string }[];
    };
    expect(status.region).toBe('us-east');
    expect(new Set(status.peers.map((peer) => peer.region))).toEqual(new Set(['us-east', 'asia-east']));
    const text = await until(
      'metrics to show stored shards',
      async () => {
        const body = await (await fetch(status.metricsUrl)).text();
        return /^trinity_shards_stored [1-9]/m.test(body) ? body : undefined;
      },
      90_000,
    );
    expect(text).toMatch(/^# HELP trinity_bandwidth_upload_bytes_total /m);
    expect(text).toMatch(/^trinity_region_nodes\{region="us-east"\} 2$/m);
    expect((await fetch(status.metricsUrl.replace('/metrics', '/other'))).status).toBe(404);
  });
});
