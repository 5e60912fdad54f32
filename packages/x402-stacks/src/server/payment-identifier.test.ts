/**
 * The seller's side of `payment-identifier`: the 402 declares it (on by default, optional), a route may require it or
 * leave it out, and a payment whose id is missing where required, or malformed, is refused before anything settles.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entry, request, SELLER, scripted } from '@x402-stacks/test-kit/server-doubles';
import type { PaymentPayload } from 'x402-stacks';
import {
  OFFER_RECEIPT,
  PAYMENT_IDENTIFIER,
  PAYMENT_IDENTIFIER_JSON_SCHEMA,
  readSignedOffers,
  SIGN_IN_WITH_X,
} from 'x402-stacks/extensions';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from 'x402-stacks/protocol';
import { createResourceServer, type PaymentMiddlewareOptions } from 'x402-stacks/server';

const ID = 'pay_0123456789abcdef0123';
const OFFER_KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';

function serverWith(options: Partial<PaymentMiddlewareOptions>, settled: PaymentPayload[] = []) {
  return createResourceServer({
    amount: '1000',
    payTo: SELLER,
    network: 'testnet',
    sponsored: false,
    facilitator: scripted({
      settle: async (payload) => {
        settled.push(payload);
        return { success: true, transaction: 'ab'.repeat(32), network: 'stacks:2147483648' };
      },
    }),
    ...options,
  });
}

function paidWith(extensions?: Record<string, unknown>) {
  return {
    'payment-signature': encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: entry,
      payload: { transaction: '00' },
      ...(extensions ? { extensions } : {}),
    }),
  };
}

async function challengeOf(server: ReturnType<typeof serverWith>) {
  const admission = await server.admit(request());
  assert.equal(admission.action, 'reply');
  if (admission.action !== 'reply') throw new Error('unreachable');
  return JSON.parse(admission.reply.body);
}

async function refusalOf(server: ReturnType<typeof serverWith>, headers: Record<string, string>) {
  const admission = await server.admit(request(headers));
  assert.equal(admission.action, 'reply');
  if (admission.action !== 'reply') throw new Error('unreachable');
  return { status: admission.reply.status, body: JSON.parse(admission.reply.body) };
}

describe('payment-identifier on the seller', () => {
  test('the 402 declares it by default, optional, with its JSON Schema', async () => {
    const challenge = await challengeOf(serverWith({}));
    assert.deepEqual(challenge.extensions[PAYMENT_IDENTIFIER], {
      info: { required: false },
      schema: PAYMENT_IDENTIFIER_JSON_SCHEMA,
    });
  });

  test('one 402 carries every declared extension: the id beside the signed offers, and beside a sign-in challenge', async () => {
    const declared = { info: { required: false }, schema: PAYMENT_IDENTIFIER_JSON_SCHEMA };
    // A static price with signed offers: the 402 is built once and cached.
    const offering = serverWith({ offerReceipt: { signer: OFFER_KEY } });
    for (let i = 0; i < 2; i++) {
      const admission = await offering.admit(request());
      assert.equal(admission.action, 'reply');
      if (admission.action !== 'reply') return;
      const body = JSON.parse(admission.reply.body);
      const header = decodePaymentRequiredHeader(admission.reply.headers['payment-required']!);
      for (const challenge of [body, header]) {
        assert.deepEqual(challenge.extensions?.[PAYMENT_IDENTIFIER], declared);
        assert.equal(readSignedOffers(challenge.extensions).length, 1);
      }
    }
    // With sign-in, every 402 is built per request: it carries all three.
    const all = await challengeOf(
      serverWith({
        offerReceipt: { signer: OFFER_KEY },
        signInWithX: { origin: 'http://seller.test', accessMs: 3_600_000 },
      }),
    );
    assert.deepEqual(Object.keys(all.extensions).sort(), [
      OFFER_RECEIPT,
      PAYMENT_IDENTIFIER,
      SIGN_IN_WITH_X,
    ]);
    assert.deepEqual(all.extensions[PAYMENT_IDENTIFIER], declared);
  });

  test('paymentIdentifier: false leaves it out; { required: true } declares it required', async () => {
    assert.equal(
      (await challengeOf(serverWith({ paymentIdentifier: false }))).extensions,
      undefined,
    );
    const required = await challengeOf(serverWith({ paymentIdentifier: { required: true } }));
    assert.deepEqual(required.extensions[PAYMENT_IDENTIFIER].info, { required: true });
  });

  test('a route that requires it refuses a payment without an id: 400 payment_identifier_required, nothing settled', async () => {
    const settled: PaymentPayload[] = [];
    const server = serverWith({ paymentIdentifier: { required: true } }, settled);
    const refused = await refusalOf(server, paidWith());
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'payment_identifier_required');
    const echoedWithoutId = await refusalOf(
      server,
      paidWith({ [PAYMENT_IDENTIFIER]: { info: { required: true } } }),
    );
    assert.equal(echoedWithoutId.body.error, 'payment_identifier_required');
    assert.equal(settled.length, 0);
  });

  test('a malformed id is refused on any route that declares it: 400 invalid_payment_identifier, nothing settled', async () => {
    const settled: PaymentPayload[] = [];
    const server = serverWith({}, settled);
    for (const id of ['short', 'x'.repeat(129), 'pay_has spaces and !', 42]) {
      const refused = await refusalOf(
        server,
        paidWith({ [PAYMENT_IDENTIFIER]: { info: { required: false, id } } }),
      );
      assert.equal(refused.status, 400, String(id));
      assert.equal(refused.body.error, 'invalid_payment_identifier', String(id));
    }
    const notAnEnvelope = await refusalOf(server, paidWith({ [PAYMENT_IDENTIFIER]: 'id' }));
    assert.equal(notAnEnvelope.body.error, 'invalid_payment_identifier');
    assert.equal(settled.length, 0);
  });

  test('an id, or none on an optional route, goes to the facilitator with the payment', async () => {
    const settled: PaymentPayload[] = [];
    const server = serverWith({ paymentIdentifier: { required: true } }, settled);
    const extensions = { [PAYMENT_IDENTIFIER]: { info: { required: true, id: ID } } };
    const admission = await server.admit(request(paidWith(extensions)));
    assert.equal(admission.action, 'serve');
    assert.deepEqual(settled[0]?.extensions, extensions);
    const optional = await serverWith({}).admit(request(paidWith()));
    assert.equal(optional.action, 'serve');
  });

  test('a route without it ignores whatever a payment carries under its name', async () => {
    const admission = await serverWith({ paymentIdentifier: false }).admit(
      request(paidWith({ [PAYMENT_IDENTIFIER]: 'not an envelope' })),
    );
    assert.equal(admission.action, 'serve');
  });

  test('a paymentIdentifier option of the wrong shape is a configuration error', () => {
    assert.throws(
      () => serverWith({ paymentIdentifier: 'yes' as unknown as boolean }),
      /paymentIdentifier/,
    );
  });
});
