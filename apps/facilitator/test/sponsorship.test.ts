/**
 * Sponsorship under attackers, evictions and capacity floods: the failures the sponsored path had, each against the
 * facilitator service over HTTP on a devnet that mines only when told.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateKeypair } from 'x402-stacks';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { type SponsoredStack, startSponsoredStack } from './sponsored-stack.js';

/** The mempool transaction a sponsor key signed on `nonce`. */
function pendingOf(stack: SponsoredStack, sponsor: string, nonce: bigint) {
  return stack.devnet.chain.mempool.find(
    (record) => record.admitted.sponsor === sponsor && record.admitted.sponsorNonce === nonce,
  );
}

describe('sponsorship: an evicted sponsored payment frees its sponsor nonce', () => {
  test('replaced by fee: the next sponsored payment reuses the nonce, both pending payments confirm in one block, and the payer is charged a failure', {
    timeout: 60_000,
  }, async () => {
    const stack = await startSponsoredStack({
      keys: 1,
      env: { SPONSOR_GAP_FILL_DELAY_MS: '600000' },
    });
    try {
      const [sponsor] = stack.sponsors;
      const evicted = stack.devnet.accounts[0]!.account;
      const first = await stack.payment(evicted, 0n);
      const second = await stack.payment(stack.devnet.accounts[1]!.account, 0n);
      const firstSettle = stack.settle(first);
      await stack.mempoolHolds(1);
      const secondSettle = stack.settle(second);
      await stack.mempoolHolds(2);
      assert.ok(pendingOf(stack, sponsor!, 0n) && pendingOf(stack, sponsor!, 1n));

      // The payer replaces its own pending payment with a self-paid transaction on the same nonce and a higher fee.
      const { transaction: replacement } = await createPaymentTransaction({
        account: evicted,
        requirements: { ...stack.requirements('1'), extra: {} },
        nonce: 0n,
        fee: 10_000n,
      });
      const replaced = stack.devnet.chain.broadcast(
        Buffer.from(replacement.replace(/^0x/, ''), 'hex'),
      );
      assert.equal(replaced.accepted, true);
      assert.equal(pendingOf(stack, sponsor!, 0n), undefined, 'the sponsored payment was evicted');
      const firstOutcome = await firstSettle;
      assert.equal(firstOutcome.success, false);
      assert.equal(firstOutcome.errorReason, 'transaction_failed');

      // Nonce 0 of the sponsor is now a gap that holds up nonce 1; the next sponsored payment fills it.
      const third = await stack.payment(stack.devnet.accounts[2]!.account, 0n);
      const thirdSettle = stack.settle(third);
      await stack.mempoolHolds(3);
      assert.ok(pendingOf(stack, sponsor!, 0n), 'the freed sponsor nonce was reused');
      stack.devnet.mine();
      const [secondOutcome, thirdOutcome] = await Promise.all([secondSettle, thirdSettle]);
      assert.equal(secondOutcome.success, true, secondOutcome.errorReason);
      assert.equal(thirdOutcome.success, true, thirdOutcome.errorReason);
      assert.equal(stack.devnet.chain.nonces(sponsor!).missing.length, 0);

      // Left unused, the freed nonce would have cost the sponsor a filler: the payer that replaced its sponsored
      // payment is charged a failure, and its next one is not sponsored within the window.
      const again = await stack.settle(await stack.payment(evicted, 1n));
      assert.equal(again.errorReason, 'sponsor_limit_exceeded', JSON.stringify(again));
      assert.equal(stack.devnet.chain.mempool.length, 0, 'nothing sponsored');
    } finally {
      await stack.stop();
    }
  });

  test('dropped, with no payment to reuse the nonce: the keeper fills the gap and the held-up payments confirm', {
    timeout: 60_000,
  }, async () => {
    const stack = await startSponsoredStack({ keys: 1, env: { SPONSOR_GAP_FILL_DELAY_MS: '0' } });
    try {
      const [sponsor] = stack.sponsors;
      const payments = await Promise.all(
        [0, 1, 2].map((k) => stack.payment(stack.devnet.accounts[k]!.account, 0n)),
      );
      const settles = [];
      /** How long each settle call took to answer, from just before it was sent. */
      const tookMs: number[] = [];
      for (const [k, payment] of payments.entries()) {
        const sentAt = performance.now();
        settles.push(
          stack.settle(payment).then((outcome) => {
            tookMs[k] = performance.now() - sentAt;
            return outcome;
          }),
        );
        await stack.mempoolHolds(k + 1);
      }
      const dropped = pendingOf(stack, sponsor!, 0n)!;
      stack.devnet.chain.injectFault(dropped.admitted.txid, { kind: 'drop' });
      assert.equal((await settles[0])!.errorReason, 'transaction_failed');

      // The keeper sees nonce 0 missing and spends it with a transfer of its own at its first round once the payment
      // that held it is no longer in flight (no gap delay here; its rounds come every 200 ms), not a re-send spacing
      // (15 s) after a round that found it held.
      const fillerOf = () =>
        stack.devnet.chain.mempool.find((record) => record.admitted.origin === sponsor);
      const deadline = Date.now() + 5_000;
      while (!fillerOf() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const filler = fillerOf();
      assert.ok(filler, 'the keeper filled the gap');
      assert.equal(filler.admitted.originNonce, 0n, 'with a transaction of the sponsor key itself');
      // The key has nothing mined, so as far as the API says nonce 1 may be a gap too, but a payment in flight holds it. Until a block comes, the
      // keeper's rounds send nothing more: not its filler again, not one on nonce 1.
      const broadcasts: unknown[] = [];
      const broadcast = stack.devnet.chain.broadcast.bind(stack.devnet.chain);
      stack.devnet.chain.broadcast = (bytes) => {
        broadcasts.push(bytes);
        return broadcast(bytes);
      };
      await new Promise((r) => setTimeout(r, 1_500));
      assert.deepEqual(broadcasts, [], 'seven keeper rounds sent nothing');
      stack.devnet.mine();
      // Held up a few seconds, well within their settle calls' time (SETTLE_TIMEOUT_MS, 15 s here): both answer
      // success, each mined with its payment.
      const outcomes = await Promise.all(settles.slice(1));
      for (const [k, outcome] of outcomes.entries()) {
        assert.equal(
          outcome.success,
          true,
          `${outcome.errorReason} after ${Math.round(tookMs[k + 1]!)} ms`,
        );
        assert.equal(stack.devnet.chain.transaction(outcome.transaction)?.status, 'success');
      }
      assert.equal(stack.devnet.chain.nonces(sponsor!).missing.length, 0);
    } finally {
      await stack.stop();
    }
  });
});

describe('sponsorship: a payer cannot make the sponsor pay for failures', () => {
  test('two payments that the balance covers only one at a time: the second is refused before any fee is spent', {
    timeout: 60_000,
  }, async () => {
    const stack = await startSponsoredStack({ keys: 1 });
    try {
      const attacker = generateKeypair('testnet');
      stack.devnet.chain.fund(attacker.address, { stx: 3_000n });
      const sponsorBefore = stack.sponsorsStx();
      const first = await stack.payment(attacker, 0n);
      const second = await stack.payment(attacker, 1n);
      assert.equal((await stack.verify(first)).isValid, true);
      assert.equal((await stack.verify(second)).isValid, true, 'alone, each is covered');
      const firstSettle = stack.settle(first);
      await stack.mempoolHolds(1);
      const verdict = await stack.verify(second);
      assert.equal(verdict.invalidReason, 'insufficient_funds_in_flight');
      const refused = await stack.settle(second);
      assert.equal(refused.success, false);
      assert.equal(refused.errorReason, 'insufficient_funds_in_flight');
      assert.equal(stack.devnet.chain.mempool.length, 1, 'nothing more was broadcast');
      stack.devnet.mine();
      assert.equal((await firstSettle).success, true);
      const fee = sponsorBefore - stack.sponsorsStx();
      assert.ok(fee > 0n && fee < 1_000n, `the sponsor paid one fee (${fee})`);
    } finally {
      await stack.stop();
    }
  });

  test('a payer whose sponsored payment failed on chain is not sponsored again within the window', {
    timeout: 60_000,
  }, async () => {
    const stack = await startSponsoredStack({ keys: 1 });
    try {
      const payer = stack.devnet.accounts[0]!.account;
      stack.devnet.chain.injectFault('next', { kind: 'abort' });
      const first = await stack.payment(payer, 0n, stack.requirements('2500', 'sBTC'));
      const settled = stack.settle(first);
      await stack.mempoolHolds(1);
      const before = stack.sponsorsStx();
      stack.devnet.mine();
      const failed = await settled;
      assert.equal(failed.errorReason, 'transaction_failed');
      const lostFee = before - stack.sponsorsStx();
      assert.ok(lostFee > 0n, 'the sponsor paid for the failure');
      const again = await stack.settle(
        await stack.payment(payer, 1n, stack.requirements('2500', 'sBTC')),
      );
      assert.equal(again.success, false);
      assert.equal(again.errorReason, 'sponsor_limit_exceeded');
      assert.equal(stack.devnet.chain.mempool.length, 0);
      assert.equal(before - stack.sponsorsStx(), lostFee, 'one failed fee, no more');
      // Another payer is still sponsored.
      const other = await stack.payment(stack.devnet.accounts[1]!.account, 0n);
      const otherSettle = stack.settle(other);
      await stack.mempoolHolds(1);
      stack.devnet.mine();
      assert.equal((await otherSettle).success, true);
    } finally {
      await stack.stop();
    }
  });
});

describe('sponsorship: capacity', () => {
  /** `count` sponsored payments at once, each from a payer of its own: one payer's next goes out only a block later. */
  async function flood(stack: SponsoredStack, count: number) {
    const payments = await Promise.all(
      Array.from({ length: count }, () => {
        const payer = generateKeypair('testnet');
        stack.devnet.chain.fund(payer.address, { stx: 10_000n });
        return stack.payment(payer, 0n);
      }),
    );
    return payments.map((payment) => stack.settle(payment));
  }

  test('two keys: 40 concurrent sponsored payments in one block all succeed, spread over both keys', {
    timeout: 90_000,
  }, async () => {
    const stack = await startSponsoredStack({ keys: 2 });
    try {
      const outcomes = await flood(stack, 40);
      await stack.mempoolHolds(40);
      const bySponsor = new Map<string, number>();
      for (const record of stack.devnet.chain.mempool)
        bySponsor.set(record.admitted.sponsor!, (bySponsor.get(record.admitted.sponsor!) ?? 0) + 1);
      assert.equal(bySponsor.size, 2, 'both keys sponsor');
      const block = stack.devnet.mine()[0]!;
      assert.equal(block.txids.length, 40, 'one block took all 40');
      const results = await Promise.all(outcomes);
      assert.deepEqual(
        results.filter((r) => !r.success).map((r) => r.errorReason),
        [],
      );
    } finally {
      await stack.stop();
    }
  });

  test('one key: past its 25 pending transactions the pool refuses with sponsor_capacity_exhausted, never TooMuchChaining', {
    timeout: 90_000,
  }, async () => {
    const stack = await startSponsoredStack({ keys: 1 });
    try {
      const outcomes = await flood(stack, 32);
      await stack.mempoolHolds(25);
      // Mine only once the seven past the key's room have been answered: a block mined earlier would make room for
      // a late one, which would then wait for the next block.
      let answered = 0;
      for (const outcome of outcomes) void outcome.then(() => answered++);
      const deadline = Date.now() + 30_000;
      while (answered < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(stack.devnet.chain.mempool.length, 25, 'the key took no more than its room');
      stack.devnet.mine();
      const results = await Promise.all(outcomes);
      const reasons = results.map((r) => (r.success ? 'success' : r.errorReason));
      assert.equal(reasons.filter((r) => r === 'success').length, 25);
      assert.equal(reasons.filter((r) => r === 'sponsor_capacity_exhausted').length, 7);
    } finally {
      await stack.stop();
    }
  });
});

describe('sponsorship: what the operator sees and allows', () => {
  test('a sponsor key below the minimum balance: /health is degraded, the gauge shows it, sponsored payments are refused with a reason', {
    timeout: 60_000,
  }, async () => {
    const stack = await startSponsoredStack({
      keys: 1,
      env: { SPONSOR_MIN_BALANCE: (10n ** 18n).toString() },
    });
    try {
      const deadline = Date.now() + 10_000;
      type Health = {
        status: string;
        sponsors?: { address: string; low: boolean; balance?: string }[];
      };
      let health: Health;
      do {
        health = (await (await fetch(`${stack.service.url}/health`)).json()) as Health;
        if (health.sponsors?.[0]?.balance !== undefined) break;
        await new Promise((r) => setTimeout(r, 50));
      } while (Date.now() < deadline);
      assert.equal(health.status, 'degraded');
      assert.equal(health.sponsors?.[0]?.address, stack.sponsors[0]);
      assert.equal(health.sponsors?.[0]?.low, true);
      const metrics = await (await fetch(`${stack.service.url}/metrics`)).text();
      assert.match(
        metrics,
        new RegExp(`x402_facilitator_sponsor_low\\{[^}]*sponsor="${stack.sponsors[0]}"[^}]*\\} 1`),
      );
      const refused = await stack.settle(
        await stack.payment(stack.devnet.accounts[0]!.account, 0n),
      );
      assert.equal(refused.success, false);
      assert.equal(refused.errorReason, 'sponsor_balance_low');
      assert.equal(stack.devnet.chain.mempool.length, 0);
    } finally {
      await stack.stop();
    }
  });

  test('an allow-list of payTo addresses: verify and settle refuse to sponsor a payment to anyone else', {
    timeout: 60_000,
  }, async () => {
    const stack = await startSponsoredStack({
      keys: 1,
      env: { SPONSOR_ALLOWED_PAY_TO: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5' },
    });
    try {
      const payment = await stack.payment(stack.devnet.accounts[0]!.account, 0n);
      assert.equal((await stack.verify(payment)).invalidReason, 'sponsor_pay_to_not_allowed');
      assert.equal((await stack.settle(payment)).errorReason, 'sponsor_pay_to_not_allowed');
      assert.equal(stack.devnet.chain.mempool.length, 0);
    } finally {
      await stack.stop();
    }
  });
});

describe('sponsorship: a dropped sponsored payment settles again', () => {
  test('over HTTP on the SQLite ledger, the retry of its identical bytes is sponsored anew, pays once, and a further replay is a duplicate', {
    timeout: 60_000,
  }, async () => {
    const stack = await startSponsoredStack({
      keys: 1,
      env: { SPONSOR_GAP_FILL_DELAY_MS: '600000' },
    });
    try {
      const [sponsor] = stack.sponsors;
      const payer = stack.devnet.accounts[0]!.account;
      const seller = stack.devnet.accounts[7]!.address;
      const payment = await stack.payment(payer, 0n);
      const firstSettle = stack.settle(payment);
      await stack.mempoolHolds(1);
      stack.devnet.chain.injectFault(pendingOf(stack, sponsor!, 0n)!.admitted.txid, {
        kind: 'drop',
      });
      assert.equal((await firstSettle).errorReason, 'transaction_failed');

      // The buyer signs the same nonce and amount again: the identical bytes, the same txid.
      const again = await stack.payment(payer, 0n);
      assert.equal(again.transaction, payment.transaction);
      const paidBefore = stack.devnet.chain.state.stx(seller);
      const retry = stack.settle(again);
      await stack.mempoolHolds(1);
      assert.ok(pendingOf(stack, sponsor!, 0n), 'sponsored again, on the nonce the drop gave back');
      stack.devnet.mine();
      const outcome = await retry;
      assert.equal(outcome.success, true, outcome.errorReason);
      assert.equal(stack.devnet.chain.state.stx(seller), paidBefore + 3000n);
      const replay = await stack.settle(again);
      assert.equal(replay.errorReason, 'duplicate_settlement');
      stack.devnet.mine();
      assert.equal(
        stack.devnet.chain.state.stx(seller),
        paidBefore + 3000n,
        'the money moved once',
      );
      assert.equal(stack.devnet.chain.nonces(sponsor!).missing.length, 0);
    } finally {
      await stack.stop();
    }
  });
});
