import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('the README encryption example runs and prints what it says', () => {
  const example = fileURLToPath(new URL('../examples/encryption.ts', import.meta.url));
  const output = execFileSync(process.execPath, ['--import', 'tsx', example], { encoding: 'utf8' });
  expect(output).toContain('ciphertext 70 bytes = encryptedSize 70');
  expect(output).toMatch(/read cap trinity-read1-\S{6}… \(106 characters\)/);
  expect(output).toContain('decrypted: hello, encrypted world');
  expect(output).toContain('tampered: DECRYPT_AUTH_FAILED');
});
