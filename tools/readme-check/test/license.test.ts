import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);
const license = readFileSync(new URL('LICENSE', root), 'utf8');
const packages = ['core', 'erasure', 'vsa', 'topology', 'tx', 'economics', 'metrics', 'storage'];

describe('LICENSE', () => {
  it('is the Apache License 2.0 the packages declare', () => {
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain('END OF TERMS AND CONDITIONS');
  });

  it.each(packages)('@trinity/%s ships the same LICENSE', (name) => {
    const manifest = JSON.parse(readFileSync(new URL(`packages/${name}/package.json`, root), 'utf8'));
    expect(manifest.license).toBe('Apache-2.0');
    expect(manifest.files).toContain('LICENSE');
    expect(readFileSync(new URL(`packages/${name}/LICENSE`, root), 'utf8')).toBe(license);
  });
});
