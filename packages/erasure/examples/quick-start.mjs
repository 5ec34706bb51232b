import {
  chooseErasureParameters,
  createEncoder,
  decodeStripes,
  encodeStripes,
  TooFewShardsError,
} from '@trinity/erasure';

// RS(4, 2): 4 data shards, 2 parity shards; any 4 of the 6 rebuild the data.
const rs = createEncoder({ dataShards: 4, parityShards: 2 });
const data = new TextEncoder().encode('The quick brown fox jumps over the lazy dog.');
const shards = rs.split(data); // 6 shards of 11 bytes, data zero-padded, parity zeroed
rs.encode(shards); // fills shards[4] and shards[5]
console.log('verified:', rs.verify(shards));

// Lose any two shards (null marks a missing one), then rebuild them.
const damaged = [...shards];
damaged[1] = null;
damaged[4] = null;
rs.reconstruct(damaged);
console.log('restored:', new TextDecoder().decode(rs.join(damaged, data.length)));

// Three losses are one too many: a typed error, never a wrong answer.
try {
  rs.reconstruct([null, null, null, ...shards.slice(3)]);
} catch (error) {
  if (error instanceof TooFewShardsError) console.log(`${error.name}: ${error.message}`);
}

// Streams: stripes of k shards with a SHA-256 each, and back, with shards lost on the way.
const source = [new Uint8Array(10_000).map((_, i) => i % 251)];
const stored = [];
for await (const stripe of encodeStripes(source, { dataShards: 4, parityShards: 2, shardBytes: 1024 })) {
  const shardsLeft = stripe.shards.map((shard, i) => (i === stripe.index % 6 ? null : shard));
  stored.push({ shards: shardsLeft, hashes: stripe.hashes, dataBytes: stripe.dataBytes });
}
let decodedBytes = 0;
for await (const bytes of decodeStripes(stored, { dataShards: 4, parityShards: 2 }))
  decodedBytes += bytes.length;
console.log(`stripes: ${stored.length}, decoded bytes: ${decodedBytes}`);

// Which (k, m) does a 40-node network with 1 % node loss per repair window need for nine nines?
const choice = chooseErasureParameters({
  healthyNodes: 40,
  nodeFailureProbability: 0.01,
  targetDurability: 0.999999999,
  maxOverhead: 2,
});
console.log(
  `choose RS(${choice.dataShards},${choice.parityShards}), overhead ${choice.overhead.toFixed(2)}, loss ${choice.lossProbability.toExponential(2)}`,
);
