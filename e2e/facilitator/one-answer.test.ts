/**
 * One answer per payment across engines sharing one ledger, against the devnet over HTTP: a retry of a payment whose
 * settle call still runs in another engine waits and is a duplicate, even when the two hosts' clocks disagree by a
 * minute, and a burst of such retries costs the ledger one watcher, not one each.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startDevnet } from '@x402-stacks/devnet';
import { createFacilitator, InMemoryLedger, type Ledger } from 'x402-stacks';
import { createPaymentTransaction } from 'x402-stacks/stacks';

const requirementsFor = (payTo: string) => ({
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '4500',
  asset: 'STX',
  payTo,
  maxTimeoutSeconds: 300,
});

/** The ledger, counting the lease reads made through it. */
function countingLeaseReads(ledger: Ledger) {
  const counted = { reads: 0 };
  const proxy = new Proxy(ledger, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === 'readLease' && typeof value === 'function') {
        return (name: string) => {
          counted.reads++;
          return value.call(target, name);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { ledger: proxy, counted };
}

describe('facilitator engine: one answer per payment across engines', () => {
  test('a replay to an engine whose clock runs a minute ahead waits for the live holder and is a duplicate; 20 at once read the lease as one', async () => {
    const devnet = await startDevnet({ port: 0 });
    const shared = new InMemoryLedger();
    const holder = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger: shared,
      settleTimeoutMs: 3_000,
      pollIntervalMs: 50,
      keeper: { intervalMs: 200 },
    });
    const { ledger: counting, counted } = countingLeaseReads(shared);
    // Its clock is 60 s ahead: judged by the expiry the holder wrote, the holder's lease would look long lapsed.
    const skewed = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger: counting,
      settleTimeoutMs: 500,
      claimLeaseMs: 120_000,
      pollIntervalMs: 50,
      keeper: { intervalMs: 200 },
      now: () => Date.now() + 60_000,
    });
    holder.keeper.start();
    try {
      const requirements = requirementsFor(devnet.accounts[1]!.address);
      const { transaction } = await createPaymentTransaction({
        account: devnet.accounts[0]!.account,
        requirements,
        nonce: 0n,
        fee: 400n,
      });
      const payload = { x402Version: 2, accepted: requirements, payload: { transaction } };
      devnet.chain.stall(true);
      const original = holder.settle(payload, requirements);
      while (devnet.chain.mempool.length === 0) await new Promise((r) => setTimeout(r, 10));
      const replays = await Promise.all(
        Array.from({ length: 20 }, () => skewed.settle(payload, requirements)),
      );
      const answered = await original;
      assert.equal(answered.errorReason, 'settlement_pending', 'the holder keeps its answer');
      assert.deepEqual(
        [...new Set(replays.map((replay) => replay.errorReason))],
        ['duplicate_settlement'],
      );
      // One watcher looks every 50 ms (the poll interval here) for the 3 s the holder took, about 60 reads; 20
      // watchers would make 20 times that.
      assert.ok(counted.reads <= 100, `${counted.reads} lease reads for 20 replays`);
    } finally {
      // Mined, so that the settlements followed in the background end whether or not the assertions held.
      devnet.chain.stall(false);
      devnet.mine();
      await holder.keeper.stop();
      await holder.idle();
      await skewed.idle();
      await devnet.stop();
    }
  });
});

/**
 * The ledger, with its writes of a settlement's success held until `release` (or failed, with `fail`), noting each
 * call made meanwhile.
 */
function holdingSuccessWrites(ledger: Ledger, options: { fail?: boolean } = {}) {
  const calls: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let held = 0;
  const proxy = new Proxy(ledger, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property === 'update') {
        return async (...args: Parameters<Ledger['update']>) => {
          if (args[1].state !== 'success') return value.apply(target, args);
          held++;
          calls.push('success write begins');
          await released;
          if (options.fail) throw new Error('the disk is full');
          const written = await value.apply(target, args);
          calls.push('success write ends');
          return written;
        };
      }
      if (property === 'recordAnswer') {
        return async (...args: Parameters<Ledger['recordAnswer']>) => {
          calls.push(`answer ${args[1]} recorded`);
          return value.apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
  return { ledger: proxy, calls, release, held: () => held };
}

describe('facilitator engine: the answer is recorded beside the success', () => {
  test('the answer is written while the success write is under way, not after it', async () => {
    const devnet = await startDevnet({ port: 0 });
    const shared = new InMemoryLedger();
    const { ledger, calls, release, held } = holdingSuccessWrites(shared);
    const engine = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger,
      pollIntervalMs: 20,
    });
    try {
      const requirements = requirementsFor(devnet.accounts[1]!.address);
      const { transaction } = await createPaymentTransaction({
        account: devnet.accounts[0]!.account,
        requirements,
        nonce: 0n,
        fee: 400n,
      });
      const settled = engine.settle(
        { x402Version: 2, accepted: requirements, payload: { transaction } },
        requirements,
      );
      while (held() === 0) await new Promise((r) => setTimeout(r, 5));
      // Both writes are issued in the same turn: one SQLite commit, or one PostgreSQL round trip of each grouped kind.
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(calls, ['success write begins', 'answer success recorded']);
      release();
      const answer = await settled;
      assert.equal(answer.success, true, answer.errorReason);
      assert.equal(calls.at(-1), 'success write ends', 'the call answers once both are written');
      assert.equal((await shared.get(answer.transaction))?.state, 'success');
    } finally {
      release();
      await engine.idle();
      await devnet.stop();
    }
  });

  test('a success write that fails: the payment is still answered success once, and the keeper records the success', async () => {
    const devnet = await startDevnet({ port: 0 });
    const shared = new InMemoryLedger();
    const { ledger, release } = holdingSuccessWrites(shared, { fail: true });
    release();
    const engine = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger,
      pollIntervalMs: 20,
    });
    // The keeper writes through the shared ledger itself: the disk has room again.
    const keeper = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger: shared,
      pollIntervalMs: 20,
    });
    try {
      const requirements = requirementsFor(devnet.accounts[1]!.address);
      const { transaction } = await createPaymentTransaction({
        account: devnet.accounts[0]!.account,
        requirements,
        nonce: 0n,
        fee: 400n,
      });
      const payload = { x402Version: 2, accepted: requirements, payload: { transaction } };
      const answer = await engine.settle(payload, requirements);
      assert.equal(
        answer.success,
        true,
        'the chain confirmed it and the answer was recorded: serve it',
      );
      assert.equal(await shared.answerOf(answer.transaction), 'success');
      assert.equal((await shared.get(answer.transaction))?.state, 'broadcast');
      const retry = await keeper.settle(payload, requirements);
      assert.equal(
        retry.errorReason,
        'duplicate_settlement',
        'a retry is not served a second time',
      );
      await keeper.keeper.runOnce();
      assert.equal((await shared.get(answer.transaction))?.state, 'success');
    } finally {
      await engine.idle();
      await keeper.idle();
      await devnet.stop();
    }
  });
});
