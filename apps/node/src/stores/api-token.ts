/** The files of the HTTP API's credentials: its bearer token, and the PEM files of its TLS certificate. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@trinity/core';
import { writeFileAtomic } from '@trinity/core/fs';

/** The file name of the API token in a data directory. */
export const apiTokenFileName = 'api-token';

/** A token is 32 random bytes written as 64 lower-case hex characters (and a newline). */
const tokenPattern = /^[0-9a-f]{64}$/;

/** Where the API token of a node with `dataDir` lives, unless `api.tokenFile` says otherwise. */
export function apiTokenPath(dataDir: string, tokenFile?: string): string {
  return tokenFile ?? join(dataDir, apiTokenFileName);
}

function tokenFileError(path: string, rule: string, received: string): ConfigError {
  return new ConfigError(`API token file ${path}: ${rule}`, [{ path: 'api.tokenFile', rule, received }]);
}

/**
 * The token in `path`, checked: a regular file (not a link), readable by its owner only (on POSIX
 * systems), holding 64 hex characters. Undefined when there is no file; anything else a ConfigError.
 */
export async function readApiToken(path: string): Promise<string | undefined> {
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw tokenFileError(path, 'cannot be read', error.code ?? error.message);
  });
  if (info === undefined) return undefined;
  if (!info.isFile()) throw tokenFileError(path, 'must be a regular file (not a link or directory)', 'other');
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw tokenFileError(path, `must be readable by its owner only (chmod 600 ${path})`, `mode ${mode}`);
  }
  if (info.size > 128) throw tokenFileError(path, 'must hold 64 hex characters', `${info.size} bytes`);
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw tokenFileError(path, 'cannot be read', error.code ?? error.message);
  });
  const token = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (!tokenPattern.test(token)) {
    throw tokenFileError(path, 'must hold 64 hex characters', `${text.length} characters`);
  }
  return token;
}

/** A new random token, written to `path` (mode 0600, atomically: the file is whole or absent). */
export async function writeNewApiToken(path: string): Promise<string> {
  const token = randomBytes(32).toString('hex');
  // The temp file is created 0600 before a byte is written, then renamed: never readable by others.
  await writeFileAtomic(path, `${token}\n`, { mode: 0o600 });
  return token;
}

/** The token in `path`, or a new one written there when the file does not exist yet. */
export async function loadOrCreateApiToken(path: string): Promise<string> {
  return (await readApiToken(path)) ?? writeNewApiToken(path);
}

/**
 * Whether `presented` is `token`, in time independent of where they differ: both are hashed first,
 * so the comparison is of equal-length digests whatever the caller sent.
 */
export function tokenMatches(token: string, presented: string): boolean {
  const want = createHash('sha256').update(token).digest();
  const got = createHash('sha256').update(presented).digest();
  return timingSafeEqual(want, got);
}

/** A PEM file of the TLS config, or a ConfigError naming the key. */
export async function readPem(path: string, key: string): Promise<Buffer> {
  const pem = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(`${key}: cannot read ${path} (${error.code ?? error.message})`, [
      { path: key, rule: 'must be a readable PEM file', received: path },
    ]);
  });
  if (!pem.includes('-----BEGIN ')) {
    throw new ConfigError(`${key}: ${path} is not a PEM file`, [
      { path: key, rule: 'must be a PEM file', received: path },
    ]);
  }
  return pem;
}
