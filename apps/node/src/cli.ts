// The daemon is not written yet: `pnpm start` says what is built so far.
console.log('Trinity: the daemon is not written yet. Built so far: @trinity/core. See README.md.');
