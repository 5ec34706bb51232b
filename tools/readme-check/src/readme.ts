/** What a package README says about getting started: its install line, quick start and output. */
export interface Readme {
  /** The line in the Install section's `sh` block, e.g. `npm install @trinity/vsa @trinity/core`. */
  readonly install: string;
  /** The packages that line installs. */
  readonly installPackages: readonly string[];
  /** The Quick start section's `js` block. */
  readonly code: string;
  /** The packages the code imports (not node: built-ins), as package names. */
  readonly imports: readonly string[];
  /** The `text` block after "It prints:" in the Quick start section, if there is one. */
  readonly prints: string | undefined;
}

function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + heading.length + 5);
  return markdown.slice(start, end < 0 ? undefined : end);
}

function fenced(text: string, language: string, after = 0): string | undefined {
  const open = text.indexOf(`\n\`\`\`${language}\n`, after);
  if (open < 0) return undefined;
  const bodyStart = open + language.length + 5;
  const close = text.indexOf('\n```\n', bodyStart - 1);
  if (close < 0) throw new Error(`unclosed \`\`\`${language} block`);
  return text.slice(bodyStart, close + 1);
}

/** A package name from an import specifier: `@scope/name/sub` → `@scope/name`, `zod/mini` → `zod`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export function parseReadme(markdown: string): Readme {
  const installBlock = fenced(section(markdown, 'Install'), 'sh');
  if (installBlock === undefined) throw new Error('the Install section has no ```sh block');
  const install = installBlock.trim();
  if (install.includes('\n') || !install.startsWith('npm install ')) {
    throw new Error(`the install block must be one "npm install …" line, got ${JSON.stringify(install)}`);
  }
  const installPackages = install.slice('npm install '.length).trim().split(/\s+/);
  const quickStart = section(markdown, 'Quick start');
  const code = fenced(quickStart, 'js');
  if (code === undefined) throw new Error('the Quick start section has no ```js block');
  const imports = new Set<string>();
  for (const match of code.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)) {
    if (!match[1]!.startsWith('node:')) imports.add(packageName(match[1]!));
  }
  const printsAt = quickStart.indexOf('It prints:');
  const prints = printsAt < 0 ? undefined : fenced(quickStart, 'text', printsAt);
  return { install, installPackages, code, imports: [...imports], prints };
}
