import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { safeParse } from 'zod/v4/core';
import en from 'zod/v4/locales/en.js';
import { englishMessage } from '../src/_zod-messages.js';
import { ConfigError, type ConfigSchema, parseConfig } from '../src/index.js';

const schema = z.strictObject({
  replicas: z._default(z.int().check(z.minimum(1), z.maximum(16)), 3),
  mode: z._default(z.enum(['fast', 'safe']), 'safe'),
  name: z.optional(z.string().check(z.minLength(2), z.maxLength(8), z.regex(/^[a-z]+$/))),
  tags: z._default(z.array(z.string()).check(z.maxLength(2)), []),
  ratio: z.optional(z.number().check(z.multipleOf(0.5))),
  exact: z.optional(z.literal('yes')),
});

describe('parseConfig with zod/mini schemas', () => {
  it('fills defaults', () => {
    expect(parseConfig(schema, {})).toEqual({ replicas: 3, mode: 'safe', tags: [] });
  });

  it("words every issue as zod's own en locale does", () => {
    const bad = [
      { replicas: 99 },
      { replicas: 0 },
      { replicas: 1.5 },
      { replicas: 'x' },
      { replicas: Number.NaN },
      { mode: 'slow' },
      { name: 'a' },
      { name: 'abcdefghij' },
      { name: 'AB' },
      { tags: ['a', 'b', 'c'] },
      { ratio: 0.3 },
      { exact: 'no' },
      { colour: 'red', size: 1 },
      { colour: 'red' },
      null,
      [],
    ];
    const english = en().localeError;
    let compared = 0;
    for (const input of bad) {
      const result = safeParse(schema, input, { reportInput: true });
      expect(result.success, JSON.stringify(input)).toBe(false);
      for (const issue of result.error!.issues) {
        expect(englishMessage(issue), JSON.stringify(issue)).toBe(english(issue as never));
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(bad.length);
  });

  it('names the field, the rule and the value in English', () => {
    expect(() => parseConfig(schema, { replicas: 99 }, 'demo config')).toThrow(
      'invalid demo config: replicas: Too big: expected number to be <=16 (got 99)',
    );
    expect(() => parseConfig(schema, { colour: 'red' })).toThrow(/\(root\): Unrecognized key: "colour"/);
  });
});

describe('parseConfig with a Standard Schema that is not zod', () => {
  const port: ConfigSchema<{ port?: number }, { port: number }> = {
    '~standard': {
      version: 1,
      vendor: 'hand-written',
      validate(value) {
        const port = (value as { port?: unknown }).port ?? 7070;
        if (typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65_536) {
          return { value: { port } };
        }
        return { issues: [{ message: 'must be a port number', path: [{ key: 'port' }] }] };
      },
    },
  };

  it('returns the value and types it', () => {
    const config: { port: number } = parseConfig(port, {});
    expect(config).toEqual({ port: 7070 });
  });

  it('throws ConfigError naming the field and the value it found there', () => {
    let error: unknown;
    try {
      parseConfig(port, { port: 70_000 }, 'server config');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      'invalid server config: port: must be a port number (got 70000)',
    );
    expect((error as ConfigError).issues).toEqual([
      { path: 'port', rule: 'must be a port number', received: '70000' },
    ]);
  });

  it('refuses an asynchronous schema', () => {
    const slow: ConfigSchema = {
      '~standard': { version: 1, vendor: 'slow', validate: async (value) => ({ value }) },
    };
    expect(() => parseConfig(slow, {})).toThrow(TypeError);
  });
});
