import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { ConfigError, decodeReadCap, isHashHex, readCapPrefix } from '@trinity/core';
import { batchContentType, batchHeader } from '../../http/batch-body.js';
import { apiTokenPath, readApiToken } from '../../stores/api-token.js';
import { ApiError, CliError, ExitCode, exitCodeOfStatus, UsageError } from '../errors.js';
import { formatBytes, ProgressBar } from '../progress.js';
import { noExtraArguments, parseFlags } from './flags.js';

const apiNote = `--api URL talks to that node (default $TRINITY_API or http://127.0.0.1:7070, the first node of
\`trinity devnet\`). The node's API token is read from --token-file FILE, else $TRINITY_API_TOKEN (the
token itself), else $TRINITY_API_TOKEN_FILE, else --data-dir DIR (DIR/api-token), else from the data
directory of the node serving that URL under .trinity/node or .trinity/devnet/node-* (found by its
ready.json). Exit codes: 0 ok, 1 failure, 2 usage error, 3 not found, 4 node unreachable or network
unavailable.
`;

/** Each client command's --help page, with examples. */
export const apiHelpNote = apiNote;

export const clientHelps: Record<string, string> = {
  put: `Usage:
  trinity put FILE [--name NAME] [--public | --searchable] [--api URL]
                                                  store a file, encrypted for the node's owner (--public:
                                                  in plaintext, on purpose; --searchable: encrypted, with
                                                  fingerprints of its plaintext made here so semantic
                                                  search finds it); prints its object id
  trinity put --atomic FILE FILE... [--api URL]   store several files as one transaction: all or none;
                                                  prints "ID  FILE" per file

Examples:
  trinity put ./photo.jpg
  ID=$(pnpm -s trinity put ./photo.jpg --name holiday.jpg)
  trinity put --atomic a.bin b.bin c.bin

${apiNote}`,
  get: `Usage:
  trinity get ID|READCAP [-o FILE] [--api URL]
      read an object: to stdout, or to FILE with -o (written whole or not at all: a failed read
      leaves no partial file). Another owner's encrypted object needs its read capability
      ("trinity share ID" prints it).

Examples:
  trinity get 3f5a…e1 -o copy.jpg
  pnpm -s trinity get "$ID" > copy.jpg

${apiNote}`,
  rm: `Usage:
  trinity rm ID [--api URL]   delete an object; prints "deleted ID"

Example:
  trinity rm 3f5a…e1

${apiNote}`,
  share: `Usage:
  trinity share ID [--api URL]   print the object's read capability (its id and key): anyone who
                                 holds it can read the object through any node

Example:
  CAP=$(pnpm -s trinity share 3f5a…e1); trinity get "$CAP" --api http://127.0.0.1:7071

${apiNote}`,
  ls: `Usage:
  trinity ls [--api URL]   list the objects this node knows: "ID  SIZE  NAME" per line

Example:
  trinity ls --api http://127.0.0.1:7071

${apiNote}`,
  status: `Usage:
  trinity status [--api URL]   the node, its region, its peers (region, RTT, API) and its store

Example:
  trinity status

${apiNote}`,
  search: `Usage:
  trinity search FILE [--top 10] [--api URL]   stored objects similar to FILE across the network
                                               ("ID  SCORE  NAME" per line; nodes started with --semantic)

Example:
  trinity search ./draft.txt --top 5

${apiNote}`,
};

