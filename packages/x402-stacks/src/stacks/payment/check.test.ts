import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deserializeTransaction } from '@stacks/transactions';
import {
  AMOUNT,
  account,
  bytesOf,
  CHECK_ROW_GROUPS,
  DECODE_REASON,
  OTHER_REQ,
  OTHER_TOKEN,
  PAYER,
  type Row,
  SBTC,
  SBTC_REQ,
  SBTC_SPONSORED,
  STX,
  STX_SPONSORED,
  token,
  USDCX,
  USDCX_REQ,
} from '@x402-stacks/test-kit/fixtures';
import type { ReasonCode } from '../../protocol/reasons.js';
import { type CheckPaymentOptions, checkPaymentTransaction } from './check.js';
import { createPaymentTransaction } from './create.js';
import type { StacksPaymentRequirements } from './terms.js';

const TERMS_REASONS: ReasonCode[] = [
  'invalid_scheme',
  'invalid_network',
  'invalid_payment_requirements',
];

function runRows(rows: Row[]): void {
  for (const row of rows) {
    test(row.name, async () => {
      assert.ok(
        row.bad ?? row.badRequirements ?? row.badOptions,
        'the row must change something from the good case',
      );
      const good = await row.good();
      const accepted = checkPaymentTransaction(good, row.requirements, row.options);
      assert.equal(
        accepted.isValid,
        true,
        accepted.isValid
          ? ''
          : `good case refused: ${accepted.invalidReason}: ${accepted.invalidMessage}`,
      );

      const bad = row.bad ? await row.bad(good) : good;
      const refused = checkPaymentTransaction(
        bad,
        row.badRequirements ?? row.requirements,
        row.badOptions ?? row.options,
      );
      assert.equal(refused.isValid, false, 'the bad case was accepted');
      if (refused.isValid) return;
      assert.equal(refused.invalidReason, row.reason, refused.invalidMessage);
      assert.ok(refused.invalidMessage.length > 0);
      if (TERMS_REASONS.includes(row.reason) || row.reason === DECODE_REASON) {
        assert.equal(refused.payer, undefined);
        assert.equal(refused.txid, undefined);
      } else {
        // What was learned before the failing step is reported with the refusal.
        const tx = deserializeTransaction(bad);
        assert.equal(refused.payer, row.payer ?? PAYER);
        assert.equal(refused.txid, tx.txid());
        assert.equal(refused.nonce, tx.auth.spendingCondition.nonce);
      }
    });
  }
}

for (const group of CHECK_ROW_GROUPS) {
  describe(`checkPaymentTransaction: ${group.title}`, () => runRows(group.rows));
}

type Expected = {
  name: string;
  requirements: StacksPaymentRequirements;
  asset: string;
  options?: CheckPaymentOptions;
  nonce: bigint;
  fee?: bigint;
  memo?: string;
};

describe('checkPaymentTransaction: payments built by createPaymentTransaction', () => {
  const cases: Expected[] = [
    { name: 'STX', requirements: STX, asset: 'STX', nonce: 3n, fee: 400n, memo: 'x402:ok' },
    {
      name: 'sBTC',
      requirements: SBTC_REQ,
      asset: `${SBTC}::sbtc-token`,
      nonce: 7n,
      fee: 3000n,
      options: { postConditionPolicy: 'strict', expectedNonce: 7n, maxFee: 3000n },
    },
    {
      name: 'USDCx',
      requirements: USDCX_REQ,
      asset: `${USDCX}::usdcx-token`,
      nonce: 0n,
      fee: 2000n,
      memo: 'a'.repeat(34),
      options: { balance: { stx: 2000n, token: AMOUNT } },
    },
    {
      name: 'sponsored STX',
      requirements: STX_SPONSORED,
      asset: 'STX',
      nonce: 1n,
      // The sponsor pays the fee: neither the cap nor the payer's STX beyond the amount matter.
      options: { maxFee: 0n, balance: { stx: AMOUNT }, expectedNonce: 1n },
    },
    {
      name: 'sponsored sBTC',
      requirements: SBTC_SPONSORED,
      asset: `${SBTC}::sbtc-token`,
      nonce: 2n,
      options: { balance: { stx: 0n, token: AMOUNT } },
    },
    {
      name: 'a SIP-010 token outside the allow-list, in deny mode',
      requirements: OTHER_REQ,
      asset: `${OTHER_TOKEN}::other-token`,
      nonce: 4n,
      fee: 3000n,
    },
  ];
  for (const expected of cases) {
    test(`${expected.name} is valid, with the facts reported`, async () => {
      const payment = await createPaymentTransaction({
        account,
        requirements: expected.requirements,
        nonce: expected.nonce,
        ...(expected.fee === undefined ? {} : { fee: expected.fee }),
        ...(expected.memo === undefined ? {} : { memo: expected.memo }),
      });
      const check = checkPaymentTransaction(
        payment.transaction,
        expected.requirements,
        expected.options,
      );
      assert.equal(check.isValid, true, check.isValid ? '' : check.invalidMessage);
      if (!check.isValid) return;
      const sponsored = expected.fee === undefined;
      assert.deepEqual(check, {
        isValid: true,
        payer: PAYER,
        txid: payment.txid,
        nonce: expected.nonce,
        fee: expected.fee ?? 0n,
        sponsored,
        amount: AMOUNT,
        asset: expected.asset,
        postConditionMode: 'deny',
        byteLength: bytesOf(payment.transaction),
      });
      assert.equal(check.txid, deserializeTransaction(payment.transaction).txid());
      assert.equal(payment.sponsored, sponsored);
    });
  }

  test('sBTC in allow mode with no post-conditions is recorded as allow under compatible', async () => {
    const check = checkPaymentTransaction(
      await token({ mode: 'allow', postConditions: [] }),
      SBTC_REQ,
    );
    assert.equal(check.isValid, true);
    assert.equal(check.isValid && check.postConditionMode, 'allow');
  });
});
