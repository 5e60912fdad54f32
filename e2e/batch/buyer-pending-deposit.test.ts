/**
 * A batch buyer keeps a refused deposit while the chain may still mine it: a refusal of a deposit in the mempool (a
 * facilitator that could not read the escrow, say) must not make the buyer sign a second deposit at the next nonce,
 * both landing past its deposit cap. Once the chain has mined it, or never knew it, a refusal forgets it. The devnet
 * mines by hand, so the deposit stays in the mempool until the test mines it; the buyer's deposits are self-paid, so
 * the buyer's txid is the chain's. A status that cannot be read keeps the deposit too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { until } from '@x402-stacks/test-kit';
import {
  type BatchAttempt,
  type BatchBuyer,
  type BatchOffer,
  type ChannelStore,
  createBatchBuyer,
  createMemoryChannelStore,
  readBatchOffer,
} from 'x402-stacks/batch';
import { type ChainClient, createChainClient } from 'x402-stacks/chain';
import type { StacksAccount } from 'x402-stacks/stacks';
import { batchRequirements, ESCROW } from './engine-stack.js';

const PRICE = 1000n;
const MIN_DEPOSIT = 30n * PRICE;
/** What a facilitator answers when its escrow read failed: nothing about the deposit itself. */
const UNREADABLE = 'invalid_batch_settlement_stacks_channel_unreadable';

describe('a refused deposit the chain may still mine', () => {
  let devnet: Devnet;
  let chain: ChainClient;
  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 8, mining: { mode: 'manual' } });
    chain = createChainClient({ network: 'testnet', url: devnet.url });
  });
  after(() => devnet.stop());

  /** When set, the buyer's status reads fail (its API is down for them). */
  let statusDown = false;

  /** A buyer of `payer` paying its own deposits' fees, with the nonces the chain gives, and its channel store. */
  function buyerOf(payer: StacksAccount): { buyer: BatchBuyer; store: ChannelStore } {
    const store = createMemoryChannelStore();
    const buyer = createBatchBuyer({
      account: payer,
      chain: {
        ...chain,
        getTransaction: (txid) =>
          statusDown ? Promise.reject(new Error('the API is down')) : chain.getTransaction(txid),
      },
      store,
      depositCap: () => 100n * PRICE,
      escrows: new Set([ESCROW]),
      depositFee: async () => 10_000n,
      acquireNonce: async () => ({
        nonce: await chain.getNextNonce(payer.address),
        used() {},
        resync() {},
        watch() {},
      }),
    });
    return { buyer, store };
  }

  const offer = () =>
    readBatchOffer(
      batchRequirements({
        price: PRICE,
        payTo: devnet.accounts[3]!.address,
        receiverAuthorizer: devnet.accounts[4]!.address,
        minDeposit: MIN_DEPOSIT,
      }),
    ) as BatchOffer;

  async function prepare(buyer: BatchBuyer): Promise<BatchAttempt> {
    const prepared = await buyer.prepare(offer());
    assert.ok(!('refusal' in prepared), 'refusal' in prepared ? prepared.refusal.message : '');
    return prepared as BatchAttempt;
  }

  test('one in the mempool is kept and sent again; once mined, a refusal forgets it', async () => {
    const { buyer, store } = buyerOf(devnet.accounts[2]!.account);
    const first = await prepare(buyer);
    assert.equal(first.payload.type, 'deposit');
    const txid = first.deposit!.txid;
    // What a facilitator's settle does before it answers pending.
    const sent = await chain.broadcast(
      first.payload.type === 'deposit' ? first.payload.deposit.transaction : '',
    );
    assert.equal(sent.accepted, true);
    await first.pending();

    const again = await prepare(buyer);
    assert.deepEqual([again.deposit?.txid, again.deposit?.resent], [txid, true]);
    await again.refused(UNREADABLE);
    // Still in the mempool: the next request sends the same deposit, not a second one at the next nonce.
    const third = await prepare(buyer);
    assert.equal(third.payload.type, 'deposit');
    assert.deepEqual(
      [third.deposit?.txid, third.deposit?.resent],
      [txid, true],
      'a second deposit was signed while the first could still land',
    );

    // Its status unreadable: kept too.
    statusDown = true;
    await third.refused(UNREADABLE);
    statusDown = false;
    const fourth = await prepare(buyer);
    assert.deepEqual([fourth.deposit?.txid, fourth.deposit?.resent], [txid, true]);

    devnet.mine(1);
    await until(
      async () => (await chain.getTransaction(txid))?.status === 'success',
      'the deposit mined',
    );
    await fourth.refused(UNREADABLE);
    // Mined: forgotten, and the escrow's balance (read afresh) pays the next request with a voucher.
    const fifth = await prepare(buyer);
    assert.equal(fifth.payload.type, 'voucher');
    await fifth.refused(UNREADABLE);
    const [record] = await store.list();
    assert.equal(record?.pendingDeposit, undefined);
    assert.equal(record?.deposited, MIN_DEPOSIT);
  });

  test('one the chain never saw is forgotten, and the next deposit takes its nonce', async () => {
    const payer = devnet.accounts[5]!.account;
    const { buyer, store } = buyerOf(payer);
    const first = await prepare(buyer);
    assert.equal(first.payload.type, 'deposit');
    await first.refused(UNREADABLE);
    assert.equal((await store.list())[0]?.pendingDeposit, undefined);
    const next = await prepare(buyer);
    assert.equal(next.payload.type, 'deposit');
    assert.equal(next.deposit?.resent, false);
    assert.equal(next.deposit?.nonce, first.deposit?.nonce);
    await next.refused(UNREADABLE);
  });
});
