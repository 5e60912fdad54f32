/**
 * OPTIONS is priced like every method on Express and Hono sellers on 127.0.0.1; only a real CORS preflight is answered.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { SELLER, scripted } from '@x402-stacks/test-kit/server-doubles';
import express from 'express';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { paymentMiddleware as expressPaymentMiddleware } from 'x402-stacks/express';
import { paymentMiddleware as honoPaymentMiddleware } from 'x402-stacks/hono';

// Express 4 is installed under the npm alias `express4`; its API is the one @types/express describes.
const express4 = createRequire(import.meta.url)('express4') as typeof express;

describe('OPTIONS is priced like every method; only a real CORS preflight is answered, with 204', () => {
  const options = {
    amount: '1000',
    payTo: SELLER,
    network: 'testnet',
    facilitator: scripted({}),
    sponsored: false,
  } as const;
  const preflight = {
    origin: 'https://buyer.example',
    'access-control-request-method': 'GET',
  };
  // A CORS middleware as an app mounts it: it answers preflights itself, and adds its headers to the rest.
  const expressCors = (req: express.Request, res: express.Response, next: () => void) => {
    res.setHeader('access-control-allow-origin', '*');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.setHeader('access-control-allow-methods', 'GET, POST');
      res.setHeader('access-control-allow-headers', 'payment-signature');
      res.statusCode = 204;
      res.end();
      return;
    }
    next();
  };

  for (const [name, createApp] of [
    ['express 5', express],
    ['express 4', express4],
  ] as const) {
    test(`${name}: app.use('/premium', paymentMiddleware) with app.all('/premium/report')`, async () => {
      let handled = 0;
      const start = async (withCors: boolean) => {
        const app = createApp();
        if (withCors) app.use(expressCors);
        app.use('/premium', expressPaymentMiddleware(options));
        app.all('/premium/report', (_req, res) => {
          handled++;
          res.json({ content: 'secret' });
        });
        const server = app.listen(0, '127.0.0.1');
        await once(server, 'listening');
        return {
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/premium/report`,
          server,
        };
      };
      const plain = await start(false);
      const cors = await start(true);
      try {
        const unpaid = await fetch(plain.url, { method: 'OPTIONS' });
        const unpaidText = await unpaid.text();
        assert.equal(unpaid.status, 402, unpaidText);
        assert.equal(JSON.parse(unpaidText).error, 'payment_required');
        assert.ok(unpaid.headers.get('payment-required'));
        const answered = await fetch(plain.url, { method: 'OPTIONS', headers: preflight });
        assert.equal(answered.status, 204);
        assert.equal(await answered.text(), '');
        const viaCors = await fetch(cors.url, { method: 'OPTIONS', headers: preflight });
        assert.equal(viaCors.status, 204);
        assert.equal(await viaCors.text(), '');
        assert.equal(viaCors.headers.get('access-control-allow-origin'), '*');
        assert.equal(viaCors.headers.get('access-control-allow-methods'), 'GET, POST');
        const corsUnpaid = await fetch(cors.url, { method: 'OPTIONS' });
        assert.equal(corsUnpaid.status, 402);
        assert.equal(corsUnpaid.headers.get('access-control-allow-origin'), '*');
        assert.equal((await fetch(plain.url, { method: 'POST' })).status, 402);
        assert.equal(handled, 0, 'the handler never ran');
      } finally {
        plain.server.close();
        cors.server.close();
      }
    });
  }

  test("hono 4: app.use('/premium/*', paymentMiddleware) with app.all('/premium/report')", async () => {
    let handled = 0;
    const start = (withCors: boolean) => {
      const app = new Hono();
      if (withCors) {
        app.use(
          '*',
          cors({
            origin: '*',
            allowMethods: ['GET', 'POST'],
            allowHeaders: ['payment-signature'],
          }),
        );
      }
      app.use('/premium/*', honoPaymentMiddleware(options));
      app.all('/premium/report', (c) => {
        handled++;
        return c.json({ content: 'secret' });
      });
      return app;
    };
    const plain = start(false);
    const withCors = start(true);
    const unpaid = await plain.request('/premium/report', { method: 'OPTIONS' });
    const unpaidText = await unpaid.text();
    assert.equal(unpaid.status, 402, unpaidText);
    assert.equal(JSON.parse(unpaidText).error, 'payment_required');
    assert.ok(unpaid.headers.get('payment-required'));
    const answered = await plain.request('/premium/report', {
      method: 'OPTIONS',
      headers: preflight,
    });
    assert.equal(answered.status, 204);
    assert.equal(await answered.text(), '');
    const viaCors = await withCors.request('/premium/report', {
      method: 'OPTIONS',
      headers: preflight,
    });
    assert.equal(viaCors.status, 204);
    assert.equal(await viaCors.text(), '');
    assert.equal(viaCors.headers.get('access-control-allow-origin'), '*');
    assert.match(viaCors.headers.get('access-control-allow-methods') ?? '', /POST/);
    // hono/cors answers every OPTIONS itself; the rest reaches the payment middleware with its headers.
    const corsUnpaid = await withCors.request('/premium/report', {
      method: 'POST',
      headers: { origin: 'https://buyer.example' },
    });
    assert.equal(corsUnpaid.status, 402);
    assert.equal(corsUnpaid.headers.get('access-control-allow-origin'), '*');
    assert.equal((await plain.request('/premium/report', { method: 'POST' })).status, 402);
    assert.equal(handled, 0, 'the handler never ran');
  });
});
