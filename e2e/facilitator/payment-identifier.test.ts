/**
 * The facilitator's side of `payment-identifier`, in process against the devnet over HTTP: a retry of one payment
 * under its id gets the stored outcome (success, pending, or the failure) instead of `duplicate_settlement`, at most
 * `maxReplays` times and within the window; the same id on another payment of the payer is refused; ids are the
 * payer's own; a malformed id is refused; and a ledger without the methods leaves the extension off.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { until } from '@x402-stacks/test-kit';
import { PAYMENT_IDENTIFIER } from 'x402-stacks/extensions';
import {
  createFacilitator,
  type FacilitatorOptions,
  InMemoryLedger,
  type Keeper,
  type Ledger,
  type PaymentIdBinding,
} from 'x402-stacks/facilitator';
import { devnetPayments } from './devnet-payments.js';
import { writesDrop } from './other-processes.js';

const AMOUNT = 2_500n;

describe('facilitator engine: payment-identifier', { timeout: 60_000 }, () => {
  const { devnet, requirements, payment: payload } = devnetPayments(AMOUNT);
  const engine = (options: Partial<FacilitatorOptions> = {}) =>
    createFacilitator({
      networks: { testnet: { url: devnet().url } },
      settleTimeoutMs: 2_000,
      pollIntervalMs: 50,
      ...options,
    });
  const seller = () => devnet().chain.state.stx(devnet().accounts[1]!.address);

  test('/supported lists payment-identifier; turned off, or over a ledger without the methods, it does not', () => {
    assert.deepEqual(engine().supported().extensions, ['bazaar', PAYMENT_IDENTIFIER]);
    assert.deepEqual(engine({ paymentIdentifier: false }).supported().extensions, ['bazaar']);
    const memory = new InMemoryLedger();
    // The ledger a custom implementation written before the extension would be: every method but these.
    const withoutIds = new Proxy(memory, {
      get: (target, property) =>
        ['bindPaymentId', 'paymentIdBinding', 'replayPaymentId', 'prunePaymentIds'].includes(
          String(property),
        )
          ? undefined
          : Reflect.get(target, property).bind(target),
    }) as Ledger;
    assert.deepEqual(engine({ ledger: withoutIds }).supported().extensions, ['bazaar']);
  });

  test('the same payment under its id is answered success again, up to maxReplays (a captured header replayed by anyone gets no more); the money moves once', async () => {
    const facilitator = engine({ paymentIdentifier: { maxReplays: 2 } });
    const id = 'pay_replays_0000000000000001';
    const paid = await payload(2, 0n, id);
    const before = seller();
    const first = await facilitator.settle(paid, requirements());
    assert.equal(first.success, true, JSON.stringify(first));
    const again = [
      await facilitator.settle(paid, requirements()),
      await facilitator.settle(paid, requirements()),
    ];
    for (const answer of again) {
      assert.equal(answer.success, true, JSON.stringify(answer));
      assert.equal(answer.transaction, first.transaction);
      assert.equal(answer.payer, devnet().accounts[2]!.address);
    }
    const third = await facilitator.settle(paid, requirements());
    assert.equal(third.errorReason, 'duplicate_settlement', 'past maxReplays');
    assert.equal(seller(), before + AMOUNT);
  });

  test('a retry without the id, or under another id, is a duplicate as before', async () => {
    const facilitator = engine();
    const id = 'pay_other_ids_000000000000001';
    const paid = await payload(3, 0n, id);
    assert.equal((await facilitator.settle(paid, requirements())).success, true);
    const bare = { ...paid, extensions: undefined };
    assert.equal(
      (await facilitator.settle(bare, requirements())).errorReason,
      'duplicate_settlement',
    );
    const otherId = {
      ...paid,
      extensions: { [PAYMENT_IDENTIFIER]: { info: { required: false, id: `${id}x` } } },
    };
    assert.equal(
      (await facilitator.settle(otherId, requirements())).errorReason,
      'duplicate_settlement',
    );
  });

  test('past the window the stored outcome is not answered any more, and the keeper deletes the id', async () => {
    let clock = Date.now();
    const ledger = new InMemoryLedger();
    const facilitator = engine({
      ledger,
      paymentIdentifier: { windowMs: 60_000 },
      now: () => clock,
    });
    const id = 'pay_window_000000000000000001';
    const paid = await payload(4, 0n, id);
    assert.equal((await facilitator.settle(paid, requirements())).success, true);
    const key = { network: 'stacks:2147483648' as const, payer: devnet().accounts[4]!.address, id };
    await facilitator.keeper.runOnce();
    assert.ok(await ledger.paymentIdBinding(key), 'kept within its window');
    clock += 60_000;
    assert.equal(
      (await facilitator.settle(paid, requirements())).errorReason,
      'duplicate_settlement',
    );
    clock += 1;
    // Another process's keeper holds the network: this one still prunes the ids, which are not per network.
    assert.ok(
      await ledger.acquireLease('keeper:stacks:2147483648', 'another process', 600_000, clock),
    );
    await facilitator.keeper.runOnce();
    assert.equal(await ledger.paymentIdBinding(key), undefined, 'pruned past its window');
  });

  test('the same id on another payment of the payer is refused, before anything is broadcast; verify says so too', async () => {
    const facilitator = engine();
    const id = 'pay_conflict_0000000000000001';
    assert.equal(
      (await facilitator.settle(await payload(5, 0n, id), requirements())).success,
      true,
    );
    const before = seller();
    const other = await payload(5, 1n, id);
    const verdict = await facilitator.verify(other, requirements());
    assert.equal(verdict.isValid, false);
    assert.equal(verdict.invalidReason, 'payment_identifier_conflict');
    const settled = await facilitator.settle(other, requirements());
    assert.equal(settled.success, false);
    assert.equal(settled.errorReason, 'payment_identifier_conflict');
    assert.equal(seller(), before, 'nothing moved');
    // Its claim was given back: the same payment under a fresh id settles.
    const fresh = await facilitator.settle(await payload(5, 1n, `${id}_fresh`), requirements());
    assert.equal(fresh.success, true, JSON.stringify(fresh));
  });

  test('ids belong to their payer: another payer uses the same id for its own payment', async () => {
    const facilitator = engine();
    const id = 'pay_scoped_000000000000000001';
    assert.equal(
      (await facilitator.settle(await payload(6, 0n, id), requirements())).success,
      true,
    );
    const theirs = await facilitator.settle(await payload(7, 0n, id), requirements());
    assert.equal(theirs.success, true, JSON.stringify(theirs));
  });

  test('a malformed id is refused by verify and settle: invalid_payment_identifier', async () => {
    const facilitator = engine();
    for (const id of ['short', 'pay with spaces 0000', 'x'.repeat(129)]) {
      const paid = await payload(8, 0n, id);
      assert.equal(
        (await facilitator.verify(paid, requirements())).invalidReason,
        'invalid_payment_identifier',
      );
      assert.equal(
        (await facilitator.settle(paid, requirements())).errorReason,
        'invalid_payment_identifier',
      );
    }
    // Off, the extension's entry is not read at all.
    const off = engine({ paymentIdentifier: false });
    assert.equal((await off.verify(await payload(8, 0n, 'short'), requirements())).isValid, true);
  });

  test('a pending answer is answered pending again (not counted: nothing is served on it), and success once the chain confirms it', async () => {
    const facilitator = engine({ settleTimeoutMs: 300, paymentIdentifier: { maxReplays: 1 } });
    const paid = await payload(9, 0n, 'pay_pending_00000000000000001');
    devnet().chain.stall(true);
    try {
      const first = await facilitator.settle(paid, requirements());
      assert.equal(first.errorReason, 'settlement_pending');
      const still = await facilitator.settle(paid, requirements());
      assert.equal(still.errorReason, 'settlement_pending');
      assert.equal(still.transaction, first.transaction);
    } finally {
      devnet().chain.stall(false);
      devnet().mine();
    }
    const confirmed = await facilitator.settle(paid, requirements());
    assert.equal(confirmed.success, true, JSON.stringify(confirmed));
    const past = await facilitator.settle(paid, requirements());
    assert.equal(past.errorReason, 'duplicate_settlement', 'the one replay was the success');
    await facilitator.idle();
  });

  test('an id answers again only for the resource the payment was settled for: the same bytes and id on another route are a duplicate', async () => {
    const facilitator = engine({ paymentIdentifier: { maxReplays: 5 } });
    const paid = await payload(6, 1n, 'pay_resource_0000000000000001');
    const at = (url: string) => ({ ...paid, resource: { url } });
    const before = seller();
    const first = await facilitator.settle(at('http://seller.test/a'), requirements());
    assert.equal(first.success, true, JSON.stringify(first));
    const elsewhere = await facilitator.settle(at('http://seller.test/b'), requirements());
    assert.equal(elsewhere.errorReason, 'duplicate_settlement');
    const unnamed = await facilitator.settle(paid, requirements());
    assert.equal(unnamed.errorReason, 'duplicate_settlement');
    const again = await facilitator.settle(at('http://seller.test/a'), requirements());
    assert.equal(again.success, true, JSON.stringify(again));
    assert.equal(seller(), before + AMOUNT);
  });

  test('a pending answer confirmed since is served once by its first retry under the id (the answer turns, no replay counted); replays count after it', async () => {
    const ledger = new InMemoryLedger();
    const facilitator = engine({
      ledger,
      settleTimeoutMs: 300,
      paymentIdentifier: { maxReplays: 1 },
    });
    const id = 'pay_promoted_0000000000000001';
    const key = { network: 'stacks:2147483648' as const, payer: devnet().accounts[7]!.address, id };
    const paid = {
      ...(await payload(7, 1n, id)),
      resource: { url: 'http://seller.test/a' },
    };
    devnet().chain.stall(true);
    try {
      const first = await facilitator.settle(paid, requirements());
      assert.equal(first.errorReason, 'settlement_pending');
    } finally {
      devnet().chain.stall(false);
      devnet().mine();
    }
    const served = await facilitator.settle(paid, requirements());
    assert.equal(served.success, true, JSON.stringify(served));
    assert.equal(await ledger.answerOf(served.transaction), 'success', 'the answer turned');
    assert.equal((await ledger.paymentIdBinding(key))?.replays, 0, 'not a replay');
    const replayed = await facilitator.settle(paid, requirements());
    assert.equal(replayed.success, true, 'the one replay is still there');
    assert.equal((await ledger.paymentIdBinding(key))?.replays, 1);
    const past = await facilitator.settle(paid, requirements());
    assert.equal(past.errorReason, 'duplicate_settlement', 'past maxReplays');
    await facilitator.idle();
  });

  /**
   * A payment of account `payerIndex` at its next nonce for `url`, settled under the id `id` by an engine with a
   * one-minute window while the chain mines nothing: answered `settlement_pending`, then the engine's clock moves past
   * the window and `meanwhile` runs before the block. `skew` moves that clock on again.
   */
  async function pendingPastWindow(
    payerIndex: number,
    { id, url }: { id: string; url: string },
    meanwhile?: (pending: {
      ledger: InMemoryLedger;
      txid: string;
      keeper: Keeper;
    }) => Promise<void>,
  ) {
    let skewMs = 0;
    const ledger = new InMemoryLedger();
    const facilitator = engine({
      ledger,
      settleTimeoutMs: 300,
      paymentIdentifier: { windowMs: 60_000 },
      now: () => Date.now() + skewMs,
    });
    const payer = devnet().accounts[payerIndex]!.address;
    const key = { network: 'stacks:2147483648' as const, payer, id };
    const nonce = devnet().chain.state.nonce(payer);
    const bytesOnly = { ...(await payload(payerIndex, nonce)), resource: { url } };
    const paid = {
      ...bytesOnly,
      extensions: { [PAYMENT_IDENTIFIER]: { info: { required: false, id } } },
    };
    devnet().chain.stall(true);
    let txid = '';
    try {
      const first = await facilitator.settle(paid, requirements());
      assert.equal(first.errorReason, 'settlement_pending');
      txid = first.transaction;
      skewMs = 60_001;
      await meanwhile?.({ ledger, txid, keeper: facilitator.keeper });
    } finally {
      devnet().chain.stall(false);
      devnet().mine();
    }
    const skew = (ms: number) => {
      skewMs = ms;
    };
    return { ledger, facilitator, key, bytesOnly, paid, txid, skew };
  }

  test("a pending answer confirmed only after its id's window: the keeper keeps the id of a payment not served yet, the buyer's retry under it is served once, the bytes alone are a duplicate", async () => {
    const before = seller();
    const { ledger, facilitator, key, bytesOnly, paid, txid, skew } = await pendingPastWindow(8, {
      id: 'pay_late_confirm_000000000001',
      url: 'http://seller.test/late',
    });
    try {
      // The seller retries once the facilitator's status says success; the keeper has run past the id's window by then.
      await until(async () => (await ledger.get(txid))?.state === 'success', 'the confirmation');
      await facilitator.keeper.runOnce();
      assert.ok(await ledger.paymentIdBinding(key), 'kept: the payment was not served yet');
      const replayed = await facilitator.settle(bytesOnly, requirements());
      assert.equal(replayed.errorReason, 'duplicate_settlement', 'the bytes alone serve nobody');
      const served = await facilitator.settle(paid, requirements());
      assert.equal(served.success, true, JSON.stringify(served));
      assert.equal(await ledger.answerOf(served.transaction), 'success');
      assert.equal(seller(), before + AMOUNT);
      const again = await facilitator.settle(paid, requirements());
      assert.equal(
        again.errorReason,
        'duplicate_settlement',
        'past its window the id replays nothing',
      );
      // Judged once, as it left its window: kept until a day after its first use, then forgotten.
      await facilitator.keeper.runOnce();
      assert.ok(await ledger.paymentIdBinding(key));
      skew(24 * 60 * 60_000);
      await facilitator.keeper.runOnce();
      assert.equal(await ledger.paymentIdBinding(key), undefined, 'a day after its first use');
    } finally {
      await facilitator.idle();
    }
  });

  test("a payment another node reported dropped after its id's window, and this process's follow then found mined: the keeper kept the id, the buyer's retry under it is served", async () => {
    const id = 'pay_drop_then_mined_000000001';
    const key = { network: 'stacks:2147483648' as const, payer: devnet().accounts[2]!.address, id };
    let keptWhileDropped: PaymentIdBinding | undefined;
    const { ledger, facilitator, paid, txid } = await pendingPastWindow(
      2,
      { id, url: 'http://seller.test/dropped' },
      // Past the window, another process's node lets the payment go; a keeper round follows.
      async (pending) => {
        await writesDrop(pending.ledger, pending.txid);
        await pending.keeper.runOnce();
        keptWhileDropped = await pending.ledger.paymentIdBinding(key);
      },
    );
    try {
      assert.ok(keptWhileDropped, 'kept: a drop may still be found mined');
      // This process's follow, under way since the broadcast, reads the block.
      await until(
        async () => (await ledger.get(txid))?.state === 'success',
        'the drop found mined',
      );
      await facilitator.keeper.runOnce();
      const served = await facilitator.settle(paid, requirements());
      assert.equal(served.success, true, JSON.stringify(served));
      assert.equal(served.transaction, txid);
    } finally {
      await facilitator.idle();
    }
  });

  test('a payment that failed on chain is answered its failure again, never served', async () => {
    const facilitator = engine();
    const paid = await payload(0, 0n, 'pay_failure_00000000000000001');
    devnet().chain.injectFault('next', { kind: 'abort' });
    const first = await facilitator.settle(paid, requirements());
    assert.equal(first.success, false);
    const again = await facilitator.settle(paid, requirements());
    assert.equal(again.success, false);
    assert.equal(again.errorReason, first.errorReason);
  });
});
