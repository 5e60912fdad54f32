/**
 * batch-settlement through our Express seller when things go wrong on the facilitator's or the chain's side. A kill -9
 * of the facilitator service while its claim sits in the mempool (the chain stalled), a restart on the same SQLite file,
 * then the chain mines: nothing is claimed twice, the restarted service refuses a replayed voucher and charges the
 * next, and everything charged reaches the seller. And a withdrawal raced by a claim: the payer starts a withdrawal
 * with its own escrow call, the keeper claims every charge before the delay ends, the payer finishes the withdrawal:
 * the seller got every charge and the payer the rest, less the fees of its own two calls.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cl } from '@stacks/transactions';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import {
  type FacilitatorService,
  loadConfig,
  startFacilitatorService,
} from '@x402-stacks/facilitator';
import { until } from '@x402-stacks/test-kit';
import { type Child, FACILITATOR_MAIN, startChild } from './child-process.js';
import {
  type BatchSeller,
  batchOffer,
  facilitatorEnv,
  get,
  handBuyer,
  PRICE,
  ROLES,
  startBatchSeller,
  stxBalance,
  txStatus,
  WITHDRAW_DELAY,
} from './seller-stack.js';

describe('a kill -9 of the facilitator service mid-claim', { timeout: 120_000 }, () => {
  let devnet: Devnet;
  let dir: string;
  let first: Child | undefined;
  let restarted: FacilitatorService | undefined;
  const sellers: BatchSeller[] = [];

  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 8 });
    dir = mkdtempSync(join(tmpdir(), 'seller-batch-crash-'));
  });
  after(async () => {
    await Promise.all(sellers.map((seller) => seller.stop()));
    await first?.stop('SIGKILL');
    await restarted?.stop();
    devnet.chain.stall(false);
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('nothing is claimed twice, and everything charged is paid after the restart', async () => {
    const database = `sqlite:${join(dir, 'ledger.db')}`;
    const payTo = devnet.accounts[ROLES.seller]!.address;
    const authorizer = devnet.accounts[ROLES.authorizer]!.address;
    // Claims fall due 1.5 s after the first unclaimed charge; the keeper looks every 200 ms.
    first = await startChild(
      FACILITATOR_MAIN,
      facilitatorEnv(devnet, database, { keeperMs: 200, claimMaxAgeMs: 1_500 }),
    );
    const seller = await startBatchSeller({ facilitatorUrl: first.url, payTo });
    sellers.push(seller);
    const offer = await batchOffer(`${seller.url}/paid`);
    const payer = devnet.accounts[2]!.account;
    const buyer = handBuyer(devnet.url, payer, offer, 'e8');
    const payerBefore = await stxBalance(devnet.url, payer.address);
    const sellerBefore = await stxBalance(devnet.url, payTo);

    const opened = await get(`${seller.url}/paid`, await buyer.deposit(10n * PRICE, PRICE));
    assert.equal(opened.status, 200, opened.body);
    let charged = PRICE;
    for (let i = 0; i < 3; i++) {
      const answer = await get(`${seller.url}/paid`, buyer.voucher(charged + PRICE));
      assert.equal(answer.status, 200, answer.body);
      charged += PRICE;
    }

    // The chain stops mining: the keeper's claim is broadcast and sits in the mempool, and the process is killed there.
    devnet.chain.stall(true);
    const claim = await until(
      async () =>
        devnet.chain.mempool.find((record) => record.admitted.origin === authorizer)?.admitted.txid,
      'the claim in the mempool',
      { ms: 30_000 },
    );
    assert.equal(await first.stop('SIGKILL'), null, 'killed, not exited');

    // Restarted on the same file; the keeper rounds are run by the test from here on.
    restarted = await startFacilitatorService(loadConfig(facilitatorEnv(devnet, database)));
    devnet.chain.stall(false);
    devnet.mine(1);
    assert.equal(
      await txStatus(devnet.url, claim),
      'success',
      'the killed process’s claim confirmed',
    );
    // The killed process still holds the authorizer's lease until it lapses (5 s); rounds before then send nothing.
    await until(
      async () => {
        await restarted!.facilitator.keeper.runOnce();
        return (await stxBalance(devnet.url, payTo)) === sellerBefore + charged ? true : undefined;
      },
      'what the killed process claimed to reach the seller',
      { ms: 20_000 },
    );

    // The restarted service kept the channel: a replayed voucher is refused by name, the next one is charged.
    const next = await startBatchSeller({ facilitatorUrl: restarted.url, payTo });
    sellers.push(next);
    const replay = await get(`${next.url}/paid`, buyer.voucher(charged));
    assert.equal(replay.status, 402);
    assert.equal(
      replay.required?.error,
      'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
    );
    const after = await get(`${next.url}/paid`, buyer.voucher(charged + PRICE));
    assert.equal(after.status, 200, after.body);
    charged += PRICE;

    // Another round, then a whole refund: the seller holds exactly the sum of charges, the payer exactly the rest.
    await restarted.facilitator.keeper.runOnce();
    const refunded = await get(`${next.url}/paid`, buyer.refund(charged));
    assert.equal(refunded.status, 200, refunded.body);
    assert.equal(refunded.receipt?.amount, (10n * PRICE - charged).toString());
    assert.equal(await stxBalance(devnet.url, payTo), sellerBefore + charged, 'seller');
    assert.equal(await stxBalance(devnet.url, payer.address), payerBefore - charged, 'payer');
  });
});

/**
 * The withdrawal race on a fresh devnet after `premine` blocks. The devnet's burn height starts at 0 (one burn block
 * per 5 Stacks blocks), and the facilitator reads a withdrawal requested at burn block 0 as none, since 0 is its
 * "no withdrawal" value: a real chain's burn height is never 0, so the case is the devnet's alone.
 */
