import { ManualClock, parseConfig, seededRandom, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { z } from 'zod';

// Config: defaults filled in, bad input rejected with one readable line.
const schema = z.object({ replicas: z.number().int().min(1).max(16).default(3) }).strict();
console.log(parseConfig(schema, {}));
try {
  parseConfig(schema, { replicas: 99 }, 'demo config');
} catch (error) {
  console.log(error.message);
}

// Reproducible randomness and virtual time for simulations.
const random = seededRandom(42);
const clock = new ManualClock();
clock.setTimeout(() => console.log(`timer fired at ${clock.nowMs()} ms, roll ${random.int(1, 6)}`), 250);
clock.advance(1_000);

// Hashing with the fastest backend on the host.
console.log(toHex(sha256(utf8ToBytes('abc'))));
