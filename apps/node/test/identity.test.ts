import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateIdentity } from '../src/stores/identity.js';
import { createOwnerKey, loadOrCreateOwnerKey, readOwnerKey } from '../src/stores/owner-key.js';
import { tempDir } from './helpers.js';

describe('key files', () => {
  it('keeps the node identity across loads (mode 0600) and refuses one others can read', async () => {
    const dir = await tempDir('trinity-identity-');
    try {
      const first = await loadOrCreateIdentity(dir.path);
      expect((await stat(join(dir.path, 'identity.key'))).mode & 0o777).toBe(0o600);
      expect((await loadOrCreateIdentity(dir.path)).equals(first)).toBe(true);
      await chmod(join(dir.path, 'identity.key'), 0o644);
      await expect(loadOrCreateIdentity(dir.path)).rejects.toMatchObject({ code: 'IDENTITY_EXPOSED' });
    } finally {
      await dir.remove();
    }
  });

  it('creates an owner key once (mode 0600, never overwritten) and refuses an exposed or malformed one', async () => {
    const dir = await tempDir('trinity-owner-key-');
    try {
      const path = join(dir.path, 'owner.key');
      const key = await createOwnerKey(path);
      expect(key.publicKey).toMatch(/^[0-9a-f]{64}$/);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      await expect(createOwnerKey(path)).rejects.toMatchObject({ code: 'OWNER_KEY_INVALID' });
      expect((await loadOrCreateOwnerKey(path)).publicKey).toBe(key.publicKey);
      await chmod(path, 0o640);
      await expect(readOwnerKey(path)).rejects.toThrow(/readable by others/);
      const junk = join(dir.path, 'junk.key');
      await createOwnerKey(junk);
      const { writeFile } = await import('node:fs/promises');
      await writeFile(junk, '{"kind":"something-else"}\n');
      await expect(readOwnerKey(junk)).rejects.toThrow(/not a Trinity owner key/);
    } finally {
      await dir.remove();
    }
  });
});
