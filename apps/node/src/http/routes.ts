import type { IncomingMessage } from 'node:http';
import { BadRequestError, NodeError, PayloadTooLargeError } from '../errors.js';
import type { ManifestDirectory } from '../services/manifests/manifest-service.js';
import { batchObjectsMax, type ObjectService } from '../services/objects/object-service.js';
import { type SemanticService, searchTopMax } from '../services/semantic/semantic-service.js';
import type { StatusService } from '../services/status/status-service.js';
import { readBatch } from './batch-body.js';
import { handled, type Route } from './server.js';

/** Names are labels, never paths: any text but control characters and slashes, at most 255 bytes. */
function checkName(name: string, where: string): string {
  const bad = [...name].some((char) => char < ' ' || char === '\u007f' || char === '/' || char === '\\');
  if (bad || name === '.' || name === '..' || Buffer.byteLength(name) > 255) {
    throw new BadRequestError(`${where}: a name is at most 255 bytes, without slashes or control characters`);
  }
  return name;
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
  readonly objects: Pick<ObjectService, 'put' | 'putBatch' | 'manifest' | 'read' | 'delete' | 'health'>;
  readonly manifests: Pick<ManifestDirectory, 'list'>;
  readonly status: Pick<StatusService, 'status'>;
  /** Absent on a node without `--semantic`. */
  readonly semantic: Pick<SemanticService, 'search'> | undefined;
}

/** The node's HTTP API. */
export function nodeRoutes(node: ApiServices): Route[] {
  return [
    { method: 'GET', path: '/health', handler: async () => ({ ok: true }) },
    { method: 'GET', path: '/v1/status', handler: async () => node.status.status() },
    {
      method: 'PUT',
      path: '/v1/objects',
      status: 201,
      handler: async (request, _response, _params, url) => {
        const name = objectName(url);
        const length = Number(request.headers['content-length']);
        // Refuse an announced size over the limit before reading a byte of it.
        if (Number.isSafeInteger(length) && length > node.maxObjectBytes) {
          throw new PayloadTooLargeError(node.maxObjectBytes);
        }
        return node.objects.put(requestBody(request), {
          ...(name === undefined ? {} : { name }),
          ...(Number.isSafeInteger(length) && length >= 0 ? { sizeHint: length } : {}),
        });
      },
    },
    {
      method: 'POST',
      path: '/v1/batches',
      status: 201,
      handler: async (request) => {
        const entries = readBatch(requestBody(request), batchObjectsMax);
        const items = (async function* () {
          for await (const entry of entries) {
            if (entry.name !== undefined) checkName(entry.name, `batch object "${entry.name.slice(0, 60)}"`);
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
    { method: 'GET', path: '/v1/objects', handler: async () => ({ objects: await node.manifests.list() }) },
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
      handler: async (_request, response, params) => {
        const manifest = await node.objects.manifest(params.id!);
        const stripes = node.objects.read(manifest);
        // Read the first stripe before answering, so an unreadable object is a clean 503, not a cut body.
        const first = await stripes.next();
        response.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': manifest.size,
          ...(manifest.name === undefined ? {} : { 'x-trinity-name': encodeURIComponent(manifest.name) }),
        });
        if (!first.done) await write(response, first.value);
        for await (const data of stripes) await write(response, data);
        response.end();
        return handled;
      },
    },
    {
      method: 'GET',
      path: '/v1/objects/:id/manifest',
      handler: async (_q, _r, params) => node.objects.manifest(params.id!),
    },
    {
      method: 'GET',
      path: '/v1/objects/:id/health',
      handler: async (_q, _r, params) => node.objects.health(params.id!),
    },
    {
      method: 'DELETE',
      path: '/v1/objects/:id',
      handler: async (_q, _r, params) => {
        await node.objects.delete(params.id!);
        return { id: params.id, deleted: true };
      },
    },
  ];
}

/** Largest query file a search takes. */
const searchQueryBytesMax = 64 * 1024 * 1024;

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

/** Writes with backpressure: waits for 'drain' when the socket buffer is full. */
async function write(response: import('node:http').ServerResponse, data: Uint8Array): Promise<void> {
  if (response.write(data)) return;
  await new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      response.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      response.off('drain', onDrain);
      reject(new Error('client went away'));
    };
    response.once('drain', onDrain);
    response.once('close', onClose);
  });
}
