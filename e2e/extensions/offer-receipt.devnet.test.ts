/**
 * offer-receipt end to end on the devnet: an Express seller signs its offers and receipts with SIP-018, the buyer's
 * wrappers pay through the real facilitator service, and the buyer checks what it kept offline. A buyer that
 * requires signed offers refuses an unsigned or badly signed one before signing anything.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve as serveHono } from '@hono/node-server';
import axios from 'axios';
import express from 'express';
import { Hono } from 'hono';
import { decodePaymentResponse, generateKeypair, UntrustedOfferError } from 'x402-stacks';
import { getPaymentReceipt as receiptOfAxios, wrapAxiosWithPayment } from 'x402-stacks/axios';
import { getPayment, paymentMiddleware } from 'x402-stacks/express';
import {
  bindSigner,
  type OfferReceiptSigningRequest,
  verifyOffer,
  verifyReceipt,
} from 'x402-stacks/extensions';
import { getPaymentReceipt, wrapFetchWithPayment } from 'x402-stacks/fetch';
import * as honoMiddleware from 'x402-stacks/hono';
import { type Stack, startStack } from '../clients/client-stack.js';

describe('offer-receipt on the devnet', () => {
  let stack: Stack;
  let server: Server;
  let sellerUrl: string;
  let honoServer: Server;
  let honoUrl: string;
  // A signing key apart from payTo, held by a "KMS" the seller calls.
  const signingKey = generateKeypair('testnet');
  const remoteCalls = { count: 0 };
  const signedInHandler: unknown[] = [];

  before(async () => {
    stack = await startStack();
    const payToKey = stack.devnet.accounts[1]!.privateKey;
    const kms = bindSigner(signingKey.privateKey, 'testnet');
    const common = {
      payTo: stack.payTo,
      network: 'testnet' as const,
      facilitatorUrl: stack.facilitatorUrl,
      sponsored: false,
    };
    const app = express();
    const serve = (req: express.Request, res: express.Response) => {
      signedInHandler.push(getPayment(req)?.signedReceipt);
      res.json({ data: 'premium' });
    };
    app.get(
      '/signed',
      paymentMiddleware({ ...common, amount: '1000', offerReceipt: { signer: payToKey } }),
      serve,
    );
    app.get(
      '/after',
      paymentMiddleware({
        ...common,
        amount: { amount: '250', asset: 'sBTC' },
        settle: 'after-handler',
        offerReceipt: { signer: payToKey },
      }),
      serve,
    );
    app.get(
      '/kms',
      paymentMiddleware({
        ...common,
        amount: '1200',
        offerReceipt: {
          signer: {
            address: signingKey.address,
            sign: async ({ domain, message }: OfferReceiptSigningRequest) => {
              remoteCalls.count++;
              return kms.sign(domain, message);
            },
          },
        },
      }),
      serve,
    );
    app.get(
      '/other-service',
      paymentMiddleware({
        ...common,
        amount: '1000',
        offerReceipt: { signer: payToKey, serviceName: 'evil.example.com' },
      }),
      serve,
    );
    app.get('/unsigned', paymentMiddleware({ ...common, amount: '1000' }), serve);
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    sellerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const hono = new Hono();
    hono.get(
      '/signed',
      honoMiddleware.paymentMiddleware({
        ...common,
        amount: '900',
        offerReceipt: { signer: payToKey, serviceName: 'hono.seller' },
      }),
      (c) => {
        signedInHandler.push(honoMiddleware.getPayment(c)?.signedReceipt);
        return c.json({ data: 'premium' });
      },
    );
    honoServer = serveHono({ fetch: hono.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await once(honoServer, 'listening');
    honoUrl = `http://127.0.0.1:${(honoServer.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const open of [server, honoServer]) {
      open.closeAllConnections();
      await new Promise<void>((resolve) => open.close(() => resolve()));
    }
    await stack.stop();
  });

  test('fetch: the buyer requires a signed offer, pays, and keeps an offer and receipt it verifies offline', async () => {
    const buyer = stack.buyer();
    const sellerBefore = stack.stx(stack.payTo);
    const pay = wrapFetchWithPayment(fetch, buyer, {
      apiUrl: stack.devnet.url,
      offerReceipt: { require: true },
    });
    const response = await pay(`${sellerUrl}/signed`);
    assert.equal(response.status, 200);
    const paid = getPaymentReceipt(response);
    assert.ok(paid?.signedOffer && paid.signedReceipt, 'both artifacts kept');
    const settlement = decodePaymentResponse(response.headers.get('payment-response'));
    assert.equal(stack.stx(stack.payTo) - sellerBefore, 1000n);

    // Later, offline, from what the buyer stored (JSON), against the seller's known address and host.
    const stored = JSON.parse(
      JSON.stringify({ offer: paid.signedOffer, receipt: paid.signedReceipt }),
    );
    const expected = {
      signer: stack.payTo,
      serviceName: new URL(sellerUrl).host,
      network: 'testnet' as const,
    };
    const offer = verifyOffer(stored.offer, { ...expected, now: stored.offer.payload.validUntil });
    assert.ok(offer.valid, JSON.stringify(offer));
    assert.equal(offer.payload.amount, '1000');
    assert.equal(offer.payload.resourceUrl, `${sellerUrl}/signed`);
    const receipt = verifyReceipt(stored.receipt, {
      ...expected,
      offer: stored.offer,
      payer: buyer.address,
    });
    assert.ok(receipt.valid, JSON.stringify(receipt));
    assert.equal(receipt.payload.transaction, settlement?.transaction);
    // What the handler saw is the same receipt.
    assert.deepEqual(signedInHandler.at(-1), paid.signedReceipt);
    // A receipt shown for another offer is refused.
    const other = await wrapFetchWithPayment(fetch, buyer, {
      apiUrl: stack.devnet.url,
      offerReceipt: { require: true, signer: signingKey.address },
    })(`${sellerUrl}/kms`);
    const mismatch = verifyReceipt(stored.receipt, {
      ...expected,
      offer: getPaymentReceipt(other)?.signedOffer,
    });
    assert.equal(mismatch.valid === false && mismatch.problem, 'receipt_offer_mismatch');
  });

  test('axios, after-handler, sBTC: the receipt is signed for the settled payment', async () => {
    const buyer = stack.buyer();
    const api = wrapAxiosWithPayment(axios.create({ baseURL: sellerUrl }), buyer, {
      apiUrl: stack.devnet.url,
      offerReceipt: { require: true },
    });
    const response = await api.get('/after');
    assert.equal(response.status, 200);
    const paid = receiptOfAxios(response);
    assert.equal(paid?.signedOffer?.payload.amount, '250');
    assert.equal(paid?.signedReceipt?.payload.payer, buyer.address);
    assert.equal(signedInHandler.at(-1), undefined); // the handler ran before settlement
  });

  test('a key held elsewhere signs; the buyer told its address verifies against it, and offers are signed once', async () => {
    const buyer = stack.buyer();
    const pay = wrapFetchWithPayment(fetch, buyer, {
      apiUrl: stack.devnet.url,
      offerReceipt: { require: true, signer: signingKey.address },
    });
    const before = remoteCalls.count;
    for (let i = 0; i < 3; i++) await fetch(`${sellerUrl}/kms`); // unpaid 402s: cached offer
    const response = await pay(`${sellerUrl}/kms`);
    assert.equal(response.status, 200);
    const paid = getPaymentReceipt(response);
    assert.equal(paid?.signedReceipt?.payload.amount, '1200');
    // The offer was signed by the first test's 402 and is still fresh: only the receipt is signed now.
    assert.equal(remoteCalls.count - before, 1);
  });

  test('Hono: a named service signs; the buyer told that name verifies both artifacts', async () => {
    const buyer = stack.buyer();
    const pay = wrapFetchWithPayment(fetch, buyer, {
      apiUrl: stack.devnet.url,
      offerReceipt: { require: true, serviceName: 'hono.seller' },
    });
    const response = await pay(`${honoUrl}/signed`);
    assert.equal(response.status, 200);
    const paid = getPaymentReceipt(response);
    assert.equal(paid?.signedOffer?.domain.name, 'hono.seller');
    assert.equal(paid?.signedReceipt?.payload.amount, '900');
    assert.deepEqual(signedInHandler.at(-1), paid?.signedReceipt);
    // The same offer shown as another service's is refused.
    const verdict = verifyOffer(paid?.signedOffer, { serviceName: new URL(honoUrl).host });
    assert.equal(verdict.valid === false && verdict.problem, 'wrong_domain');
  });

  test('required, refused before signing, by name: unsigned, another signer, another service', async () => {
    const buyer = stack.buyer();
    const balance = stack.stx(buyer.address);
    const cases = [
      { path: '/unsigned', options: { require: true }, reason: 'offer_unsigned' },
      { path: '/kms', options: { require: true }, reason: 'offer_signature_invalid' }, // signer is not payTo
      {
        path: '/signed',
        options: { require: true, signer: signingKey.address },
        reason: 'offer_signature_invalid',
      },
      { path: '/other-service', options: { require: true }, reason: 'offer_signature_invalid' },
    ];
    for (const { path, options, reason } of cases) {
      const pay = wrapFetchWithPayment(fetch, buyer, {
        apiUrl: stack.devnet.url,
        offerReceipt: options,
      });
      await assert.rejects(pay(`${sellerUrl}${path}`), (error: unknown) => {
        assert.ok(error instanceof UntrustedOfferError, String(error));
        assert.equal(error.reason, reason);
        return true;
      });
    }
    assert.equal(stack.stx(buyer.address), balance);
  });

  test('not required: an unsigned seller is paid as before, with no artifacts; a bad one is not kept', async () => {
    const buyer = stack.buyer();
    const pay = wrapFetchWithPayment(fetch, buyer, { apiUrl: stack.devnet.url });
    const unsigned = getPaymentReceipt(await pay(`${sellerUrl}/unsigned`));
    assert.ok(unsigned);
    assert.equal(unsigned.signedOffer, undefined);
    assert.equal(unsigned.signedReceipt, undefined);
    const otherService = getPaymentReceipt(await pay(`${sellerUrl}/other-service`));
    assert.ok(otherService);
    assert.equal(otherService.signedOffer, undefined);
    assert.equal(otherService.signedReceipt, undefined);
  });
});
