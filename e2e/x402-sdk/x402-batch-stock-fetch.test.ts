/**
 * batch-settlement paid by stock `@x402/fetch` (an `x402Client` with our batch client scheme registered) and by our
 * `wrapFetchWithPayment` with `batch`, against the stock `@x402/express` seller, our facilitator service and the
 * devnet. Nothing is built by hand: one sponsored deposit within the buyer's cap, then vouchers with nothing on chain,
 * a charge below the price, and a buyer whose record fell behind resynchronised by the corrective 402 (the stock client
 * retries once when the scheme's response hook says it recovered). The money check after the facilitator's claim and
 * a refund: the seller got exactly the sum of charges, and the payer lost exactly that.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch';
import type { StacksAccount } from 'x402-stacks';
import { type ChannelStore, createMemoryChannelStore, signVoucher } from 'x402-stacks/batch';
import { wrapFetchWithPayment as ourWrapFetch } from 'x402-stacks/fetch';
import { STACKS_NETWORKS } from 'x402-stacks/stacks';
import {
  registerBatchSettlementStacksScheme,
  registerExactStacksScheme,
  stacksSpendControls,
} from 'x402-stacks/x402';
import {
  type BatchStack,
  DYNAMIC_CHARGE,
  ESCROW,
  PRICE,
  startBatchStack,
  TESTNET,
} from './x402-batch-setup.js';

const NETWORK = STACKS_NETWORKS.testnet;
/** Below the seller's suggested deposit (20 requests): the buyer's cap decides how much is locked. */
const DEPOSIT_CAP = 12n * PRICE;

type BuyerChannelRecord = Awaited<ReturnType<ChannelStore['list']>>[number];

type Receipt = {
  success: boolean;
  transaction: string;
  extra?: { chargedAmount?: string; channelState?: { chargedCumulativeAmount?: string } };
};

