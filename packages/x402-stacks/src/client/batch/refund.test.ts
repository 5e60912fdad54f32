/**
 * The buyer's refund helper and the channel an offer implies: the refund payload is whole (no amount), its voucher is
 * zero-charge (the charged total) and recovers to the payer-authorizer; another account is refused by name; an
 * answered refund moves the record to the escrow's balance; a fresh channel for an offer is found again by it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { voucherSigner } from '../../batch/channel.js';
import { RefundPayloadSchema } from '../../batch/wire.js';
import { generateKeypair, privateKeyToAccount } from '../../stacks/accounts.js';
import { STACKS_NETWORKS } from '../../stacks/networks.js';
import { BatchClientError } from './errors.js';
import { readBatchOffer } from './offer.js';
import { channelsForOffer, newChannelForOffer } from './offer-channel.js';
import { refundedRecord, refundPayload } from './refund.js';

const network = STACKS_NETWORKS.testnet;
const account = privateKeyToAccount(generateKeypair('testnet').privateKey, 'testnet');
const escrow = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';
const offer = readBatchOffer({
  scheme: 'batch-settlement',
  network: network.caip2,
  amount: '1000',
  asset: 'STX',
  payTo: 'ST2Y2SFNVZBT8SSZ00XXKH930MCN0RFREB2GQG7CJ',
  maxTimeoutSeconds: 300,
  extra: {
    escrow,
    receiverAuthorizer: 'STPJ2HPED2TMR1HAFBFA5VQF986CRD4ZWHH36F6X',
    withdrawDelay: 6,
  },
});
if ('reason' in offer) throw new Error(offer.message);
const fresh = newChannelForOffer(account.address, offer, `0x${'cd'.repeat(32)}`, 1);
const record = { ...fresh, deposited: 50_000n, charged: 4_200n, signedMax: 5_000n };

describe('refundPayload', () => {
  test('a whole refund with a zero-charge voucher the payer-authorizer signed', () => {
    const payload = refundPayload(account, record);
    assert.equal(RefundPayloadSchema.safeParse(payload).success, true);
    assert.equal(payload.amount, undefined, 'whole: no amount');
    assert.equal(payload.voucher.maxClaimableAmount, '4200', 'the charged total itself');
    assert.equal(payload.voucher.channelId, record.channelId);
    assert.equal(voucherSigner(network, escrow, payload.voucher), account.address);
  });

  test('another account is refused by name, signing nothing', () => {
    const other = privateKeyToAccount(generateKeypair('testnet').privateKey, 'testnet');
    assert.throws(
      () => refundPayload(other, record),
      (error) =>
        error instanceof BatchClientError && error.reason === 'channel_not_authorized_by_account',
    );
  });

  test('an answered refund leaves the charged total in the channel; a foreign answer changes nothing', () => {
    const state = (channelId: string) => ({
      channelState: {
        channelId,
        balance: '4200',
        totalClaimed: '4200',
        withdrawRequestedAt: 0,
        refundNonce: '1',
      },
    });
    const after = refundedRecord(record, state(record.channelId), 7);
    assert.equal(after.deposited, 4_200n);
    assert.equal(after.charged, 4_200n);
    assert.equal(after.updatedAt, 7);
    assert.equal(refundedRecord(record, state(`0x${'00'.repeat(32)}`), 7), record);
    assert.equal(refundedRecord(record, { nonsense: true }, 7), record);
  });
});

describe('channelsForOffer', () => {
  test("finds the offer's channels of this payer, most room first, and no one else's", () => {
    const roomy = { ...record, channelId: `0x${'11'.repeat(32)}`, deposited: 90_000n };
    const otherDelay = { ...record, config: { ...record.config, withdrawDelay: 7 } };
    const otherPayer = privateKeyToAccount(generateKeypair('testnet').privateKey, 'testnet');
    const found = channelsForOffer([record, otherDelay, roomy], account.address, offer);
    assert.deepEqual(
      found.map((r) => r.channelId),
      [roomy.channelId, record.channelId],
    );
    assert.deepEqual(channelsForOffer([record], otherPayer.address, offer), []);
  });
});

describe('refundPayload for a shorter address', () => {
  test('an account whose address is 39 characters (a hash that begins with zero bits) gets a refund that parses', () => {
    // c32 writes such a hash shorter: 41 characters for most accounts, 39 for about one in 200.
    const short = privateKeyToAccount(
      'a14c85a80bcd3a6fc45ff60a5805ec442f9c3f9e206f29cce9c10aa84edbc6be01',
      'testnet',
    );
    assert.equal(short.address, 'STP9WX9AZBNSVWFAHSW1S6DPPY43JEKT16732Z9');
    const channel = {
      ...newChannelForOffer(short.address, offer, `0x${'cd'.repeat(32)}`, 1),
      deposited: 50_000n,
      charged: 4_200n,
      signedMax: 5_000n,
    };
    const payload = refundPayload(short, channel);
    assert.equal(RefundPayloadSchema.safeParse(payload).success, true);
    // The boot address, 29 characters, is a principal too (its contracts are the chain's own).
    assert.equal(
      RefundPayloadSchema.safeParse({
        ...payload,
        channelConfig: { ...payload.channelConfig, receiver: 'ST000000000000000000002AMW42H' },
      }).success,
      true,
    );
  });
});
