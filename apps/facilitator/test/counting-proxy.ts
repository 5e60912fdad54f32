/**
 * A pass-through HTTP proxy in front of the devnet that counts broadcasts and records every request. The devnet takes
 * a repeated broadcast of the same bytes without complaint (as a node does), so only the wire shows whether a
 * facilitator sent one twice, or how many reads a settlement cost.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type CountingProxy = {
  readonly url: string;
  /** Transactions POSTed to /v2/transactions so far whose answer came back. */
  readonly broadcasts: number;
  /** Every request answered so far, as `METHOD /path?query`, oldest first. */
  readonly requests: readonly string[];
  close(): Promise<void>;
};

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  let broadcasts = 0;
  const requests: string[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host',
      ),
    );
    const answer = await fetch(`${target}${request.url}`, {
      method: request.method ?? 'GET',
      headers,
      ...(body.length > 0 ? { body } : {}),
    });
    const payload = Buffer.from(await answer.arrayBuffer());
    if (request.method === 'POST' && request.url === '/v2/transactions') broadcasts++;
    requests.push(`${request.method ?? 'GET'} ${request.url}`);
    response.writeHead(answer.status, {
      'content-type': answer.headers.get('content-type') ?? 'application/octet-stream',
    });
    response.end(payload);
  });
  // No WebSocket channel here, as on an API without one: the service's block feed is refused, and the chain is read at
  // the status rounds alone (every read through this proxy, counted).
  server.on('upgrade', (_request, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get broadcasts() {
      return broadcasts;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