function withdrawalRace(premine: number) {
  return async () => {
    const devnet = await startDevnet({ port: 0, accounts: 8 });
    const dir = mkdtempSync(join(tmpdir(), 'seller-batch-withdraw-'));
    let service: FacilitatorService | undefined;
    let seller: BatchSeller | undefined;
    try {
      if (premine > 0) devnet.mine(premine);
      // Claims are not due by age for an hour: only the payer's withdrawal makes the keeper claim.
      service = await startFacilitatorService(
        loadConfig(
          facilitatorEnv(devnet, `sqlite:${join(dir, 'ledger.db')}`, { claimMaxAgeMs: 3_600_000 }),
        ),
      );
      seller = await startBatchSeller({
        facilitatorUrl: service.url,
        payTo: devnet.accounts[ROLES.seller]!.address,
      });
      await raceWithdrawal(devnet, service, seller);
    } finally {
      await seller?.stop();
      await service?.stop();
      await devnet.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function raceWithdrawal(devnet: Devnet, service: FacilitatorService, seller: BatchSeller) {
  const offer = await batchOffer(`${seller.url}/paid`);
  const payer = devnet.accounts[3]!.account;
  const buyer = handBuyer(devnet.url, payer, offer, 'f9');
  const payerBefore = await stxBalance(devnet.url, payer.address);
  const sellerBefore = await stxBalance(devnet.url, offer.payTo);
  const deposit = 10n * PRICE;

  const opened = await get(`${seller.url}/paid`, await buyer.deposit(deposit, PRICE));
  assert.equal(opened.status, 200, opened.body);
  let charged = PRICE;
  const dynamic = await get(`${seller.url}/dynamic`, buyer.voucher(charged + PRICE));
  assert.equal(dynamic.status, 200, dynamic.body);
  charged += 400n;
  const full = await get(`${seller.url}/paid`, buyer.voucher(charged + PRICE));
  assert.equal(full.status, 200, full.body);
  charged += PRICE;

  // Nothing is due by the claim policy: a round now claims nothing.
  await service.facilitator.keeper.runOnce();
  assert.equal(await stxBalance(devnet.url, offer.payTo), sellerBefore);

  // The payer leaves without the seller: it announces a withdrawal of everything not yet claimed on chain.
  const started = await buyer.escrowCall('start-withdrawal', [
    buyer.channelArg(),
    Cl.uint(deposit),
  ]);
  assert.equal(await txStatus(devnet.url, started), 'success');

  // The keeper sees the withdrawal and claims before the delay ends, though no claim is due by age.
  await service.facilitator.keeper.runOnce();
  assert.equal(
    await stxBalance(devnet.url, offer.payTo),
    sellerBefore + charged,
    'claimed in time',
  );
  // The channel is leaving: a voucher is refused by name and never served. The seller's copy of the channel (from its
  // last charge) has not seen the withdrawal, so the first late voucher may run the handler, its response held back
  // and dropped; the refusal drops the copy, and the next is refused before the handler.
  const runs = seller.runs.length;
  for (const attempt of [1, 2]) {
    const late = await get(`${seller.url}/paid`, buyer.voucher(charged + PRICE));
    assert.equal(late.status, 402, `late voucher ${attempt}`);
    assert.equal(late.required?.error, 'invalid_batch_settlement_stacks_channel_withdrawing');
    assert.doesNotMatch(late.body, /secret/, 'the held response was never sent');
  }
  assert.ok(seller.runs.length <= runs + 1, 'the handler ran at most once for both');

  // The delay passes (one burn block per 5 Stacks blocks), and the payer takes what is left.
  devnet.mine(5 * WITHDRAW_DELAY + 1);
  const finished = await buyer.escrowCall('finish-withdrawal', [buyer.channelArg(), Cl.none()]);
  assert.equal(await txStatus(devnet.url, finished), 'success');
  assert.equal(await stxBalance(devnet.url, offer.payTo), sellerBefore + charged, 'seller');
  assert.equal(
    await stxBalance(devnet.url, payer.address),
    payerBefore - charged - buyer.feesPaid,
    'payer: the deposit less the charges, and the fees of its own two calls',
  );
}

describe('a withdrawal raced by a claim', { timeout: 120_000 }, () => {
  test(
    'the keeper claims before the delay ends: the seller is paid every charge, the payer gets the rest',
    withdrawalRace(10),
  );
  test('the same race with the withdrawal requested at burn block 0', withdrawalRace(0));
});
