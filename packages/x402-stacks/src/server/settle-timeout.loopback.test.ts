/**
 * A settle that times out over HTTP (a facilitator on 127.0.0.1) is never served from a status not bound to the request.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { entry, SELLER } from '@x402-stacks/test-kit/server-doubles';
import express from 'express';
import { Hono } from 'hono';
import { generateKeypair } from 'x402-stacks';
import { paymentMiddleware as expressPaymentMiddleware } from 'x402-stacks/express';
import { paymentMiddleware as honoPaymentMiddleware } from 'x402-stacks/hono';
import { encodePaymentSignatureHeader } from 'x402-stacks/protocol';
import { createFacilitatorClient } from 'x402-stacks/server';
import { createPaymentTransaction } from 'x402-stacks/stacks';

describe('a settle that times out over HTTP is never served from a status not bound to the request', () => {
  // A replay: an old transaction, already settled for a cheap route, resent to this route. The facilitator's settle
  // hangs past the timeout, and its status of the txid says success (the old settlement).
  let stub: { url: string; server: Server; settles: number };
  before(async () => {
    const state = { settles: 0 };
    const server = createServer((req, res) => {
      const path = req.url ?? '';
      req.resume();
      if (path === '/settle') {
        state.settles++;
        return; // never answers
      }
      if (path.startsWith('/settlements/')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            transaction: path.slice('/settlements/'.length),
            state: 'success',
            payer: SELLER,
            network: 'stacks:2147483648',
            blockHeight: 7,
          }),
        );
        return;
      }
      if (path === '/verify') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ isValid: true, payer: SELLER }));
        return;
      }
      res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    stub = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      server,
      get settles() {
        return state.settles;
      },
    };
  });
  after(() => {
    stub.server.closeAllConnections();
    stub.server.close();
  });

  // A payment whose transaction parses, so its txid is known: the status is asked by it. Each request carries its
  // own, as distinct buyers' replays would: one payment sent twice at once is held for the first request
  // (`after-handler`) and, once claimed, refused by the seller before any settle.
  const replayed = async (): Promise<Record<string, string>> => ({
    'payment-signature': encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: entry,
      payload: {
        transaction: (
          await createPaymentTransaction({
            account: generateKeypair('testnet'),
            requirements: entry,
            nonce: 0n,
            fee: 400n,
          })
        ).transaction,
      },
    }),
  });

  for (const settle of ['before-handler', 'after-handler'] as const) {
    test(`${settle}: 402 settlement_pending on Express and Hono, the content never sent`, async () => {
      const options = {
        amount: '1000',
        payTo: SELLER,
        network: 'testnet',
        sponsored: false,
        settle,
        facilitator: createFacilitatorClient({ url: stub.url, settleTimeoutMs: 100 }),
        settlementPending: { attempts: 3, intervalMs: 1 },
      } as const;
      let handled = 0;
      const app = express();
      app.get('/data', expressPaymentMiddleware(options), (_req, res) => {
        handled++;
        res.json({ content: 'secret' });
      });
      const hono = new Hono();
      hono.get('/data', honoPaymentMiddleware(options), (c) => {
        handled++;
        return c.json({ content: 'secret' });
      });
      const listening = app.listen(0, '127.0.0.1');
      await once(listening, 'listening');
      const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/data`;
      try {
        const settlesBefore = stub.settles;
        for (const response of [
          await fetch(url, { headers: await replayed() }),
          await hono.request('/data', { headers: await replayed() }),
        ]) {
          const text = await response.text();
          assert.equal(response.status, 402, text);
          assert.equal(JSON.parse(text).error, 'settlement_pending');
          assert.doesNotMatch(text, /secret/);
          const receipt = JSON.parse(
            Buffer.from(response.headers.get('payment-response')!, 'base64').toString(),
          );
          assert.equal(receipt.success, false);
        }
        assert.equal(stub.settles - settlesBefore, 2, 'each request did try to settle');
        if (settle === 'before-handler') assert.equal(handled, 0, 'the handler never ran');
      } finally {
        listening.close();
      }
    });
  }
});
