/**
 * A facilitator on 127.0.0.1 that answers a refusal with a 4xx: the refusal becomes a 402 with its reason.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import {
  entry,
  fakeFacilitatorService,
  paid,
  request,
  SELLER,
} from '@x402-stacks/test-kit/server-doubles';
import express from 'express';
import { paymentMiddleware as expressPaymentMiddleware } from 'x402-stacks/express';
import { createResourceServer } from 'x402-stacks/server';

describe('a facilitator that answers a refusal with a 4xx: the refusal, a 402 with its reason', () => {
  const refusedSettle = JSON.stringify({
    success: false,
    errorReason: 'duplicate_settlement',
    errorMessage: 'this transaction was already settled',
    transaction: 'ab'.repeat(32),
    network: 'stacks:2147483648',
    payer: SELLER,
  });
  const refusedVerify = JSON.stringify({
    isValid: false,
    invalidReason: 'insufficient_funds',
    payer: SELLER,
  });
  const services: Server[] = [];
  const serviceAnswering = async (answer: (path: string) => { status: number; body: string }) => {
    const service = await fakeFacilitatorService(answer);
    services.push(service.server);
    return service.url;
  };
  after(() => {
    for (const server of services) server.close();
  });
  const routeOn = (facilitatorUrl: string, settle: 'before-handler' | 'after-handler') =>
    createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      facilitatorUrl,
      sponsored: false,
      settle,
    });

  test('settle answers 400 duplicate_settlement: 402 duplicate_settlement, on the core and through Express', async () => {
    const url = await serviceAnswering(() => ({ status: 400, body: refusedSettle }));
    const admission = await routeOn(url, 'before-handler').admit(request(paid(entry)));
    assert.equal(admission.action, 'reply');
    if (admission.action !== 'reply') return;
    assert.equal(admission.reply.status, 402, admission.reply.body);
    assert.equal(JSON.parse(admission.reply.body).error, 'duplicate_settlement');

    let handled = 0;
    const app = express();
    app.get(
      '/data',
      expressPaymentMiddleware({
        amount: '1000',
        payTo: SELLER,
        network: 'testnet',
        facilitatorUrl: url,
        sponsored: false,
      }),
      (_req, res) => {
        handled++;
        res.json({ content: 'secret' });
      },
    );
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const response = await fetch(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/data`,
        { headers: paid(entry) },
      );
      const text = await response.text();
      assert.equal(response.status, 402, text);
      assert.equal(JSON.parse(text).error, 'duplicate_settlement');
      assert.ok(response.headers.get('payment-required'));
      assert.equal(handled, 0);
    } finally {
      server.close();
    }
  });

  test('verify answers 422 with a refusal: 402 with its reason, nothing settled', async () => {
    const paths: string[] = [];
    const url = await serviceAnswering((path) => {
      paths.push(path);
      return path === '/verify'
        ? { status: 422, body: refusedVerify }
        : { status: 200, body: refusedSettle };
    });
    const admission = await routeOn(url, 'after-handler').admit(request(paid(entry)));
    assert.equal(admission.action === 'reply' && admission.reply.status, 402);
    assert.equal(
      admission.action === 'reply' && JSON.parse(admission.reply.body).error,
      'insufficient_funds',
    );
    assert.deepEqual(paths, ['/verify']);
  });

  test('a 5xx with a refusal body, a 4xx with another body, or a 4xx claiming success: still 502', async () => {
    const accepted = JSON.stringify({
      success: true,
      transaction: 'ab'.repeat(32),
      network: 'stacks:2147483648',
    });
    for (const answer of [
      { status: 500, body: refusedSettle },
      { status: 400, body: '{"error":"bad_request"}' },
      { status: 400, body: 'not json' },
      { status: 409, body: accepted },
    ]) {
      const url = await serviceAnswering(() => answer);
      const admission = await routeOn(url, 'before-handler').admit(request(paid(entry)));
      assert.equal(admission.action === 'reply' && admission.reply.status, 502, answer.body);
      assert.equal(
        admission.action === 'reply' && JSON.parse(admission.reply.body).error,
        'facilitator_bad_response',
      );
    }
  });
});
