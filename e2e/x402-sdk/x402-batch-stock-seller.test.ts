/**
 * batch-settlement through a stock `@x402/express` seller with our batch server scheme registered, over our
 * facilitator service (a stock `x402Facilitator` with our batch facilitator scheme) and the devnet. The buyer's
 * payloads are built here from the wire format, so every byte the stock seller sees is known: a sponsored deposit
 * opens the channel, vouchers are charged with nothing on chain, a replayed voucher gets a 402 carrying the corrective
 * snapshot, a `Settlement-Overrides` charge below the price is honoured, and after one claim the seller holds exactly
 * the sum of charges and, after the refund, the payer lost exactly that.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StacksAccount } from 'x402-stacks';
import {
  type ChannelConfig,
  channelIdOf,
  createDepositTransaction,
  signVoucher,
} from 'x402-stacks/batch';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
} from 'x402-stacks/protocol';
import { resolveAsset, STACKS_NETWORKS } from 'x402-stacks/stacks';
import {
  type BatchStack,
  DYNAMIC_CHARGE,
  ESCROW,
  MIN_DEPOSIT,
  PRICE,
  startBatchStack,
  TESTNET,
  WITHDRAW_DELAY,
} from './x402-batch-setup.js';

const NETWORK = STACKS_NETWORKS.testnet;
type Offer = ReturnType<typeof decodePaymentRequiredHeader>['accepts'][number];

describe('batch-settlement through a stock @x402/express seller', () => {
  let stack: BatchStack;
  let payer: StacksAccount;
  before(async () => {
    stack = await startBatchStack();
    payer = stack.buyers[0]!;
  });
  after(() => stack.stop());

  const challenge = async (path: string) => {
    const response = await fetch(`${stack.sellerUrl}${path}`);
    assert.equal(response.status, 402);
    return decodePaymentRequiredHeader(response.headers.get('payment-required')!);
  };
  const pay = (path: string, accepted: Offer, payload: unknown) =>
    fetch(`${stack.sellerUrl}${path}`, {
      headers: {
        'payment-signature': encodePaymentSignatureHeader({
          x402Version: 2,
          resource: { url: `${stack.sellerUrl}${path}` },
          accepted,
          payload: payload as Record<string, unknown>,
        }),
      },
    });
  const configOf = (offer: Offer, who = payer, salt = '5e'): ChannelConfig => ({
    payer: who.address,
    payerAuthorizer: who.address,
    receiver: offer.payTo,
    receiverAuthorizer: String(offer.extra?.receiverAuthorizer),
    token: null,
    withdrawDelay: Number(offer.extra?.withdrawDelay),
    salt: `0x${salt.repeat(32)}`,
  });
  const voucher = (config: ChannelConfig, max: bigint, who = payer) => {
    const channelId = channelIdOf(config);
    return {
      channelId,
      maxClaimableAmount: max.toString(),
      signature: signVoucher(who.privateKey, NETWORK, ESCROW, channelId, max),
    };
  };

  test('the facilitator service lists batch-settlement with the escrow, authorizer and sponsor', async () => {
    const supported = (await (await fetch(`${stack.facilitatorUrl}/supported`)).json()) as {
      kinds: { scheme: string; network: string; extra?: Record<string, unknown> }[];
      signers: Record<string, string[]>;
    };
    const batch = supported.kinds.filter((kind) => kind.scheme === 'batch-settlement');
    assert.deepEqual(batch, [
      {
        x402Version: 2,
        scheme: 'batch-settlement',
        network: TESTNET,
        extra: {
          escrow: ESCROW,
          receiverAuthorizer: stack.authorizer,
          sponsor: stack.sponsor,
          feePayer: stack.sponsor,
        },
      },
    ]);
    assert.deepEqual(
      supported.kinds.filter((kind) => kind.scheme === 'exact').map((kind) => kind.network),
      [TESTNET],
      'exact is registered once per network, not once per kind',
    );
    assert.ok(supported.signers['stacks:*']?.includes(stack.authorizer));
    assert.ok(supported.signers['stacks:*']?.includes(stack.sponsor));
  });

  test('the stock 402 offers batch-settlement with everything a buyer needs to open a channel', async () => {
    const required = await challenge('/batch');
    assert.equal(required.accepts.length, 1);
    const [offer] = required.accepts;
    assert.deepEqual(offer, {
      scheme: 'batch-settlement',
      network: TESTNET,
      amount: PRICE.toString(),
      asset: 'STX',
      payTo: stack.payTo,
      maxTimeoutSeconds: 300,
      extra: {
        withdrawDelay: WITHDRAW_DELAY,
        escrow: ESCROW,
        receiverAuthorizer: stack.authorizer,
        minDeposit: MIN_DEPOSIT.toString(),
        sponsor: stack.sponsor,
        feePayer: stack.sponsor,
      },
    });
  });

  test('deposit, vouchers, a replay refused with the snapshot, a lower charge, one claim, a refund: the money adds up', async () => {
    const [offer] = (await challenge('/batch')).accepts;
    const [dynamicOffer] = (await challenge('/dynamic')).accepts;
    const config = configOf(offer!);
    const payerBefore = await stack.balance(payer.address);
    const sellerBefore = await stack.balance(stack.payTo);

    // The deposit: a sponsored escrow call for the suggested deposit, with the voucher for this first request.
    const { transaction } = await createDepositTransaction({
      account: payer,
      network: NETWORK,
      escrow: ESCROW,
      config,
      amount: MIN_DEPOSIT,
      asset: resolveAsset('STX', NETWORK),
      nonce: 0n,
      sponsored: true,
    });
    const opened = await pay('/batch', offer!, {
      type: 'deposit',
      channelConfig: config,
      voucher: voucher(config, PRICE),
      deposit: { amount: MIN_DEPOSIT.toString(), transaction },
    });
    assert.equal(opened.status, 200, await opened.clone().text());
    assert.deepEqual(await opened.json(), { data: 'premium' });
    const openedReceipt = decodePaymentResponseHeader(opened.headers.get('payment-response')!);
    assert.equal(openedReceipt.success, true);
    assert.match(openedReceipt.transaction, /^(0x)?[0-9a-f]{64}$/);
    const openedState = (openedReceipt.extra as { channelState: Record<string, string> })
      .channelState;
    assert.equal(openedState.chargedCumulativeAmount, PRICE.toString());
    assert.equal(openedState.balance, MIN_DEPOSIT.toString());

    // Five vouchers: each served and charged off chain, nothing mined.
    const tip = stack.devnet.chain.height;
    let charged = PRICE;
    for (let i = 0; i < 5; i++) {
      const paid = await pay('/batch', offer!, {
        type: 'voucher',
        channelConfig: config,
        voucher: voucher(config, charged + PRICE),
      });
      assert.equal(paid.status, 200, await paid.clone().text());
      const receipt = decodePaymentResponseHeader(paid.headers.get('payment-response')!);
      assert.equal(receipt.transaction, '', 'a voucher is charged off chain');
      assert.equal((receipt.extra as { chargedAmount: string }).chargedAmount, PRICE.toString());
      charged += PRICE;
    }
    assert.equal(stack.devnet.chain.height, tip, 'vouchers put nothing on chain');

    // The last voucher again: a 402 whose batch offer carries the channel as the facilitator holds it.
    const replay = await pay('/batch', offer!, {
      type: 'voucher',
      channelConfig: config,
      voucher: voucher(config, charged),
    });
    assert.equal(replay.status, 402);
    const corrective = decodePaymentRequiredHeader(replay.headers.get('payment-required')!);
    assert.equal(corrective.error, 'invalid_batch_settlement_stacks_cumulative_amount_mismatch');
    const snapshot = corrective.accepts[0]!.extra as {
      channelState: { chargedCumulativeAmount: string; channelId: string };
      voucherState: { signedMaxClaimable: string };
    };
    assert.equal(snapshot.channelState.channelId, channelIdOf(config));
    assert.equal(snapshot.channelState.chargedCumulativeAmount, charged.toString());
    assert.equal(snapshot.voucherState.signedMaxClaimable, charged.toString());

    // A payment that echoes the corrective offer (with the snapshot in `accepted.extra`) still matches the route.
    const resynced = await pay('/batch', corrective.accepts[0]!, {
      type: 'voucher',
      channelConfig: config,
      voucher: voucher(config, charged + PRICE),
    });
    assert.equal(resynced.status, 200, await resynced.clone().text());
    charged += PRICE;

    // The stock seller's Settlement-Overrides: a voucher for up to the price, charged 400.
    const partial = await pay('/dynamic', dynamicOffer!, {
      type: 'voucher',
      channelConfig: config,
      voucher: voucher(config, charged + PRICE),
    });
    assert.equal(partial.status, 200, await partial.clone().text());
    assert.deepEqual(await partial.json(), { data: 'partial' });
    const partialReceipt = decodePaymentResponseHeader(partial.headers.get('payment-response')!);
    assert.equal(
      (partialReceipt.extra as { chargedAmount: string }).chargedAmount,
      DYNAMIC_CHARGE.toString(),
    );
    charged += DYNAMIC_CHARGE;
    const partialState = (partialReceipt.extra as { channelState: Record<string, string> })
      .channelState;
    assert.equal(partialState.chargedCumulativeAmount, charged.toString());

    // The next voucher signs from the charged total, not from the ceiling the last one allowed.
    const next = await pay('/batch', offer!, {
      type: 'voucher',
      channelConfig: config,
      voucher: voucher(config, charged + PRICE),
    });
    assert.equal(next.status, 200, await next.clone().text());
    charged += PRICE;

    // A voucher past the deposit is refused: the channel never serves beyond what it holds.
    const beyond = await pay('/batch', offer!, {
      type: 'voucher',
      channelConfig: config,
      voucher: voucher(config, MIN_DEPOSIT + PRICE),
    });
    assert.equal(beyond.status, 402);

    // One claim and one settle move everything charged to the seller.
    await stack.mechanism.claimNow();
    assert.equal(await stack.balance(stack.payTo), sellerBefore + charged);

    // A cooperative refund, through the facilitator service, returns the rest.
    const refundPayment = {
      x402Version: 2,
      accepted: offer,
      payload: { type: 'refund', channelConfig: config, voucher: voucher(config, charged) },
    };
    const refund = (await (
      await fetch(`${stack.facilitatorUrl}/settle`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          x402Version: 2,
          paymentPayload: refundPayment,
          paymentRequirements: offer,
        }),
      })
    ).json()) as { success: boolean; amount?: string };
    assert.equal(refund.success, true, JSON.stringify(refund));
    assert.equal(refund.amount, (MIN_DEPOSIT - charged).toString());
    assert.equal(await stack.balance(payer.address), payerBefore - charged);
    assert.equal(await stack.balance(stack.payTo), sellerBefore + charged);
  });

  test('the same voucher sent twice at once is charged once: the stock seller does not serialize, the facilitator does', async () => {
    const buyer = stack.buyers[1]!;
    const [offer] = (await challenge('/batch')).accepts;
    const config = configOf(offer!, buyer, '7a');
    const { transaction } = await createDepositTransaction({
      account: buyer,
      network: NETWORK,
      escrow: ESCROW,
      config,
      amount: MIN_DEPOSIT,
      asset: resolveAsset('STX', NETWORK),
      nonce: 0n,
      sponsored: true,
    });
    const opened = await pay('/batch', offer!, {
      type: 'deposit',
      channelConfig: config,
      voucher: voucher(config, PRICE, buyer),
      deposit: { amount: MIN_DEPOSIT.toString(), transaction },
    });
    assert.equal(opened.status, 200, await opened.clone().text());
    const second = {
      type: 'voucher',
      channelConfig: config,
      voucher: voucher(config, 2n * PRICE, buyer),
    };
    const answers = await Promise.all([
      pay('/batch', offer!, second),
      pay('/batch', offer!, second),
    ]);
    const statuses = answers.map((answer) => answer.status).sort();
    assert.deepEqual(statuses, [200, 402], 'one is served, the other refused');
    const refused = answers.find((answer) => answer.status === 402)!;
    // Refused at verify (already charged) or at settle (the other charged first): either way it is not served.
    assert.notDeepEqual(await refused.text(), JSON.stringify({ data: 'premium' }));
    // The channel was charged exactly twice the price: the next voucher is accepted only from 2 × the price.
    const next = await pay('/batch', offer!, {
      type: 'voucher',
      channelConfig: config,
      voucher: voucher(config, 3n * PRICE, buyer),
    });
    assert.equal(next.status, 200, await next.clone().text());
    const state = (
      decodePaymentResponseHeader(next.headers.get('payment-response')!).extra as {
        channelState: { chargedCumulativeAmount: string };
      }
    ).channelState;
    assert.equal(state.chargedCumulativeAmount, (3n * PRICE).toString());
  });
});
