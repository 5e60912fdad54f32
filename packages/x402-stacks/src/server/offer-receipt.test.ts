/**
 * The seller's side of offer-receipt: signed offers in the 402 (cached while their terms and validity hold), a signed
 * receipt in payment-response and on the payment, and the option's checks.
 */
import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { paid, request, scripted } from '@x402-stacks/test-kit/server-doubles';
import type { PaymentRequirements } from 'x402-stacks';
import {
  OFFER_RECEIPT,
  type OfferReceiptSigningRequest,
  readSignedOffers,
  readSignedReceipt,
  verifyOffer,
  verifyReceipt,
} from 'x402-stacks/extensions';
import { decodePaymentRequiredHeader, decodePaymentResponse } from 'x402-stacks/protocol';
import {
  type Admission,
  createResourceServer,
  type PaymentMiddlewareOptions,
  ServerConfigError,
} from 'x402-stacks/server';
import { privateKeyToAccount } from 'x402-stacks/stacks';
import { bindSigner } from '../extensions/offer-receipt/signer.js';

const KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
const seller = privateKeyToAccount(KEY, 'testnet');
const BUYER = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
const TXID = 'ef'.repeat(32);

const serverWith = (options: Partial<PaymentMiddlewareOptions<null>> = {}) =>
  createResourceServer<null>({
    amount: ['1000', { amount: '25', asset: 'sBTC' }],
    payTo: seller.address,
    network: 'testnet',
    sponsored: false,
    facilitator: scripted({
      settle: async () => ({
        success: true,
        transaction: TXID,
        network: 'stacks:2147483648',
        payer: BUYER,
      }),
    }),
    offerReceipt: { signer: KEY },
    ...options,
  });

function challengeOf(admission: Admission) {
  assert.equal(admission.action, 'reply');
  if (admission.action !== 'reply') throw new Error('unreachable');
  assert.equal(admission.reply.status, 402);
  const header = decodePaymentRequiredHeader(admission.reply.headers['payment-required']!);
  assert.deepEqual(JSON.parse(admission.reply.body).extensions, header.extensions);
  return header;
}

/** A signer elsewhere that counts what it is asked, and can be made to fail. */
function countingSigner() {
  const local = bindSigner(KEY, 'stacks:2147483648');
  const state = { calls: 0, down: false };
  return {
    state,
    signer: {
      address: seller.address,
      async sign(asked: OfferReceiptSigningRequest) {
        state.calls++;
        if (state.down) throw new Error('the KMS is unreachable');
        return local.sign(asked.domain, asked.message);
      },
    },
  };
}

