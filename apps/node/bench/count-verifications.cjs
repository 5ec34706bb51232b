// Counts the ed25519 verifications each node process makes, by caller: a preload for the node
// processes of a bench or devnet (they inherit NODE_OPTIONS), not part of the daemon.
//   TRINITY_COUNT_VERIFY_DIR=/tmp/counts NODE_OPTIONS="--require ./bench/count-verifications.cjs" \
//     pnpm bench -- --rounds 1 --modes encrypted --warmup-mib 0
// Each node writes `<dir>/<pid>-<ms>.json` (calls by their six innermost callers, most first) at exit
// and on SIGUSR2, which also starts a new count: signal the nodes between operations to split them.
// Every call captures a stack (tens of microseconds): count with it, do not measure CPU with it.
'use strict';

const dir = process.env.TRINITY_COUNT_VERIFY_DIR;
if (dir !== undefined && process.argv.some((arg) => arg.endsWith('cli.js'))) {
  const crypto = require('node:crypto');
  const { writeFileSync } = require('node:fs');
  const { join } = require('node:path');
  const verify = crypto.verify;
  /** Ignored frames: this wrapper's own and the crypto back ends' helpers. */
  const plumbing = /^(Object\.verify|verify|verifyWith|\?)$/;
  let counts = new Map();
  // An ed25519 verify is the one node:crypto verify without a digest algorithm.
  crypto.verify = function countedVerify(algorithm, ...rest) {
    if (algorithm === null || algorithm === undefined) {
      const callers = (new Error().stack ?? '')
        .split('\n')
        .slice(2, 14)
        .map((line) => line.match(/at (?:async )?([^\s(]+)/)?.[1] ?? '?')
        .filter((name) => !plumbing.test(name))
        .slice(0, 6)
        .join(' < ');
      counts.set(callers, (counts.get(callers) ?? 0) + 1);
    }
    return verify.call(this, algorithm, ...rest);
  };
  const write = () => {
    const sorted = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]));
    writeFileSync(join(dir, `${process.pid}-${Date.now()}.json`), `${JSON.stringify(sorted, null, 1)}\n`);
    counts = new Map();
  };
  process.on('SIGUSR2', write);
  process.on('exit', write);
}
