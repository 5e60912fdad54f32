import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  deserializeTransaction,
  PostConditionMode,
  wireToPostCondition,
} from '@stacks/transactions';
import {
  PAY_TO,
  PAYER_KEY,
  PAYER_MAINNET,
  PAYER_TESTNET,
  SPONSOR,
  VECTORS,
} from '@x402-stacks/test-kit/fixtures';
import { privateKeyToAccount } from '../accounts.js';
import { PaymentOptionsError } from '../errors.js';
import { checkPaymentTransaction } from './check.js';
import { createPaymentTransaction } from './create.js';

const testnetPayer = privateKeyToAccount(PAYER_KEY, 'testnet');
const mainnetPayer = privateKeyToAccount(PAYER_KEY, 'mainnet');
const isOptionsError = (error: unknown) =>
  error instanceof PaymentOptionsError && error.reason === 'invalid_payment_options';

describe('createPaymentTransaction', () => {
  // Any fetch during a build is a bug: the function promises never to touch the network.
  const realFetch = globalThis.fetch;
  let fetches = 0;
  beforeEach(() => {
    fetches = 0;
    globalThis.fetch = async () => {
      fetches++;
      throw new Error('network used');
    };
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
    assert.equal(fetches, 0, 'createPaymentTransaction fetched');
  });

  for (const [name, vector] of Object.entries(VECTORS)) {
    test(`vector ${name}: bytes and txid are exact`, async () => {
      const account = vector.requirements.network === 'stacks:1' ? mainnetPayer : testnetPayer;
      const payment = await createPaymentTransaction({
        account,
        requirements: vector.requirements,
        nonce: vector.nonce,
        fee: vector.fee,
        ...('memo' in vector ? { memo: vector.memo } : {}),
      });
      assert.equal(payment.transaction, vector.transaction);
      assert.equal(payment.txid, vector.txid);
      assert.equal(payment.payer, account.address);
      assert.equal(payment.nonce, vector.nonce);
      assert.equal(payment.fee, vector.fee);
      assert.equal(payment.sponsored, 'extra' in vector.requirements);
      assert.equal(deserializeTransaction(payment.transaction).txid(), vector.txid);
      const check = checkPaymentTransaction(payment.transaction, vector.requirements);
      assert.equal(check.isValid, true, check.isValid ? '' : check.invalidReason);
    });
  }

  test('STX: a token transfer with no post-conditions', async () => {
    const { transaction } = await createPaymentTransaction({
      account: testnetPayer,
      requirements: VECTORS.stx.requirements,
      nonce: 3,
      fee: 200,
    });
    const tx = deserializeTransaction(transaction);
    assert.equal(tx.postConditions.values.length, 0);
    assert.equal(tx.auth.spendingCondition.nonce, 3n);
    assert.equal(tx.auth.spendingCondition.fee, 200n);
  });

  test('sBTC: deny mode with one exact post-condition', async () => {
    const { transaction } = await createPaymentTransaction({
      account: mainnetPayer,
      requirements: VECTORS.mainnetSbtc.requirements,
      nonce: 0n,
      fee: 400n,
    });
    const tx = deserializeTransaction(transaction);
    assert.equal(tx.postConditionMode, PostConditionMode.Deny);
    assert.deepEqual(tx.postConditions.values.map(wireToPostCondition), [
      {
        type: 'ft-postcondition',
        address: PAYER_MAINNET,
        condition: 'eq',
        amount: '2500',
        asset: 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token::sbtc-token',
      },
    ]);
  });

  test('sponsorship follows extra.sponsor, and can be declined', async () => {
    const requirements = { ...VECTORS.stx.requirements, extra: { sponsor: SPONSOR } };
    const sponsored = await createPaymentTransaction({
      account: testnetPayer,
      requirements,
      nonce: 0n,
    });
    assert.equal(sponsored.sponsored, true);
    assert.equal(sponsored.fee, 0n);
    const own = await createPaymentTransaction({
      account: testnetPayer,
      requirements,
      nonce: 0n,
      fee: 300n,
      sponsored: false,
    });
    assert.equal(own.sponsored, false);
    assert.equal(checkPaymentTransaction(own.transaction, requirements).isValid, true);
  });

  test('error: inconsistent options', async () => {
    const base = {
      account: testnetPayer,
      requirements: VECTORS.stx.requirements,
      nonce: 0n,
      fee: 200n,
    };
    const bad: [string, Parameters<typeof createPaymentTransaction>[0]][] = [
      ['account on the other network', { ...base, account: mainnetPayer }],
      ['missing fee', { ...base, fee: undefined }],
      ['negative fee', { ...base, fee: -1n }],
      ['fractional nonce', { ...base, nonce: 1.5 }],
      ['fee on a sponsored payment', { ...base, sponsored: true, fee: 10n }],
      ['memo over 34 bytes', { ...base, memo: 'x'.repeat(35) }],
      ['memo over 34 bytes in UTF-8', { ...base, memo: 'é'.repeat(18) }],
      // A STX memo is read back as text, which drops a leading byte order mark; a lone surrogate has no UTF-8 at all.
      ['STX memo with a leading byte order mark', { ...base, memo: '\uFEFForder 42' }],
      ['memo with a lone surrogate', { ...base, memo: 'order \uD800' }],
      [
        'payTo is the payer',
        { ...base, requirements: { ...base.requirements, payTo: PAYER_TESTNET } },
      ],
      ['unknown asset', { ...base, requirements: { ...base.requirements, asset: 'DOGE' } }],
      ['zero amount', { ...base, requirements: { ...base.requirements, amount: '0' } }],
      ['another scheme', { ...base, requirements: { ...base.requirements, scheme: 'upto' } }],
      ['not an account', { ...base, account: { address: PAY_TO } as never }],
      ['nonce above u64', { ...base, nonce: 2n ** 64n }],
      ['fee above u64', { ...base, fee: 2n ** 64n }],
      [
        'STX amount above u64',
        { ...base, requirements: { ...base.requirements, amount: (2n ** 64n).toString() } },
      ],
      ['no options at all', undefined as never],
    ];
    for (const [why, options] of bad) {
      await assert.rejects(createPaymentTransaction(options), isOptionsError, why);
    }
  });

  /** An sBTC payment with `memo`, built and checked as a facilitator would. */
  const tokenPaymentWith = async (memo: string) => {
    const payment = await createPaymentTransaction({
      account: testnetPayer,
      requirements: VECTORS.sbtc.requirements,
      nonce: 0n,
      fee: 400n,
      memo,
    });
    const check = checkPaymentTransaction(payment.transaction, VECTORS.sbtc.requirements);
    return { transaction: payment.transaction, valid: check.isValid };
  };

  test("a token's memo is a buffer: one starting with a byte order mark is kept byte for byte", async () => {
    const withMark = await tokenPaymentWith('\uFEFForder 42');
    assert.ok(withMark.transaction.includes(Buffer.from('\uFEFForder 42').toString('hex')));
    assert.equal(withMark.valid, true);
  });

  test('a 34-byte memo fits', async () => {
    assert.equal((await tokenPaymentWith('m'.repeat(34))).valid, true);
  });
});