describe('offer-receipt on the resource server', () => {
  test('the 402 carries one signed offer per accepts entry, which the buyer verifies offline', async () => {
    const challenge = challengeOf(await serverWith().admit(request()));
    const offers = readSignedOffers(challenge.extensions);
    assert.equal(offers.length, challenge.accepts.length);
    assert.equal(
      (challenge.extensions?.['offer-receipt'] as { info?: { version?: number } } | undefined)?.info
        ?.version,
      1,
    );
    challenge.accepts.forEach((entry, index) => {
      const verdict = verifyOffer(offers[index], {
        serviceName: 'seller.test',
        network: 'testnet',
      });
      assert.ok(verdict.valid, JSON.stringify(verdict));
      assert.equal(offers[index]!.acceptIndex, index);
      assert.equal(verdict.payload.amount, entry.amount);
      assert.equal(verdict.payload.asset, entry.asset);
      assert.equal(verdict.payload.resourceUrl, 'http://seller.test/api/data');
    });
  });

  test('offers are signed once per route terms and reused until half their validity is gone', async () => {
    const counting = countingSigner();
    mock.timers.enable({ apis: ['Date'], now: 1_767_225_600_000 });
    try {
      const server = serverWith({
        offerReceipt: { signer: counting.signer, offerValiditySeconds: 60 },
      });
      const first = challengeOf(await server.admit(request()));
      for (let i = 0; i < 5; i++) await server.admit(request());
      assert.equal(counting.state.calls, 2); // two entries, signed once
      mock.timers.tick(29_000);
      const same = challengeOf(await server.admit(request()));
      assert.deepEqual(same.extensions, first.extensions);
      assert.equal(counting.state.calls, 2);
      mock.timers.tick(1_001);
      const fresh = challengeOf(await server.admit(request()));
      assert.equal(counting.state.calls, 4);
      const offer = readSignedOffers(fresh.extensions)[0]!;
      assert.equal(offer.payload?.validUntil, 1_767_225_600 + 30 + 60);
      // Another resource URL is another offer (the URL is signed).
      await server.admit(request({}, 'http://seller.test/api/other'));
      assert.equal(counting.state.calls, 6);
    } finally {
      mock.timers.reset();
    }
  });

  test('offer signatures are bounded in total: ever new URLs get unsigned 402s until the budget refills', async () => {
    const counting = countingSigner();
    mock.timers.enable({ apis: ['Date'], now: 1_767_225_600_000 });
    try {
      const server = serverWith({
        offerReceipt: { signer: counting.signer, maxOfferSignaturesPerSecond: 4 },
      });
      const at = (path: string) => request({}, `http://seller.test/items/${path}`);
      for (const path of ['a', 'b']) {
        assert.equal(
          readSignedOffers(challengeOf(await server.admit(at(path))).extensions).length,
          2,
        );
      }
      // The attack: an unpaid request per new URL. Nothing more is signed this second.
      for (let i = 0; i < 50; i++) {
        assert.equal(
          challengeOf(await server.admit(at(`x${i}`))).extensions?.[OFFER_RECEIPT],
          undefined,
        );
      }
      assert.equal(counting.state.calls, 4);
      // Offers already signed are still served, at no cost.
      assert.equal(readSignedOffers(challengeOf(await server.admit(at('a'))).extensions).length, 2);
      mock.timers.tick(500);
      assert.equal(readSignedOffers(challengeOf(await server.admit(at('c'))).extensions).length, 2);
      assert.equal(challengeOf(await server.admit(at('d'))).extensions?.[OFFER_RECEIPT], undefined);
      assert.equal(counting.state.calls, 6);
    } finally {
      mock.timers.reset();
    }
  });

  test('a signer that fails leaves the 402 unsigned, and the next 402 tries again', async () => {
    const counting = countingSigner();
    counting.state.down = true;
    const server = serverWith({ offerReceipt: { signer: counting.signer } });
    const unsigned = challengeOf(await server.admit(request()));
    assert.equal(unsigned.extensions?.[OFFER_RECEIPT], undefined);
    counting.state.down = false;
    const signed = challengeOf(await server.admit(request()));
    assert.equal(readSignedOffers(signed.extensions).length, 2);
  });

  test('a paid request gets a signed receipt of the settlement, in payment-response and on the payment', async () => {
    const server = serverWith({ offerReceipt: { signer: KEY, serviceName: 'Seller API' } });
    const challenge = challengeOf(await server.admit(request()));
    const offer = readSignedOffers(challenge.extensions)[0]!;
    const admission = await server.admit(
      request(paid(challenge.accepts[0] as PaymentRequirements)),
    );
    assert.equal(admission.action, 'serve');
    if (admission.action !== 'serve') return;
    const settlement = decodePaymentResponse(admission.headers['payment-response']);
    const receipt = readSignedReceipt(settlement?.extensions);
    assert.deepEqual(receipt, admission.payment.signedReceipt);
    const verdict = verifyReceipt(receipt, { offer, payer: BUYER, serviceName: 'Seller API' });
    assert.ok(verdict.valid, JSON.stringify(verdict));
    assert.equal(verdict.payload.transaction, TXID);
    assert.equal(verdict.payload.amount, '1000');
    assert.equal(verifyOffer(offer, { serviceName: 'Seller API' }).valid, true);
  });

  test('no receipt for a payment that did not settle: refused or still pending', async () => {
    const counting = countingSigner();
    for (const answer of [
      {
        success: false,
        errorReason: 'transaction_failed',
        transaction: TXID,
        network: 'stacks:2147483648' as const,
      },
      {
        success: false,
        errorReason: 'settlement_pending',
        transaction: TXID,
        network: 'stacks:2147483648' as const,
        payer: BUYER,
      },
    ]) {
      const server = serverWith({
        offerReceipt: { signer: counting.signer },
        settlementPending: { attempts: 1, intervalMs: 1 },
        facilitator: scripted({ settle: async () => answer, status: async () => undefined }),
      });
      const challenge = challengeOf(await server.admit(request()));
      const signedOffers = counting.state.calls;
      const refused = challengeOf(
        await server.admit(request(paid(challenge.accepts[0] as PaymentRequirements))),
      );
      assert.equal(refused.error, answer.errorReason);
      assert.equal(counting.state.calls, signedOffers); // the cached offers, and no receipt signed
    }
  });

  test('after-handler: the receipt comes with the settlement, not before', async () => {
    const server = serverWith({ settle: 'after-handler' });
    const challenge = challengeOf(await server.admit(request()));
    const admission = await server.admit(
      request(paid(challenge.accepts[0] as PaymentRequirements)),
    );
    assert.equal(admission.action, 'serve-then-settle');
    if (admission.action !== 'serve-then-settle') return;
    assert.equal(admission.payment.signedReceipt, undefined);
    const settled = await admission.settle();
    assert.equal(settled.action, 'serve');
    if (settled.action !== 'serve') return;
    assert.ok(verifyReceipt(settled.payment.signedReceipt, { payer: BUYER }).valid);
  });

  test('without the option nothing is signed; a bad signer is a config error that never echoes the key', () => {
    const noExtensions = serverWith({ offerReceipt: undefined });
    assert.ok(noExtensions);
    const badKey = 'ff'.repeat(33);
    assert.throws(
      () => serverWith({ offerReceipt: { signer: badKey } }),
      (error: unknown) =>
        error instanceof ServerConfigError &&
        /offerReceipt\.signer/.test(error.message) &&
        !error.message.includes(badKey),
    );
    assert.throws(
      () =>
        serverWith({
          offerReceipt: {
            signer: { address: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7', sign: () => '' },
          },
        }),
      (error: unknown) =>
        error instanceof ServerConfigError && /offerReceipt\.signer/.test(error.message),
    );
    assert.throws(
      () => serverWith({ offerReceipt: { signer: 42 as never } }),
      (error: unknown) =>
        error instanceof ServerConfigError && /offerReceipt\.signer/.test(error.message),
    );
    assert.throws(
      () => serverWith({ offerReceipt: { signer: KEY, serviceName: 'é' } }),
      (error: unknown) =>
        error instanceof ServerConfigError && /offerReceipt\.serviceName/.test(error.message),
    );
  });
});
