/**
 * Test sellers and documents: the docs' schema example (v1), a v2 challenge with the Bazaar extension, and a local
 * HTTP server that answers each path with a scripted response.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodePaymentRequiredHeader } from 'x402-stacks/protocol';

export const MAINNET_PAY_TO = 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7';
export const TESTNET_PAY_TO = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';

type Json = Record<string, unknown>;

/** The "Complete Schema Example" of the x402scan docs, for `url`, with overrides on the first accept. */
export function docsDocument(url: string, accept: Json = {}, top: Json = {}): Json {
  return {
    x402Version: 1,
    name: 'Weather API',
    image: 'https://your-api.com/logo.png',
    accepts: [
      {
        scheme: 'exact',
        network: 'stacks',
        maxAmountRequired: '1000000',
        resource: url,
        description: 'Get current weather data for any city',
        mimeType: 'application/json',
        payTo: MAINNET_PAY_TO,
        maxTimeoutSeconds: 60,
        asset: 'STX',
        outputSchema: {
          input: {
            type: 'request',
            method: 'GET',
            queryParams: { city: { type: 'string', required: true, description: 'City name' } },
          },
          output: { temperature: { type: 'number' }, conditions: { type: 'string' } },
        },
        ...accept,
      },
    ],
    ...top,
  };
}

/** A v2 challenge for `url` on testnet, with `extensions.bazaar`. */
export function v2Challenge(url: string, accept: Json = {}, top: Json = {}): Json {
  return {
    x402Version: 2,
    resource: {
      url,
      description: 'Price quotes',
      mimeType: 'application/json',
      serviceName: 'Quotes',
    },
    accepts: [
      {
        scheme: 'exact',
        network: 'stacks:2147483648',
        amount: '2500',
        asset: 'STX',
        payTo: TESTNET_PAY_TO,
        maxTimeoutSeconds: 300,
        ...accept,
      },
    ],
    extensions: {
      bazaar: {
        info: {
          input: { type: 'http', method: 'GET', queryParams: { symbol: 'BTC' } },
          output: { type: 'json', example: { price: '97000.12' } },
        },
        schema: { type: 'object' },
      },
    },
    ...top,
  };
}

/** A scripted answer. */
export type Answer = {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
};

/** The answer a v2 seller gives: 402, the challenge in the payment-required header and as the body. */
export function v2Answer(challenge: Json): Answer {
  return {
    status: 402,
    headers: {
      'content-type': 'application/json',
      'payment-required': encodePaymentRequiredHeader(challenge as never),
    },
    body: JSON.stringify(challenge),
  };
}

/** A 402 with a JSON body. */
export function jsonAnswer(document: unknown, status = 402): Answer {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(document),
  };
}

/** A local seller: `answer(path)` decides each response; `hits` counts requests per path and method. */
export async function startSeller(
  answer: (path: string, request: IncomingMessage) => Answer | undefined,
): Promise<{ url: string; hits: Map<string, number>; stop(): Promise<void> }> {
  const hits = new Map<string, number>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const key = `${request.method} ${path}`;
    hits.set(key, (hits.get(key) ?? 0) + 1);
    const reply = answer(path, request) ?? { status: 404, body: 'not found' };
    const send = () => {
      if (response.destroyed) return;
      response.writeHead(reply.status ?? 200, reply.headers ?? {});
      response.end(reply.body ?? '');
    };
    if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
