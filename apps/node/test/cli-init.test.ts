import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@trinity/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNodeConfig, parseNodeConfig } from '../src/config/config.js';
import { configKeyComments, configLeafKeys, configTemplate } from '../src/config/template.js';
import { cliPath, tempDir } from './helpers.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI, run to completion in `cwd`. */
function trinity(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { cwd }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  dir = await tempDir('trinity-init-');
});

afterAll(async () => {
  await dir.remove();
});

describe('the config template', () => {
  it('has a comment for every key of the config, and no comment for a key that does not exist', () => {
    const keys = configLeafKeys();
    expect(keys).toContain('erasure.shardBytes');
    expect(keys).toContain('region');
    const undocumented = keys.filter((key) => configKeyComments[key] === undefined);
    expect(undocumented).toEqual([]);
    expect(Object.keys(configKeyComments).sort()).toEqual([...keys].sort());
  });

  it('writes every key: each leaf of the default config appears under its comment', () => {
    const text = configTemplate();
    const lines = text.split('\n');
    for (const key of configLeafKeys()) {
      const name = key.split('.').pop() as string;
      const at = lines.findIndex((line) => new RegExp(`^\\s*(// )?"${name}": `).test(line));
      expect(at, key).toBeGreaterThan(0);
      expect(lines[at - 1], key).toMatch(/^\s*\/\/ .+\.$/);
    }
    expect(text).toContain('range 1 to 128');
    expect(text).toContain('flag --api-port');
    expect(text).toContain('one of trace | debug | info | warn | error | fatal | silent');
  });
});

describe('trinity node init', () => {
  it('writes a file (0644) that loads back to exactly the default config, and prints its path', async () => {
    const file = join(dir.path, 'node.jsonc');
    const result = await trinity(['node', 'init', '--config', file], dir.path);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${file}\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o644 & ~process.umask());
    const text = await readFile(file, 'utf8');
    expect(text).toBe(configTemplate());
    expect(text).toContain('//');
    expect(await loadNodeConfig(file, {})).toEqual(parseNodeConfig({}));
  });

  it('writes trinity.jsonc in the current directory without --config', async () => {
    const sub = join(dir.path, 'default-name');
    await mkdir(sub);
    const result = await trinity(['node', 'init'], sub);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${join(sub, 'trinity.jsonc')}\n`);
  });

  it('a commented file with an edited value loads with that value', async () => {
    const file = join(dir.path, 'edited.jsonc');
    const edited = configTemplate()
      .replace('"port": 7070', '"port": 8123')
      .replace('// "region": "us-east",', '"region": "eu-west", /* set by hand */')
      .replace('"fsync": true', '"fsync": false,'); // a trailing comma before the closing brace
    expect(edited).toContain('8123');
    await writeFile(file, edited);
    const config = await loadNodeConfig(file, {});
    expect(config.api.port).toBe(8123);
    expect(config.region).toBe('eu-west');
    expect(config.fsync).toBe(false);
    expect({ ...config, api: parseNodeConfig({}).api, region: undefined, fsync: true }).toEqual({
      ...parseNodeConfig({}),
      region: undefined,
    });
  });

  it('a malformed JSONC file is one typed line naming file, line and column', async () => {
    const file = join(dir.path, 'broken.jsonc');
    await writeFile(file, '// comment\n{\n  "api": { "port": 7070 }\n  "semantic": true\n}\n');
    const error = await loadNodeConfig(file, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toBe(`config file ${file} is not valid JSONC: CommaExpected at line 4, column 3`);
    await writeFile(file, '{ "api": /* unclosed');
    await expect(loadNodeConfig(file, {})).rejects.toThrow(/at line 1, column \d+$/);
    await writeFile(file, '[1, 2]');
    await expect(loadNodeConfig(file, {})).rejects.toThrow(/must hold a JSON object/);

    const started = await trinity(['node', 'start', '--config', file, '--data-dir', dir.path], dir.path);
    expect(started.code).toBe(6);
    expect(started.stderr).toBe(`trinity: config file ${file} must hold a JSON object\n`);
  });

  it('refuses to overwrite an existing file without --force, and replaces it with --force', async () => {
    const file = join(dir.path, 'existing.jsonc');
    await writeFile(file, '{ "semantic": true }\n');
    const refused = await trinity(['node', 'init', '--config', file], dir.path);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(`trinity: ${file} exists; not overwritten (use --force to replace it)\n`);
    expect(await readFile(file, 'utf8')).toBe('{ "semantic": true }\n');

    const forced = await trinity(['node', 'init', '--config', file, '--force'], dir.path);
    expect(forced.code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(configTemplate());

    const intoDir = await trinity(['node', 'init', '--config', dir.path, '--force'], dir.path);
    expect(intoDir.code).toBe(1);
    expect(intoDir.stderr).toBe(`trinity: cannot write ${dir.path}: it is a directory\n`);
  });

  it('has a help page, by --help and by help node init; bad usage exits 2', async () => {
    const byFlag = await trinity(['node', 'init', '--help'], dir.path);
    const byHelp = await trinity(['help', 'node', 'init'], dir.path);
    expect(byFlag.code).toBe(0);
    expect(byFlag.stdout).toBe(byHelp.stdout);
    expect(byFlag.stdout).toContain('Usage: trinity node init [--config FILE] [--force]');
    expect(byFlag.stdout).toMatch(/Examples?:/);
    expect((await trinity(['--help'], dir.path)).stdout).toContain('node init');

    const bogus = await trinity(['node', 'init', '--bogus'], dir.path);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toBe(
      'trinity: node init: unknown option "--bogus" (see "trinity node init --help")\n',
    );
    const extra = await trinity(['node', 'init', 'x.jsonc'], dir.path);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toBe(
      'trinity: node init: takes no arguments, got extra "x.jsonc" (see "trinity node init --help")\n',
    );
  });
});
