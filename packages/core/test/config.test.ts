import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, isTrinityError, parseConfig } from '../src/index.js';

const schema = z
  .object({
    apiPort: z.number().int().min(1).max(65_535).default(7070),
    region: z.enum(['us-east', 'eu-west']).default('us-east'),
    erasure: z
      .object({
        dataShards: z.number().int().min(1).default(4),
        parityShards: z.number().int().min(1).default(2),
      })
      .strict()
      .default({ dataShards: 4, parityShards: 2 }),
    peers: z.array(z.string().min(1)).max(4).default([]),
  })
  .strict();

describe('parseConfig', () => {
  it('fills defaults', () => {
    expect(parseConfig(schema, {})).toEqual({
      apiPort: 7070,
      region: 'us-east',
      erasure: { dataShards: 4, parityShards: 2 },
      peers: [],
    });
  });

  it('names every bad field, the rule and the value in one line', () => {
    let error: unknown;
    try {
      parseConfig(
        schema,
        { apiPort: 70_000, region: 'mars', erasure: { dataShards: 0 }, peers: ['a', ''] },
        'node config',
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^invalid node config: /);
    expect(message).toContain('apiPort: ');
    expect(message).toContain('(got 70000)');
    expect(message).toContain('region: ');
    expect(message).toContain('(got "mars")');
    expect(message).toContain('erasure.dataShards: ');
    expect(message).toContain('(got 0)');
    expect(message).toContain('peers[1]: ');
    expect((error as ConfigError).issues).toHaveLength(4);
    expect(isTrinityError(error, 'CONFIG_INVALID')).toBe(true);
  });

  it('reports unknown keys and a wrong root type', () => {
    expect(() => parseConfig(schema, { apiPrt: 1 })).toThrow(/apiPrt/);
    expect(() => parseConfig(schema, 'nope')).toThrow(/\(root\): .*\(got "nope"\)/);
  });

  it('caps the message at 8 issues and counts the rest', () => {
    const wide = z.object(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, z.number()])));
    expect(() => parseConfig(wide, {})).toThrow(/and 4 more$/);
  });
});
