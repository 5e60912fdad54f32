/**
 * A corrective 402 is adopted only when the buyer's own voucher covers the total it claims: a seller cannot pass off
 * a signature over a small ceiling as one over a huge total by wrapping the ceiling past 2^128 (a voucher's hash
 * writes it in 16 bytes).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PAYER_KEY } from '@x402-stacks/test-kit/fixtures';
import { channelIdOf, signVoucher, voucherHash, voucherSigner } from '../../batch/channel.js';
import type { ChannelConfig } from '../../batch/wire.js';
import { privateKeyToAccount } from '../../stacks/accounts.js';
import { STACKS_NETWORKS } from '../../stacks/networks.js';
import { adoptCorrective } from './answer.js';
import type { BuyerChannelRecord } from './channel-store.js';

const network = STACKS_NETWORKS.testnet;
const payer = privateKeyToAccount(PAYER_KEY, 'testnet');
const escrow = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';
const config: ChannelConfig = {
  payer: payer.address,
  payerAuthorizer: payer.address,
  receiver: 'ST2Y2SFNVZBT8SSZ00XXKH930MCN0RFREB2GQG7CJ',
  receiverAuthorizer: 'STPJ2HPED2TMR1HAFBFA5VQF986CRD4ZWHH36F6X',
  token: null,
  withdrawDelay: 144,
  salt: `0x${'ab'.repeat(32)}`,
};
const channelId = channelIdOf(config);
const record: BuyerChannelRecord = {
  network: network.caip2,
  escrow,
  channelId,
  config,
  deposited: 30_000n,
  charged: 1_000n,
  signedMax: 1_000n,
  updatedAt: 1_700_000_000_000,
};
const WRAP = 2n ** 128n;

/** The extra of a corrective 402 claiming `charged`, shown with the buyer's real voucher for 1000. */
const corrective = (signedMaxClaimable: string, charged: string) => ({
  channelState: {
    channelId,
    balance: '30000',
    totalClaimed: '0',
    withdrawRequestedAt: 0,
    refundNonce: '0',
    chargedCumulativeAmount: charged,
  },
  voucherState: {
    signedMaxClaimable,
    signature: signVoucher(payer.privateKey, network, escrow, channelId, 1_000n),
  },
});

describe('a corrective 402', () => {
  test("is adopted for a total the buyer's voucher covers", () => {
    const adopted = adoptCorrective(record, network, corrective('1000', '1000'), 1);
    assert.ok('record' in adopted);
    assert.equal(adopted.record.charged, 1_000n);
  });

  test('is refused when it shows the voucher for 1000 as one for 2^128 + 1000', () => {
    const forged = adoptCorrective(
      record,
      network,
      corrective((WRAP + 1_000n).toString(), '29000'),
      1,
    );
    assert.ok('refusal' in forged, 'a wrapped ceiling must not be adopted');
    assert.equal(forged.refusal, 'corrective_state_missing');
  });

  test('no voucher hash or signer is found for an amount past a Clarity uint', () => {
    assert.throws(() => voucherHash(network, escrow, channelId, WRAP + 1_000n), RangeError);
    assert.throws(() => voucherHash(network, escrow, channelId, -1n), RangeError);
    const signature = signVoucher(payer.privateKey, network, escrow, channelId, 1_000n);
    assert.equal(
      voucherSigner(network, escrow, { channelId, maxClaimableAmount: '1000', signature }),
      payer.address,
    );
    const wrapped = { channelId, maxClaimableAmount: (WRAP + 1_000n).toString(), signature };
    assert.equal(voucherSigner(network, escrow, wrapped), undefined);
  });
});
