/**
 * Attack review: the signed receipt a buyer keeps as proof of a payment must be the receipt of that payment: its
 * transaction, and the terms that were paid, whether or not the seller signed its offers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChainClient } from '../chain/client.js';
import {
  offersExtension,
  receiptExtension,
  signOffer,
  signReceipt,
} from '../extensions/offer-receipt/index.js';
import { encodePaymentRequiredHeader, encodePaymentResponseHeader } from '../protocol/headers.js';
import { privateKeyToAccount } from '../stacks/accounts.js';
import { getPaymentReceipt, wrapFetchWithPayment } from './fetch/index.js';

const SELLER_KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
const seller = privateKeyToAccount(SELLER_KEY, 'testnet');
const buyer = privateKeyToAccount(
  'd655b2523bcd65e34889725c73064feb17ceb796831c0e111ba1a552b0f31b3901',
  'testnet',
);
const URL_ = 'https://api.example.com/premium';
const entry = {
  scheme: 'exact',
  network: 'stacks:2147483648' as const,
  amount: '1000',
  asset: 'STX',
  payTo: seller.address,
  maxTimeoutSeconds: 300,
};
const chain = {
  getNextNonce: async () => 0n,
  getStxBalance: async () => 1_000_000_000n,
  getFeeRate: async () => 1n,
} as unknown as ChainClient;
const SETTLED = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);

/** A seller double: a 402 (with signed offers or not), then a 200 whose payment-response carries `receipt`. */
function sellerFetch(offers: boolean, receiptFacts: Parameters<typeof signReceipt>[0]) {
  return (async (input: Request | string | URL) => {
    const request = input as Request;
    if (!request.headers.has('payment-signature')) {
      const extensions = offers
        ? offersExtension([
            await signOffer(
              { ...entry, resourceUrl: URL_ },
              {
                signer: SELLER_KEY,
                validUntil: Math.floor(Date.now() / 1000) + 300,
                acceptIndex: 0,
              },
            ),
          ])
        : undefined;
      return new Response('{}', {
        status: 402,
        headers: {
          'payment-required': encodePaymentRequiredHeader({
            x402Version: 2,
            resource: { url: URL_ },
            accepts: [entry],
            ...(extensions ? { extensions: { 'offer-receipt': extensions } } : {}),
          }),
        },
      });
    }
    const receipt = await signReceipt(receiptFacts, { signer: SELLER_KEY });
    return new Response('paid', {
      status: 200,
      headers: {
        'payment-response': encodePaymentResponseHeader({
          success: true,
          transaction: SETTLED,
          network: entry.network,
          payer: buyer.address,
          extensions: { 'offer-receipt': receiptExtension(receipt) },
        }),
      },
    });
  }) as typeof fetch;
}

const facts = (overrides: Record<string, string> = {}) => ({
  resourceUrl: URL_,
  network: entry.network,
  asset: 'STX',
  payTo: seller.address,
  amount: '1000',
  payer: buyer.address,
  transaction: SETTLED,
  issuedAt: Math.floor(Date.now() / 1000),
  ...overrides,
});

async function keptReceipt(offers: boolean, overrides: Record<string, string> = {}) {
  const pay = wrapFetchWithPayment(sellerFetch(offers, facts(overrides)), buyer, {
    chain,
    offerReceipt: {},
  });
  const response = await pay(URL_);
  assert.equal(response.status, 200);
  return getPaymentReceipt(response)?.signedReceipt;
}

test('the receipt of this payment is kept, with signed offers or without', async () => {
  assert.ok(await keptReceipt(true));
  assert.ok(await keptReceipt(false));
});

test('a receipt of another transaction is not this payment’s receipt', async () => {
  assert.equal(await keptReceipt(true, { transaction: OTHER }), undefined);
  assert.equal(await keptReceipt(false, { transaction: OTHER }), undefined);
});

test('without signed offers, a receipt for other terms (amount, payTo, asset, resource) is not kept', async () => {
  assert.equal(await keptReceipt(false, { amount: '1' }), undefined);
  assert.equal(
    await keptReceipt(false, { resourceUrl: 'https://api.example.com/cheap' }),
    undefined,
  );
});
