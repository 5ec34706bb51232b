import { seededRandom, toHex } from '@trinity/core';
import { ShardLockManager } from '@trinity/vsa';
import {
  Coordinator,
  isCoordinatorMessage,
  Participant,
  type TxEffect,
  type TxLogRecord,
} from '../src/index.ts';

const rnd = seededRandom(1);
const c = new Coordinator({ nodeId: 'c', random: rnd, config: { maxConcurrentTransactions: 65536 } });
const ps = new Map(
  Array.from({ length: 4 }, (_, i) => [
    `p${i}`,
    new Participant({ nodeId: `p${i}`, locks: new ShardLockManager() }),
  ]),
);
const queue: [string, TxEffect][] = [];
let now = 1000;
function run(node: string, effects: TxEffect[]) {
  for (const e of effects) queue.push([node, e]);
}
let done = 0;
function drain() {
  for (let qi = 0; qi < queue.length; qi++) {
    const [node, e] = queue[qi]!;
    if (e.kind === 'send') {
      const m = e.message;
      run(e.to, isCoordinatorMessage(m) ? c.handle(m, now) : ps.get(e.to)!.handle(m, now));
    } else if (e.kind === 'append') {
      const r = e.record as TxLogRecord;
      JSON.stringify(r);
      run(node, r.type.startsWith('coord') ? c.logged(r, now) : ps.get(node)!.logged(r, now));
    } else if (e.kind === 'stage') run(node, ps.get(node)!.staged(e.txId, true, now));
    else if (e.kind === 'commitStaged') run(node, ps.get(node)!.applied(e.txId, now));
    else if (e.kind === 'finished') done++;
  }
  queue.length = 0;
}
const N = 50000;
const t = performance.now();
for (let i = 0; i < N; i++) {
  const tx = c.beginTransaction(now);
  for (const [node] of ps) c.addParticipant(tx, toHex(rnd.bytes(32)), node);
  run('c', c.prepare(tx, now));
  if (i % 64 === 63) drain();
  now += 0.1;
}
drain();
const ms = performance.now() - t;
console.log({ done, usPerTx: ((ms * 1000) / N).toFixed(1) });
