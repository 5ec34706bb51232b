import type { IncomingMessage, ServerResponse } from 'node:http';
import { isHashHex } from '@trinity/core';
import { BadRequestError, NodeError, PayloadTooLargeError } from '../errors.js';
import type { ManifestDirectory } from '../services/manifests/manifest-service.js';
import { batchObjectsMax, type ObjectService } from '../services/objects/object-service.js';
import { type SemanticService, searchTopMax } from '../services/semantic/semantic-service.js';
import type { StatusService } from '../services/status/status-service.js';
import { readBatch } from './batch-body.js';
import {
  evaluatePreconditions,
  httpDate,
  PreconditionFailedError,
  parseRange,
  RangeNotSatisfiableError,
  rangeAllowed,
} from './conditional.js';
import { economicsRoutes } from './economics-routes.js';
import { InvalidNameError } from './errors.js';
import { handled, type Route } from './server.js';

/**
 * Names are labels, never paths: well-formed Unicode (no lone surrogate) but control characters and
 * slashes, at most 255 bytes.
 */
function checkName(name: string, where: string): string {
  if (!isWellFormed(name))
    throw new InvalidNameError(`${where}: a name must be well-formed Unicode (it has a lone surrogate)`);
  const bad = [...name].some((char) => char < ' ' || char === '\u007f' || char === '/' || char === '\\');
  if (bad || name === '.' || name === '..' || Buffer.byteLength(name) > 255) {
    throw new InvalidNameError(
      `${where}: a name is at most 255 bytes, without slashes or control characters`,
    );
  }
  return name;
}

/** No lone surrogate in `text` (String.prototype.isWellFormed, Node 20+, is not in the ES2023 lib types). */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/** `text` with any lone surrogate replaced by U+FFFD: a name stored before names were checked still encodes. */
function toWellFormed(text: string): string {
  return (text as string & { toWellFormed(): string }).toWellFormed();
}

function objectName(url: URL): string | undefined {
  const name = url.searchParams.get('name');
  if (name === null || name === '') return undefined;
  return checkName(name, 'name');
}

