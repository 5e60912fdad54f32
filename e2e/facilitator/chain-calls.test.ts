/**
 * What the facilitator engine asks of the chain: every request it sends to the devnet is counted at the chain client's
 * `fetch`, so these tests see the calls a settlement costs, not what the engine believes it did.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { until } from '@x402-stacks/test-kit';
import {
  createFacilitator as createEngine,
  type Facilitator,
  InMemoryLedger,
  type StacksAccount,
} from 'x402-stacks';
import { type ChainClient, type ChainTransaction, createChainClient } from 'x402-stacks/chain';
import { createPaymentTransaction } from 'x402-stacks/stacks';

/** Every engine a test starts, stopped when the file ends: a test that fails midway leaves no tracker running. */
const engines: Facilitator[] = [];
const createFacilitator = (options: Parameters<typeof createEngine>[0]) => {
  const engine = createEngine(options);
  engines.push(engine);
  return engine;
};
after(async () => {
  for (const engine of engines) await engine.keeper.stop();
});

const requirementsFor = (payTo: string) => ({
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo,
  maxTimeoutSeconds: 300,
});

/** A payment of `payer` at `nonce` under `requirements`. */
async function paymentUnder(
  payer: StacksAccount,
  requirements: ReturnType<typeof requirementsFor>,
  nonce: bigint,
  fee = 300n,
) {
  const { transaction } = await createPaymentTransaction({
    account: payer,
    requirements,
    nonce,
    fee,
  });
  return { x402Version: 2, accepted: requirements, payload: { transaction } };
}

/** A sponsored payment of `payer` at `nonce` under `requirements` (naming the sponsor), and its txid. */
async function sponsoredPayment(
  payer: StacksAccount,
  requirements: ReturnType<typeof requirementsFor> & { extra: { sponsor: string } },
  nonce: bigint,
) {
  const { transaction, txid } = await createPaymentTransaction({
    account: payer,
    requirements,
    nonce,
    sponsored: true,
  });
  return { txid, payment: { x402Version: 2, accepted: requirements, payload: { transaction } } };
}

const paymentOf = (payer: StacksAccount, payTo: string, nonce: bigint) =>
  paymentUnder(payer, requirementsFor(payTo), nonce);

/** A `fetch` for the chain client that records every request answered (`GET /path?query`) and can refuse a route. */
function countingFetch(options: { without?: string } = {}) {
  const requests: string[] = [];
  const fetchCounting: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const line = `${init?.method ?? 'GET'} ${url.pathname}${url.search}`;
    const answer =
      options.without && url.pathname === options.without
        ? new Response(JSON.stringify({ error: 'no such route' }), {
            status: 404,
            headers: { 'content-type': 'application/json' },
          })
        : await fetch(input, init);
    // Counted once answered: a test that waits for a broadcast to count then knows the devnet holds it.
    requests.push(line);
    return answer;
  };
  const count = (pattern: RegExp) => requests.filter((line) => pattern.test(line)).length;
  return {
    fetch: fetchCounting,
    requests,
    nonces: () => count(/^GET \/extended\/v1\/address\/[^/]+\/nonces/),
    accounts: () => count(/^GET \/v2\/accounts\//),
    tokenBalances: () => count(/^GET \/extended\/v1\/address\/[^/]+\/balances/),
    broadcasts: () => count(/^POST \/v2\/transactions/),
    singleStatusReads: () => count(/^GET \/extended\/v1\/tx\/0x/),
    batchStatusReads: () =>
      requests.filter((line) => line.startsWith('GET /extended/v1/tx/multiple')),
  };
}

