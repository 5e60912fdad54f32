/**
 * One batch-settlement channel served by several processes at once. First two seller processes (child processes) on
 * one facilitator service; then two facilitator service processes on one PostgreSQL schema, each behind its own
 * seller. Each round sends the same voucher to both at the same moment: exactly one request per voucher is served
 * (200), the other gets a named 402, and the money check holds after the claims and a whole refund: the seller got
 * exactly the sum of charges, the payer lost exactly that.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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
import { testPostgresUrl, until } from '@x402-stacks/test-kit';
import pg from 'pg';
import { type Child, FACILITATOR_MAIN, SELLER_MAIN, startChild } from './child-process.js';
import {
  type Answer,
  type BatchSeller,
  batchOffer,
  facilitatorEnv,
  get,
  handBuyer,
  PRICE,
  ROLES,
  startBatchSeller,
  stxBalance,
} from './seller-stack.js';

/** Rounds of one voucher sent to two processes at once. */
const ROUNDS = 8;
/** The refusals a losing request may get: charged first by the other process, or verified after its charge. */
const LOSING_REASONS = [
  'invalid_batch_settlement_stacks_channel_busy',
  'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
];
const DEPOSIT = 20n * PRICE;

/**
 * Opens a channel through `first`, then runs {@link ROUNDS} rounds of one voucher sent to both URLs at once. Returns
 * the charged total and every answer.
 */
async function race(
  devnetUrl: string,
  payer: Devnet['accounts'][number],
  urls: readonly [string, string],
  salt: string,
) {
  const offer = await batchOffer(`${urls[0]}/paid`);
  assert.deepEqual(await batchOffer(`${urls[1]}/paid`), offer, 'both processes make one offer');
  const buyer = handBuyer(devnetUrl, payer.account, offer, salt);
  const opened = await get(`${urls[0]}/paid`, await buyer.deposit(DEPOSIT, PRICE));
  assert.equal(opened.status, 200, opened.body);
  let charged = PRICE;
  const losses: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const headers = buyer.voucher(charged + PRICE);
    const answers: Answer[] = await Promise.all(urls.map((url) => get(`${url}/paid`, headers)));
    const served = answers.filter((answer) => answer.status === 200);
    assert.equal(
      served.length,
      1,
      `round ${round}: exactly one served: ${answers.map((a) => a.status)}`,
    );
    const lost = answers.find((answer) => answer.status !== 200)!;
    assert.equal(lost.status, 402, lost.body);
    assert.ok(
      LOSING_REASONS.includes(lost.required?.error ?? ''),
      `round ${round}: named refusal, got ${lost.required?.error}`,
    );
    losses.push(lost.required!.error!);
    if (lost.required?.error === LOSING_REASONS[1]) {
      // The corrective 402 names the winner's total, from which the buyer signs its next voucher.
      const extra = lost.required!.accepts.find((entry) => entry.scheme === offer.scheme)?.extra;
      assert.equal(
        (extra!.channelState as { chargedCumulativeAmount: string }).chargedCumulativeAmount,
        (charged + PRICE).toString(),
      );
    }
    charged += PRICE;
    assert.equal(
      (served[0]!.receipt!.extra!.channelState as { chargedCumulativeAmount: string })
        .chargedCumulativeAmount,
      charged.toString(),
    );
  }
  return { buyer, offer, charged, losses };
}

/** How many handlers ran in a seller process (its `/runs` counter, printed at start). */
async function runsOf(seller: Child): Promise<number> {
  const url = /runs (\S+)/.exec(seller.output())![1]!;
  return ((await (await fetch(url)).json()) as { runs: number }).runs;
}

