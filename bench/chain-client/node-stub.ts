/**
 * A stand-in Stacks node for bench/chain-client, in a process of its own so that its CPU is not the client's: it
 * answers `POST /v2/transactions` with the body's txid, as a node that accepts it does, and anything else with `{}`.
 * Usage: fork node-stub.ts with an IPC channel; it sends `{ url }` once it listens and exits when the channel closes.
 * @module
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

if (!process.send) throw new Error('usage: fork node-stub.ts with an IPC channel');

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body =
      req.method === 'POST'
        ? JSON.stringify(createHash('sha512-256').update(Buffer.concat(chunks)).digest('hex'))
        : '{}';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.send!({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
process.on('disconnect', () => process.exit(0));
