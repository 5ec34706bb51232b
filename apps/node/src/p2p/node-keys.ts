import { publicKeyFromRaw } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id';
import { fromHex, isHex, toHex } from '@trinity/core';

/**
 * A node's signing key is its libp2p identity (Ed25519): its peer id embeds the public key, so a
 * holder receipt's 32-byte `holder` key and the peer id it is reached at are two spellings of one
 * key, and neither can be claimed for another node.
 */
const peerIdByKey = new Map<string, string>();
const keyByPeerId = new Map<string, string | undefined>();
const cacheMax = 100_000;

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= cacheMax) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
  return value;
}

/** The peer id (string) of a node key (hex); undefined for a key that is not an Ed25519 point. */
export function peerIdOfNodeKey(keyHex: string): string | undefined {
  const known = peerIdByKey.get(keyHex);
  if (known !== undefined) return known;
  if (!isHex(keyHex, 32)) return undefined;
  try {
    const peerId = peerIdFromPublicKey(publicKeyFromRaw(fromHex(keyHex))).toString();
    return remember(peerIdByKey, keyHex, peerId);
  } catch {
    return undefined;
  }
}

/** The node key (hex) of a peer id; undefined when the id does not embed an Ed25519 key. */
export function nodeKeyOfPeerId(peerId: string): string | undefined {
  if (keyByPeerId.has(peerId)) return keyByPeerId.get(peerId);
  let key: string | undefined;
  try {
    const parsed = peerIdFromString(peerId);
    key = parsed.type === 'Ed25519' ? toHex(parsed.publicKey.raw) : undefined;
  } catch {
    key = undefined;
  }
  return remember(keyByPeerId, peerId, key);
}

/** What signs this node's receipts: its identity's 32-byte Ed25519 seed and public key. */
export interface NodeSigner {
  readonly peerId: string;
  /** Hex public key, as receipts and put intents name it. */
  readonly publicKey: string;
  readonly secretKey: Uint8Array;
}

export function nodeSigner(privateKey: PrivateKey, peerId: string): NodeSigner {
  if (privateKey.type !== 'Ed25519') throw new TypeError('a Trinity node identity must be Ed25519');
  // libp2p keeps Ed25519 private keys as seed || public key.
  return {
    peerId,
    publicKey: toHex(privateKey.publicKey.raw),
    secretKey: privateKey.raw.slice(0, 32),
  };
}
