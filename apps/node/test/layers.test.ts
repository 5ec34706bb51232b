import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

/**
 * The layers of apps/node/src, bottom first (see README "Layout"). A module may import its own
 * layer and the layers below it, never one above; no import cycle anywhere.
 */
const layers = [
  { name: 'base', path: '^src/[^/]+\\.ts$' },
  { name: 'config', path: '^src/config/' },
  { name: 'stores', path: '^src/stores/' },
  { name: 'p2p', path: '^src/p2p/' },
  { name: 'services', path: '^src/services/' },
  { name: 's3', path: '^src/s3/' },
  { name: 'http', path: '^src/http/' },
  { name: 'node', path: '^src/node/' },
  { name: 'cli', path: '^src/cli/' },
] as const;

/** `src/index.ts` is the package's public face: it may re-export from any layer. */
const publicEntry = '^src/index\\.ts$';

const root = fileURLToPath(new URL('..', import.meta.url));

function upwardRules(): IForbiddenRuleType[] {
  return layers.slice(0, -1).map((layer, i) => ({
    name: `no-upward-from-${layer.name}`,
    comment: `${layer.name} must not import ${layers
      .slice(i + 1)
      .map((l) => l.name)
      .join(', ')}`,
    severity: 'error',
    from: { path: layer.path, pathNot: publicEntry },
    to: { path: layers.slice(i + 1).map((l) => l.path) },
  }));
}

const rules: IForbiddenRuleType[] = [
  {
    name: 'no-cycle',
    comment: 'imports inside apps/node form no cycle',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
  ...upwardRules(),
];

async function check(ruleSet: IForbiddenRuleType[]): Promise<string[]> {
  const { output } = await cruise(['src'], {
    baseDir: root,
    ruleSet: { forbidden: ruleSet },
    validate: true,
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  });
  const result = output as ICruiseResult;
  expect(result.modules.length).toBeGreaterThan(20);
  return result.summary.violations.map((v) =>
    v.cycle === undefined
      ? `${v.rule.name}: ${v.from} -> ${v.to}`
      : `${v.rule.name}: ${v.cycle.map((step) => step.name).join(' -> ')}`,
  );
}

describe('apps/node import layers', () => {
  it('has no import cycle and no upward import', async () => {
    expect(await check(rules)).toEqual([]);
  });

  it('sees every layer', async () => {
    // Guards the rules themselves: a layer pattern that matches nothing would make its rule vacuous.
    const { output } = await cruise(['src'], {
      baseDir: root,
      tsPreCompilationDeps: true,
      doNotFollow: { path: 'node_modules' },
    });
    const sources = (output as ICruiseResult).modules.map((m) => m.source);
    for (const layer of layers) {
      expect(
        sources.some((s) => new RegExp(layer.path).test(s)),
        layer.name,
      ).toBe(true);
    }
  });

  it('reports an upward import when there is one', async () => {
    // The rules catch what they claim: a rule forbidding the downward node -> services import fires.
    const inverted: IForbiddenRuleType[] = [
      {
        name: 'node-imports-services',
        severity: 'error',
        from: { path: '^src/node/' },
        to: { path: '^src/services/' },
      },
    ];
    expect((await check(inverted)).length).toBeGreaterThan(0);
  });
});
