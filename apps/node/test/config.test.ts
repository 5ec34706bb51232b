import { execFile } from 'node:child_process';
import { chmod, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { flagsToConfig } from '../src/cli/commands/node-start.js';
import { deepMerge, loadNodeConfig, parseNodeConfig } from '../src/config/config.js';
import { loadOrCreateApiToken } from '../src/stores/api-token.js';
import { cliPath, tempDir } from './helpers.js';

const run = promisify(execFile);

describe('node config', () => {
  it('has a default for every field', () => {
    const config = parseNodeConfig({});
    expect(config.erasure).toMatchObject({ dataShards: 4, parityShards: 2, shardBytes: 1024 * 1024 });
    expect(config.api.port).toBe(7070);
    expect(config.region).toBeUndefined();
  });

  it('names every bad field in one line', () => {
    expect(() =>
      parseNodeConfig({ api: { port: 70_000 }, region: 'Mars Base', erasure: { dataShards: 0 } }),
    ).toThrow(ConfigError);
    try {
      parseNodeConfig({
        api: { port: 70_000 },
        region: 'Mars Base',
        erasure: { dataShards: 0 },
        colour: 'red',
      });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).not.toContain('\n');
      expect(message).toContain('api.port');
      expect(message).toContain('(got 70000)');
      expect(message).toContain('region');
      expect(message).toContain('erasure.dataShards');
      expect(message).toContain('colour');
    }
  });

  it('lays flags over the file, key by key', async () => {
    const dir = await tempDir('trinity-config-');
    try {
      const file = join(dir.path, 'node.json');
      await writeFile(file, JSON.stringify({ api: { host: '127.0.0.1', port: 8000 }, region: 'eu-west' }));
      const config = await loadNodeConfig(
        file,
        flagsToConfig({ 'api-port': '9000', bootstrap: ['/ip4/127.0.0.1/tcp/1'] }),
      );
      expect(config.api).toMatchObject({ host: '127.0.0.1', port: 9000 });
      expect(config.region).toBe('eu-west');
      expect(config.bootstrap).toEqual(['/ip4/127.0.0.1/tcp/1']);
      await writeFile(file, '{ not json');
      await expect(loadNodeConfig(file, {})).rejects.toThrow(/not valid JSON/);
      await expect(loadNodeConfig(join(dir.path, 'missing.json'), {})).rejects.toThrow(
        /cannot read config file/,
      );
      expect(() => flagsToConfig({ 'api-port': 'eighty' })).toThrow(/--api-port must be a whole number/);
      // The S3 gateway is off unless --s3-port (or s3.enabled) turns it on; the flag wins over the file.
      await writeFile(file, JSON.stringify({ s3: { region: 'eu-central-1' } }));
      expect((await loadNodeConfig(file, flagsToConfig({}))).s3).toMatchObject({
        enabled: false,
        port: 9000,
        // Buckets and keys are the network's: every gateway of the owner sees them.
        index: 'network',
      });
      await writeFile(file, JSON.stringify({ s3: { index: 'local' } }));
      expect((await loadNodeConfig(file, flagsToConfig({}))).s3.index).toBe('local');
      await writeFile(file, JSON.stringify({ s3: { index: 'raft' } }));
      await expect(loadNodeConfig(file, flagsToConfig({}))).rejects.toThrow(/index/);
      await writeFile(file, JSON.stringify({ s3: { region: 'eu-central-1' } }));
      expect((await loadNodeConfig(file, flagsToConfig({ 's3-port': '0' }))).s3).toMatchObject({
        enabled: true,
        port: 0,
        region: 'eu-central-1',
      });
      expect(() => flagsToConfig({ 's3-port': 'x' })).toThrow(/--s3-port must be a whole number/);
      // --escrow turns on escrow governance; the file's other economics settings stay.
      await writeFile(file, JSON.stringify({ economics: { posFailuresToSlash: 5 } }));
      expect((await loadNodeConfig(file, flagsToConfig({}))).economics).toMatchObject({
        escrow: false,
        posFailuresToSlash: 5,
      });
      expect((await loadNodeConfig(file, flagsToConfig({ escrow: true }))).economics).toMatchObject({
        escrow: true,
        posFailuresToSlash: 5,
      });
    } finally {
      await dir.remove();
    }
  });

  it('deepMerge ignores undefined overrides', () => {
    expect(deepMerge({ a: { b: 1, c: 2 } }, { a: { b: undefined, c: 3 }, d: undefined })).toEqual({
      a: { b: 1, c: 3 },
    });
  });

  it('the CLI exits non-zero with a one-line reason for a bad config', async () => {
    const dir = await tempDir('trinity-config-');
    try {
      const result = await run(process.execPath, [
        cliPath,
        'node',
        'start',
        '--data-dir',
        dir.path,
        '--api-port',
        '99999',
      ]).catch((error: { code: number; stderr: string }) => error);
      // Exit code 6: the config is invalid, which no restart fixes.
      expect((result as { code: number }).code).toBe(6);
      const stderr = (result as { stderr: string }).stderr.trim();
      expect(stderr.split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/^trinity: invalid node config: api\.port: .*\(got 99999\)$/);
    } finally {
      await dir.remove();
    }
  });

  it('every command answers --help, and an unknown command fails', async () => {
    for (const args of [['--help'], ['node', 'start', '--help'], ['devnet', '--help'], ['put', '--help']]) {
      const { stdout } = await run(process.execPath, [cliPath, ...args]);
      expect(stdout).toMatch(/Usage/);
    }
    const result = await run(process.execPath, [cliPath, 'frobnicate']).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect((result as { code: number }).code).toBe(2);
    expect((result as { stderr: string }).stderr).toContain('unknown command "frobnicate"');
  });

  it('the API off loopback needs TLS or --insecure-http: else exit 6 before anything is created', async () => {
    const dir = await tempDir('trinity-config-tls-');
    try {
      const result = await run(process.execPath, [
        cliPath,
        'node',
        'start',
        '--data-dir',
        join(dir.path, 'data'),
        '--api-host',
        '0.0.0.0',
        '--api-port',
        '0',
      ]).catch((error: { code: number; stderr: string }) => error);
      expect((result as { code: number }).code).toBe(6);
      expect((result as { stderr: string }).stderr).toMatch(
        /^trinity: invalid node config: api\.host: a non-loopback API address needs TLS \(--tls-cert and --tls-key\) or --insecure-http .*\n$/,
      );
      await expect(stat(join(dir.path, 'data'))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(() => parseNodeConfig({ api: { host: '10.0.0.2', insecureHttp: true } })).not.toThrow();
      expect(() =>
        parseNodeConfig({ api: { host: '::', tlsCertFile: 'c.pem', tlsKeyFile: 'k.pem' } }),
      ).not.toThrow();
      expect(() => parseNodeConfig({ api: { tlsCertFile: 'c.pem' } })).toThrow(
        /tlsKeyFile: tlsCertFile and tlsKeyFile go together/,
      );
      for (const api of [
        { corsOrigins: ['https://a.example/'] },
        { corsOrigins: ['*'] },
        { allowedHosts: ['a b'] },
      ])
        expect(() => parseNodeConfig({ api }), JSON.stringify(api)).toThrow(ConfigError);
      expect(
        flagsToConfig({
          'tls-cert': 'c.pem',
          'tls-key': 'k.pem',
          'insecure-http': true,
          'api-allowed-host': ['a.example'],
          'api-cors-origin': ['https://b.example'],
        }).api,
      ).toMatchObject({
        tlsCertFile: 'c.pem',
        tlsKeyFile: 'k.pem',
        insecureHttp: true,
        allowedHosts: ['a.example'],
        corsOrigins: ['https://b.example'],
      });
    } finally {
      await dir.remove();
    }
  });

  it('a node refuses to start with an API token file others can read (exit 6), and rotate-token fixes it', async () => {
    const dir = await tempDir('trinity-config-token-');
    try {
      const token = join(dir.path, 'api-token');
      await writeFile(token, `${'e'.repeat(64)}\n`, { mode: 0o644 });
      await chmod(token, 0o644);
      const args = [
        cliPath,
        'node',
        'start',
        '--data-dir',
        dir.path,
        '--api-port',
        '0',
        '--listen-port',
        '0',
      ];
      const result = await run(process.execPath, args).catch(
        (error: { code: number; stderr: string }) => error,
      );
      expect((result as { code: number }).code).toBe(6);
      expect((result as { stderr: string }).stderr).toBe(
        `trinity: API token file ${token}: must be readable by its owner only (chmod 600 ${token})\n`,
      );
      // Nothing was opened: no lock, no store, no identity beside the token.
      expect(await readdir(dir.path)).toEqual(['api-token']);
      await run(process.execPath, [cliPath, 'node', 'rotate-token', '--data-dir', dir.path]);
      expect((await stat(token)).mode & 0o777).toBe(0o600);
      expect(await loadOrCreateApiToken(token)).not.toBe('e'.repeat(64));
    } finally {
      await dir.remove();
    }
  });

  it('trinity node rotate-token replaces the token file (mode 0600) and prints its path', async () => {
    const dir = await tempDir('trinity-rotate-');
    try {
      const path = join(dir.path, 'api-token');
      const first = await loadOrCreateApiToken(path);
      const { stdout } = await run(process.execPath, [
        cliPath,
        'node',
        'rotate-token',
        '--data-dir',
        dir.path,
      ]);
      expect(stdout).toBe(`${path}\n`);
      const second = await loadOrCreateApiToken(path);
      expect(second).toMatch(/^[0-9a-f]{64}$/);
      expect(second).not.toBe(first);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
    } finally {
      await dir.remove();
    }
  });
});
