import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { type AttackerOptions, attackKinds, runScenario, type ScenarioResult } from '../src/index.js';
import { selfNamedOwnerTombstone, unsignedReceiptCheck } from './planted/broken-trust.js';

const replay = (nodes: number, seed: number) => `replay: pnpm sim attacker --nodes ${nodes} --seed ${seed}`;

function run(options: AttackerOptions): ScenarioResult {
  return runScenario<AttackerOptions>('attacker', options);
}

describe('attacker scenario', () => {
  it('same seed, same trace; another seed, another trace', () => {
    const a = run({ nodes: 20, seed: 4 });
    const b = run({ nodes: 20, seed: 4 });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.events).toBe(a.events);
    expect(b.counts).toEqual(a.counts);
    expect(run({ nodes: 20, seed: 5 }).traceHash).not.toBe(a.traceHash);
  });

  it('every attack of every kind is refused, nothing honest changes, caught attackers are slashed (seed sweep)', () => {
    const attempts: Record<string, number> = {};
    const refusedBy: Record<string, number> = {};
    let caught = 0;
    let reads = 0;
    const configs = [
      ...Array.from({ length: 6 }, (_, i) => ({ nodes: 30, seed: 1 + i })),
      { nodes: 60, seed: 50 },
    ];
    for (const { nodes, seed } of configs) {
      const result = run({ nodes, seed });
      expect(result.failures, replay(nodes, seed)).toEqual([]);
      for (const kind of attackKinds) {
        const tried = result.counts[`attempts.${kind}`]!;
        expect(result.counts[`refused.${kind}`], `${kind}: ${replay(nodes, seed)}`).toBe(tried);
        attempts[kind] = (attempts[kind] ?? 0) + tried;
      }
      // Every acknowledged object not deleted by its owner was read back byte for byte at the end.
      const live = result.counts.acked! - result.counts.deletes!;
      expect(result.checksByName['acked-readable']!.passed).toBe(live);
      expect(result.checksByName['refused-unchanged']!.passed).toBeGreaterThan(50);
      for (const [name, count] of Object.entries(result.counts))
        if (name.startsWith('refusedBy.'))
          refusedBy[name.slice(10)] = (refusedBy[name.slice(10)] ?? 0) + count;
      caught += result.checksByName['attacker-slashed']?.passed ?? 0;
      reads += result.checksByName['reads-byte-identical']!.passed;
    }
    // Every kind was tried, many times over the sweep.
    for (const kind of attackKinds) expect(attempts[kind], kind).toBeGreaterThan(5);
    // The packages' checks did the refusing, each of them (a limiter refusal would be PEER_BUSY).
    for (const code of [
      'DELETE_INVALID',
      'DESCRIPTOR_INVALID',
      'OBJECT_DELETED',
      'STORE_NOT_AUTHORIZED',
      'STALE_FENCING_TOKEN',
      'NOT_LOCK_HOLDER',
      'NOTHING_TAKEN',
    ])
      expect(refusedBy[code], code).toBeGreaterThan(0);
    expect(caught).toBeGreaterThan(3);
    expect(reads).toBeGreaterThan(100);
  });

  it('without faults there are no attacks and every object is read back', () => {
    const result = run({ nodes: 20, seed: 3, faults: false });
    expect(result.failures).toEqual([]);
    expect(result.faults.attacks).toBe(0);
    expect(result.checksByName['acked-readable']!.passed).toBe(result.counts.acked! - result.counts.deletes!);
  });

  it('runs from the command line with --json', () => {
    const out: string[] = [];
    const code = main(
      ['attacker', '--nodes', '16', '--seed', '2', '--attackers', '2', '--json'],
      (l) => out.push(l),
      () => {},
    );
    expect(code).toBe(0);
    const line = JSON.parse(out.at(-1)!);
    expect(line).toMatchObject({ scenario: 'attacker', nodes: 16, seed: 2, checks: { failed: 0 } });
    expect(
      main(
        ['attacker', '--nodes', '16', '--seed', '2', '--attackers', '8'],
        () => {},
        () => {},
      ),
    ).toBe(2);
  });
});

/** Runs seeds 1..100 at `nodes` until one fails its checks: that seed and its failures. */
function firstFailingSeed(
  options: Omit<AttackerOptions, 'seed'>,
): { seed: number; failures: readonly string[] } | undefined {
  for (let seed = 1; seed <= 100; seed++) {
    const result = run({ ...options, seed });
    if (result.checks.failed > 0) return { seed, failures: result.failures };
  }
  return undefined;
}

describe('planted weaknesses are caught within 100 seeds', () => {
  const nodes = 20;

  it('a node that counts receipts without checking their signature', () => {
    const caught = firstFailingSeed({ nodes, checkReceipt: unsignedReceiptCheck });
    expect(caught, 'the simulator missed the unsigned-receipt node').toBeDefined();
    expect(caught!.failures.some((f) => /^attack-refused: forged-receipt /.test(f))).toBe(true);
    expect(caught!.failures.some((f) => f.startsWith('receipts-genuine:'))).toBe(true);
    expect(run({ nodes, seed: caught!.seed }).failures, replay(nodes, caught!.seed)).toEqual([]);
  });

  it("a node that checks a tombstone against the key it names, not the descriptor's owner", () => {
    const caught = firstFailingSeed({ nodes, acceptTombstone: selfNamedOwnerTombstone });
    expect(caught, 'the simulator missed the self-named-owner node').toBeDefined();
    expect(caught!.failures.some((f) => /^attack-refused: delete-forged /.test(f))).toBe(true);
    expect(caught!.failures.some((f) => f.startsWith('acked-on-every-replica:'))).toBe(true);
    expect(run({ nodes, seed: caught!.seed }).failures, replay(nodes, caught!.seed)).toEqual([]);
  });
});
