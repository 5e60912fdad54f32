/**
 * The Express after-handler (sellers on 127.0.0.1): a settle() that fails unexpectedly never hangs and never sends the held content.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { entry, paid, SELLER, scripted } from '@x402-stacks/test-kit/server-doubles';
import express from 'express';
import type { SettleResponse } from 'x402-stacks';
import { paymentMiddleware as expressPaymentMiddleware } from 'x402-stacks/express';

// Express 4 is installed under the npm alias `express4`; its API is the one @types/express describes.
const express4 = createRequire(import.meta.url)('express4') as typeof express;

describe('Express after-handler: a settle() that fails unexpectedly never hangs and never sends the held content', () => {
  for (const [name, createApp] of [
    ['express 5', express],
    ['express 4', express4],
  ] as const) {
    test(`${name}: a settle that throws is a 502, one that breaks the core is a 500; the connection closes`, async () => {
      const cases = [
        {
          // Through the in-process guard: like a service that is down.
          settle: async (): Promise<SettleResponse> => {
            throw new Error('boom at 127.0.0.1:3999');
          },
          status: 502,
          error: 'facilitator_unreachable',
        },
        {
          // A facilitator that answers no SettleResponse at all: the core itself throws.
          settle: async () => undefined as unknown as SettleResponse,
          status: 500,
          error: 'unexpected_settle_error',
        },
      ];
      for (const expected of cases) {
        let handled = 0;
        const app = createApp();
        app.use((_req: express.Request, res: express.Response, next: () => void) => {
          res.setHeader('x-request-id', 'r-1');
          next();
        });
        app.get(
          '/data',
          expressPaymentMiddleware({
            amount: '1000',
            payTo: SELLER,
            network: 'testnet',
            sponsored: false,
            settle: 'after-handler',
            facilitator: scripted({ settle: expected.settle }),
          }),
          (_req: express.Request, res: express.Response) => {
            handled++;
            res.setHeader('x-handler', 'ran');
            res.json({ content: 'secret' });
          },
        );
        let errorHandlerRan = false;
        app.use((error: Error, _req: express.Request, res: express.Response, _next: () => void) => {
          errorHandlerRan = true;
          res.status(500).send(`error handler: ${error.message}`);
        });
        const server = app.listen(0, '127.0.0.1');
        await once(server, 'listening');
        try {
          const response = await fetch(
            `http://127.0.0.1:${(server.address() as AddressInfo).port}/data`,
            { headers: paid(entry), signal: AbortSignal.timeout(3000) },
          );
          const text = await response.text();
          assert.equal(response.status, expected.status, text);
          assert.equal(JSON.parse(text).error, expected.error);
          assert.doesNotMatch(text, /secret|127\.0\.0\.1|boom|TypeError|undefined/);
          assert.equal(
            response.headers.get('x-handler'),
            null,
            "the handler's headers are dropped",
          );
          assert.equal(response.headers.get('x-request-id'), 'r-1', 'earlier middleware kept');
          assert.equal(handled, 1);
          assert.equal(errorHandlerRan, false);
        } finally {
          server.closeAllConnections();
          server.close();
        }
      }
    });
  }
});
