/**
 * batch-settlement through our Express seller (`batch: true`) in front of the facilitator service over HTTP, on a
 * SQLite ledger, against the devnet over HTTP, with payloads built by hand and sent in `payment-signature`: the 402
 * offers both schemes; a deposit and then vouchers are charged off chain; a dynamic price charges less; a handler that
 * throws or answers 500 charges nothing and the same voucher works next; replayed, stale and over-balance vouchers get
 * named 402s (the corrective one carrying the channel's snapshot); a top-up; a claim; and a whole refund answered 200
 * through the seller route. The money check closes it: the seller got exactly the sum of charges and the payer lost
 * exactly that, every fee sponsored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import {
  type FacilitatorService,
  loadConfig,
  startFacilitatorService,
} from '@x402-stacks/facilitator';
import type { PaymentRequirements } from 'x402-stacks';
import { BATCH_SETTLEMENT } from 'x402-stacks/batch';
import {
  type Answer,
  type BatchSeller,
  batchOffer,
  DYNAMIC_CHARGE,
  ESCROW,
  facilitatorEnv,
  get,
  handBuyer,
  PRICE,
  ROLES,
  startBatchSeller,
  stxBalance,
  WITHDRAW_DELAY,
} from './seller-stack.js';

type Snapshot = {
  channelState?: { chargedCumulativeAmount: string; balance: string; totalClaimed: string };
  voucherState?: { signedMaxClaimable: string; signature: string };
};

describe('batch-settlement through our Express seller and the facilitator service', () => {
  let devnet: Devnet;
  let dir: string;
  let service: FacilitatorService;
  let seller: BatchSeller;
  let offer: PaymentRequirements;
  let buyer: ReturnType<typeof handBuyer>;
  let payerBefore: bigint;
  let sellerBefore: bigint;
  /** What the seller charged so far, request by request. */
  let charged = 0n;

  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 8 });
    dir = mkdtempSync(join(tmpdir(), 'seller-batch-'));
    service = await startFacilitatorService(
      loadConfig(facilitatorEnv(devnet, `sqlite:${join(dir, 'ledger.db')}`)),
    );
    seller = await startBatchSeller({
      facilitatorUrl: service.url,
      payTo: devnet.accounts[ROLES.seller]!.address,
    });
    offer = await batchOffer(`${seller.url}/paid`);
    const payer = devnet.accounts[2]!.account;
    buyer = handBuyer(devnet.url, payer, offer, 'a7');
    payerBefore = await stxBalance(devnet.url, payer.address);
    sellerBefore = await stxBalance(devnet.url, offer.payTo);
  });
  after(async () => {
    await seller?.stop();
    await service?.stop();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const pay = (route: string, headers: Record<string, string>) =>
    get(`${seller.url}${route}`, headers);
  const chargedOf = (answer: Answer) =>
    (answer.receipt?.extra as Snapshot | undefined)?.channelState?.chargedCumulativeAmount;
  /** The snapshot a corrective 402 carries on its batch-settlement entry. */
  const correctiveOf = (answer: Answer): Snapshot =>
    (answer.required?.accepts.find((entry) => entry.scheme === BATCH_SETTLEMENT)?.extra ??
      {}) as Snapshot;

  test('the 402 offers exact and batch-settlement with the escrow, authorizer, delay, deposit and sponsor', async () => {
    const answer = await get(`${seller.url}/paid`);
    assert.equal(answer.status, 402);
    const schemes = answer.required!.accepts.map((entry) => entry.scheme);
    assert.deepEqual(schemes, ['exact', BATCH_SETTLEMENT]);
    const exact = answer.required!.accepts[0]!;
    const sponsor = devnet.accounts[ROLES.sponsor]!.address;
    assert.equal(exact.extra?.sponsor, sponsor);
    assert.equal(offer.amount, PRICE.toString());
    assert.equal(offer.payTo, devnet.accounts[ROLES.seller]!.address);
    assert.equal(offer.extra?.escrow, ESCROW);
    assert.equal(offer.extra?.receiverAuthorizer, devnet.accounts[ROLES.authorizer]!.address);
    assert.equal(offer.extra?.withdrawDelay, WITHDRAW_DELAY);
    assert.equal(offer.extra?.minDeposit, (100n * PRICE).toString());
    assert.equal(offer.extra?.sponsor, sponsor);
  });

  test('a deposit, then vouchers: served, charged off chain, nothing on chain per voucher', async () => {
    const opened = await pay('/paid', await buyer.deposit(6n * PRICE, PRICE));
    assert.equal(opened.status, 200, opened.body);
    assert.equal(opened.receipt?.success, true);
    assert.match(opened.receipt!.transaction, /^(0x)?[0-9a-f]{64}$/, 'the deposit transaction');
    assert.equal(opened.receipt?.amount, (6n * PRICE).toString());
    assert.equal(opened.receipt?.extra?.chargedAmount, PRICE.toString());
    charged += PRICE;
    assert.equal(chargedOf(opened), charged.toString());

    const height = devnet.chain.height;
    for (let i = 0; i < 2; i++) {
      const answer = await pay('/paid', buyer.voucher(charged + PRICE));
      assert.equal(answer.status, 200, answer.body);
      assert.equal(answer.receipt?.success, true);
      assert.equal(answer.receipt?.transaction, '', 'charged off chain');
      assert.equal(answer.receipt?.extra?.chargedAmount, PRICE.toString());
      charged += PRICE;
      assert.equal(chargedOf(answer), charged.toString());
      assert.equal(JSON.parse(answer.body).payer, buyer.config.payer);
    }
    assert.equal(devnet.chain.height, height, 'vouchers put nothing on chain');
  });

  test('a dynamic price below the ceiling: the handler charges 400 of the 1000 signed for', async () => {
    const answer = await pay('/dynamic', buyer.voucher(charged + PRICE));
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.receipt?.extra?.chargedAmount, DYNAMIC_CHARGE.toString());
    charged += DYNAMIC_CHARGE;
    assert.equal(chargedOf(answer), charged.toString());
  });

  test('a handler that throws or answers 500 charges nothing, and the same voucher works next', async () => {
    for (const failing of ['/throws', '/fails']) {
      const runs = seller.runs.length;
      const next = buyer.voucher(charged + PRICE);
      const failed = await pay(failing, next);
      assert.equal(failed.status, 500, `${failing}: ${failed.body}`);
      assert.equal(failed.receipt, undefined, `${failing}: no payment-response`);
      assert.equal(seller.runs.length, runs + 1, `${failing}: the handler ran`);
      const retried = await pay('/paid', next);
      assert.equal(retried.status, 200, `${failing} then /paid: ${retried.body}`);
      assert.equal(retried.receipt?.extra?.chargedAmount, PRICE.toString());
      charged += PRICE;
      assert.equal(chargedOf(retried), charged.toString());
    }
  });

  test('a replayed voucher: 402 cumulative_amount_mismatch, the corrective entry carrying the channel', async () => {
    const runs = seller.runs.length;
    const replay = await pay('/paid', buyer.voucher(charged));
    assert.equal(replay.status, 402);
    assert.equal(
      replay.required?.error,
      'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
    );
    const snapshot = correctiveOf(replay);
    assert.equal(snapshot.channelState?.chargedCumulativeAmount, charged.toString());
    assert.equal(snapshot.channelState?.balance, (6n * PRICE).toString());
    assert.equal(snapshot.voucherState?.signedMaxClaimable, charged.toString());
    assert.match(snapshot.voucherState?.signature ?? '', /^0x[0-9a-f]{130}$/);
    assert.equal(seller.runs.length, runs, 'a refused payment never reaches the handler');
  });

  test('a stale voucher (signed from an older total): 402 with the snapshot to resynchronise from', async () => {
    const stale = await pay('/paid', buyer.voucher(charged - PRICE));
    assert.equal(stale.status, 402);
    assert.equal(
      stale.required?.error,
      'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
    );
    assert.equal(correctiveOf(stale).channelState?.chargedCumulativeAmount, charged.toString());
    // The buyer resynchronises from the snapshot: the next voucher is still the one it names.
  });

  test('a voucher above the balance: 402 cumulative_exceeds_balance, never served', async () => {
    assert.ok(charged + PRICE > 6n * PRICE, 'the next request does not fit the deposit');
    const runs = seller.runs.length;
    const above = await pay('/paid', buyer.voucher(charged + PRICE));
    assert.equal(above.status, 402);
    assert.equal(
      above.required?.error,
      'invalid_batch_settlement_stacks_cumulative_exceeds_balance',
    );
    assert.equal(seller.runs.length, runs);
  });

  test('a top-up deposit on the same channel pays the request that did not fit', async () => {
    const toppedUp = await pay('/paid', await buyer.deposit(4n * PRICE, charged + PRICE));
    assert.equal(toppedUp.status, 200, toppedUp.body);
    assert.match(toppedUp.receipt!.transaction, /^(0x)?[0-9a-f]{64}$/);
    assert.equal(toppedUp.receipt?.amount, (4n * PRICE).toString());
    charged += PRICE;
    const state = (toppedUp.receipt!.extra as Snapshot).channelState!;
    assert.equal(state.balance, (10n * PRICE).toString());
    assert.equal(state.chargedCumulativeAmount, charged.toString());
  });

  test('the claim pays the seller exactly what was charged', async () => {
    await service.facilitator.keeper.runOnce();
    assert.equal(await stxBalance(devnet.url, offer.payTo), sellerBefore + charged);
  });

  test('a whole refund through the seller route: 200 with the refund in payment-response; the money adds up', async () => {
    // One more charge after the claim, so the refund must claim it before it returns the rest.
    const last = await pay('/paid', buyer.voucher(charged + PRICE));
    assert.equal(last.status, 200, last.body);
    charged += PRICE;
    const runs = seller.runs.length;
    const refunded = await pay('/paid', buyer.refund(charged));
    assert.equal(refunded.status, 200, refunded.body);
    assert.equal(seller.runs.length, runs, 'a refund is not a paid request');
    assert.equal(refunded.receipt?.success, true);
    assert.match(refunded.receipt!.transaction, /^(0x)?[0-9a-f]{64}$/, 'the refund transaction');
    assert.equal(refunded.receipt?.amount, (10n * PRICE - charged).toString());
    // A replayed refund finds nothing left, by name, and costs no transaction.
    const height = devnet.chain.height;
    const again = await pay('/paid', buyer.refund(charged));
    assert.equal(again.status, 402);
    assert.equal(again.required?.error, 'invalid_batch_settlement_stacks_refund_no_balance');
    assert.equal(devnet.chain.height, height);

    // The sum of charges: three full vouchers and the deposit's, 400 dynamic, two retried after failures, the top-up's,
    // and the last.
    assert.equal(charged, 7n * PRICE + DYNAMIC_CHARGE);
    assert.equal(await stxBalance(devnet.url, offer.payTo), sellerBefore + charged, 'seller');
    assert.equal(await stxBalance(devnet.url, buyer.config.payer), payerBefore - charged, 'payer');
  });
});
