// Every storage benchmark, one after the other (each reads `--json` itself). `--only trust` or
// `--only shard-store` runs one of them.
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
if (only === undefined || only === 'shard-store') await import('./shard-store.bench.js');
if (only === undefined || only === 'trust') await import('./trust.bench.js');
