/**
 * The settle steps an engine reports (`onSettleStep`), in process against the devnet over HTTP: each step that runs
 * is heard once, in order, timed on one clock; a retry is heard as one; an observer that throws changes no answer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createFacilitator, type FacilitatorOptions, InMemoryLedger } from 'x402-stacks';
import type { SettleStep } from 'x402-stacks/facilitator';
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

  test('a payment claimed, checked and marked in one ledger step: each step heard once, in order, within the call', async () => {
    const { facilitator, heard } = listened();
    const paid = await payment(2, 0n);
    const started = performance.now();
    const settled = await facilitator.settle(paid, requirements());
    const took = performance.now() - started;
    assert.equal(settled.success, true, settled.errorReason);
    assert.deepEqual(steps(heard), ['replay_check', 'verify', 'claim', 'broadcast', 'confirm']);
    for (const { step, ms } of heard) assert.ok(ms >= 0, `${step}: ${ms} ms`);
    const total = heard.reduce((sum, { ms }) => sum + ms, 0);
    assert.ok(total <= took + 1, `the steps (${total} ms) fit in the call (${took} ms)`);

    heard.length = 0;
    const again = await facilitator.settle(paid, requirements());
    assert.equal(again.errorReason, 'duplicate_settlement');
    assert.deepEqual(steps(heard), ['replay_check', 'retry'], 'a retry is heard as one step');
    await facilitator.idle();
  });

  test('a ledger that claims in three steps, and a payment id: the funds check, the id and the write-ahead are heard', async () => {
    const ledger = new InMemoryLedger();
    // The same ledger without its one-step claim: the engine claims, reads the payer's money in flight and marks apart.
    const threeSteps = new Proxy(ledger, {
      get(target, property) {
        if (property === 'claimToSend') return undefined;
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const { facilitator, heard } = listened({ ledger: threeSteps });
    const settled = await facilitator.settle(
      await payment(3, 0n, 'pay_0123456789abcdef'),
      requirements(),
    );
    assert.equal(settled.success, true, settled.errorReason);
    assert.deepEqual(steps(heard), [
      'replay_check',
      'verify',
      'claim',
      'funds_check',
      'payment_id',
      'write_ahead',
      'broadcast',
      'confirm',
    ]);
    await facilitator.idle();
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
