// One side of the raw node:tls throughput measurement (the floor of the data channel): `sink`
// prints "host:port" and counts what arrives on each TLS 1.3 connection, answering the count when
// the sender ends; run from put-get.bench.ts in a separate process.
import { connect, createServer } from 'node:tls';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { createChannelCredentials } from '../src/p2p/channel-cert.js';

/** The credentials of a data channel (P-256 certificate bound to a fresh libp2p key). */
export async function benchCredentials() {
  return createChannelCredentials(await generateKeyPair('Ed25519'), Date.now());
}

/** Sends `bytes` of `chunk` over one TLS 1.3 connection to `address`; resolves with the sink's count. */
export async function sendOverTls(address: string, chunk: Uint8Array, bytes: number): Promise<number> {
  const credentials = await benchCredentials();
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  const socket = connect({
    host,
    port,
    key: credentials.keyPem,
    cert: credentials.certPem,
    minVersion: 'TLSv1.3',
    rejectUnauthorized: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  socket.end();
  let answer = '';
  for await (const data of socket) answer += (data as Buffer).toString();
  return Number(answer);
}

if (process.argv[2] === 'sink') {
  const credentials = await benchCredentials();
  const server = createServer(
    { key: credentials.keyPem, cert: credentials.certPem, minVersion: 'TLSv1.3' },
    (socket) => {
      let total = 0;
      socket.on('data', (data: Buffer) => {
        total += data.length;
      });
      socket.on('end', () => socket.end(String(total)));
      socket.on('error', () => {});
    },
  );
  server.listen(0, '127.0.0.1', () => {
    const bound = server.address();
    process.stdout.write(`127.0.0.1:${typeof bound === 'object' && bound !== null ? bound.port : 0}\n`);
  });
  process.stdin.resume();
  process.stdin.on('end', () => server.close(() => process.exit(0)));
}
