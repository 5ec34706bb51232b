import { ed25519, seededRandom, toHex } from '@trinity/core';
import { type DescriptorInput, merkleRoot, sha256Hex } from './trust-helpers.js';

/** Fixed keys: the known-answer vectors depend on them. */
export const ownerSecretKey = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
export const holderASecretKey = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);
export const holderBSecretKey = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
export const ownerKey = toHex(ed25519.publicKey(ownerSecretKey));
export const holderAKey = toHex(ed25519.publicKey(holderASecretKey));
export const holderBKey = toHex(ed25519.publicKey(holderBSecretKey));

/** Shards of a small RS(2,1) object: 3 shards of 5000 bytes in one stripe, from a fixed seed. */
export const shardBytes = 5000;
export const shards = Array.from({ length: 3 }, (_, i) => seededRandom(100 + i).bytes(shardBytes));

export const descriptorInput: DescriptorInput = {
  name: 'report.pdf',
  size: 9000,
  createdAtMs: 1_700_000_000_000,
  erasure: { dataShards: 2, parityShards: 1, shardBytes },
  encryption: { algorithm: 'aes-256-gcm/seg-v1', segmentBytes: 65536, wrappedKey: 'ab'.repeat(48) },
  stripes: [
    {
      dataBytes: 9000,
      shards: shards.map((shard) => ({ hash: sha256Hex(shard), merkleRoot: toHex(merkleRoot(shard)) })),
    },
  ],
};
