/**
 * One answer per payment across engines sharing one ledger, against the devnet over HTTP: a retry of a payment whose
 * settle call still runs in another engine waits and is a duplicate, even when the two hosts' clocks disagree by a
 * minute, and a burst of such retries costs the ledger one watcher, not one each. An answer counts for the claim it
 * was given about: a payment released and settled afresh is served once, not refused over a pending answer that
 * served nobody.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { until } from '@x402-stacks/test-kit';
import { createFacilitator, InMemoryLedger, type Ledger } from 'x402-stacks';
import { type ChainClient, ChainRequestError, createChainClient } from 'x402-stacks/chain';
import { signedPayment } from './devnet-payments.js';
import { writesDrop, writesMinedAfterDrop } from './other-processes.js';

const requirementsFor = (payTo: string) => ({
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '4500',
  asset: 'STX',
  payTo,
  maxTimeoutSeconds: 300,
});

/** The first genesis account's payment to the second at nonce 0, as a settle request carries it. */
async function firstPayment(devnet: Devnet) {
  const requirements = requirementsFor(devnet.accounts[1]!.address);
  const { txid, payment } = await signedPayment(devnet, requirements, { nonce: 0n });
  return { requirements, txid, payload: payment };
}

/** {@link firstPayment} for a seller's route: its bytes alone, and the same under the payment id `id`. */
async function firstPaymentNamed(devnet: Devnet, id: string) {
  const { requirements, txid, payload } = await firstPayment(devnet);
  const bytesOnly = { ...payload, resource: { url: 'https://seller.example/paid' } };
  const withId = {
    ...bytesOnly,
    extensions: { 'payment-identifier': { info: { required: false, id } } },
  };
  return { requirements, txid, bytesOnly, withId };
}

/**
 * A holder whose status reads do not come back until `release()`: its call neither answers nor gives up. `past` are
 * the options of engines whose clocks run past its time, so that a retry to them takes the broadcast over.
 */
function hangingHolder(devnet: Devnet, shared: Ledger) {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const real = createChainClient({ network: 'testnet', url: devnet.url, notFoundGraceMs: 0 });
  const hanging: ChainClient = Object.assign(Object.create(real) as ChainClient, {
    async getTransaction(txid: string) {
      await released;
      return real.getTransaction(txid);
    },
    async getTransactions(txids: readonly string[]) {
      await released;
      return real.getTransactions!(txids);
    },
  });
  const holder = createFacilitator({
    networks: { testnet: { chain: hanging } },
    ledger: shared,
    settleTimeoutMs: 30_000,
    pollIntervalMs: 50,
  });
  const past = { now: () => Date.now() + 300_000, pollIntervalMs: 50, ledger: shared };
  return { holder, release, real, past };
}

/**
 * Once the devnet has mined the broadcast payment `txid`, writes what two other processes' trackers would: the drop
 * one's node reported, then the success another's read of the block found.
 */