describe('batch-settlement paid by stock @x402/fetch and by our fetch, through a stock @x402/express seller', () => {
  let stack: BatchStack;
  before(async () => {
    stack = await startBatchStack();
  });
  after(() => stack.stop());

  const stockClient = (account: StacksAccount, store: ChannelStore, cap = DEPOSIT_CAP) =>
    registerBatchSettlementStacksScheme(
      registerExactStacksScheme(
        x402Client.fromConfig({
          schemes: [],
          spendControls: stacksSpendControls({ networks: ['testnet'] }),
        }),
        { account, apiUrl: stack.devnet.url },
      ),
      {
        account,
        apiUrl: stack.devnet.url,
        depositCap: { STX: cap },
        escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
        store,
      },
    );
  const receiptOf = (response: Response) =>
    decodePaymentResponseHeader(response.headers.get('payment-response')!) as Receipt;
  const onlyChannel = async (store: ChannelStore) => {
    const records = await store.list();
    assert.equal(records.length, 1, 'one channel');
    return records[0]!;
  };
  /** The buyer's record falls one request behind the seller (a restored backup, another process's charge). */
  const fallBehind = (store: ChannelStore, record: BuyerChannelRecord) =>
    store.update(record, (current) => current && { ...current, charged: current.charged - PRICE });
  /** Refunds the rest of the channel through the facilitator service, with a voucher for what was charged. */
  const refund = async (record: BuyerChannelRecord, account: StacksAccount, charged: bigint) => {
    const offer = {
      scheme: 'batch-settlement',
      network: TESTNET,
      amount: PRICE.toString(),
      asset: 'STX',
      payTo: stack.payTo,
      maxTimeoutSeconds: 300,
      extra: {
        escrow: ESCROW,
        receiverAuthorizer: stack.authorizer,
        withdrawDelay: record.config.withdrawDelay,
      },
    };
    const voucher = {
      channelId: record.channelId,
      maxClaimableAmount: charged.toString(),
      signature: signVoucher(account.privateKey, NETWORK, ESCROW, record.channelId, charged),
    };
    const response = await fetch(`${stack.facilitatorUrl}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        x402Version: 2,
        paymentPayload: {
          x402Version: 2,
          accepted: offer,
          payload: { type: 'refund', channelConfig: record.config, voucher },
        },
        paymentRequirements: offer,
      }),
    });
    return (await response.json()) as { success: boolean; amount?: string };
  };

  test('stock fetch: a deposit within the cap, vouchers off chain, a lower charge, a resync from the corrective 402; the money adds up', async () => {
    const payer = stack.buyers[2]!;
    const store = createMemoryChannelStore();
    // Every status the seller answered, to see the stock client's one retry after the corrective 402.
    const statuses: number[] = [];
    const counted: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      statuses.push(response.status);
      return response;
    };
    const pay = wrapFetchWithPayment(counted, stockClient(payer, store));
    const payerBefore = await stack.balance(payer.address);
    const sellerBefore = await stack.balance(stack.payTo);

    // The first request opens the channel: a sponsored deposit of the cap (below the suggested 20 requests).
    const opened = await pay(`${stack.sellerUrl}/batch`);
    assert.equal(opened.status, 200, await opened.clone().text());
    assert.deepEqual(await opened.json(), { data: 'premium' });
    const openedReceipt = receiptOf(opened);
    assert.equal(openedReceipt.success, true);
    assert.match(openedReceipt.transaction, /^(0x)?[0-9a-f]{64}$/, 'the deposit is on chain');
    let record = await onlyChannel(store);
    assert.equal(record.deposited, DEPOSIT_CAP);
    assert.equal(record.charged, PRICE);
    assert.equal(
      await stack.balance(payer.address),
      payerBefore - DEPOSIT_CAP,
      'sponsored: no fee',
    );

    // Five vouchers: served and charged off chain, nothing mined.
    const tip = stack.devnet.chain.height;
    let charged = PRICE;
    for (let i = 0; i < 5; i++) {
      const paid = await pay(`${stack.sellerUrl}/batch`);
      assert.equal(paid.status, 200, await paid.clone().text());
      const receipt = receiptOf(paid);
      assert.equal(receipt.transaction, '', 'a voucher is charged off chain');
      assert.equal(receipt.extra?.chargedAmount, PRICE.toString());
      charged += PRICE;
    }
    // A voucher for up to the price, charged 400 by the stock seller's Settlement-Overrides.
    const partial = await pay(`${stack.sellerUrl}/dynamic`);
    assert.equal(partial.status, 200, await partial.clone().text());
    assert.equal(receiptOf(partial).extra?.chargedAmount, DYNAMIC_CHARGE.toString());
    charged += DYNAMIC_CHARGE;
    assert.equal(stack.devnet.chain.height, tip, 'vouchers put nothing on chain');
    record = await onlyChannel(store);
    assert.equal(
      record.charged,
      charged,
      'the buyer signs the next voucher from the charged total',
    );

    // Behind by one request: its voucher repeats a charged total. The seller answers 402 with the channel as the
    // facilitator holds it; the scheme checks it against its own signature and the stock client pays once more.
    await fallBehind(store, record);
    statuses.length = 0;
    const resynced = await pay(`${stack.sellerUrl}/batch`);
    assert.equal(resynced.status, 200, await resynced.clone().text());
    assert.deepEqual(
      statuses,
      [402, 402, 200],
      'the challenge, the stale voucher refused, the retry served',
    );
    const resyncedReceipt = receiptOf(resynced);
    assert.equal(resyncedReceipt.transaction, '');
    charged += PRICE;
    assert.equal(
      resyncedReceipt.extra?.channelState?.chargedCumulativeAmount,
      charged.toString(),
      'charged once, from the corrected total',
    );
    assert.equal((await onlyChannel(store)).charged, charged);
    assert.equal(stack.devnet.chain.height, tip, 'the resync put nothing on chain');

    // One claim moves everything charged to the seller; a refund returns the rest to the payer.
    await stack.mechanism.claimNow();
    assert.equal(await stack.balance(stack.payTo), sellerBefore + charged);
    const refunded = await refund(record, payer, charged);
    assert.equal(refunded.success, true, JSON.stringify(refunded));
    assert.equal(refunded.amount, (DEPOSIT_CAP - charged).toString());
    assert.equal(await stack.balance(payer.address), payerBefore - charged);
    assert.equal(await stack.balance(stack.payTo), sellerBefore + charged);
  });

  test('stock fetch: a cap below the price locks nothing and the payload is refused with its reason', async () => {
    const payer = stack.buyers[3]!;
    const store = createMemoryChannelStore();
    const before = await stack.balance(payer.address);
    const pay = wrapFetchWithPayment(fetch, stockClient(payer, store, PRICE - 1n));
    await assert.rejects(pay(`${stack.sellerUrl}/batch`), (error: Error) => {
      assert.match(error.message, /invalid_batch_settlement_stacks_deposit_above_cap|deposit cap/);
      return true;
    });
    assert.deepEqual(await store.list(), [], 'no channel was opened');
    assert.equal(await stack.balance(payer.address), before);
  });

  test('our wrapFetchWithPayment with batch → stock express: deposit, vouchers, a resync; the money adds up', async () => {
    const payer = stack.buyers[1]!;
    const store = createMemoryChannelStore();
    const pay = ourWrapFetch(fetch, payer, {
      apiUrl: stack.devnet.url,
      batch: {
        depositCap: { STX: DEPOSIT_CAP },
        escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
        store,
      },
    });
    const payerBefore = await stack.balance(payer.address);
    const sellerBefore = await stack.balance(stack.payTo);
    const opened = await pay(`${stack.sellerUrl}/batch`);
    assert.equal(opened.status, 200, await opened.clone().text());
    assert.match(receiptOf(opened).transaction, /^(0x)?[0-9a-f]{64}$/);
    const tip = stack.devnet.chain.height;
    let charged = PRICE;
    for (let i = 0; i < 4; i++) {
      const paid = await pay(`${stack.sellerUrl}/batch`);
      assert.equal(paid.status, 200, await paid.clone().text());
      assert.equal(receiptOf(paid).transaction, '');
      charged += PRICE;
    }
    const partial = await pay(`${stack.sellerUrl}/dynamic`);
    assert.equal(partial.status, 200, await partial.clone().text());
    charged += DYNAMIC_CHARGE;
    const record = await onlyChannel(store);
    await fallBehind(store, record);
    const resynced = await pay(`${stack.sellerUrl}/batch`);
    assert.equal(resynced.status, 200, await resynced.clone().text());
    charged += PRICE;
    assert.equal(
      receiptOf(resynced).extra?.channelState?.chargedCumulativeAmount,
      charged.toString(),
    );
    assert.equal(stack.devnet.chain.height, tip, 'vouchers and the resync put nothing on chain');

    await stack.mechanism.claimNow();
    assert.equal(await stack.balance(stack.payTo), sellerBefore + charged);
    const refunded = await refund(record, payer, charged);
    assert.equal(refunded.success, true, JSON.stringify(refunded));
    assert.equal(await stack.balance(payer.address), payerBefore - charged);
  });
});
