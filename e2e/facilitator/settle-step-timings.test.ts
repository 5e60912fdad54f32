/**
 * The settle steps an engine reports (`onSettleStep`), in process against the devnet over HTTP: each step that runs
 * is heard once, in order, on every path a payment takes (one ledger step or three, a payment id, a sponsor, a verify
 * that refuses, a retry); an observer that throws changes no answer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createFacilitator,
  type FacilitatorOptions,
  InMemoryLedger,
  type SettleStep,
} from 'x402-stacks/facilitator';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { devnetPayments } from './devnet-payments.js';

const AMOUNT = 2_500n;

describe('facilitator engine: settle step timings', { timeout: 60_000 }, () => {
  const { devnet, requirements, payment } = devnetPayments(AMOUNT);
  /** An engine whose steps are heard into `heard`. */
  function listened(options: Partial<FacilitatorOptions> = {}) {
    const heard: { step: SettleStep; ms: number }[] = [];
    const facilitator = createFacilitator({
      networks: { testnet: { url: devnet().url } },
      settleTimeoutMs: 5_000,
      pollIntervalMs: 50,
      onSettleStep: (step, ms) => heard.push({ step, ms }),
      ...options,
    });
    return { facilitator, heard };
  }
  const steps = (heard: readonly { step: SettleStep }[]) => heard.map(({ step }) => step);
  /** Settles `paid` on `run`'s engine, which must answer success having heard `expected`, in order. */
  async function settlesThrough(
    run: ReturnType<typeof listened>,
    paid: object,
    accepted: object,
    expected: readonly SettleStep[],
  ) {
    const settled = await run.facilitator.settle(paid, accepted);
    assert.equal(settled.success, true, settled.errorReason);
    assert.deepEqual(steps(run.heard), expected);
    await run.facilitator.idle();
  }
  /** The steps up to the funds check read after a claim of its own, and from the write-ahead on. */
  const claimedApart = ['replay_check', 'verify', 'claim', 'funds_check'] as const;
  const sent = ['write_ahead', 'broadcast', 'confirm'] as const;

  test('a payment claimed, checked and marked in one ledger step: each step heard once, in order, within the call', async () => {
    const { facilitator, heard } = listened();
    const paid = await payment(2, 0n);
    const settled = await facilitator.settle(paid, requirements());
    assert.equal(settled.success, true, settled.errorReason);
    assert.deepEqual(steps(heard), ['replay_check', 'verify', 'claim', 'broadcast', 'confirm']);

    heard.length = 0;
    const again = await facilitator.settle(paid, requirements());
    assert.equal(again.errorReason, 'duplicate_settlement');
    assert.deepEqual(steps(heard), ['replay_check', 'retry'], 'a retry is heard as one step');
    await facilitator.idle();
  });

  test('a ledger that claims in three steps: the funds check and the write-ahead are heard apart', async () => {
    const ledger = new InMemoryLedger();
    // The same ledger without its one-step claim: the engine claims, reads the payer's money in flight and marks apart.
    const threeSteps = new Proxy(ledger, {
      get(target, property) {
        if (property === 'claimToSend') return undefined;
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await settlesThrough(listened({ ledger: threeSteps }), await payment(3, 0n), requirements(), [
      ...claimedApart,
      ...sent,
    ]);
  });

  test('a payment id is bound between the funds check and the write-ahead', async () => {
    await settlesThrough(listened(), await payment(5, 0n, 'pay_0123456789abcdef'), requirements(), [
      ...claimedApart,
      'payment_id',
      ...sent,
    ]);
  });

  test('a sponsored payment waits on its payer’s nonce and is sponsored before the write-ahead', async () => {
    const sponsor = devnet().accounts[9]!;
    const sponsored = { ...requirements(), extra: { sponsor: sponsor.address } };
    const { transaction } = await createPaymentTransaction({
      account: devnet().accounts[6]!.account,
      requirements: sponsored,
      nonce: 0n,
    });
    await settlesThrough(
      listened({ sponsor: { privateKeys: sponsor.privateKey } }),
      { x402Version: 2, accepted: sponsored, payload: { transaction } },
      sponsored,
      [...claimedApart, 'nonce_wait', 'sponsor', ...sent],
    );
  });

  test('a payment verify refuses is heard up to its verify, and nothing after', async () => {
    const { facilitator, heard } = listened();
    const refused = await facilitator.settle(await payment(7, 0n), {
      ...requirements(),
      amount: (AMOUNT + 1n).toString(),
    });
    assert.equal(refused.success, false);
    assert.deepEqual(steps(heard), ['replay_check', 'verify']);
  });

  test('an observer that throws changes nothing: the payment settles once and answers success', async () => {
    let calls = 0;
    const facilitator = createFacilitator({
      networks: { testnet: { url: devnet().url } },
      settleTimeoutMs: 5_000,
      pollIntervalMs: 50,
      onSettleStep: () => {
        calls++;
        throw new Error('a broken metrics sink');
      },
    });
    const seller = () => devnet().chain.state.stx(devnet().accounts[1]!.address);
    const before = seller();
    const settled = await facilitator.settle(await payment(4, 0n), requirements());
    assert.equal(settled.success, true, settled.errorReason);
    assert.equal(seller(), before + AMOUNT, 'the money moved once');
    assert.equal(calls, 5, 'every step was still reported');
    await facilitator.idle();
  });
});