describe('chain calls of the facilitator engine', () => {
  let devnet: Devnet;
  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 52, mining: { mode: 'manual' } });
  });
  after(() => devnet.stop());

  const seller = () => devnet.accounts[1]!.address;
  const countingClient = (fetchCounting: typeof fetch) =>
    createChainClient({ network: 'testnet', url: devnet.url, fetch: fetchCounting });
  /** An engine whose chain calls are counted, sharing a payer's reads for a minute. */
  const countedEngine = (options: { ledger?: InMemoryLedger } = {}) => {
    const counter = countingFetch();
    const engine = createFacilitator({
      networks: { testnet: { chain: countingClient(counter.fetch) } },
      verifyCacheMs: 60_000,
      pollIntervalMs: 20,
      settleTimeoutMs: 5_000,
      ...options,
    });
    return { counter, engine };
  };
  /** An engine sponsoring with genesis account `index`, its chain calls counted, on a ledger at hand. */
  const sponsoringEngine = (
    index: number,
    options: { verifyCacheMs?: number; settleTimeoutMs: number },
  ) => {
    const counter = countingFetch();
    const ledger = new InMemoryLedger();
    const sponsor = devnet.accounts[index]!;
    const engine = createFacilitator({
      networks: { testnet: { chain: countingClient(counter.fetch) } },
      sponsor: { privateKeys: sponsor.privateKey },
      ledger,
      pollIntervalMs: 20,
      ...options,
    });
    return { counter, ledger, sponsor, engine };
  };
  let nextPayer = 2;
  /** A payer no other test has used: nothing of it pending, nonce 0. Accounts 30 and 31 sponsor. */
  const freshPayer = () => {
    if (nextPayer === 30) nextPayer = 32; // the sponsors' accounts
    if (nextPayer >= 52)
      throw new Error('no fresh payer left: start the devnet with more accounts');
    return devnet.accounts[nextPayer++]!.account;
  };

  test('a verify then a settle of the same payment read the payer once: the settle shares what the verify read', async () => {
    const { counter, engine } = countedEngine();
    const payer = freshPayer();
    const payment = await paymentOf(payer, seller(), 0n);
    const verdict = await engine.verify(payment, requirementsFor(seller()));
    assert.equal(verdict.isValid, true);
    assert.equal(counter.nonces(), 1);
    assert.equal(counter.accounts(), 1);
    const settling = engine.settle(payment, requirementsFor(seller()));
    await until(() => counter.broadcasts() === 1, 'the broadcasts');
    devnet.mine();
    const settled = await settling;
    assert.equal(settled.success, true, JSON.stringify(settled));
    assert.equal(counter.nonces(), 1, 'the settle read no nonce of its own');
    assert.equal(counter.accounts(), 1, 'the settle read no balance of its own');
    assert.equal(counter.broadcasts(), 1);
    await engine.idle();
  });

  test('a settle at the confirmed nonce that reads for itself asks for the account alone, not the mempool', async () => {
    const { counter, engine } = countedEngine();
    const payer = freshPayer();
    const settling = engine.settle(await paymentOf(payer, seller(), 0n), requirementsFor(seller()));
    await until(() => counter.broadcasts() === 1, 'the broadcasts');
    devnet.mine();
    const settled = await settling;
    assert.equal(settled.success, true, JSON.stringify(settled));
    assert.equal(counter.accounts(), 1);
    assert.equal(
      counter.nonces(),
      0,
      'at the confirmed nonce the mempool cannot change the verdict',
    );
    // Not cached: a verify of the payer right after reads the mempool for itself.
    const next = await paymentOf(payer, seller(), 1n);
    assert.equal((await engine.verify(next, requirementsFor(seller()))).isValid, true);
    assert.equal(counter.nonces(), 1);
    assert.equal(counter.accounts(), 2);
    await engine.idle();
  });

  test('a settle whose nonce is not the confirmed one reads the mempool too, and a stale one is refused before the broadcast', async () => {
    const counter = countingFetch();
    const engine = createFacilitator({
      networks: { testnet: { chain: countingClient(counter.fetch) } },
      pollIntervalMs: 20,
      settleTimeoutMs: 5_000,
    });
    const payer = freshPayer();
    const requirements = requirementsFor(seller());
    const payment = await paymentOf(payer, seller(), 0n);
    const settling = engine.settle(payment, requirements);
    await until(() => counter.broadcasts() === 1, 'the broadcasts');
    devnet.mine();
    assert.equal((await settling).success, true);
    // Another transaction of nonce 0 (another fee), never sent: the nonce is spent on chain.
    const { transaction } = await createPaymentTransaction({
      account: payer,
      requirements,
      nonce: 0n,
      fee: 301n,
    });
    const stale = { ...payment, payload: { transaction } };
    const nonces = counter.nonces();
    const refused = await engine.settle(stale, requirements);
    assert.equal(
      refused.errorReason,
      'invalid_exact_stacks_payload_nonce',
      JSON.stringify(refused),
    );
    assert.equal(
      counter.nonces(),
      nonces + 1,
      'the confirmed nonce is past the payment: the mempool is read',
    );
    assert.equal(counter.broadcasts(), 1, 'nothing sent for the stale payment');
    await engine.idle();
  });

  test('a settle of a payment chained on a pending one reads the payer afresh, whatever the verify read', async () => {
    const counter = countingFetch();
    const engine = createFacilitator({
      networks: { testnet: { chain: countingClient(counter.fetch) } },
      verifyCacheMs: 60_000,
      pollIntervalMs: 20,
      // Long enough for the second settle's broadcast, the block and the read that finds it on a loaded machine.
      settleTimeoutMs: 1_000,
    });
    const payer = freshPayer();
    const requirements = requirementsFor(seller());
    // Nonce 0 goes to the mempool and stays there: no block is mined.
    const first = await engine.settle(await paymentOf(payer, seller(), 0n), requirements);
    assert.equal(first.errorReason, 'settlement_pending', JSON.stringify(first));
    const second = await paymentOf(payer, seller(), 1n);
    assert.equal((await engine.verify(second, requirements)).isValid, true);
    const before = { nonces: counter.nonces(), accounts: counter.accounts() };
    const settling = engine.settle(second, requirements);
    await until(() => counter.broadcasts() === 2, 'the broadcasts');
    devnet.mine();
    const settled = await settling;
    assert.equal(settled.success, true, JSON.stringify(settled));
    // The verify's read saw nonce 0 pending: a mempool eviction could have made nonce 1 ahead of the chain since.
    assert.equal(counter.nonces(), before.nonces + 1);
    assert.equal(counter.accounts(), before.accounts + 1);
    await engine.idle();
  });

  /** Settles `payment`, mining a block once the devnet holds its broadcast. */
  const settleMined = async (
    engine: Facilitator,
    counter: ReturnType<typeof countingFetch>,
    payment: unknown,
    requirements: ReturnType<typeof requirementsFor>,
  ) => {
    const broadcasts = counter.broadcasts();
    const settling = engine.settle(payment, requirements);
    await until(() => counter.broadcasts() > broadcasts, 'the broadcasts');
    devnet.mine();
    return settling;
  };

  test("a payer's next settlement after one seen succeeding here is judged on what that one left, without a read", async () => {
    const { counter, engine } = countedEngine();
    const payer = freshPayer();
    const requirements = requirementsFor(seller());
    for (const nonce of [0n, 1n, 2n]) {
      const settled = await settleMined(
        engine,
        counter,
        await paymentOf(payer, seller(), nonce),
        requirements,
      );
      assert.equal(settled.success, true, JSON.stringify(settled));
    }
    assert.equal(
      counter.accounts(),
      1,
      'the first settlement read the account, the next two nothing',
    );
    assert.equal(counter.nonces(), 0);
    assert.equal(counter.broadcasts(), 3);
    await engine.idle();
  });

  test('what a settlement spent is taken off: a next payment the payer can no longer cover is refused before anything is sent', async () => {
    const { counter, engine } = countedEngine();
    const payer = freshPayer();
    // Genesis holds 100,000 STX: 60,000 is paid, then 50,000 more would have been covered by the balance first read.
    const big = (amount: string) => ({ ...requirementsFor(seller()), amount });
    const paid = await settleMined(
      engine,
      counter,
      await paymentUnder(payer, big('60000000000'), 0n),
      big('60000000000'),
    );
    assert.equal(paid.success, true, JSON.stringify(paid));
    const refused = await engine.settle(
      await paymentUnder(payer, big('50000000000'), 1n),
      big('50000000000'),
    );
    assert.equal(refused.errorReason, 'insufficient_funds', JSON.stringify(refused));
    assert.equal(counter.accounts(), 1, 'judged on what the first payment left');
    assert.equal(counter.broadcasts(), 1, 'nothing sent for the second');
    await engine.idle();
  });

  test('a token payment leaves its amount off the token and its fee off STX: the next one it no longer covers is refused before a read or a broadcast', async () => {
    const { counter, engine } = countedEngine();
    const payer = freshPayer();
    // Genesis holds 100,000,000 sBTC base units: 60,000,000 paid, then 50,000,000 more.
    const sbtc = (amount: string) => ({ ...requirementsFor(seller()), asset: 'sBTC', amount });
    const pay = (amount: string, nonce: bigint) => paymentUnder(payer, sbtc(amount), nonce);
    const paid = await settleMined(engine, counter, await pay('60000000', 0n), sbtc('60000000'));
    assert.equal(paid.success, true, JSON.stringify(paid));
    assert.deepEqual([counter.accounts(), counter.tokenBalances()], [1, 1]);
    const refused = await engine.settle(await pay('50000000', 1n), sbtc('50000000'));
    assert.equal(refused.errorReason, 'insufficient_funds', JSON.stringify(refused));
    assert.deepEqual([counter.accounts(), counter.tokenBalances()], [1, 1], 'no read');
    // What it still holds is enough: 40,000,000 left.
    const covered = await settleMined(engine, counter, await pay('40000000', 1n), sbtc('40000000'));
    assert.equal(covered.success, true, JSON.stringify(covered));
    assert.deepEqual([counter.accounts(), counter.tokenBalances()], [1, 1]);
    assert.equal(counter.broadcasts(), 2);
    await engine.idle();
  });

  test('a payer that spends its next nonce elsewhere: the node refuses the payment judged on what the last one left, with a named reason, and nothing stays held', async () => {
    const ledger = new InMemoryLedger();
    const { counter, engine } = countedEngine({ ledger });
    const payer = freshPayer();
    const requirements = requirementsFor(seller());
    const paid = await settleMined(
      engine,
      counter,
      await paymentOf(payer, seller(), 0n),
      requirements,
    );
    assert.equal(paid.success, true, JSON.stringify(paid));
    // The payer's nonce 1 goes elsewhere, straight to the node, and is mined.
    const elsewhere = await paymentOf(payer, devnet.accounts[0]!.address, 1n);
    const direct = createChainClient({ network: 'testnet', url: devnet.url });
    assert.equal((await direct.broadcast(elsewhere.payload.transaction)).accepted, true);
    devnet.mine();
    const refused = await engine.settle(await paymentOf(payer, seller(), 1n), requirements);
    assert.equal(refused.success, false);
    assert.equal(refused.errorReason, 'broadcast_failed', JSON.stringify(refused));
    assert.deepEqual(await ledger.inFlight('stacks:2147483648', payer.address), []);
    // The refusal forgot what the first payment left: another payment at nonce 1 is read, and refused before it is
    // sent.
    const broadcasts = counter.broadcasts();
    const again = await engine.settle(
      await paymentUnder(payer, requirements, 1n, 301n),
      requirements,
    );
    assert.equal(again.errorReason, 'invalid_exact_stacks_payload_nonce', JSON.stringify(again));
    assert.equal(counter.broadcasts(), broadcasts, 'nothing sent');
    // The payer's nonce 2 is read from the chain, and settles.
    const accounts = counter.accounts();
    const next = await settleMined(
      engine,
      counter,
      await paymentOf(payer, seller(), 2n),
      requirements,
    );
    assert.equal(next.success, true, JSON.stringify(next));
    assert.equal(counter.accounts(), accounts + 1);
    await engine.idle();
  });

  test('sponsored settles read the mempool afresh, whatever a verify cached: a payer whose own transaction holds the nonce gets nothing sponsored', async () => {
    const { counter, ledger, sponsor, engine } = sponsoringEngine(31, {
      verifyCacheMs: 60_000,
      settleTimeoutMs: 500,
    });
    const payer = freshPayer();
    const sponsoredAt = (amount: number) => ({
      ...requirementsFor(seller()),
      amount: String(amount),
      extra: { sponsor: sponsor.address },
    });
    // A verify first: its read ("nothing pending, nonce 0") is cached for a minute.
    const probe = await createPaymentTransaction({
      account: payer,
      requirements: sponsoredAt(999),
      nonce: 0n,
      sponsored: true,
    });
    const verdict = await engine.verify(
      { x402Version: 2, accepted: sponsoredAt(999), payload: { transaction: probe.transaction } },
      sponsoredAt(999),
    );
    assert.equal(verdict.isValid, true, JSON.stringify(verdict));
    // The payer's own transaction at nonce 0, pending: no block is mined.
    const own = await createPaymentTransaction({
      account: payer,
      requirements: requirementsFor(devnet.accounts[0]!.address),
      nonce: 0n,
      fee: 300n,
    });
    const admitted = await createChainClient({ network: 'testnet', url: devnet.url }).broadcast(
      own.transaction,
    );
    assert.equal(admitted.accepted, true);
    // An attacker's script: distinct sponsored payments at that nonce, each a fresh txid.
    const answers = [];
    for (let i = 0; i < 20; i++) {
      const requirements = sponsoredAt(1000 + i);
      const { transaction, txid } = await createPaymentTransaction({
        account: payer,
        requirements,
        nonce: 0n,
        sponsored: true,
      });
      const payment = { x402Version: 2, accepted: requirements, payload: { transaction } };
      answers.push({ txid, settled: await engine.settle(payment, requirements) });
    }
    for (const { txid, settled } of answers) {
      assert.equal(settled.success, false);
      assert.equal(
        settled.errorReason,
        'invalid_exact_stacks_payload_nonce',
        JSON.stringify(settled),
      );
      assert.equal(await ledger.get(txid), undefined, 'refused before the claim');
    }
    assert.equal(counter.broadcasts(), 0, 'nothing broadcast, no sponsor nonce taken');
    assert.equal(counter.nonces(), 1 + 20, 'the verify, then each settle read the mempool');
    devnet.mine();
    await engine.idle();
  });

  test('a sponsored payment ahead of the chain waits for its nonce to be free: taken by the payer meanwhile, nothing is sponsored', async () => {
    const { counter, ledger, sponsor, engine } = sponsoringEngine(30, { settleTimeoutMs: 1_000 });
    const direct = createChainClient({ network: 'testnet', url: devnet.url });
    const requirements = { ...requirementsFor(seller()), extra: { sponsor: sponsor.address } };
    const sponsoredAt = (payer: StacksAccount, nonce: bigint) =>
      sponsoredPayment(payer, requirements, nonce);
    /** The payer's own transaction at `nonce`, straight to the node, with a fee no sponsor outbids. */
    const own = async (payer: StacksAccount, nonce: bigint) => {
      const { transaction } = await createPaymentTransaction({
        account: payer,
        requirements: requirementsFor(devnet.accounts[0]!.address),
        nonce,
        fee: 5_000_000n,
      });
      assert.equal((await direct.broadcast(transaction)).accepted, true);
    };

    // Each payer has a confirmed transaction first: the Stacks API lists an account's gaps only from then on.
    const withConfirmed = async () => {
      const payer = freshPayer();
      await own(payer, 0n);
      devnet.mine();
      return payer;
    };

    // The payer takes the payment's nonce itself while the settle waits. With a confirmed transaction: nonce 2 first,
    // behind a gap at 1, so the settle never finds nonce 2 free in between, then the gap. With nothing mined, where
    // the API lists no gaps: nonce 0, then the payment's nonce 1, now the highest pending.
    const takenCases = [
      { payer: await withConfirmed(), nonce: 2n, takes: [2n, 1n] },
      { payer: freshPayer(), nonce: 1n, takes: [0n, 1n] },
    ];
    const taken = [];
    for (const { payer, nonce, takes } of takenCases) {
      const payment = await sponsoredAt(payer, nonce);
      taken.push(payment);
      const started = Date.now();
      const waiting = engine.settle(payment.payment, requirements);
      for (const spent of takes) {
        await new Promise((resolve) => setTimeout(resolve, 120));
        await own(payer, spent);
      }
      const refused = await waiting;
      assert.equal(
        refused.errorReason,
        'invalid_exact_stacks_payload_nonce',
        JSON.stringify(refused),
      );
      assert.match(String(refused.errorMessage), new RegExp(`took nonce ${nonce}`));
      assert.ok(Date.now() - started < 1_000, 'refused as soon as the nonce was seen taken');
    }

    // A payment at the payer's next nonce behind a gap the payer left below it: it would hold the sponsor's nonce
    // until the payer filled the gap, so it waits for the gap and is refused when it stays.
    const gapped = await withConfirmed();
    await own(gapped, 2n);
    const behindGap = await sponsoredAt(gapped, 3n);
    const stuck = await engine.settle(behindGap.payment, requirements);
    assert.equal(stuck.errorReason, 'invalid_exact_stacks_payload_nonce', JSON.stringify(stuck));
    assert.match(String(stuck.errorMessage), /confirmed next nonce in time/);
    // The same before any confirmed transaction, where the API may list no gaps: no nonce below was sent here.
    const fresh = freshPayer();
    await own(fresh, 1n);
    const behindFreshGap = await sponsoredAt(fresh, 2n);
    const freshStuck = await engine.settle(behindFreshGap.payment, requirements);
    assert.equal(freshStuck.errorReason, 'invalid_exact_stacks_payload_nonce');
    assert.equal(counter.broadcasts(), 0, 'nothing sponsored, nothing broadcast');
    for (const { txid } of [...taken, behindGap, behindFreshGap])
      assert.equal(await ledger.get(txid), undefined, 'the claim given back');

    // The payer's own nonce 1 pending is not enough: a transaction the facilitator did not send may never be mined (a
    // fee its payer can no longer pay), and the sponsor's nonce would wait behind it for good. The payment at 2 goes
    // out once nonce 1 confirms.
    const honest = await withConfirmed();
    const chained = await sponsoredAt(honest, 2n);
    const settling = engine.settle(chained.payment, requirements);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await own(honest, 1n);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(counter.broadcasts(), 0, 'not sponsored behind a pending nonce it did not send');
    devnet.mine();
    await until(() => counter.broadcasts() === 1, 'the broadcasts');
    devnet.mine();
    const settled = await settling;
    assert.equal(settled.success, true, JSON.stringify(settled));

    // Behind a pending nonce that is never mined, the payment is refused at its deadline, and nothing is sponsored.
    const trapping = await withConfirmed();
    await own(trapping, 1n);
    const trapped = await engine.settle((await sponsoredAt(trapping, 2n)).payment, requirements);
    assert.equal(
      trapped.errorReason,
      'invalid_exact_stacks_payload_nonce',
      JSON.stringify(trapped),
    );
    assert.equal(counter.broadcasts(), 1, 'the trap held no sponsor nonce');

    // Behind the payer's earlier sponsored payment, sent here and still pending, the next one waits for it to confirm:
    // the payer could replace that one by fee with a transaction never mined, and the next would hold its sponsor nonce
    // behind it for good (or, replaced by one that drains the payer, fail on chain at the sponsor's cost).
    const chaining = await withConfirmed();
    const first = engine.settle((await sponsoredAt(chaining, 1n)).payment, requirements);
    await until(() => counter.broadcasts() === 2, 'the first sponsored broadcast');
    const second = engine.settle((await sponsoredAt(chaining, 2n)).payment, requirements);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(
      counter.broadcasts(),
      2,
      'not sponsored behind a pending nonce, even one sent here',
    );
    devnet.mine();
    await until(() => counter.broadcasts() === 3, 'the second once the first confirmed');
    devnet.mine();
    assert.equal((await first).success, true);
    assert.equal((await second).success, true);

    // The attack itself: two sponsored payments sent together, and the first replaced by fee once it is out (by a
    // transaction of the payer's that this test never mines, as if it never could be): the second is never sponsored.
    const replacing = await withConfirmed();
    const replaced = engine.settle((await sponsoredAt(replacing, 1n)).payment, requirements);
    const behindReplaced = engine.settle((await sponsoredAt(replacing, 2n)).payment, requirements);
    await until(() => counter.broadcasts() === 4, 'the sponsored payment the payer replaces');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await own(replacing, 1n);
    const [lost, refused] = await Promise.all([replaced, behindReplaced]);
    assert.equal(lost.success, false, JSON.stringify(lost));
    assert.equal(
      refused.errorReason,
      'invalid_exact_stacks_payload_nonce',
      JSON.stringify(refused),
    );
    assert.match(String(refused.errorMessage), /confirmed next nonce in time/);
    assert.equal(counter.broadcasts(), 4, 'no sponsored transaction left behind the replacement');
    assert.equal(
      devnet.chain.mempool.filter((pending) => pending.admitted.sponsor === sponsor.address).length,
      0,
    );
    devnet.mine();
    await engine.idle();
  });

  test('a sponsored payment that waited for its nonce is judged again on what its payer holds then: drained meanwhile, nothing is sponsored', async () => {
    const { counter, ledger, sponsor, engine } = sponsoringEngine(31, { settleTimeoutMs: 5_000 });
    const direct = createChainClient({ network: 'testnet', url: devnet.url });
    const payer = freshPayer();
    const sbtc = (amount: string, extra: Record<string, string> = {}) => ({
      ...requirementsFor(seller()),
      asset: 'sBTC',
      amount,
      extra,
    });
    const own = async (nonce: bigint, amount: string) => {
      const { transaction } = await createPaymentTransaction({
        account: payer,
        requirements: sbtc(amount),
        nonce,
        fee: 1_000n,
      });
      assert.equal((await direct.broadcast(transaction)).accepted, true);
    };
    await own(0n, '1');
    devnet.mine();
    // Its own sBTC transfer at nonce 1, pending, leaves 500 of the genesis 100,000,000 base units: the payment at 2
    // was funded when judged, and would fail on chain at the sponsor's cost (the node admits a token transfer without
    // looking at the balance).
    await own(1n, String(100_000_000n - 1n - 500n));
    const requirements = sbtc('1000', { sponsor: sponsor.address });
    const { transaction, txid } = await createPaymentTransaction({
      account: payer,
      requirements,
      nonce: 2n,
      sponsored: true,
    });
    const settling = engine.settle(
      { x402Version: 2, accepted: requirements, payload: { transaction } },
      requirements,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    devnet.mine(); // the drain confirms: nonce 2 is the payer's confirmed next
    const refused = await settling;
    assert.equal(refused.errorReason, 'insufficient_funds', JSON.stringify(refused));
    assert.equal(counter.broadcasts(), 0, 'nothing sponsored');
    assert.equal(await ledger.get(txid), undefined, 'the claim given back');
    await engine.idle();
  });

  /**
   * An engine sponsoring with genesis account 31, its clock `skew()` ahead, its keeper run by hand, on `chain` (the
   * devnet's client unless given), and a settle of a sponsored payment at `nonce` of `payer` under it.
   */
  function strandingStack(skew: () => number, chain?: ChainClient) {
    const ledger = new InMemoryLedger();
    const sponsor = devnet.accounts[31]!;
    const engine = createFacilitator({
      networks: { testnet: chain ? { chain } : { url: devnet.url } },
      sponsor: { privateKeys: sponsor.privateKey, gapFillDelayMs: 0 },
      ledger,
      pollIntervalMs: 20,
      settleTimeoutMs: 300,
      now: () => Date.now() + skew(),
      keeper: { intervalMs: 600_000 },
    });
    const requirements = { ...requirementsFor(seller()), extra: { sponsor: sponsor.address } };
    const settleSponsored = async (payer: StacksAccount, nonce: bigint) => {
      const { txid, payment } = await sponsoredPayment(payer, requirements, nonce);
      return { txid, answer: await engine.settle(payment, requirements) };
    };
    return { ledger, sponsor, engine, settleSponsored };
  }

  for (const filler of ['mined', 'dropped'] as const) {
    test(`a sponsored payment stranded by its payer nonce spent through another node is replaced on its sponsor nonce, and the key goes on (filler ${filler})`, async () => {
      let skewMs = 0;
      const { ledger, sponsor, engine, settleSponsored } = strandingStack(() => skewMs);
      const stranding = freshPayer();
      const stranded = await settleSponsored(stranding, 0n);
      assert.equal(stranded.answer.errorReason, 'settlement_pending');
      // Another payer's sponsored payment takes the key's next nonce.
      const behind = await settleSponsored(freshPayer(), 0n);
      assert.equal(behind.answer.errorReason, 'settlement_pending');
      // A block made elsewhere spends the first payer's nonce 0: its sponsored transaction can never be mined now, and
      // the other waits behind its sponsor nonce.
      devnet.chain.state.bumpNonce(stranding.address);
      devnet.mine();
      assert.equal((await ledger.get(behind.txid))?.state, 'broadcast', 'held up behind it');
      const strandedNonce = (await ledger.get(stranded.txid))!.sponsorNonce!;

      // Not asked about before it has been pending 30 s.
      assert.equal((await engine.keeper.runOnce()).strandedReplaced, 0);
      skewMs = 31_000;
      assert.equal((await engine.keeper.runOnce()).strandedReplaced, 1);
      // Its own tracking sees it replaced by the sponsor key, and fails it only once the filler is mined: the proof it
      // never can be.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(
        (await ledger.get(stranded.txid))?.state,
        'broadcast',
        'not failed on the replacement alone',
      );
      if (filler === 'dropped') {
        // A filler dropped unmined proves nothing (a node that lags the block that mined the payment drops it too):
        // the settlement stays, its nonce is handed to no payment, and the keeper sends the filler again.
        const sent = devnet.chain.mempool.find(
          (pending) =>
            pending.admitted.origin === sponsor.address &&
            pending.admitted.originNonce === strandedNonce,
        )!;
        assert.ok(devnet.chain.injectFault(sent.admitted.txid, { kind: 'drop' }));
        const next = await settleSponsored(freshPayer(), 0n);
        assert.notEqual((await ledger.get(next.txid))?.sponsorNonce, strandedNonce);
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal((await ledger.get(stranded.txid))?.state, 'broadcast');
        skewMs += 61_000;
        assert.equal((await engine.keeper.runOnce()).strandedReplaced, 1, 'the filler sent again');
      }
      devnet.mine();
      await until(
        async () => (await ledger.get(stranded.txid))?.state === 'failed',
        'the stranded settlement failed',
      );
      await until(
        async () => (await ledger.get(behind.txid))?.state === 'success',
        'the held-up payment confirmed',
      );
      assert.deepEqual(devnet.chain.nonces(sponsor.address).missing, []);
      // Its payer is charged the failure: its next sponsored payment is refused within the window.
      const again = await settleSponsored(stranding, 1n);
      assert.equal(
        again.answer.errorReason,
        'sponsor_limit_exceeded',
        JSON.stringify(again.answer),
      );
      devnet.mine();
      await engine.idle();
    });
  }

  test("a stranded transaction's sponsor nonce, held once its filler is on the way, goes to no payment when another process ends the settlement first", async () => {
    let skewMs = 0;
    let strandedBytes: string | undefined;
    let raced: (() => Promise<void>) | undefined;
    const real = createChainClient({ network: 'testnet', url: devnet.url });
    // Another process's tracking, between the keeper's last look at the ledger and the filler reaching the node: the
    // node dropped the stranded transaction, so that process fails the settlement and releases its sponsor nonce.
    const chain: ChainClient = Object.assign(Object.create(real) as ChainClient, {
      async broadcast(transaction: string | Uint8Array) {
        const hex =
          typeof transaction === 'string' ? transaction : Buffer.from(transaction).toString('hex');
        const race = raced;
        if (race && hex !== strandedBytes) {
          raced = undefined;
          await race();
        }
        return real.broadcast(transaction);
      },
    });
    const { ledger, sponsor, engine, settleSponsored } = strandingStack(() => skewMs, chain);
    const stranding = freshPayer();
    const stranded = await settleSponsored(stranding, 0n);
    assert.equal(stranded.answer.errorReason, 'settlement_pending');
    const record = (await ledger.get(stranded.txid))!;
    strandedBytes = record.transaction;
    devnet.chain.state.bumpNonce(stranding.address);
    devnet.mine();
    let taker: Awaited<ReturnType<typeof settleSponsored>> | undefined;
    raced = async () => {
      assert.ok(devnet.chain.injectFault(record.txid, { kind: 'drop' }));
      await ledger.update(
        record.paymentTxid,
        { state: 'failed', errorReason: 'transaction_failed', releaseNonce: true },
        ['broadcast'],
        record.createdAt,
      );
      await ledger.releaseSponsorship(record.paymentTxid, true, record.createdAt);
      taker = await settleSponsored(freshPayer(), 0n);
    };
    skewMs = 31_000;
    await engine.keeper.runOnce();
    assert.ok(taker, 'the filler was sent');
    assert.notEqual(
      (await ledger.get(taker.txid))?.sponsorNonce,
      record.sponsorNonce,
      'the next payment is given another nonce than the filler’s',
    );
    devnet.mine();
    await until(
      async () => (await ledger.get(taker!.txid))?.state === 'success',
      'the next payment confirmed, not replaced by the filler',
    );
    assert.deepEqual(devnet.chain.nonces(sponsor.address).missing, []);
    await engine.idle();
  });

  test('a sponsored payment mined while a status read still says pending is never replaced, failed or charged', async () => {
    let skewMs = 0;
    let lagging: ChainTransaction | undefined;
    const real = createChainClient({ network: 'testnet', url: devnet.url });
    // A status read from an API replica behind the one answering /nonces: the transaction still pending.
    const refusals: string[] = [];
    const chain: ChainClient = Object.assign(Object.create(real) as ChainClient, {
      async getTransaction(txid: string) {
        const read = await real.getTransaction(txid);
        return lagging && read?.indexed && read.txid === lagging.txid ? lagging : read;
      },
      async broadcast(transaction: string | Uint8Array) {
        const sent = await real.broadcast(transaction);
        if (!sent.accepted) refusals.push(sent.reason);
        return sent;
      },
    });
    const { ledger, engine, settleSponsored } = strandingStack(() => skewMs, chain);
    const payer = freshPayer();
    const paid = await settleSponsored(payer, 0n);
    assert.equal(paid.answer.errorReason, 'settlement_pending');
    lagging = (await real.getTransaction(paid.answer.transaction)) ?? undefined;
    assert.equal(lagging?.indexed && lagging.status, 'pending');
    devnet.mine(); // mined: the payer's confirmed nonce moves past it
    skewMs = 31_000;
    assert.equal((await engine.keeper.runOnce()).strandedReplaced, 0);
    assert.deepEqual(
      refusals,
      ['BadNonce'],
      'the filler was sent, and refused: its nonce is spent',
    );
    lagging = undefined;
    await until(
      async () => (await ledger.get(paid.txid))?.state === 'success',
      'the payment recorded as mined',
    );
    // Nothing charged: the payer's next sponsored payment is sponsored.
    const next = await settleSponsored(payer, 1n);
    assert.notEqual(next.answer.errorReason, 'sponsor_limit_exceeded', JSON.stringify(next.answer));
    devnet.mine();
    await engine.idle();
  });

  test('settlements waiting for earlier nonces share one read per payer per round, and a payer filling maxNonceWaits shuts out nobody else', async () => {
    const counter = countingFetch();
    const ledger = new InMemoryLedger();
    const engine = createFacilitator({
      networks: { testnet: { chain: countingClient(counter.fetch) } },
      ledger,
      pollIntervalMs: 1_000,
      settleTimeoutMs: 2_500,
      maxNonceWaits: 4,
    });
    const network = 'stacks:2147483648';
    // An attacker's script: payments past a gap it never fills, each waiting out the whole settleTimeoutMs.
    const stalling = freshPayer();
    const stalled = await Promise.all(
      [3n, 4n, 5n, 6n].map((n) => paymentOf(stalling, seller(), n)),
    );
    const waits = stalled.map((payment) => engine.settle(payment, requirementsFor(seller())));
    await until(() => counter.nonces() >= 8, 'the nonce reads'); // each settle's examination and its own first look
    await new Promise((resolve) => setTimeout(resolve, 400));
    const readsBefore = counter.nonces();

    // Every slot is taken, all by one payer: it cannot take a fifth, and an honest buyer's chained payment still waits.
    const more = await engine.settle(
      await paymentOf(stalling, seller(), 7n),
      requirementsFor(seller()),
    );
    assert.equal(more.errorReason, 'nonce_wait_capacity_exhausted', JSON.stringify(more));
    const honest = freshPayer();
    const ahead = await paymentOf(honest, seller(), 1n);
    const settlingAhead = engine.settle(ahead, requirementsFor(seller()));
    const gaveWay = await Promise.race(waits);
    assert.equal(gaveWay.errorReason, 'nonce_wait_capacity_exhausted', JSON.stringify(gaveWay));
    assert.equal(
      (await ledger.inFlight(network, stalling.address)).length,
      3,
      'its claim given back',
    );

    // The honest buyer's nonce 0 reaches the mempool, and its waiting payment goes out right behind it.
    const settlingFirst = engine.settle(
      await paymentOf(honest, seller(), 0n),
      requirementsFor(seller()),
    );
    await until(() => counter.broadcasts() === 2, 'the broadcasts');
    devnet.mine();
    assert.equal((await settlingFirst).success, true);
    assert.equal((await settlingAhead).success, true);

    const answers = await Promise.all(waits);
    const timedOut = answers.filter((a) => a.errorReason === 'invalid_exact_stacks_payload_nonce');
    assert.equal(timedOut.length, 3, JSON.stringify(answers));
    for (const answer of timedOut)
      assert.match(String(answer.errorMessage), /never reached the chain/);
    assert.deepEqual(await ledger.inFlight(network, stalling.address), []);
    // Three waiting settlements of the stalling payer for two seconds after the first half second: rounds at about
    // 0.7 and 1.5 s and at the deadline, one read each; polling for itself every 100 ms, each made twenty.
    const reads = counter.nonces() - readsBefore;
    assert.ok(reads <= 12, `${reads} nonce reads in all, the honest buyer's included`);
    assert.equal(counter.broadcasts(), 2, 'nothing of the stalling payer went out');
    await engine.idle();
  });

  test('concurrent verifies of one payer share one read of the chain, with the cache off', async () => {
    const counter = countingFetch();
    const engine = createFacilitator({
      networks: { testnet: { chain: countingClient(counter.fetch) } },
      verifyCacheMs: 0,
    });
    const payment = await paymentOf(freshPayer(), seller(), 0n);
    const verdicts = await Promise.all(
      Array.from({ length: 6 }, () => engine.verify(payment, requirementsFor(seller()))),
    );
    assert.deepEqual(
      verdicts.map((v) => v.isValid),
      [true, true, true, true, true, true],
    );
    assert.equal(counter.nonces(), 1);
    assert.equal(counter.accounts(), 1);
    // Finished, a read answers no later verify when the cache is off.
    await engine.verify(payment, requirementsFor(seller()));
    assert.equal(counter.nonces(), 2);
  });

  /**
   * `count` settlements of fresh payers that a first process broadcast while no block came (each answered
   * `settlement_pending`) before it stopped: in `ledger`, `broadcast`, followed by no process.
   */
  async function leftPending(ledger: InMemoryLedger, count: number) {
    const payers = Array.from({ length: count }, freshPayer);
    const requirements = requirementsFor(seller());
    const first = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger,
      pollIntervalMs: 20,
      settleTimeoutMs: 100,
    });
    const answers = await Promise.all(
      payers.map(async (payer) => first.settle(await paymentOf(payer, seller(), 0n), requirements)),
    );
    assert.deepEqual(
      answers.map((a) => a.errorReason),
      answers.map(() => 'settlement_pending'),
    );
    await first.keeper.stop();
    await first.idle();
    return answers;
  }

  test('the keeper reads the settlements no process follows together, and one pending past trackForMs less often', async () => {
    const ledger = new InMemoryLedger();
    const answers = await leftPending(ledger, 3);

    // The next process only keeps: its clock says they have been pending past trackForMs (30 minutes).
    let skewMs = 31 * 60_000;
    const counter = countingFetch();
    const keeping = createFacilitator({
      networks: { testnet: { chain: countingClient(counter.fetch) } },
      ledger,
      now: () => Date.now() + skewMs,
      keeper: { intervalMs: 600_000 },
    });
    const reads = () => [counter.batchStatusReads().length, counter.singleStatusReads()];
    assert.equal((await keeping.keeper.runOnce()).followed, 3);
    assert.deepEqual(reads(), [1, 0], 'one request for all three');
    assert.equal(counter.batchStatusReads()[0]!.match(/tx_id=0x[0-9a-f]{64}/g)?.length, 3);
    // Still pending: not looked at again in the next round, nor before a minute has passed.
    assert.equal((await keeping.keeper.runOnce()).followed, 0);
    skewMs += 30_000;
    assert.equal((await keeping.keeper.runOnce()).followed, 0);
    assert.deepEqual(reads(), [1, 0]);
    skewMs += 31_000;
    devnet.mine();
    assert.equal((await keeping.keeper.runOnce()).followed, 3);
    assert.deepEqual(reads(), [2, 0]);
    for (const answer of answers) {
      assert.equal((await keeping.status(answer.transaction))?.state, 'success');
    }
    assert.equal(counter.broadcasts(), 0, 'nothing was sent again');
    await keeping.idle();
  });

  for (const api of ['with tx/multiple', 'without tx/multiple'] as const) {
    test(`the settlements followed after a restart are read together, one round for all of them (${api})`, async () => {
      const ledger = new InMemoryLedger();
      const settlements = 8;
      const answers = await leftPending(ledger, settlements);

      // The next process follows all of them from the ledger, on one timer.
      const counter = countingFetch(
        api === 'with tx/multiple' ? {} : { without: '/extended/v1/tx/multiple' },
      );
      const next = createFacilitator({
        networks: { testnet: { chain: countingClient(counter.fetch) } },
        ledger,
        pollIntervalMs: 50,
      });
      assert.deepEqual(await next.resume(), { tracked: settlements, released: 0 });
      devnet.mine();
      await next.idle();
      for (const answer of answers) {
        assert.equal((await next.status(answer.transaction))?.state, 'success');
      }
      const batches = counter.batchStatusReads();
      if (api === 'with tx/multiple') {
        // One round: one request asking about every settlement.
        assert.equal(batches.length, 1);
        assert.equal(batches[0]!.match(/tx_id=0x[0-9a-f]{64}/g)?.length, settlements);
        assert.equal(counter.singleStatusReads(), 0);
      } else {
        // The API answered 404 once, and the round read each settlement on its own.
        assert.equal(batches.length, 1);
        assert.equal(counter.singleStatusReads(), settlements);
      }
      assert.equal(counter.broadcasts(), 0, 'nothing was sent again');
    });
  }
});
