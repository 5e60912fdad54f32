/**
 * batch-settlement through the facilitator engine against the devnet over HTTP: a sponsored deposit opens a channel,
 * vouchers are charged off chain with nothing broadcast, replayed and stale vouchers are refused with the corrective
 * snapshot, a voucher past the balance is refused, a dynamic charge below the price is honoured, one claim and one
 * settle move everything charged to the seller, and a cooperative refund returns the rest. The money check at the end:
 * the seller got exactly the sum of charges, and the payer lost exactly that.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { createFacilitator, type Facilitator } from 'x402-stacks';
import {
  BATCH_SETTLEMENT,
  type BatchSettlementMechanism,
  batchSettlementFacilitator,
  type ChannelConfig,
  channelIdOf,
  createDepositTransaction,
  signVoucher,
} from 'x402-stacks/batch';
import { resolveAsset, STACKS_NETWORKS, type StacksAccount } from 'x402-stacks/stacks';
import { type EngineStack, ESCROW, sponsoredDeposit, startEngineStack } from './engine-stack.js';

const NETWORK = STACKS_NETWORKS.testnet;
const PRICE = 1000n;

describe('batch-settlement through the facilitator engine', () => {
  let devnet: Devnet;
  let engine: Facilitator;
  let mechanism: BatchSettlementMechanism;
  let payer: StacksAccount;
  let seller: string;
  let authorizer: string;
  let sponsor: string;

  let stack: EngineStack;
  before(async () => {
    stack = await startEngineStack();
    ({ devnet, engine, mechanism, authorizer, sponsor } = stack);
    payer = devnet.accounts[2]!.account;
    seller = devnet.accounts[3]!.address;
  });
  after(() => stack.stop());

  const requirements = () => ({
    scheme: BATCH_SETTLEMENT,
    network: NETWORK.caip2,
    amount: PRICE.toString(),
    asset: 'STX',
    payTo: seller,
    maxTimeoutSeconds: 300,
    extra: { escrow: ESCROW, receiverAuthorizer: authorizer, withdrawDelay: 6, sponsor },
  });
  const configOf = (salt: string): ChannelConfig => ({
    payer: payer.address,
    payerAuthorizer: payer.address,
    receiver: seller,
    receiverAuthorizer: authorizer,
    token: null,
    withdrawDelay: 6,
    salt: `0x${salt.repeat(64 / salt.length)}`,
  });
  const voucher = (config: ChannelConfig, max: bigint) => {
    const channelId = channelIdOf(config);
    return {
      channelId,
      maxClaimableAmount: max.toString(),
      signature: signVoucher(payer.privateKey, NETWORK, ESCROW, channelId, max),
    };
  };
  const paymentOf = (payload: unknown) => ({ x402Version: 2, accepted: requirements(), payload });
  const balance = async (address: string) =>
    BigInt(
      (
        (await (await fetch(`${devnet.url}/v2/accounts/${address}?proof=0`)).json()) as {
          balance: string;
        }
      ).balance,
    );
  async function depositPayload(config: ChannelConfig, amount: bigint, first: bigint) {
    const nonce = BigInt(
      (
        (await (
          await fetch(`${devnet.url}/extended/v1/address/${payer.address}/nonces`)
        ).json()) as {
          possible_next_nonce: number;
        }
      ).possible_next_nonce,
    );
    const transaction = await sponsoredDeposit(payer, config, amount, nonce);
    return {
      type: 'deposit',
      channelConfig: config,
      voucher: voucher(config, first),
      deposit: { amount: amount.toString(), transaction },
    };
  }

  test('deposit, vouchers, refusals, a dynamic charge, one claim and a refund: the money adds up', async () => {
    const config = configOf('a1');
    const payerBefore = await balance(payer.address);
    const sellerBefore = await balance(seller);

    // A deposit of 100 requests' worth, with the voucher for the first.
    const deposit = paymentOf(await depositPayload(config, 100n * PRICE, PRICE));
    const verified = await engine.verify(deposit, requirements());
    assert.equal(verified.isValid, true, JSON.stringify(verified));
    const opened = await engine.settle(deposit, requirements());
    assert.equal(opened.success, true, JSON.stringify(opened));
    assert.match(opened.transaction, /^(0x)?[0-9a-f]{64}$/);
    assert.equal(opened.amount, (100n * PRICE).toString());
    assert.equal(
      (opened.extra?.channelState as { chargedCumulativeAmount?: string } | undefined)
        ?.chargedCumulativeAmount,
      '1000',
    );

    // Five vouchers: nothing broadcast, each charged.
    const tip = devnet.chain.height;
    let charged = PRICE;
    for (let i = 0; i < 5; i++) {
      const next = paymentOf({
        type: 'voucher',
        channelConfig: config,
        voucher: voucher(config, charged + PRICE),
      });
      assert.equal((await engine.verify(next, requirements())).isValid, true);
      const answer = await engine.settle(next, requirements());
      assert.equal(answer.success, true, JSON.stringify(answer));
      assert.equal(answer.transaction, '');
      assert.equal(answer.extra?.chargedAmount, PRICE.toString());
      charged += PRICE;
    }
    assert.equal(devnet.chain.height, tip, 'vouchers put nothing on chain');

    // A replayed voucher (the last one again) is stale: refused, with the snapshot to resynchronise from.
    const replay = paymentOf({
      type: 'voucher',
      channelConfig: config,
      voucher: voucher(config, charged),
    });
    const refused = await engine.verify(replay, requirements());
    assert.equal(refused.isValid, false);
    assert.equal(
      refused.invalidReason,
      'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
    );
    const corrective = refused.extra as {
      channelState: { chargedCumulativeAmount: string };
      voucherState: { signedMaxClaimable: string };
    };
    assert.equal(corrective.channelState.chargedCumulativeAmount, charged.toString());
    assert.equal(corrective.voucherState.signedMaxClaimable, charged.toString());
    const replaySettle = await engine.settle(replay, requirements());
    assert.equal(replaySettle.success, false);
    assert.equal(
      replaySettle.errorReason,
      'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
    );

    // A voucher signed by someone else, or for another channel's config, is refused.
    const forged = paymentOf({
      type: 'voucher',
      channelConfig: config,
      voucher: {
        ...voucher(config, charged + PRICE),
        signature: signVoucher(
          devnet.accounts[6]!.account.privateKey,
          NETWORK,
          ESCROW,
          channelIdOf(config),
          charged + PRICE,
        ),
      },
    });
    assert.equal(
      (await engine.verify(forged, requirements())).invalidReason,
      'invalid_batch_settlement_stacks_voucher_signature',
    );

    // A dynamic price: the seller charges 400 of the 1000 the voucher allows.
    const dynamic = paymentOf({
      type: 'voucher',
      channelConfig: config,
      voucher: voucher(config, charged + PRICE),
    });
    const above = await engine.settle(dynamic, { ...requirements(), amount: '1001' });
    assert.equal(above.errorReason, 'invalid_batch_settlement_stacks_charge_exceeds_voucher');
    const partial = await engine.settle(dynamic, { ...requirements(), amount: '400' });
    assert.equal(partial.success, true, JSON.stringify(partial));
    charged += 400n;

    // One claim and one settle move everything charged to the seller.
    await mechanism.claimNow();
    assert.equal(await balance(seller), sellerBefore + charged);

    // A cooperative refund returns the rest; the payer paid exactly what was charged (the sponsor paid every fee).
    const refund = paymentOf({
      type: 'refund',
      channelConfig: config,
      voucher: voucher(config, charged),
    });
    const refunded = await engine.settle(refund, requirements());
    assert.equal(refunded.success, true, JSON.stringify(refunded));
    assert.equal(refunded.amount, (100n * PRICE - charged).toString());
    assert.equal(await balance(payer.address), payerBefore - charged);
    assert.equal(await balance(seller), sellerBefore + charged);
  });

  test('a voucher above the balance is refused: a channel never serves past its deposit', async () => {
    const config = configOf('b2');
    const opened = await engine.settle(
      paymentOf(await depositPayload(config, 2n * PRICE, PRICE)),
      requirements(),
    );
    assert.equal(opened.success, true, JSON.stringify(opened));
    const second = paymentOf({
      type: 'voucher',
      channelConfig: config,
      voucher: voucher(config, 2n * PRICE),
    });
    assert.equal((await engine.settle(second, requirements())).success, true);
    const third = paymentOf({
      type: 'voucher',
      channelConfig: config,
      voucher: voucher(config, 3n * PRICE),
    });
    const refused = await engine.settle(third, requirements());
    assert.equal(refused.success, false);
    assert.equal(refused.errorReason, 'invalid_batch_settlement_stacks_cumulative_exceeds_balance');
  });

  test('a voucher for a channel that was never opened is refused', async () => {
    const config = configOf('c3');
    const answer = await engine.verify(
      paymentOf({ type: 'voucher', channelConfig: config, voucher: voucher(config, PRICE) }),
      requirements(),
    );
    assert.equal(answer.invalidReason, 'invalid_batch_settlement_stacks_channel_not_found');
  });
});

describe('batch-settlement: a deposit that is not confirmed in time', () => {
  test('answers settlement_pending, and the same payment sent again once mined is charged once', async () => {
    const devnet = await startDevnet({ port: 0, accounts: 8, mining: { mode: 'manual' } });
    try {
      const payer = devnet.accounts[2]!.account;
      const seller = devnet.accounts[3]!.address;
      const engine = createFacilitator({
        networks: { testnet: { url: devnet.url } },
        sponsor: { privateKeys: [devnet.accounts[5]!.account.privateKey] },
        settleTimeoutMs: 300,
        pollIntervalMs: 50,
        schemes: [
          batchSettlementFacilitator({
            escrows: { testnet: ESCROW },
            authorizerKey: devnet.accounts[4]!.account.privateKey,
          }),
        ],
      });
      const supported = engine.supported().kinds;
      const authorizer = String(
        supported.find((k) => k.scheme === BATCH_SETTLEMENT)?.extra?.receiverAuthorizer,
      );
      const sponsor = String(supported.find((k) => k.scheme === 'exact')?.extra?.sponsor);
      const requirements = {
        scheme: BATCH_SETTLEMENT,
        network: NETWORK.caip2,
        amount: PRICE.toString(),
        asset: 'STX',
        payTo: seller,
        maxTimeoutSeconds: 300,
        extra: { escrow: ESCROW, receiverAuthorizer: authorizer, withdrawDelay: 6, sponsor },
      };
      const config: ChannelConfig = {
        payer: payer.address,
        payerAuthorizer: payer.address,
        receiver: seller,
        receiverAuthorizer: authorizer,
        token: null,
        withdrawDelay: 6,
        salt: `0x${'d4'.repeat(32)}`,
      };
      const channelId = channelIdOf(config);
      const { transaction } = await createDepositTransaction({
        account: payer,
        network: NETWORK,
        escrow: ESCROW,
        config,
        amount: 10n * PRICE,
        asset: resolveAsset('STX', NETWORK),
        nonce: 0n,
        sponsored: true,
      });
      const payment = {
        x402Version: 2,
        accepted: requirements,
        payload: {
          type: 'deposit',
          channelConfig: config,
          voucher: {
            channelId,
            maxClaimableAmount: PRICE.toString(),
            signature: signVoucher(payer.privateKey, NETWORK, ESCROW, channelId, PRICE),
          },
          deposit: { amount: (10n * PRICE).toString(), transaction },
        },
      };
      const pending = await engine.settle(payment, requirements);
      assert.equal(pending.success, false);
      assert.equal(pending.errorReason, 'settlement_pending');
      // Sent again before it is mined: still pending, and nothing is broadcast a second time.
      const again = await engine.settle(payment, requirements);
      assert.equal(again.errorReason, 'settlement_pending');
      assert.equal(again.transaction, pending.transaction);
      devnet.chain.mine(1);
      await engine.idle();
      const charged = await engine.settle(payment, requirements);
      assert.equal(charged.success, true, JSON.stringify(charged));
      assert.equal(
        (charged.extra?.channelState as { chargedCumulativeAmount?: string } | undefined)
          ?.chargedCumulativeAmount,
        PRICE.toString(),
      );
      // A third time: the voucher is spent, so it is refused, never charged twice.
      const replay = await engine.settle(payment, requirements);
      assert.equal(replay.success, false);
      assert.equal(
        replay.errorReason,
        'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
      );
    } finally {
      await devnet.stop();
    }
  });
});
