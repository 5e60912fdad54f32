/**
 * The 402 challenge: encoded once per resource URL, and a pricing function that returns an unpayable price.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createResourceServer,
  type FacilitatorClient,
  type PaywallRequest,
} from 'x402-stacks/server';

const SELLER = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
const URL_ = 'http://seller.test/api/data';

function request(headers: Record<string, string> = {}, url = URL_): PaywallRequest<null> {
  return { url, header: (name) => headers[name], request: null };
}

/** An in-process facilitator whose answers a test scripts. */
function scripted(overrides: Partial<FacilitatorClient>): FacilitatorClient {
  return {
    verify: async () => ({ isValid: true, payer: SELLER }),
    settle: async () => ({
      success: true,
      transaction: 'ab'.repeat(32),
      network: 'stacks:2147483648',
    }),
    status: async () => undefined,
    supported: () => ({ kinds: [], extensions: [], signers: {} }),
    ...overrides,
  };
}

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
