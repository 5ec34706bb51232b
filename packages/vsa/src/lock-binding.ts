import { assertBytes, sha256, utf8ToBytes, xorBytes } from '@trinity/core';
import { tailMask, wordsFor } from './_bits.js';
import { _hypervector, assertDims, bind, type Hypervector, unbind } from './hypervector.js';
import { serializeHypervector } from './hypervector-codec.js';

const shardDomain = utf8ToBytes('trinity/vsa/lock-shard/v1');
const holderDomain = utf8ToBytes('trinity/vsa/lock-holder/v1');

/** The seed's lock binding: SHA-256(shardHash XOR holderId), both 32 bytes. */
export function sha256LockBinding(shardHash: Uint8Array, holderId: Uint8Array): Uint8Array {
  assertBytes(shardHash, 'shardHash', 32);
  assertBytes(holderId, 'holderId', 32);
  return sha256(xorBytes(shardHash, holderId));
}

/**
 * A dense ±1 hypervector derived from a 32-byte id: its sign bits are SHA-256(domain ‖ id ‖ counter)
 * blocks, so different ids give quasi-orthogonal vectors and the same id the same vector everywhere.
 */
function idVector(domain: Uint8Array, id: Uint8Array, dims: number): Hypervector {
  const words = wordsFor(dims);
  const sign = new Uint32Array(words);
  const nonzero = new Uint32Array(words).fill(0xffffffff);
  const input = new Uint8Array(domain.length + id.length + 4);
  input.set(domain, 0);
  input.set(id, domain.length);
  const counterView = new DataView(input.buffer, domain.length + id.length, 4);
  for (let block = 0; block * 8 < words; block++) {
    counterView.setUint32(0, block, true);
    const digest = new DataView(sha256(input).buffer);
    for (let i = 0; i < 8 && block * 8 + i < words; i++) sign[block * 8 + i] = digest.getUint32(4 * i, true);
  }
  nonzero[words - 1] = tailMask(dims);
  sign[words - 1]! &= tailMask(dims);
  return _hypervector(dims, sign, nonzero);
}

/** The dense hypervector that stands for a shard in a hypervector lock binding. */
export function lockShardVector(shardHash: Uint8Array, dims: number): Hypervector {
  assertBytes(shardHash, 'shardHash', 32);
  assertDims(dims);
  return idVector(shardDomain, shardHash, dims);
}

/** The dense hypervector that stands for a holder in a hypervector lock binding. */
export function lockHolderVector(holderId: Uint8Array, dims: number): Hypervector {
  assertBytes(holderId, 'holderId', 32);
  assertDims(dims);
  return idVector(holderDomain, holderId, dims);
}

/**
 * The seed's next step: the binding as a bound hypervector, bind(shardVector, holderVector). Both are
 * dense, so `unbind(binding, shardVector)` gives back the holder's vector exactly.
 */
export function hypervectorLockBinding(
  shardHash: Uint8Array,
  holderId: Uint8Array,
  dims: number,
): Hypervector {
  return bind(lockShardVector(shardHash, dims), lockHolderVector(holderId, dims));
}

/** The holder vector inside a hypervector binding of `shardHash`. */
export function recoverLockHolderVector(binding: Hypervector, shardHash: Uint8Array): Hypervector {
  return unbind(binding, lockShardVector(shardHash, binding.dims));
}

/** The bytes a grant carries for the hypervector binding. */
export function hypervectorLockBindingBytes(
  shardHash: Uint8Array,
  holderId: Uint8Array,
  dims: number,
): Uint8Array {
  return serializeHypervector(hypervectorLockBinding(shardHash, holderId, dims));
}