const flags = {
  api: { type: 'string' },
  'token-file': { type: 'string' },
  'data-dir': { type: 'string' },
  name: { type: 'string' },
  output: { type: 'string', short: 'o' },
  atomic: { type: 'boolean' },
  public: { type: 'boolean' },
  searchable: { type: 'boolean' },
  top: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function apiBase(value: string | undefined): string {
  const base = value ?? process.env.TRINITY_API ?? 'http://127.0.0.1:7070';
  try {
    return new URL(base).toString().replace(/\/$/, '');
  } catch {
    throw new UsageError(`--api must be a URL like http://127.0.0.1:7070, got "${base}"`);
  }
}

/** Where the CLI looks for a node's data directory when no token is given: the defaults of `node start` and `devnet`. */
export const dataDirCandidates = ['.trinity/node', '.trinity/devnet', 'apps/node/.trinity/devnet'];

/** The data directories under `candidates`: each itself, and a devnet's `node-<i>` folders. */
async function candidateDataDirs(): Promise<string[]> {
  const dirs: string[] = [];
  for (const candidate of dataDirCandidates) {
    const entries = await readdir(candidate, { withFileTypes: true }).catch(() => []);
    if (entries.some((entry) => entry.name === 'ready.json')) dirs.push(candidate);
    for (const entry of entries)
      if (entry.isDirectory() && /^node-\d+$/.test(entry.name)) dirs.push(join(candidate, entry.name));
  }
  return dirs;
}

/** The data directory of the running node whose ready.json names `api` as its API, if one is found. */
async function dataDirServing(api: string): Promise<string | undefined> {
  const origin = new URL(api).origin;
  for (const dir of await candidateDataDirs()) {
    const ready = await readFile(join(dir, 'ready.json'), 'utf8').catch(() => undefined);
    if (ready === undefined) continue;
    try {
      const { apiUrl } = JSON.parse(ready) as { apiUrl?: unknown };
      if (typeof apiUrl === 'string' && new URL(apiUrl).origin === origin) return dir;
    } catch {
      // not a ready file of a node
    }
  }
  return undefined;
}

async function tokenFromFile(path: string): Promise<string> {
  try {
    const token = await readApiToken(path);
    if (token === undefined)
      throw new CliError('CLI_TOKEN', `API token file ${path} does not exist`, ExitCode.failure);
    return token;
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError('CLI_TOKEN', error.message, ExitCode.failure);
    throw error;
  }
}

/** The API token to send to `api`, by the order in the help text; undefined when none is found. */
export async function resolveApiToken(
  api: string,
  values: { 'token-file'?: string; 'data-dir'?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  if (values['token-file'] !== undefined) return tokenFromFile(values['token-file']);
  const fromEnv = env.TRINITY_API_TOKEN?.trim();
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^[\x21-\x7e]{1,512}$/.test(fromEnv))
      throw new UsageError('TRINITY_API_TOKEN must be the token itself (printable, no spaces)');
    return fromEnv;
  }
  if (env.TRINITY_API_TOKEN_FILE) return tokenFromFile(env.TRINITY_API_TOKEN_FILE);
  if (values['data-dir'] !== undefined) return tokenFromFile(apiTokenPath(values['data-dir']));
  const dir = await dataDirServing(api);
  return dir === undefined ? undefined : tokenFromFile(apiTokenPath(dir));
}

/** The bearer token every request of this command sends (set once the command's flags are read). */
let authorization: string | undefined;

/** Sets the token `call` sends: the one `resolveApiToken` finds for `api` from the command's flags. */
export async function authorize(
  api: string,
  values: { 'token-file'?: string; 'data-dir'?: string },
): Promise<void> {
  authorization = await resolveApiToken(api, values);
}

/** A request to the node's API with the command's token; a failure is an ApiError with its exit code. */
export async function call(url: string, init: RequestInit = {}): Promise<Response> {
  let response: Response;
  try {
    const headers = new Headers(init.headers);
    if (authorization !== undefined) headers.set('authorization', `Bearer ${authorization}`);
    response = await fetch(url, { ...init, headers });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new ApiError(
      'CLI_UNREACHABLE',
      `cannot reach ${new URL(url).origin}${cause ? ` (${cause})` : ''}: is a node running there?`,
      ExitCode.unavailable,
    );
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => undefined)) as
      | { error?: { message?: string } }
      | undefined;
    if (response.status === 401) {
      const what = authorization === undefined ? 'needs an API token' : 'refused the API token';
      throw new ApiError(
        'CLI_HTTP_401',
        `the node at ${new URL(url).origin} ${what}: pass --token-file <its dataDir>/api-token or set TRINITY_API_TOKEN`,
        ExitCode.failure,
      );
    }
    throw new ApiError(
      `CLI_HTTP_${response.status}`,
      body?.error?.message ?? `${response.status} ${response.statusText}`,
      exitCodeOfStatus(response.status),
    );
  }
  return response;
}

