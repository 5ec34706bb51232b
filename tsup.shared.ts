import type { Options } from 'tsup';

/** The one build every package shares: ESM + .d.ts for Node >= 20.19, from the given entry points. */
export function packageBuild(entry: Record<string, string> = { index: 'src/index.ts' }): Options {
  return {
    entry,
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
  };
}
