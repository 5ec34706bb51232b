import { ed25519Portable, toHex } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  type EconomicsEvent,
  EVENT_BYTES_MAX,
  type EventBody,
  EventFormatError,
  EventTooLargeError,
  economicsEventSchema,
  encodeEvent,
  eventToJson,
  signEvent,
} from '../src/index.js';
import { evidence, signers } from './helpers.js';

const [alice, bob] = signers(2);
const A = alice!.nodeId;
const B = bob!.nodeId;
const escrowId = `${B}:7`;

const bodies: EventBody[] = [
  { type: 'transfer', to: B, amount: 1n },
  { type: 'transfer', to: B, amount: (1n << 96n) - 1n },
  { type: 'stake', amount: 255n },
  { type: 'unstake', amount: 256n },
  { type: 'delegate', operator: B, amount: 123_456_789_012_345n },
  { type: 'undelegate', operator: B, amount: 1n << 48n },
  { type: 'withdraw' },
  { type: 'set-commission', commissionBps: 10_000 },
  { type: 'pos-result', holder: B, shard: evidence(42), passed: false },
  { type: 'uptime', subject: B, up: true },
  { type: 'bandwidth', subject: B, bytes: Number.MAX_SAFE_INTEGER },
  { type: 'slash', accused: B, reason: 'protocol-violation', evidence: evidence(1) },
  { type: 'dispute', escrowId, evidence: evidence(2) },
  { type: 'vote', escrowId, overturn: true },
  { type: 'appeal', escrowId, evidence: evidence(3) },
];

describe('canonical event encoding', () => {
  it.each(bodies.map((body) => [body.type, body] as const))(
    '%s round-trips through bytes and JSON',
    (_, body) => {
      const event = alice!.sign(body, 1_700_000_000_000);
      const bytes = encodeEvent(event);
      expect(bytes.length).toBeLessThanOrEqual(EVENT_BYTES_MAX);
      const decoded = decodeEvent(bytes.slice());
      expect(decoded).toEqual(event);
      expect(Object.isFrozen(decoded)).toBe(true);
      // An equal object that this package did not make encodes to the same bytes.
      expect(encodeEvent({ ...event } as EconomicsEvent)).toEqual(bytes);
      // The JSON form parses back to the same event.
      expect(economicsEventSchema.parse(JSON.parse(JSON.stringify(eventToJson(event))))).toEqual(event);
    },
  );

  it('has a fixed layout (known answer): magic, version, type, actor, seq, time, body, signature', () => {
    const event = signEvent(
      { type: 'stake', amount: 0x0102n },
      { secretKey: new Uint8Array(32).fill(1), seq: 3, timeMs: 0x0a0b, ed25519: ed25519Portable },
    );
    const bytes = encodeEvent(event);
    expect(toHex(bytes.subarray(0, 4))).toBe('54450101');
    expect(toHex(bytes.subarray(4, 36))).toBe(event.actor);
    expect(toHex(bytes.subarray(36, 52))).toBe('00000000000000030000000000000a0b');
    expect(toHex(bytes.subarray(52, 55))).toBe('020102');
    expect(bytes.length).toBe(55 + 64);
    expect(toHex(bytes.subarray(55))).toBe(event.signature);
  });

  const base = () => encodeEvent(alice!.sign({ type: 'stake', amount: 5n }, 1)).slice();

  it('refuses oversize input before decoding', () => {
    expect(() => decodeEvent(new Uint8Array(EVENT_BYTES_MAX + 1))).toThrow(EventTooLargeError);
  });

  it.each([
    ['bad magic', (b: Uint8Array) => void (b[0] = 0)],
    ['unknown version', (b: Uint8Array) => void (b[2] = 2)],
    ['unknown type', (b: Uint8Array) => void (b[3] = 99)],
    ['seq 0', (b: Uint8Array) => void b.fill(0, 36, 44)],
    ['seq beyond 2^53', (b: Uint8Array) => void (b[37] = 0x20)],
    ['non-minimal amount', (b: Uint8Array) => void b.set([2, 0], 52)],
    ['amount length 0', (b: Uint8Array) => void (b[52] = 0)],
  ])('refuses %s', (_, corrupt) => {
    const bytes = base();
    corrupt(bytes);
    expect(() => decodeEvent(bytes)).toThrow(EventFormatError);
  });

  it('refuses trailing and missing bytes', () => {
    const bytes = base();
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes.subarray(0, 54));
    longer.set(bytes.subarray(54), 55);
    expect(() => decodeEvent(longer)).toThrow(/trailing/);
    expect(() => decodeEvent(bytes.subarray(0, bytes.length - 1))).toThrow(EventFormatError);
    expect(() => decodeEvent(bytes.subarray(0, 60))).toThrow(EventFormatError);
  });

  it('refuses a boolean other than 0 or 1', () => {
    const bytes = encodeEvent(alice!.sign({ type: 'uptime', subject: B, up: true }, 1)).slice();
    bytes[52 + 32] = 2;
    expect(() => decodeEvent(bytes)).toThrow(/0 or 1/);
  });

  it('ids that share their first bytes decode to their own hex (the id cache checks all 32 bytes)', () => {
    const ids = ['aabbccdd'.padEnd(64, '0'), 'aabbccdd'.padEnd(64, '1'), 'aabbccdd'.padEnd(64, '0')];
    const decoded = ids.map((to) =>
      decodeEvent(encodeEvent(alice!.sign({ type: 'transfer', to, amount: 1n }, 1))),
    );
    expect(decoded.map((e) => (e.type === 'transfer' ? e.to : ''))).toEqual(ids);
  });

  it('the schema refuses bad fields with a typed error from encodeEvent', () => {
    const event = alice!.sign({ type: 'transfer', to: B, amount: 1n }, 1);
    expect(() => encodeEvent({ ...event, amount: 0n } as EconomicsEvent)).toThrow(EventFormatError);
    expect(() => encodeEvent({ ...event, to: B.toUpperCase() } as EconomicsEvent)).toThrow(EventFormatError);
    expect(() => encodeEvent({ ...event, amount: 1n << 96n } as EconomicsEvent)).toThrow(EventFormatError);
    expect(economicsEventSchema.safeParse({ ...eventToJson(event), amount: '01' }).success).toBe(false);
    expect(economicsEventSchema.safeParse({ ...eventToJson(event), extra: 1 }).success).toBe(false);
    expect(() => alice!.sign({ type: 'set-commission', commissionBps: 10_001 }, 1)).toThrow(EventFormatError);
    expect(A).not.toBe(B);
  });
});