function objectId(positionals: string[]): string {
  const id = positionals[0];
  if (id === undefined) throw new UsageError('an object id is required');
  if (!isHashHex(id)) throw new UsageError(`"${id.slice(0, 80)}" is not an object id (64 hex characters)`);
  return id;
}

async function put(
  api: string,
  file: string | undefined,
  name: string | undefined,
  flags: { public: boolean; searchable: boolean },
): Promise<void> {
  if (file === undefined) throw new UsageError('a file to store is required');
  if (flags.public && flags.searchable)
    throw new UsageError('--searchable is for encrypted objects; a --public one is searchable already');
  const info = await stat(file).catch(() => {
    throw new CliError('CLI_READ', `cannot read ${file}`, ExitCode.failure);
  });
  if (!info.isFile()) throw new CliError('CLI_READ', `${file} is not a file`, ExitCode.failure);
  const bar = new ProgressBar('put', info.size);
  const counted = createReadStream(file).pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bar.advance(chunk.length);
        done(null, chunk);
      },
    }),
  );
  const query = new URLSearchParams({
    name: name ?? basename(file),
    ...(flags.public ? { public: '1' } : {}),
    ...(flags.searchable ? { searchable: '1' } : {}),
  });
  const response = await call(`${api}/v1/objects?${query}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(info.size) },
    body: Readable.toWeb(counted) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  bar.done();
  const result = (await response.json()) as { id: string };
  process.stdout.write(`${result.id}\n`);
}

/** Streams every file into one POST /v1/batches body: header, bytes, header, bytes, … */
async function putAtomic(api: string, files: string[]): Promise<void> {
  if (files.length === 0) throw new UsageError('--atomic needs at least one file');
  const sizes: number[] = [];
  for (const file of files) {
    const info = await stat(file).catch(() => {
      throw new CliError('CLI_READ', `cannot read ${file}`, ExitCode.failure);
    });
    if (!info.isFile()) throw new CliError('CLI_READ', `${file} is not a file`, ExitCode.failure);
    sizes.push(info.size);
  }
  const total = sizes.reduce((sum, size) => sum + size, 0);
  const bar = new ProgressBar('put', total);
  async function* body() {
    for (const [i, file] of files.entries()) {
      yield batchHeader(basename(file), sizes[i]!);
      for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
        bar.advance(chunk.length);
        yield chunk;
      }
    }
  }
  const response = await call(`${api}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': batchContentType },
    body: Readable.toWeb(Readable.from(body())) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  bar.done();
  const result = (await response.json()) as { objects: { id: string }[] };
  for (const [i, object] of result.objects.entries()) process.stdout.write(`${object.id}  ${files[i]}\n`);
}

/** An object id, or a read capability (which names its object). */
function objectOrCap(positionals: string[]): { id: string; cap?: string } {
  const first = positionals[0];
  if (first?.startsWith(readCapPrefix)) {
    try {
      return { id: decodeReadCap(first).objectId, cap: first };
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  return { id: objectId(positionals) };
}

async function get(
  api: string,
  object: { id: string; cap?: string },
  output: string | undefined,
): Promise<void> {
  const response = await call(`${api}/v1/objects/${object.id}`, {
    headers: object.cap === undefined ? {} : { 'x-trinity-read-cap': object.cap },
  });
  const total = Number(response.headers.get('content-length') ?? Number.NaN);
  const bar = new ProgressBar(
    'get',
    Number.isFinite(total) ? total : undefined,
    output !== undefined && process.stderr.isTTY,
  );
  const source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bar.advance(chunk.length);
      done(null, chunk);
    },
  });
  if (output === undefined) {
    await pipeline(source, counter, process.stdout);
    return;
  }
  const target = await stat(output).catch(() => undefined);
  if (target?.isDirectory()) throw new UsageError(`${output} is a directory; give a file name with -o`);
  const parent = await stat(dirname(output) || '.').catch(() => undefined);
  if (parent === undefined || !parent.isDirectory())
    throw new UsageError(`the folder of ${output} does not exist`);
  // Write beside the target and rename at the end: a failed read never leaves a partial file.
  const temp = `${output}.trinity-partial`;
  try {
    await pipeline(source, counter, createWriteStream(temp));
    await rename(temp, output);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  bar.done();
}

