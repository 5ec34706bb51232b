import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Devnet } from '../src/cli/devnet.js';
import { cliPath, freeBasePort, metricSample, tempDir, until } from './helpers.js';

const run = promisify(execFile);

interface Summary {
  nodeId: string;
  lastSeq: number;
  balance: string;
  stake: string;
}

/**
 * Three node processes on the devnet's economics genesis: a stake made through the CLI on one node
 * reaches the others by gossip, survives kill -9 and restart of a node that holds it and of the
 * node that signed it, and the staking metric follows.
 */
describe('economics across a 3-node devnet', () => {
  let devnet: Devnet;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    dir = await tempDir('trinity-econ-devnet-');
    devnet = new Devnet({
      nodes: 3,
      dataDir: dir.path,
      basePort: await freeBasePort(3),
      cliPath,
      nodeConfig: { fsync: true, economics: { settleDelayMs: 500, tickMs: 250, antiEntropyMs: 1_000 } },
      startTimeoutMs: 120_000,
    });
    try {
      await devnet.start();
    } catch (error) {
      await devnet.stop().catch(() => {});
      await dir.remove();
      throw error;
    }
  }, 300_000);

  afterAll(async () => {
    await devnet?.stop().catch(() => {});
    await dir?.remove();
  }, 120_000);

  const summary = async (on: number, id: string): Promise<Summary> => {
    const response = await devnet.fetch(on, `/v1/economics/${id}`);
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    return (await response.json()) as Summary;
  };
  const cli = (args: string[], on: number) =>
    run(
      process.execPath,
      [cliPath, ...args, '--api', devnet.apiUrl(on), '--token-file', devnet.nodes[on]!.tokenPath],
      {
        timeout: 60_000,
      },
    );

  it('a stake through the CLI on node 0 is visible on node 2, and survives kill -9 of both', async () => {
    const genesis = await devnet.genesis();
    const self = await summary(0, 'self');
    expect(self.nodeId).toBe(genesis.accounts[0]!.id);
    expect(self).toMatchObject({ balance: '1000000', stake: '100000' });

    const { stdout } = await cli(['stake', '2500'], 0);
    expect(stdout).toBe('stake #1: applied\n');
    const key = self.nodeId;
    for (const on of [1, 2]) {
      await until(
        `node ${on} to apply the stake`,
        async () => ((await summary(on, key)).stake === '102500' ? true : undefined),
        60_000,
      );
    }
    expect(await summary(1, key)).toMatchObject({ stake: '102500', balance: '997500', lastSeq: 1 });

    // kill -9 the holder of a copy: it replays its own log.
    await devnet.kill(2, 'SIGKILL');
    await devnet.startNode(2);
    expect(await summary(2, key)).toMatchObject({ stake: '102500', lastSeq: 1 });

    // kill -9 the signer: its log has the event, its signer continues after it.
    await devnet.kill(0, 'SIGKILL');
    await devnet.startNode(0);
    expect(await summary(0, 'self')).toMatchObject({ stake: '102500', lastSeq: 1 });
    const again = await cli(['stake', '500'], 0);
    expect(again.stdout).toBe('stake #2: applied\n');
    // Accepted at once (lastSeq), applied once settled (settleDelayMs past its stamp).
    for (const on of [1, 2]) {
      await until(
        `node ${on} to apply the second stake`,
        async () => ((await summary(on, key)).stake === '103000' ? true : undefined),
        60_000,
      );
    }

    // The staking metric follows the state.
    const metricsUrl = devnet.nodes[0]!.ready!.metricsUrl!;
    await until(
      'trinity_staked_tokens to show the stake',
      async () => ((await metricSample(metricsUrl, 'trinity_staked_tokens')) === 103_000 ? true : undefined),
      30_000,
    );
  }, 300_000);

  it('trinity escrows lists none on a quiet network; a vote on an unknown escrow fails with exit 1', async () => {
    const { stdout } = await cli(['escrows'], 1);
    expect(stdout).toBe('no open escrows\n');
    const failed = await cli(['vote', `${'ab'.repeat(32)}:1`, 'uphold'], 1).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect((failed as { code: number }).code).toBe(3);
    expect((failed as { stderr: string }).stderr).toMatch(/no escrow/);
  }, 120_000);
});
