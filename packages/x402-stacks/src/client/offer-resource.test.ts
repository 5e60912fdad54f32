/**
 * Attack review: a signed offer is for one resource. The seller's (or a cache's) offer for a cheap path, replayed in
 * the 402 of another path at the same terms, is not this requirement's signed offer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signOffer } from '../extensions/offer-receipt/index.js';
import { privateKeyToAccount } from '../stacks/accounts.js';
import type { PaymentChallenge } from './challenge.js';
import { checkSignedOffer, offerExpectations } from './offer-receipt.js';

const KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
const seller = privateKeyToAccount(KEY, 'testnet');
const PREMIUM = 'https://api.example.com/premium';
const entry = {
  scheme: 'exact',
  network: 'stacks:2147483648' as const,
  amount: '1000',
  asset: 'STX',
  payTo: seller.address,
  maxTimeoutSeconds: 300,
};

const challengeFor = (url: string, offer: unknown): PaymentChallenge => ({
  version: 2,
  paymentRequired: {
    x402Version: 2,
    resource: { url },
    accepts: [entry],
    extensions: { 'offer-receipt': { info: { version: 1, offers: [offer] } } },
  },
  offers: [{ index: 0, requirements: entry }],
});

const offerFor = (resourceUrl: string) =>
  signOffer(
    { ...entry, resourceUrl },
    { signer: KEY, validUntil: Math.floor(Date.now() / 1000) + 300, acceptIndex: 0 },
  );

test('an offer signed for another resource is not the offer of this 402', async () => {
  const expected = offerExpectations(undefined, PREMIUM);
  const check = async (offerUrl: string) => {
    const result = checkSignedOffer(
      challengeFor(PREMIUM, await offerFor(offerUrl)),
      0,
      entry,
      { require: true },
      expected,
    );
    return 'refusal' in result ? result.refusal.reason : 'signed';
  };
  assert.equal(await check(PREMIUM), 'signed');
  assert.equal(await check('https://api.example.com/cheap'), 'offer_signature_invalid');
});
