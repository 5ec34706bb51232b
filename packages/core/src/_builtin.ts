/**
 * A Node.js built-in module (`node:crypto`, `node:fs`, …) found with process.getBuiltinModule, or
 * undefined on a host without it. No static `node:` import, so browser bundles of core still build.
 */
export function nodeBuiltin(id: string): unknown {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.(id);
}