async function* requestBody(request: IncomingMessage): AsyncGenerator<Uint8Array> {
  for await (const chunk of request as AsyncIterable<Buffer>) {
    yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  // A client that disconnects mid-upload ends the iteration without an error on some Node
  // versions: a body shorter than it announced is a truncated upload, never a complete object.
  const announced = request.headers['content-length'];
  if (announced !== undefined && !request.complete) throw new BadRequestError('upload was truncated');
}

/** What the HTTP API serves: the services that own the data it answers with. */
export interface ApiServices {
  /** Largest object accepted: an upload announcing more is refused before it is read. */
  readonly maxObjectBytes: number;
  readonly objects: Pick<
    ObjectService,
    'put' | 'putBatch' | 'open' | 'describe' | 'read' | 'delete' | 'health' | 'readCap' | 'owner'
  >;
  readonly manifests: Pick<ManifestDirectory, 'list'>;
  readonly status: Pick<StatusService, 'status'>;
  /** Absent on a node without `--semantic`. */
  readonly semantic: Pick<SemanticService, 'search'> | undefined;
  /** Stake, reputation and escrow (see economics-routes.ts); absent: no economics routes. */
  readonly economics?: Parameters<typeof economicsRoutes>[0];
}

/** The node's HTTP API. */
export function nodeRoutes(node: ApiServices): Route[] {
  return [
    { method: 'GET', path: '/health', open: true, handler: async () => ({ ok: true }) },
    { method: 'GET', path: '/v1/status', handler: async () => node.status.status() },
    {
      method: 'PUT',
      path: '/v1/objects',
      status: 201,
      streaming: true,
      handler: async (request, _response, _params, url) => {
        const name = objectName(url);
        const length = Number(request.headers['content-length']);
        // Refuse an announced size over the limit before reading a byte of it.
        if (Number.isSafeInteger(length) && length > node.maxObjectBytes) {
          throw new PayloadTooLargeError(node.maxObjectBytes);
        }
        return node.objects.put(requestBody(request), {
          ...(name === undefined ? {} : { name }),
          ...(flagParam(url, 'public') ? { public: true } : {}),
          ...(flagParam(url, 'searchable') ? { searchable: true } : {}),
          ...(Number.isSafeInteger(length) && length >= 0 ? { sizeHint: length } : {}),
        });
      },
    },
    {
      method: 'POST',
      path: '/v1/batches',
      status: 201,
      streaming: true,
      handler: async (request) => {
        const entries = readBatch(requestBody(request), batchObjectsMax);
        const items = (async function* () {
          for await (const entry of entries) {
            if (entry.name !== undefined)
              checkName(entry.name, `batch object "${toWellFormed(entry.name.slice(0, 60))}"`);
            // Refuse an announced size over the limit before reading a byte of the object.
            if (entry.size > node.maxObjectBytes) throw new PayloadTooLargeError(node.maxObjectBytes);
            yield {
              source: entry.source,
              sizeHint: entry.size,
              ...(entry.name === undefined ? {} : { name: entry.name }),
            };
          }
        })();
        return { objects: await node.objects.putBatch(items) };
      },
    },
    {
      method: 'GET',
      path: '/v1/objects',
      handler: async () => ({
        owner: node.objects.owner,
        objects: await node.manifests.list(1000, node.objects.owner),
      }),
    },
    {
      method: 'POST',
      path: '/v1/search',
      handler: async (request, _response, _params, url) => {
        if (node.semantic === undefined)
          throw new NodeError(
            'SEMANTIC_DISABLED',
            'this node runs without --semantic: start nodes with --semantic (e.g. trinity devnet --semantic)',
            501,
          );
        const top = intParam(url, 'top', 10, 1, searchTopMax);
        const threshold = Number(url.searchParams.get('threshold') ?? '0.05');
        if (!Number.isFinite(threshold) || threshold < -1 || threshold > 1)
          throw new BadRequestError('threshold must be in [-1, 1]');
        const query = await readBody(request, searchQueryBytesMax);
        return { results: await node.semantic.search(query, top, threshold) };
      },
    },
    {
      method: 'GET',
      path: '/v1/objects/:id',
      streaming: true,
      handler: async (request, response, params) => sendObject(node, request, response, params.id!, true),
      // HEAD answers from the manifest alone: no shard is fetched.
      head: async (request, response, params) => sendObject(node, request, response, params.id!, false),
    },
    {
      method: 'GET',
      path: '/v1/objects/:id/manifest',
      handler: async (_q, _r, params) => {
        const id = objectIdParam(params.id!);
        const { record, manifest } = await node.objects.describe(id);
        return { id, ...manifest, descriptor: record.descriptor, receipts: record.receipts };
      },
    },
    {
      method: 'GET',
      path: '/v1/objects/:id/cap',
      handler: async (_q, _r, params) => {
        const id = objectIdParam(params.id!);
        return { id, readCap: await node.objects.readCap(id) };
      },
    },
    {
      method: 'GET',
      path: '/v1/objects/:id/health',
      handler: async (_q, _r, params) => node.objects.health(objectIdParam(params.id!)),
    },
    {
      method: 'DELETE',
      path: '/v1/objects/:id',
      handler: async (_q, _r, params) => {
        const id = objectIdParam(params.id!);
        await node.objects.delete(id);
        return { id, deleted: true };
      },
    },
    ...(node.economics === undefined ? [] : economicsRoutes(node.economics)),
  ];
}

/**
 * An object id from a path: hex in either case, answered and looked up in lower case (the form
 * object ids are made and shown in).
 */
function objectIdParam(raw: string): string {
  const id = raw.toLowerCase();
  if (!isHashHex(id)) throw new BadRequestError('object id must be 64 hex characters');
  return id;
}

/**
 * An object's GET or HEAD: validators (a strong ETag from the id, which hashes the object's
 * content, and Last-Modified from its creation), conditional requests, and a single byte range.
 */
async function sendObject(
  node: ApiServices,
  request: IncomingMessage,
  response: ServerResponse,
  rawId: string,
  withBody: boolean,
): Promise<typeof handled> {
  const id = objectIdParam(rawId);
  const cap = request.headers['x-trinity-read-cap'];
  if (Array.isArray(cap)) throw new BadRequestError('one x-trinity-read-cap header at most');
  const manifest = await node.objects.open(id, cap);
  const validators = { etag: `"${id}"`, lastModifiedMs: manifest.createdAtMs };
  const headers: Record<string, string | number> = {
    etag: validators.etag,
    'last-modified': httpDate(validators.lastModifiedMs),
    'accept-ranges': 'bytes',
    'x-trinity-encrypted': manifest.encrypted ? 'true' : 'false',
    ...(manifest.name === undefined
      ? {}
      : { 'x-trinity-name': encodeURIComponent(toWellFormed(manifest.name)) }),
  };
  const precondition = evaluatePreconditions(request.headers, validators);
  if (precondition === 'failed') {
    throw new PreconditionFailedError(
      `object ${id} does not meet the request's If-Match / If-Unmodified-Since`,
    );
  }
  if (precondition === 'not-modified') {
    response.writeHead(304, headers);
    response.end();
    return handled;
  }
  const contentType = 'application/octet-stream';
  if (!withBody) {
    // Range is a GET-only header: HEAD describes the whole object.
    response.writeHead(200, { ...headers, 'content-type': contentType, 'content-length': manifest.size });
    response.end();
    return handled;
  }
  const wanted = rangeAllowed(request.headers, validators)
    ? parseRange(request.headers.range, manifest.size)
    : ({ kind: 'whole' } as const);
  if (wanted.kind === 'unsatisfiable') {
    response.setHeader('content-range', `bytes */${manifest.size}`);
    throw new RangeNotSatisfiableError(manifest.size);
  }
  const range = wanted.kind === 'range' ? wanted.range : undefined;
  // Transient: each chunk is written out (flushed) before the next is asked for, so the buffers of
  // fetched shards are reused once the socket is done with them.
  const stripes = node.objects.read(manifest, range, { transient: true });
  // Read the first stripe before answering, so an unreadable object is a clean 503, not a cut body.
  const first = await stripes.next();
  if (range === undefined) {
    response.writeHead(200, { ...headers, 'content-type': contentType, 'content-length': manifest.size });
  } else {
    response.writeHead(206, {
      ...headers,
      'content-type': contentType,
      'content-length': range.end - range.start + 1,
      'content-range': `bytes ${range.start}-${range.end}/${manifest.size}`,
    });
  }
  if (!first.done) await writeFlushed(response, first.value);
  for await (const data of stripes) await writeFlushed(response, data);
  response.end();
  return handled;
}

/** Largest query file a search takes. */
const searchQueryBytesMax = 64 * 1024 * 1024;

/** A boolean query flag: present as `1`/`true` (or empty) means on. */
function flagParam(url: URL, name: string): boolean {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '0' || raw === 'false') return false;
  if (raw === '' || raw === '1' || raw === 'true') return true;
  throw new BadRequestError(`${name} must be 1 or 0`);
}

function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new BadRequestError(`${name} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

async function readBody(request: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) throw new PayloadTooLargeError(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Writes and waits until the socket is done with `data` (its write callback): the caller may reuse
 * the buffer then. Rejects when the client went away.
 */
async function writeFlushed(response: ServerResponse, data: Uint8Array): Promise<void> {
  if (response.destroyed) throw new Error('client went away');
  await new Promise<void>((resolve, reject) => {
    const onClose = () => reject(new Error('client went away'));
    response.once('close', onClose);
    response.write(data, (error) => {
      response.off('close', onClose);
      if (error) reject(error);
      else resolve();
    });
  });
}
