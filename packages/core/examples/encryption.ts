import {
  createDecryptor,
  createEncryptor,
  decodeReadCap,
  ed25519,
  encodeReadCap,
  encryptedSize,
  generateObjectKey,
  pipeThrough,
  unwrapObjectKey,
  utf8ToBytes,
  wrapObjectKey,
} from '@trinity/core';

const owner = ed25519.randomSecretKey();
const key = generateObjectKey(); // fresh per object
const plain = utf8ToBytes('hello, encrypted world');

// Stream: pieces come out as segments complete; memory stays at about one segment.
const encryptor = await createEncryptor({ key });
const sealed: Uint8Array[] = [];
for await (const piece of pipeThrough(encryptor, [plain])) sealed.push(piece);
const sealedBytes = sealed.reduce((sum, piece) => sum + piece.length, 0);
console.log(`ciphertext ${sealedBytes} bytes = encryptedSize ${encryptedSize(plain.length)}`);

// The manifest keeps the key wrapped for the owner; only the owner's secret key unwraps it.
const wrapped = await wrapObjectKey(key, { ownerSecretKey: owner });
const unwrapped = await unwrapObjectKey(wrapped, { ownerSecretKey: owner });

// A read capability shares one object: its id and key in one string.
const cap = encodeReadCap({ objectId: 'ab'.repeat(32), key: unwrapped });
console.log(`read cap ${cap.slice(0, 20)}… (${cap.length} characters)`);

const decryptor = await createDecryptor({ key: decodeReadCap(cap).key });
let text = '';
for await (const piece of pipeThrough(decryptor, sealed))
  text += new TextDecoder().decode(piece, { stream: true });
console.log(`decrypted: ${text}`);

sealed[1]![0]! ^= 1; // one flipped bit
const check = await createDecryptor({ key });
try {
  for await (const _ of pipeThrough(check, sealed));
} catch (error) {
  console.log(`tampered: ${(error as { code: string }).code}`);
}
