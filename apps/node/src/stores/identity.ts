import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { writeFileAtomic } from '@trinity/core/fs';
import { NodeError } from '../errors.js';

const identityFile = 'identity.key';

/**
 * The node's long-lived Ed25519 key pair, kept in the data directory (mode 0600) so that the node's
 * peer id survives restarts. Created on first start; a key file others can read is refused (it
 * signs this node's receipts).
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<PrivateKey> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, identityFile);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (bytes !== undefined) {
    const mode = (await stat(path)).mode;
    if ((mode & 0o077) !== 0) {
      throw new NodeError(
        'IDENTITY_EXPOSED',
        `identity key ${path} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
        500,
      );
    }
    try {
      return privateKeyFromProtobuf(bytes);
    } catch (error) {
      throw new NodeError(
        'IDENTITY_CORRUPT',
        `identity key ${path} is unreadable; move it away to make a new one`,
        500,
        {
          cause: error,
        },
      );
    }
  }
  const key = await generateKeyPair('Ed25519');
  await writeFileAtomic(path, privateKeyToProtobuf(key), { mode: 0o600 });
  return key;
}
