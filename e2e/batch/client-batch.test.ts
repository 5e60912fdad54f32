/**
 * The buyer's side of batch-settlement against the facilitator engine and the devnet over HTTP: every payload comes
 * from `createBatchBuyer`, nothing is built by hand. One deposit then 20 vouchers; a top-up when the channel runs dry;
 * a buyer that lost its records (a fresh store that only knows the channel's config) recovers from the chain and the
 * corrective refusal and keeps paying with no second deposit; a deposit above the cap is refused with nothing signed.
 * The money check at the end: the seller got exactly the sum of charges, and the payer lost exactly its deposits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Devnet } from '@x402-stacks/devnet';
import type { Facilitator } from 'x402-stacks';
import {
  BATCH_SETTLEMENT,
  type BatchAttempt,
  type BatchBuyer,
  type BatchOffer,
  type BatchSettlementMechanism,
  type ChannelStore,
  createBatchBuyer,
  createMemoryChannelStore,
  readBatchOffer,
} from 'x402-stacks/batch';
import { createChainClient } from 'x402-stacks/chain';
import { STACKS_NETWORKS, type StacksAccount } from 'x402-stacks/stacks';

const NETWORK = STACKS_NETWORKS.testnet;

import { type EngineStack, ESCROW, startEngineStack } from './engine-stack.js';

const PRICE = 1000n;
const MIN_DEPOSIT = 30n * PRICE;

describe('the batch buyer against the facilitator engine and the devnet', () => {
  let devnet: Devnet;
  let engine: Facilitator;
  let mechanism: BatchSettlementMechanism;
  let payer: StacksAccount;
  let seller: string;
  let authorizer: string;
  let sponsor: string;
  let store: ChannelStore;
  let buyer: BatchBuyer;
  let nonceReads = 0;
  /** What each deposit's nonce turn was asked for. */
  const depositTurns: ({ readonly confirmed?: boolean } | undefined)[] = [];

  const requirements = () => ({
    scheme: BATCH_SETTLEMENT,
    network: NETWORK.caip2,
    amount: PRICE.toString(),
    asset: 'STX',
    payTo: seller,
    maxTimeoutSeconds: 300,
    extra: {
      escrow: ESCROW,
      receiverAuthorizer: authorizer,
      withdrawDelay: 6,
      sponsor,
      minDeposit: MIN_DEPOSIT.toString(),
    },
  });
  const offer = () => readBatchOffer(requirements()) as BatchOffer;
  const balance = async (address: string) =>
    BigInt(
      (
        (await (await fetch(`${devnet.url}/v2/accounts/${address}?proof=0`)).json()) as {
          balance: string;
        }
      ).balance,
    );
  const buyerWith = (channels: ChannelStore, cap: bigint) => {
    const chain = createChainClient({ network: 'testnet', url: devnet.url });
    return createBatchBuyer({
      account: payer,
      chain,
      store: channels,
      depositCap: (asset) => (asset.kind === 'stx' ? cap : undefined),
      escrows: new Set([ESCROW]),
      acquireNonce: async (turn) => {
        depositTurns.push(turn);
        nonceReads++;
        const nonce = await chain.getNextNonce(payer.address);
        return { nonce, used() {}, resync() {}, watch() {} };
      },
    });
  };
  /** Prepares with the buyer, settles through the engine, reports the answer back: the whole round of one request. */
  async function pay(using: BatchBuyer = buyer) {
    const prepared = await using.prepare(offer());
    assert.ok(!('refusal' in prepared), 'refusal' in prepared ? prepared.refusal.message : '');
    const attempt = prepared as BatchAttempt;
    const payment = { x402Version: 2, accepted: requirements(), payload: attempt.payload };
    const verified = await engine.verify(payment, requirements());
    if (!verified.isValid) {
      const resync = await attempt.refused(String(verified.invalidReason), verified.extra);
      return { attempt, verified, resync };
    }
    const settled = await engine.settle(payment, requirements());
    assert.equal(settled.success, true, JSON.stringify(settled));
    await attempt.served(settled.extra);
    return { attempt, settled };
  }

  let stack: EngineStack;
  before(async () => {
    stack = await startEngineStack();
    ({ devnet, engine, mechanism, authorizer, sponsor } = stack);
    payer = devnet.accounts[2]!.account;
    seller = devnet.accounts[3]!.address;
    store = createMemoryChannelStore();
    buyer = buyerWith(store, 100n * PRICE);
  });
  after(() => stack.stop());

  let payerBefore: bigint;
  let sellerBefore: bigint;
  let channelId: string;

  test('one sponsored deposit, then 20 vouchers with nothing on chain', async () => {
    payerBefore = await balance(payer.address);
    sellerBefore = await balance(seller);
    const first = await pay();
    assert.equal(first.attempt.payload.type, 'deposit');
    assert.equal(first.attempt.deposit?.amount, MIN_DEPOSIT);
    // Sponsored: the account's next payment waits for it to be confirmed, as the facilitator would.
    assert.deepEqual(depositTurns, [{ confirmed: true }]);
    channelId = first.attempt.channel.channelId;
    const tip = devnet.chain.height;
    for (let i = 0; i < 20; i++) {
      const round = await pay();
      assert.equal(round.attempt.payload.type, 'voucher');
      assert.equal(round.settled?.transaction, '');
      assert.equal(
        round.attempt.payload.voucher.maxClaimableAmount,
        (BigInt(i + 2) * PRICE).toString(),
      );
    }
    assert.equal(devnet.chain.height, tip, 'vouchers put nothing on chain');
    const record = await store.get({ network: NETWORK.caip2, escrow: ESCROW, channelId });
    assert.equal(record?.charged, 21n * PRICE);
    assert.equal(record?.deposited, MIN_DEPOSIT);
    assert.equal(record?.signedMax, 21n * PRICE);
    assert.equal(record?.pendingDeposit, undefined);
  });

  test('a channel that runs dry is topped up on the same channel', async () => {
    for (let i = 0; i < 9; i++) assert.equal((await pay()).attempt.payload.type, 'voucher');
    const topUp = await pay();
    assert.equal(topUp.attempt.payload.type, 'deposit');
    assert.equal(topUp.attempt.channel.channelId, channelId);
    assert.equal(topUp.attempt.payload.voucher.maxClaimableAmount, (31n * PRICE).toString());
    const record = await store.get({ network: NETWORK.caip2, escrow: ESCROW, channelId });
    assert.equal(record?.deposited, 2n * MIN_DEPOSIT);
    assert.equal(record?.charged, 31n * PRICE);
  });

  test('a buyer that lost its records recovers from the chain and the corrective refusal, with no second deposit', async () => {
    const known = await store.get({ network: NETWORK.caip2, escrow: ESCROW, channelId });
    assert.ok(known);
    // A fresh store that only knows the channel's config: nothing deposited or charged as far as it can tell.
    const fresh = createMemoryChannelStore();
    await fresh.update(known, () => ({
      ...known,
      deposited: 0n,
      charged: 0n,
      signedMax: 0n,
      updatedAt: Date.now(),
    }));
    const forgetful = buyerWith(fresh, 100n * PRICE);
    const readsBefore = nonceReads;
    const tip = devnet.chain.height;
    const stale = await pay(forgetful);
    // The escrow showed the balance, so a voucher went (no deposit), from the on-chain claimed total: refused.
    assert.equal(stale.attempt.payload.type, 'voucher');
    assert.equal(
      stale.verified?.invalidReason,
      'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
    );
    assert.deepEqual(stale.resync, { resynced: true, superseded: true });
    const recovered = await pay(forgetful);
    assert.equal(recovered.attempt.payload.type, 'voucher');
    assert.equal(recovered.attempt.payload.voucher.maxClaimableAmount, (32n * PRICE).toString());
    assert.equal(recovered.settled?.success, true);
    for (let i = 0; i < 3; i++)
      assert.equal((await pay(forgetful)).attempt.payload.type, 'voucher');
    assert.equal(nonceReads, readsBefore, 'no deposit was signed');
    assert.equal(devnet.chain.height, tip, 'nothing went on chain');
    const record = await fresh.get(known);
    assert.equal(record?.charged, 35n * PRICE);
    assert.equal(record?.deposited, 2n * MIN_DEPOSIT);
  });

  test('a forged corrective total is not adopted', async () => {
    const known = (await store.get({ network: NETWORK.caip2, escrow: ESCROW, channelId }))!;
    const attempt = (await buyer.prepare(offer())) as BatchAttempt;
    // The seller side claims a higher total, backed by a voucher the buyer never signed.
    const resync = await attempt.refused(
      'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
      {
        channelState: {
          channelId,
          balance: (2n * MIN_DEPOSIT).toString(),
          totalClaimed: '0',
          withdrawRequestedAt: 0,
          refundNonce: '0',
          chargedCumulativeAmount: (50n * PRICE).toString(),
        },
        voucherState: {
          signedMaxClaimable: (51n * PRICE).toString(),
          signature: `0x${'11'.repeat(65)}`,
        },
      },
    );
    assert.deepEqual(resync, { resynced: false, superseded: false });
    assert.equal((await store.get(known))?.charged, known.charged);
  });

  test('a deposit above the cap is refused with nothing signed', async () => {
    const capped = createMemoryChannelStore();
    const readsBefore = nonceReads;
    const refused = await buyerWith(capped, PRICE - 1n).prepare(offer());
    assert.ok('refusal' in refused);
    assert.equal(refused.refusal.reason, 'invalid_batch_settlement_stacks_deposit_above_cap');
    assert.equal(nonceReads, readsBefore, 'no nonce was taken');
    assert.deepEqual(await capped.list(), [], 'no channel was recorded');
    // A cap below the suggested deposit but above the price: the deposit is cut to the cap.
    const small = await buyerWith(createMemoryChannelStore(), 5n * PRICE).prepare(offer());
    assert.ok(!('refusal' in small));
    assert.equal(small.deposit?.amount, 5n * PRICE);
    await small.unanswered(false);
  });

  test('the money adds up: the seller got the charges, the payer lost its deposits, the sponsor every fee', async () => {
    // The first buyer's view is 4 requests behind (the recovered one paid them): 31 + 4 = 35 charged in all.
    await mechanism.claimNow();
    assert.equal(await balance(seller), sellerBefore + 35n * PRICE);
    assert.equal(await balance(payer.address), payerBefore - 2n * MIN_DEPOSIT);
  });
});
