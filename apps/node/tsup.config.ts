import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.ts';

export default defineConfig({
  ...packageBuild({
    index: 'src/index.ts',
    cli: 'src/cli/main.ts',
    'decrypt-worker': 'src/services/objects/decrypt-worker.ts',
  }),
  banner: { js: '#!/usr/bin/env node' },
});
