/**
 * A deposit payload whose transaction this facilitator sent before (a retry, or the same deposit sent again with a new
 * voucher) is counted in its channel's balance exactly as the chain holds it: not at all once it failed, once when it
 * was mined (the escrow read has it), and on top of the balance only while it is provably not mined. The devnet mines
 * by hand, so each test decides when the deposit lands, and a second engine on the same ledgers stands for another
 * process whose tracking has not seen the block. Nothing a payer sends (a deposit again, a refund refused, more
 * vouchers) moves the age its channel's claim is due by.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { until } from '@x402-stacks/test-kit';
import { createFacilitator, type Facilitator, InMemoryLedger } from 'x402-stacks';
import {
  BATCH_SETTLEMENT,
  batchSettlementFacilitator,
  type ChannelConfig,
  type ChannelLedger,
  channelIdOf,
  createMemoryChannelLedger,
  signVoucher,
} from 'x402-stacks/batch';
import { type ChainClient, createChainClient } from 'x402-stacks/chain';
import { STACKS_NETWORKS, type StacksAccount } from 'x402-stacks/stacks';
import { ESCROW, sponsoredDeposit } from './engine-stack.js';

const NETWORK = STACKS_NETWORKS.testnet;
const PRICE = 1000n;
const BEYOND = 'invalid_batch_settlement_stacks_cumulative_exceeds_balance';
const MISMATCH = 'invalid_batch_settlement_stacks_cumulative_amount_mismatch';

describe('a deposit sent again is counted as the chain holds it', () => {
  let devnet: Devnet;
  let salt = 0;
  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 8, mining: { mode: 'manual' } });
  });
  after(() => devnet.stop());

  /** Engines over one settlement ledger and one channel ledger: the processes of one facilitator. */
  function facilitatorOf() {
    const ledger = new InMemoryLedger();
    const channels: ChannelLedger = createMemoryChannelLedger();
    const engine = (pollIntervalMs = 20, chain?: ChainClient) =>
      createFacilitator({
        networks: { testnet: chain ? { chain } : { url: devnet.url } },
        sponsor: { privateKeys: [devnet.accounts[5]!.account.privateKey] },
        settleTimeoutMs: 300,
        pollIntervalMs,
        ledger,
        schemes: [
          batchSettlementFacilitator({
            escrows: { testnet: ESCROW },
            authorizerKey: devnet.accounts[4]!.account.privateKey,
            channels,
          }),
        ],
      });
    return { engine, channels };
  }

  /** A fresh channel of `payer` to the seller, and payments on it through `engine`. */
  function channelOf(engine: Facilitator, payer: StacksAccount) {
    const kinds = engine.supported().kinds;
    const authorizer = String(
      kinds.find((k) => k.scheme === BATCH_SETTLEMENT)?.extra?.receiverAuthorizer,
    );
    const requirements = {
      scheme: BATCH_SETTLEMENT,
      network: NETWORK.caip2,
      amount: PRICE.toString(),
      asset: 'STX',
      payTo: devnet.accounts[3]!.address,
      maxTimeoutSeconds: 300,
      extra: {
        escrow: ESCROW,
        receiverAuthorizer: authorizer,
        withdrawDelay: 6,
        sponsor: String(kinds.find((k) => k.scheme === 'exact')?.extra?.sponsor),
      },
    };
    const config: ChannelConfig = {
      payer: payer.address,
      payerAuthorizer: payer.address,
      receiver: requirements.payTo,
      receiverAuthorizer: authorizer,
      token: null,
      withdrawDelay: 6,
      salt: `0x${(++salt).toString(16).padStart(64, 'e')}`,
    };
    const channelId = channelIdOf(config);
    const voucher = (max: bigint) => ({
      channelId,
      maxClaimableAmount: max.toString(),
      signature: signVoucher(payer.privateKey, NETWORK, ESCROW, channelId, max),
    });
    const payment = (payload: Record<string, unknown>) => ({
      x402Version: 2,
      accepted: requirements,
      payload: { channelConfig: config, ...payload },
    });
    const deposit = async (amount: bigint) => {
      const nonce = devnet.chain.nonces(payer.address).possibleNext;
      const transaction = await sponsoredDeposit(payer, config, amount, nonce);
      return (max: bigint) =>
        payment({
          type: 'deposit',
          voucher: voucher(max),
          deposit: { amount: amount.toString(), transaction },
        });
    };
    const spend = (max: bigint) => payment({ type: 'voucher', voucher: voucher(max) });
    const refund = (max: bigint, amount?: bigint) =>
      payment({
        type: 'refund',
        voucher: voucher(max),
        ...(amount === undefined ? {} : { amount: amount.toString() }),
      });
    return { requirements, channelId, deposit, spend, refund };
  }

  /**
   * A fresh facilitator and a channel of genesis account `index`, its deposit of `amount` sent with a voucher of one
   * price and answered pending; `abort` makes the deposit fail on chain once mined.
   */
  async function depositSent(index: number, amount: bigint, abort = false) {
    const facilitator = facilitatorOf();
    const first = facilitator.engine();
    const channel = channelOf(first, devnet.accounts[index]!.account);
    const deposit = await channel.deposit(amount);
    if (abort) assert.ok(devnet.chain.injectFault('next', { kind: 'abort' }));
    const sent = await first.settle(deposit(PRICE), channel.requirements);
    assert.equal(sent.errorReason, 'settlement_pending', JSON.stringify(sent));
    return { ...facilitator, first, channel, deposit };
  }

  test('a deposit that failed on chain adds nothing: a voucher on it is refused by verify as by settle', async () => {
    const { first, channel, deposit } = await depositSent(2, 2n * PRICE, true);
    devnet.mine(1);
    await until(
      async () =>
        (await first.verify(deposit(PRICE), channel.requirements)).invalidReason ===
        'transaction_failed',
      'verify refuses the failed deposit',
    );
    const settled = await first.settle(deposit(PRICE), channel.requirements);
    assert.equal(settled.errorReason, 'transaction_failed', JSON.stringify(settled));
    await first.idle();
  });

  test('a deposit mined while the ledger still says broadcast is counted once, by the escrow', async () => {
    const { engine, first, channel, deposit } = await depositSent(6, 2n * PRICE);
    // The process that sent it stops following it, and the block lands: another process whose tracking has not looked
    // yet finds the settlement broadcast, and the escrow holding the deposit.
    first.drain();
    devnet.mine(1);
    const other = engine(600_000);
    for (const total of [PRICE, 2n * PRICE]) {
      const spent = await other.settle(channel.spend(total), channel.requirements);
      assert.equal(spent.success, true, JSON.stringify(spent));
    }
    const verified = await other.verify(deposit(3n * PRICE), channel.requirements);
    assert.equal(verified.invalidReason, BEYOND, JSON.stringify(verified));
    const settled = await other.settle(deposit(3n * PRICE), channel.requirements);
    assert.equal(settled.errorReason, BEYOND, JSON.stringify(settled));
    other.drain();
  });

  test('a deposit that failed on chain while the ledger still says broadcast is refused by its status', async () => {
    const { engine, first, channel, deposit } = await depositSent(2, 2n * PRICE, true);
    first.drain();
    devnet.mine(1);
    const other = engine(600_000);
    const verified = await other.verify(deposit(PRICE), channel.requirements);
    assert.equal(verified.invalidReason, 'transaction_failed', JSON.stringify(verified));
    other.drain();
  });

  test('a deposit in flight whose status cannot be read is counted, not refused: refused, its buyer would sign another', async () => {
    const { engine, first, channel, deposit } = await depositSent(6, 2n * PRICE);
    first.drain();
    const real = createChainClient({ network: 'testnet', url: devnet.url });
    const unreadable: ChainClient = Object.assign(Object.create(real) as ChainClient, {
      getTransaction: async () => {
        throw new Error('the API is down');
      },
    });
    const other = engine(600_000, unreadable);
    const verified = await other.verify(deposit(PRICE), channel.requirements);
    assert.equal(verified.isValid, true, JSON.stringify(verified));
    other.drain();
    devnet.mine(1);
  });

  /** A channel of account 7 whose deposit confirmed and whose first voucher was charged: it owes a claim. */
  async function owingChannel() {
    const sent = await depositSent(7, 5n * PRICE);
    const { channels, first, channel, deposit } = sent;
    devnet.mine(1);
    await until(
      async () => (await first.settle(deposit(PRICE), channel.requirements)).success === true,
      'the deposit settled and its voucher charged',
    );
    const owing = (await channels.getChannel(channel.channelId))!;
    assert.ok(owing.charged > owing.claimed, 'the channel owes a claim');
    // Time passes: a request that moved the age would show.
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { ...sent, owing };
  }

  test("a confirmed deposit sent again leaves its channel's claim age alone, even when refused", async () => {
    const { channels, first, channel, deposit, owing } = await owingChannel();
    const refused = await first.verify(deposit(99n * PRICE), channel.requirements);
    assert.equal(refused.invalidReason, MISMATCH, JSON.stringify(refused));
    assert.equal((await channels.getChannel(channel.channelId))?.updatedAt, owing.updatedAt);
    // Nor does a refund asked for with the wrong total.
    const refund = await first.verify(channel.refund(7n * PRICE), channel.requirements);
    assert.equal(refund.invalidReason, MISMATCH, JSON.stringify(refund));
    assert.equal((await channels.getChannel(channel.channelId))?.updatedAt, owing.updatedAt);
    await first.idle();
  });

  test('a refund refused at settle leaves the claim age alone, and so does every later charge', async () => {
    const { channels, first, channel, owing } = await owingChannel();
    const age = async () => (await channels.getChannel(channel.channelId))?.updatedAt;
    // Refused by settle itself, after it held and mirrored the channel: costs its sender nothing, so it must not put
    // the claim off.
    const wrong = await first.settle(channel.refund(PRICE, 1n), channel.requirements);
    assert.equal(
      wrong.errorReason,
      'invalid_batch_settlement_stacks_refund_amount_invalid',
      JSON.stringify(wrong),
    );
    assert.equal(await age(), owing.updatedAt);
    // Paying on: the debt is as old as its first unclaimed charge, however often the payer pays.
    for (const max of [2n * PRICE, 3n * PRICE]) {
      const paid = await first.settle(channel.spend(max), channel.requirements);
      assert.equal(paid.success, true, JSON.stringify(paid));
    }
    assert.equal(await age(), owing.updatedAt);
    await first.idle();
  });
});