export async function clientCommand(command: string, argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(command, () =>
    parseArgs({ args: argv, options: flags, strict: true, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(clientHelps[command] ?? '');
    return 0;
  }
  const arity: Record<string, number> = { get: 1, rm: 1, ls: 0, status: 0, search: 1, share: 1 };
  if (arity[command] !== undefined) noExtraArguments(command, positionals, arity[command]);
  const api = apiBase(values.api);
  authorization = await resolveApiToken(api, values);
  switch (command) {
    case 'put':
      if (values.atomic) await putAtomic(api, positionals);
      else if (positionals.length > 1)
        throw new UsageError('put takes one file; use --atomic to store several as one transaction');
      else
        await put(api, positionals[0], values.name, {
          public: values.public === true,
          searchable: values.searchable === true,
        });
      return 0;
    case 'get':
      await get(api, objectOrCap(positionals), values.output);
      return 0;
    case 'share': {
      const id = objectId(positionals);
      const { readCap } = (await (await call(`${api}/v1/objects/${id}/cap`)).json()) as { readCap: string };
      process.stdout.write(`${readCap}\n`);
      return 0;
    }
    case 'rm': {
      const id = objectId(positionals);
      await call(`${api}/v1/objects/${id}`, { method: 'DELETE' });
      process.stdout.write(`deleted ${id}\n`);
      return 0;
    }
    case 'ls': {
      const { objects } = (await (await call(`${api}/v1/objects`)).json()) as {
        objects: { id: string; name?: string; size: number }[];
      };
      for (const object of objects) {
        process.stdout.write(
          `${object.id}  ${formatBytes(object.size).padStart(10)}  ${object.name ?? ''}\n`,
        );
      }
      return 0;
    }
    case 'search': {
      const file = positionals[0];
      if (file === undefined) throw new UsageError('a file to search with is required');
      const query = await readFile(file).catch(() => {
        throw new CliError('CLI_READ', `cannot read ${file}`, ExitCode.failure);
      });
      const top = values.top ?? '10';
      const response = await call(`${api}/v1/search?top=${encodeURIComponent(top)}`, {
        method: 'POST',
        body: query,
      });
      const { results } = (await response.json()) as {
        results: { objectId: string; name?: string; score: number }[];
      };
      for (const hit of results)
        process.stdout.write(`${hit.objectId}  ${hit.score.toFixed(3)}  ${hit.name ?? ''}\n`);
      if (results.length === 0) process.stdout.write('no similar objects\n');
      return 0;
    }
    case 'status':
      process.stdout.write(formatStatus((await (await call(`${api}/v1/status`)).json()) as StatusJson));
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

interface StatusJson {
  nodeId: string;
  region: string | null;
  apiUrl: string;
  peers: { id: string; region: string | null; apiUrl: string | null; rttMs: number | null }[];
  store: { shardCount: number; bytesUsed: number; capacityBytes: number };
}

export function formatStatus(status: StatusJson): string {
  const lines = [
    `node     ${status.nodeId}`,
    `region   ${status.region ?? '(detecting)'}`,
    `api      ${status.apiUrl}`,
    `store    ${status.store.shardCount} shards, ${formatBytes(status.store.bytesUsed)} of ${formatBytes(status.store.capacityBytes)}`,
    `peers    ${status.peers.length}`,
    '',
    `${'PEER'.padEnd(14)}${'REGION'.padEnd(16)}${'RTT'.padEnd(10)}API`,
    ...status.peers.map(
      (peer) =>
        `${`…${peer.id.slice(-12)}`.padEnd(14)}${(peer.region ?? '?').padEnd(16)}${(peer.rttMs === null ? '-' : `${peer.rttMs} ms`).padEnd(10)}${peer.apiUrl ?? '-'}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
