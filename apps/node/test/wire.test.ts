import '../src/polyfill.js';
import { randomBytes } from 'node:crypto';
import { lpStream } from '@libp2p/utils';
import { MemoryLogger, toHex } from '@trinity/core';
import { signPutIntent } from '@trinity/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNodeConfig } from '../src/config/config.js';
import { TrinityNode } from '../src/node/trinity-node.js';
import { nodeKeyOfPeerId } from '../src/p2p/node-keys.js';
import { toPeerId } from '../src/p2p/rpc.js';
import { frameBytesMax, hashesPerRequestMax, headerBytesMax, PROTOCOLS } from '../src/p2p/wire.js';
import { sha256Hex, tempDir } from './helpers.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sends raw frames to `protocol` on `target` and returns the first reply frame as JSON (or the error). */
async function raw(
  from: TrinityNode,
  target: TrinityNode,
  frames: Uint8Array[],
  protocol: string = PROTOCOLS.shard,
) {
  const stream = await from.libp2p.dialProtocol(toPeerId(target.peerId), protocol);
  const lp = lpStream(stream, { maxDataLength: 64 * 1024 * 1024 });
  try {
    for (const frame of frames) await lp.write(frame);
    const reply = await lp.read({ signal: AbortSignal.timeout(60_000) });
    return JSON.parse(decoder.decode(reply.subarray())) as { ok: boolean; code?: string; message?: string };
  } finally {
    stream.abort(new Error('done'));
  }
}

const json = (value: unknown) => encoder.encode(JSON.stringify(value));

const owner = randomBytes(32);

/** A `stage` header for `hash` on `target`, under a put intent some owner signed for it. */
function stageHeader(target: TrinityNode, hash: string, size: number, txId = toHex(randomBytes(16))) {
  const nowMs = Date.now();
  const intent = signPutIntent(
    {
      txId,
      createdAtMs: nowMs,
      expiresAtMs: nowMs + 60_000,
      shards: [{ shardHash: hash, holders: [nodeKeyOfPeerId(target.peerId)!] }],
    },
    owner,
  );
  return json({ op: 'stage', hash, size, txId, intent });
}

describe('request limits against the header limit', () => {
  it('fits a has request of the most hashes in one header', () => {
    const header = { op: 'has', hashes: Array.from({ length: hashesPerRequestMax }, () => 'f'.repeat(64)) };
    expect(Buffer.byteLength(JSON.stringify({ protocol: PROTOCOLS.shard, header }))).toBeLessThan(
      headerBytesMax,
    );
  });
});

describe('wire protocol against a real node', () => {
  let a: TrinityNode;
  let b: TrinityNode;
  let dir: { path: string; remove: () => Promise<void> };

  beforeAll(async () => {
    dir = await tempDir('trinity-wire-');
    const config = (name: string, bootstrap: string[] = []) =>
      parseNodeConfig({
        dataDir: `${dir.path}/${name}`,
        api: { port: 0 },
        listen: { port: 0 },
        bootstrap,
        region: 'us-east',
      });
    a = await TrinityNode.create(config('a'), new MemoryLogger());
    await a.start();
    b = await TrinityNode.create(config('b', [a.libp2p.getMultiaddrs()[0]!.toString()]), new MemoryLogger());
    await b.start();
  }, 60_000);

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await dir?.remove();
  });

  it('rejects a header that is not JSON', async () => {
    const reply = await raw(b, a, [encoder.encode('{not json')]);
    expect(reply).toMatchObject({ ok: false, code: 'PROTOCOL_ERROR' });
    expect(reply.message).toMatch(/not valid UTF-8 JSON/);
  });

  it('rejects unknown operations and malformed fields with the field named', async () => {
    expect(await raw(b, a, [json({ op: 'format-disk' })])).toMatchObject({
      ok: false,
      code: 'PROTOCOL_ERROR',
    });
    const reply = await raw(b, a, [json({ op: 'fetch', hash: '../../etc/passwd' })]);
    expect(reply).toMatchObject({ ok: false, code: 'PROTOCOL_ERROR' });
    expect(reply.message).toContain('hash');
  });

  it('rejects an oversized declared body before reading it', async () => {
    const reply = await raw(b, a, [stageHeader(a, 'a'.repeat(64), 1024 * 1024 * 1024)]);
    expect(reply).toMatchObject({ ok: false, code: 'PROTOCOL_ERROR' });
  });

  it('cuts off a frame larger than the frame limit', async () => {
    const stream = await b.libp2p.dialProtocol(toPeerId(a.peerId), PROTOCOLS.shard);
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 * 1024 });
    await lp.write(new Uint8Array(frameBytesMax + 1));
    const reply = JSON.parse(
      decoder.decode((await lp.read({ signal: AbortSignal.timeout(60_000) })).subarray()),
    );
    expect(reply).toMatchObject({ ok: false, code: 'PROTOCOL_ERROR' });
    expect(reply.message).toMatch(/message length too long|too long|length/i);
  });

  it('refuses a shard whose bytes do not match the hash it claims, and stores nothing', async () => {
    const data = randomBytes(1000);
    const claimed = 'b'.repeat(64);
    const reply = await raw(b, a, [stageHeader(a, claimed, data.length), data]);
    expect(reply).toMatchObject({ ok: false, code: 'SHARD_HASH_MISMATCH' });
    const has = await raw(b, a, [json({ op: 'has', hashes: [claimed, sha256Hex(data)] })]);
    expect(has).toMatchObject({ ok: true, value: [false, false] });
  });

  it('rejects a body shorter than declared (truncated upload) and stores nothing', async () => {
    const data = randomBytes(5000);
    const hash = sha256Hex(data);
    const stream = await b.libp2p.dialProtocol(toPeerId(a.peerId), PROTOCOLS.shard);
    const lp = lpStream(stream);
    await lp.write(stageHeader(a, hash, data.length));
    await lp.write(data.subarray(0, 2000));
    await stream.close(); // the writer goes away mid-body
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await raw(b, a, [json({ op: 'has', hashes: [hash] })])).toMatchObject({
      ok: true,
      value: [false],
    });
  });

  it('still serves good requests after all of that', async () => {
    const data = randomBytes(3000);
    const hash = sha256Hex(data);
    const txId = toHex(randomBytes(16));
    expect(await raw(b, a, [stageHeader(a, hash, data.length, txId), data])).toMatchObject({ ok: true });
    // Staged, not yet visible: a transaction's commit makes it so.
    expect(a.store.stagedShards(txId).map((h) => toHex(h))).toEqual([hash]);
    expect(await raw(b, a, [json({ op: 'has', hashes: [hash] })])).toMatchObject({
      ok: true,
      value: [false],
    });
    expect(await raw(b, a, [json({ op: 'unstage', txId })])).toMatchObject({ ok: true });
    expect(a.store.stagedShards(txId)).toEqual([]);
  });
});
