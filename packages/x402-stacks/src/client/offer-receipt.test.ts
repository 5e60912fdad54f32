/**
 * The buyer's side of offer-receipt, offline: the option's checks, and which signed offer a requirement gets (or why
 * it is refused when one is required).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signOffer } from '../extensions/offer-receipt/index.js';
import { generateKeypair, privateKeyToAccount } from '../stacks/accounts.js';
import type { PaymentChallenge } from './challenge.js';
import { PayerOptionsError } from './errors.js';
import { checkSignedOffer, offerExpectations } from './offer-receipt.js';
import { createPayer } from './payer.js';

const KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
const seller = privateKeyToAccount(KEY, 'testnet');
const URL_ = 'https://api.example.com/premium';
const entry = {
  scheme: 'exact',
  network: 'stacks:2147483648' as const,
  amount: '1000',
  asset: 'STX',
  payTo: seller.address,
  maxTimeoutSeconds: 300,
};

async function challengeWith(offers: unknown[] | undefined): Promise<PaymentChallenge> {
  return {
    version: 2,
    paymentRequired: {
      x402Version: 2,
      resource: { url: URL_ },
      accepts: [entry],
      ...(offers ? { extensions: { 'offer-receipt': { info: { version: 1, offers } } } } : {}),
    },
    offers: [{ index: 0, requirements: entry }],
  };
}

const signed = (overrides: Partial<typeof entry> = {}, serviceName?: string) =>
  signOffer(
    { ...entry, ...overrides, resourceUrl: URL_ },
    {
      signer: KEY,
      validUntil: Math.floor(Date.now() / 1000) + 300,
      acceptIndex: 0,
      ...(serviceName ? { serviceName } : {}),
    },
  );

test('the option is checked when the payer is created', () => {
  const account = generateKeypair('testnet');
  for (const offerReceipt of [
    { signer: '' },
    { signer: [seller.address, 42 as never] },
    { serviceName: 'é' },
    'yes' as never,
  ]) {
    assert.throws(() => createPayer(account, { offerReceipt }), PayerOptionsError);
  }
  assert.ok(createPayer(account, { offerReceipt: { require: true, signer: [seller.address] } }));
});

test('a requirement gets its verified offer; required, a missing or bad one is refused by name', async () => {
  const expected = offerExpectations(undefined, URL_);
  assert.equal(expected.serviceName, 'api.example.com');
  const check = async (offers: unknown[] | undefined, require: boolean, signer?: string) => {
    const result = checkSignedOffer(
      await challengeWith(offers),
      0,
      entry,
      { require },
      { ...expected, signer },
    );
    return 'refusal' in result ? result.refusal.reason : result.offer ? 'signed' : 'none';
  };
  const good = await signed();
  assert.equal(await check([good], true), 'signed');
  assert.equal(await check(undefined, false), 'none');
  assert.equal(await check(undefined, true), 'offer_unsigned');
  // An offer for other terms is no offer for this entry.
  assert.equal(await check([await signed({ amount: '999' })], true), 'offer_unsigned');
  assert.equal(
    await check([good], true, generateKeypair('testnet').address),
    'offer_signature_invalid',
  );
  assert.equal(
    await check([await signed({}, 'other.example.com')], true),
    'offer_signature_invalid',
  );
  assert.equal(await check([{ ...good, signature: '00' }], true), 'offer_signature_invalid');
  // Not required: a bad offer is simply not kept.
  assert.equal(await check([{ ...good, signature: '00' }], false), 'none');
  // A v1 challenge carries no extensions.
  const v1 = { ...(await challengeWith([good])), version: 1 } as unknown as PaymentChallenge;
  const result = checkSignedOffer(v1, 0, entry, { require: true }, expected);
  assert.equal('refusal' in result && result.refusal.reason, 'offer_unsigned');
});
