/**
 * The demo seller for the end-to-end tests: real x402-stacks Hono payment middleware on 127.0.0.1, with the
 * facilitator engine in-process (the registry only ever sends unpaid probes, so no chain is contacted).
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createFacilitator } from 'x402-stacks';
import { paymentMiddleware } from 'x402-stacks/hono';
import { TESTNET_PAY_TO } from './fixtures.js';

/** The routes the demo seller prices, as [path, name, amount, asset, description]. */
export const DEMO_ROUTES = [
  [
    '/weather',
    'Demo weather',
    '2500',
    'STX',
    'Current temperature, wind and conditions for any city',
  ],
  [
    '/btc-price',
    'BTC spot price',
    '120',
    'sBTC',
    'Volume-weighted bitcoin price across major exchanges',
  ],
  [
    '/summarize',
    'Text summarizer',
    '15000',
    'STX',
    'Summarizes a web page or a document into five bullets',
  ],
] as const;

/** Starts the demo seller; resolves with its base URL and a stop function. */
export async function startDemoSeller(): Promise<{ url: string; stop(): Promise<void> }> {
  const facilitator = createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:9' } } });
  const app = new Hono();
  for (const [path, name, amount, asset, description] of DEMO_ROUTES) {
    app.use(
      path,
      paymentMiddleware({
        amount,
        asset,
        payTo: TESTNET_PAY_TO,
        network: 'testnet',
        facilitator,
        name,
        description,
        mimeType: 'application/json',
        outputSchema: {
          input: {
            type: 'http',
            method: 'GET',
            queryParams: { q: { type: 'string', required: true } },
          },
          output: { result: { type: 'string' } },
        },
      }),
    );
    app.get(path, (c) => c.json({ result: 'paid content' }));
  }
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