async function droppedThenMinedElsewhere(real: ChainClient, shared: Ledger, txid: string) {
  await until(
    async () => (await real.getTransaction(txid))?.status === 'success',
    'the payment mined',
  );
  await writesDrop(shared, txid);
  await writesMinedAfterDrop(shared, txid);
}

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
      const { requirements, payload } = await firstPayment(devnet);
      devnet.chain.stall(true);
      const original = holder.settle(payload, requirements);
      await until(() => devnet.chain.mempool.length > 0, "the holder's broadcast");
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

  test('a claim released under a retry that answered it pending (the broadcast never left) is settled afresh and served once, not refused as a duplicate', async () => {
    const devnet = await startDevnet({ port: 0 });
    const shared = new InMemoryLedger();
    let letGo = () => {};
    const held = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    // The holder's broadcast hangs, then fails before it reached the node: its claim is released.
    const real = createChainClient({ network: 'testnet', url: devnet.url });
    const unreachable: ChainClient = Object.assign(Object.create(real) as ChainClient, {
      async broadcast() {
        await held;
        throw new ChainRequestError('chain_unreachable', 'connection refused', {
          method: 'POST',
          url: 'http://127.0.0.1/v2/transactions',
          attempts: 1,
        });
      },
    });
    const holder = createFacilitator({
      networks: { testnet: { chain: unreachable } },
      ledger: shared,
      settleTimeoutMs: 5_000,
      pollIntervalMs: 50,
    });
    // Two minutes ahead: by its clock the holder's call is past its time, so it follows the broadcast in its place.
    const follower = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger: shared,
      settleTimeoutMs: 500,
      pollIntervalMs: 50,
      now: () => Date.now() + 120_000,
    });
    const buyersRetry = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger: shared,
      settleTimeoutMs: 10_000,
      pollIntervalMs: 50,
    });
    try {
      const { requirements, txid, payload } = await firstPayment(devnet);
      const original = holder.settle(payload, requirements).catch((error: unknown) => error);
      await until(
        async () => (await shared.get(txid))?.state === 'broadcast',
        "the holder's write-ahead mark",
      );
      const followed = await follower.settle(payload, requirements);
      assert.equal(followed.errorReason, 'settlement_pending', 'the follower answered it pending');
      letGo();
      await original;
      assert.equal(await shared.get(txid), undefined, 'the claim was released: nothing was sent');

      const before = devnet.chain.state.stx(requirements.payTo);
      const settled = await buyersRetry.settle(payload, requirements);
      assert.equal(settled.success, true, settled.errorReason);
      assert.equal(
        devnet.chain.state.stx(requirements.payTo),
        before + 4500n,
        'the money moved once',
      );
      const replays = await Promise.all([
        buyersRetry.settle(payload, requirements),
        follower.settle(payload, requirements),
      ]);
      assert.deepEqual(
        replays.map((replay) => replay.errorReason),
        ['duplicate_settlement', 'duplicate_settlement'],
        'served once',
      );
    } finally {
      letGo();
      await holder.idle();
      await follower.idle();
      await buyersRetry.idle();
      await devnet.stop();
    }
  });

  test('two retries take over a broadcast whose call cannot answer: the one answered settlement_pending is served once, under its id; the other, replaying the bytes, never', async () => {
    const devnet = await startDevnet({ port: 0 });
    const shared = new InMemoryLedger();
    const { holder, release, past } = hangingHolder(devnet, shared);
    const seller = createFacilitator({
      ...past,
      settleTimeoutMs: 1_000,
      networks: { testnet: { url: devnet.url } },
    });
    const stranger = createFacilitator({
      ...past,
      settleTimeoutMs: 20_000,
      networks: { testnet: { url: devnet.url } },
    });
    try {
      const { requirements, txid, payload: bytesOnly } = await firstPayment(devnet);
      const withId = {
        ...bytesOnly,
        extensions: {
          'payment-identifier': { info: { required: false, id: 'pay_two_takeovers_00000001' } },
        },
      };
      devnet.chain.stall(true);
      const original = holder.settle(withId, requirements);
      await until(async () => (await shared.get(txid))?.state === 'broadcast', 'the broadcast');
      const buyers = seller.settle(withId, requirements);
      const replaying = stranger.settle(bytesOnly, requirements);
      const pending = await buyers;
      assert.equal(pending.errorReason, 'settlement_pending');
      devnet.chain.stall(false);
      devnet.mine();
      const replayed = await replaying;
      assert.equal(
        replayed.errorReason,
        'duplicate_settlement',
        'the pending answer went to the buyer',
      );
      // The buyer's seller, following its pending answer, retries under the id once the payment is confirmed.
      const served = await seller.settle(withId, requirements);
      assert.equal(served.success, true, served.errorReason);
      release();
      const holderAnswer = await original;
      assert.equal(holderAnswer.success, false);
    } finally {
      release();
      await Promise.all([holder.idle(), seller.idle(), stranger.idle()]);
      await devnet.stop();
    }
  });

  test('a retry taking over a broadcast that other processes find dropped, then mined, while it follows it: the bytes alone serve nobody, the buyer under its id is served', async () => {
    const devnet = await startDevnet({ port: 0 });
    const shared = new InMemoryLedger();
    const { holder, release, real, past } = hangingHolder(devnet, shared);
    // The takeover's first status read waits for the block, and meanwhile the other processes write the drop one's
    // node reported, then the success another's read found (as the tracker writes them).
    let written: Promise<void> | undefined;
    const dropThenMined = (txid: string) => {
      written ??= droppedThenMinedElsewhere(real, shared, txid);
      return written;
    };
    const following: ChainClient = Object.assign(Object.create(real) as ChainClient, {
      async getTransaction(txid: string) {
        await dropThenMined(txid);
        return real.getTransaction(txid);
      },
      async getTransactions(txids: readonly string[]) {
        await dropThenMined(txids[0]!);
        return real.getTransactions!(txids);
      },
    });
    const stranger = createFacilitator({
      ...past,
      settleTimeoutMs: 20_000,
      networks: { testnet: { chain: following } },
    });
    const sellers = createFacilitator({
      ...past,
      settleTimeoutMs: 20_000,
      networks: { testnet: { url: devnet.url } },
    });
    try {
      const { requirements, txid, bytesOnly, withId } = await firstPaymentNamed(
        devnet,
        'pay_takeover_after_drop_0001',
      );
      const original = holder.settle(withId, requirements);
      await until(async () => (await shared.get(txid))?.state === 'broadcast', 'the broadcast');
      const replayed = await stranger.settle(bytesOnly, requirements);
      assert.ok(written, 'the drop and the success were written while the takeover followed');
      assert.equal(replayed.errorReason, 'duplicate_settlement', 'the bytes alone serve nobody');
      assert.equal(await shared.answerOf(txid), undefined);
      const served = await sellers.settle(withId, requirements);
      assert.equal(served.success, true, served.errorReason);
      release();
      assert.equal((await original).success, false);
    } finally {
      release();
      await Promise.all([holder.idle(), stranger.idle(), sellers.idle()]);
      await devnet.stop();
    }
  });
  test('a replay waiting on a live holder while other processes find the payment dropped, then mined, is a duplicate when its wait ends; the buyer under its id is served once', async () => {
    const devnet = await startDevnet({ port: 0 });
    const shared = new InMemoryLedger();
    const { holder, release, real } = hangingHolder(devnet, shared);
    // The holder's keeper renews its lease, so a replay waits for its call; once past the call's time by this
    // engine's clock (moved on below), the replay no longer waits.
    let skewMs = 0;
    const { ledger: counting, counted } = countingLeaseReads(shared);
    const stranger = createFacilitator({
      ledger: counting,
      settleTimeoutMs: 20_000,
      pollIntervalMs: 50,
      now: () => Date.now() + skewMs,
      networks: { testnet: { url: devnet.url } },
    });
    const sellers = createFacilitator({
      ledger: shared,
      settleTimeoutMs: 20_000,
      pollIntervalMs: 50,
      networks: { testnet: { url: devnet.url } },
    });
    holder.keeper.start();
    try {
      const { requirements, txid, bytesOnly, withId } = await firstPaymentNamed(
        devnet,
        'pay_drop_during_wait_00001',
      );
      const original = holder.settle(withId, requirements);
      await until(async () => (await shared.get(txid))?.state === 'broadcast', 'the broadcast');
      const replaying = stranger.settle(bytesOnly, requirements);
      await until(() => counted.reads > 0, "the replay's first look at the holder");
      // Meanwhile other processes find the payment dropped, then mined.
      await droppedThenMinedElsewhere(real, shared, txid);
      skewMs = 300_000;
      const replayed = await replaying;
      assert.equal(replayed.errorReason, 'duplicate_settlement', 'the bytes alone serve nobody');
      assert.equal(await shared.answerOf(txid), undefined);
      const served = await sellers.settle(withId, requirements);
      assert.equal(served.success, true, served.errorReason);
      assert.equal(served.transaction, txid);
      release();
      const holderAnswer = await original;
      assert.equal(holderAnswer.errorReason, 'duplicate_settlement', 'one answer in all');
      assert.equal(await shared.answerOf(txid), 'success');
    } finally {
      release();
      await holder.keeper.stop();
      await Promise.all([holder.idle(), stranger.idle(), sellers.idle()]);
      await devnet.stop();
    }
  });
});
