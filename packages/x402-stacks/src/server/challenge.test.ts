/**
 * The 402 challenge: encoded once per resource URL, and a pricing function that returns an unpayable price.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request, SELLER, scripted, URL_ } from '@x402-stacks/test-kit/server-doubles';
import { createResourceServer } from 'x402-stacks/server';

describe('the 402 challenge', () => {
  test('a static route encodes its challenge once per resource URL; the query is not part of it', async () => {
    const server = createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'stacks:2147483648',
      facilitator: scripted({}),
      sponsored: false,
    });
    const first = await server.admit(request({}, `${URL_}?a=1`));
    const second = await server.admit(request({}, `${URL_}?a=2`));
    assert.equal(first.action, 'reply');
    assert.equal(second.action, 'reply');
    if (first.action !== 'reply' || second.action !== 'reply') return;
    assert.equal(first.reply, second.reply, 'the same precomputed reply');
    assert.equal(JSON.parse(first.reply.body).resource.url, URL_);
  });

  test('a pricing function that returns an unpayable price answers 500 invalid_price', async () => {
    const server = createResourceServer({
      amount: () => '0',
      payTo: SELLER,
      network: 'testnet',
      facilitator: scripted({}),
    });
    const admission = await server.admit(request());
    assert.equal(admission.action === 'reply' && admission.reply.status, 500);
    assert.equal(
      admission.action === 'reply' && JSON.parse(admission.reply.body).error,
      'invalid_price',
    );
  });
});
