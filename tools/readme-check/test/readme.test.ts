import { describe, expect, it } from 'vitest';
import { parseReadme } from '../src/readme.ts';

const fence = '```';
const readme = (install: string, code: string, prints = '') =>
  [
    '# @trinity/demo',
    '',
    '## Install',
    '',
    `${fence}sh`,
    install,
    fence,
    '',
    '## Quick start',
    '',
    `${fence}js`,
    code,
    fence,
    prints,
    '## API',
    '',
    `${fence}js`,
    "import { other } from 'elsewhere';",
    fence,
    '',
  ].join('\n');

describe('parseReadme', () => {
  it('reads the install line, the quick start, its imports and what it prints', () => {
    const code = [
      "import { join } from 'node:path';",
      "import { a } from '@trinity/demo';",
      'import {',
      '  b,',
      "} from '@trinity/core';",
      "import * as z from 'zod/mini';",
      'console.log(a, b, z, join);',
    ].join('\n');
    const parsed = parseReadme(
      readme(
        'npm install @trinity/demo @trinity/core',
        code,
        `\nIt prints:\n\n${fence}text\nhello\n${fence}\n`,
      ),
    );
    expect(parsed.install).toBe('npm install @trinity/demo @trinity/core');
    expect(parsed.installPackages).toEqual(['@trinity/demo', '@trinity/core']);
    expect(parsed.code).toBe(`${code}\n`);
    expect(parsed.imports).toEqual(['@trinity/demo', '@trinity/core', 'zod']);
    expect(parsed.prints).toBe('hello\n');
  });

  it('has no expected output where the README gives none', () => {
    expect(
      parseReadme(readme('npm install @trinity/demo', "import '@trinity/demo';")).prints,
    ).toBeUndefined();
  });

  it('refuses an install block that is not one npm install line', () => {
    expect(() => parseReadme(readme('pnpm add @trinity/demo', ''))).toThrow(/npm install/);
    expect(() => parseReadme(readme('npm install a\nnpm install b', ''))).toThrow(/npm install/);
  });

  it('refuses a README without a quick start', () => {
    expect(() => parseReadme('# x\n\n## Install\n\n```sh\nnpm install x\n```\n')).toThrow(/Quick start/);
  });
});
