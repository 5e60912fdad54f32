/**
 * The payer's side of sign-in-with-x: which 402s it signs a proof for, and which it leaves to payment.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPayer, PayerOptionsError, type PaymentChallenge } from 'x402-stacks/client';
import {
  declareSiwxStacks,
  readSiwxHeader,
  type SiwxInfo,
  verifySiwxStacksProof,
} from 'x402-stacks/extensions';
import { privateKeyToAccount, signStructuredData } from 'x402-stacks/stacks';

const account = privateKeyToAccount(
  '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801',
  'testnet',
);
const URL_ = 'https://api.example.com/data';
const info: SiwxInfo = {
  domain: 'api.example.com',
  uri: URL_,
  version: '1',
  nonce: '0123456789abcdef0123456789abcdef',
  issuedAt: new Date().toISOString(),
  expirationTime: new Date(Date.now() + 300_000).toISOString(),
};

function challengeWith(extensions: Record<string, unknown> | undefined): PaymentChallenge {
  return {
    version: 2,
    paymentRequired: {
      x402Version: 2,
      resource: { url: URL_ },
      accepts: [],
      ...(extensions ? { extensions } : {}),
    },
    offers: [],
  };
}

const offered = (fields: Partial<SiwxInfo> = {}, chainIds = ['stacks:2147483648']) =>
  challengeWith({ 'sign-in-with-x': declareSiwxStacks({ ...info, ...fields }, chainIds) });

describe('the payer signs in only when asked, and only for the origin that sent the 402', () => {
  test('opted in: a proof the seller’s check accepts, in the sign-in-with-x header', async () => {
    const payer = createPayer(account, { signInWithX: true });
    const header = await payer.signIn(offered(), { url: URL_ });
    assert.equal(header?.name, 'sign-in-with-x');
    const read = readSiwxHeader(header!.value);
    assert.ok(read.ok);
    const verdict = verifySiwxStacksProof(read.payload, {
      domain: 'api.example.com',
      uri: URL_,
      chainIds: ['stacks:2147483648'],
      now: Date.now(),
    });
    assert.equal(verdict.ok && verdict.address, account.address);
  });

  test('with a signer of its own, that signer signs', async () => {
    let used = 0;
    const payer = createPayer(account, {
      signInWithX: {
        signer: async (domain, message) => {
          used += 1;
          return signStructuredData(account.privateKey, domain, message);
        },
      },
    });
    assert.ok(await payer.signIn(offered(), { url: URL_ }));
    assert.equal(used, 1);
  });

  test('nothing signed: not opted in, no offer, another network, another origin, a v1 challenge', async () => {
    const payer = createPayer(account, { signInWithX: true });
    assert.equal(await createPayer(account).signIn(offered(), { url: URL_ }), undefined);
    assert.equal(await payer.signIn(challengeWith(undefined), { url: URL_ }), undefined);
    assert.equal(await payer.signIn(offered({}, ['stacks:1']), { url: URL_ }), undefined);
    assert.equal(
      await payer.signIn(offered({ domain: 'bank.example', uri: 'https://bank.example/data' }), {
        url: URL_,
      }),
      undefined,
    );
    assert.equal(
      await payer.signIn(offered(), { url: 'https://evil.example/data' }),
      undefined,
      'a challenge naming another site than the one that sent it',
    );
    const v1: PaymentChallenge = {
      version: 1,
      paymentRequired: { x402Version: 1, error: '', accepts: [] },
      offers: [],
    };
    assert.equal(await payer.signIn(v1, { url: URL_ }), undefined);
  });

  test('a malformed option is refused when the payer is made', () => {
    assert.throws(
      () => createPayer(account, { signInWithX: { signer: 'key' } as never }),
      PayerOptionsError,
    );
  });
});