describe('two seller processes serving one channel on one facilitator service', {
  timeout: 120_000,
}, () => {
  let devnet: Devnet;
  let dir: string;
  let service: FacilitatorService;
  let sellers: Child[] = [];

  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 8 });
    dir = mkdtempSync(join(tmpdir(), 'seller-batch-procs-'));
    service = await startFacilitatorService(
      loadConfig(facilitatorEnv(devnet, `sqlite:${join(dir, 'ledger.db')}`)),
    );
    const env = {
      BATCH_FACILITATOR_URL: service.url,
      BATCH_PAY_TO: devnet.accounts[ROLES.seller]!.address,
      // A window in which both requests of a round are inside their handlers.
      BATCH_PAUSE_MS: '40',
    };
    sellers = await Promise.all([startChild(SELLER_MAIN, env), startChild(SELLER_MAIN, env)]);
  });
  after(async () => {
    await Promise.all(sellers.map((seller) => seller.stop('SIGTERM')));
    await service?.stop();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each voucher is served once, the other process refuses it by name, and the money adds up', async () => {
    const payer = devnet.accounts[2]!;
    const seller = devnet.accounts[ROLES.seller]!.address;
    const payerBefore = await stxBalance(devnet.url, payer.address);
    const sellerBefore = await stxBalance(devnet.url, seller);
    const { buyer, charged, losses } = await race(
      devnet.url,
      payer,
      [sellers[0]!.url, sellers[1]!.url],
      'c5',
    );
    assert.equal(charged, BigInt(ROUNDS + 1) * PRICE);
    // The losing handler may run too (both verify before either charges); its response is withheld, never charged.
    const runs = await Promise.all(sellers.map(runsOf));
    const total = runs[0]! + runs[1]!;
    assert.ok(total >= ROUNDS + 1 && total <= 2 * ROUNDS + 1, `handler runs ${runs}`);
    assert.equal(losses.length, ROUNDS);

    await service.facilitator.keeper.runOnce();
    assert.equal(await stxBalance(devnet.url, seller), sellerBefore + charged);
    const refunded = await get(`${sellers[1]!.url}/paid`, buyer.refund(charged));
    assert.equal(refunded.status, 200, refunded.body);
    assert.equal(refunded.receipt?.amount, (DEPOSIT - charged).toString());
    assert.equal(await stxBalance(devnet.url, seller), sellerBefore + charged, 'seller');
    assert.equal(await stxBalance(devnet.url, payer.address), payerBefore - charged, 'payer');
  });
});

describe('two facilitator service processes on one PostgreSQL serving one channel', {
  timeout: 120_000,
}, () => {
  const schema = `batch_e2e_${randomBytes(4).toString('hex')}`;
  let databaseUrl: string;
  let devnet: Devnet;
  let facilitators: Child[] = [];
  let sellers: BatchSeller[] = [];

  before(async () => {
    databaseUrl = await testPostgresUrl();
    devnet = await startDevnet({ port: 0, accounts: 8 });
    // The keepers run often: claims are due at once, and either process may send them under the authorizer lease.
    const env = facilitatorEnv(devnet, databaseUrl, { schema, keeperMs: 300 });
    facilitators = await Promise.all([
      startChild(FACILITATOR_MAIN, env),
      startChild(FACILITATOR_MAIN, env),
    ]);
    const payTo = devnet.accounts[ROLES.seller]!.address;
    sellers = await Promise.all(
      facilitators.map((facilitator) =>
        startBatchSeller({ facilitatorUrl: facilitator.url, payTo, pauseMs: 40 }),
      ),
    );
  });
  after(async () => {
    await Promise.all(sellers.map((seller) => seller.stop()));
    await Promise.all(facilitators.map((facilitator) => facilitator.stop('SIGTERM')));
    await devnet?.stop();
    if (databaseUrl) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
  });

  test('each voucher is served once across both facilitators, and the money adds up', async () => {
    const payer = devnet.accounts[3]!;
    const seller = devnet.accounts[ROLES.seller]!.address;
    const payerBefore = await stxBalance(devnet.url, payer.address);
    const sellerBefore = await stxBalance(devnet.url, seller);
    const { buyer, charged } = await race(
      devnet.url,
      payer,
      [sellers[0]!.url, sellers[1]!.url],
      'd6',
    );
    assert.equal(charged, BigInt(ROUNDS + 1) * PRICE);
    // The keepers claim and sweep everything charged, whichever process holds the lease.
    await until(
      async () =>
        (await stxBalance(devnet.url, seller)) === sellerBefore + charged ? true : undefined,
      'the keepers to pay the seller what was charged',
      { ms: 30_000 },
    );
    const refunded = await get(`${sellers[0]!.url}/paid`, buyer.refund(charged));
    assert.equal(refunded.status, 200, refunded.body);
    assert.equal(refunded.receipt?.amount, (DEPOSIT - charged).toString());
    assert.equal(await stxBalance(devnet.url, seller), sellerBefore + charged, 'seller');
    assert.equal(await stxBalance(devnet.url, payer.address), payerBefore - charged, 'payer');
  });
});
