import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.ts';

// Two entries share one chunk of the helpers both use (errors, assertions, hex), instead of each
// carrying its own copy: a bundle that reaches both has them once, and an AssertionError thrown by
// `@trinity/core/fs` is the class the main entry exports.
export default defineConfig({ ...packageBuild({ index: 'src/index.ts', fs: 'src/fs.ts' }), splitting: true });
