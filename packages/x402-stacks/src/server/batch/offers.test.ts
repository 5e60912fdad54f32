import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PaymentRequirements } from '../../protocol/v2.js';
import { correctiveOffers, withBatchOffers } from './offers.js';

const EXACT: PaymentRequirements = {
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo: 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG',
  maxTimeoutSeconds: 300,
  extra: { paymentFlow: 'upfront', sponsor: 'ST2JHG361ZXG51QTKY2NQCVBPPRRE2KZB1HR05NNC' },
};
const HINTS = {
  sponsor: 'ST2JHG361ZXG51QTKY2NQCVBPPRRE2KZB1HR05NNC',
  maxNonceAhead: undefined,
  batch: {
    escrow: 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow',
    receiverAuthorizer: 'ST2NEB84ASENDXKYGJPQW86YXQCEFEX2ZQPG87ND',
  },
};

describe('batch-settlement offers', () => {
  test('one batch entry after each exact one, with the escrow, the authorizer, the delay and the deposit', () => {
    const accepts = withBatchOffers([EXACT], HINTS, { withdrawDelay: 144, minDeposit: undefined });
    assert.equal(accepts.length, 2);
    assert.deepEqual(accepts[0], EXACT);
    assert.deepEqual(accepts[1], {
      ...EXACT,
      scheme: 'batch-settlement',
      extra: {
        escrow: HINTS.batch.escrow,
        receiverAuthorizer: HINTS.batch.receiverAuthorizer,
        withdrawDelay: 144,
        minDeposit: '100000',
        sponsor: HINTS.sponsor,
        feePayer: HINTS.sponsor,
      },
    });
  });

  test('a suggested deposit below the price is raised to it; no escrow served, no batch entry', () => {
    const [, batch] = withBatchOffers([EXACT], HINTS, { withdrawDelay: 6, minDeposit: 10n });
    assert.equal(batch?.extra?.minDeposit, '1000');
    assert.deepEqual(
      withBatchOffers(
        [EXACT],
        { ...HINTS, batch: undefined },
        { withdrawDelay: 6, minDeposit: undefined },
      ),
      [EXACT],
    );
    assert.deepEqual(
      withBatchOffers([EXACT], undefined, { withdrawDelay: 6, minDeposit: undefined }),
      [EXACT],
    );
  });

  test('a corrective 402 adds the snapshot to the paid entry only', () => {
    const accepts = withBatchOffers([EXACT], HINTS, { withdrawDelay: 144, minDeposit: undefined });
    const channelState = {
      channelId: `0x${'ab'.repeat(32)}`,
      balance: '5000',
      totalClaimed: '0',
      withdrawRequestedAt: 0,
      refundNonce: '0',
      chargedCumulativeAmount: '3000',
    };
    const corrected = correctiveOffers(accepts, accepts[1]!, { channelState });
    assert.deepEqual(corrected[0], EXACT);
    assert.deepEqual(corrected[1]?.extra?.channelState, channelState);
    assert.equal(corrected[1]?.extra?.escrow, HINTS.batch.escrow);
  });
});
