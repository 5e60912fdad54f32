/**
 * batch-settlement through the buyer's wrappers, end to end on 127.0.0.1: `wrapFetchWithPayment` and
 * `wrapAxiosWithPayment` with the `batch` option, against an Express seller (`paymentMiddleware` with `batch: true`),
 * the facilitator engine with `batchSettlementFacilitator`, and the devnet over HTTP. Nothing is built by hand but the
 * closing refunds, which no buyer API sends yet.
 * - 30 paid requests over fetch: batch-settlement is chosen over exact, one sponsored deposit goes on chain and the 29
 *   vouchers after it put nothing there; every third request the handler charges less than the price.
 * - A buyer that lost its records pays through the corrective 402 with one more paid request, through both wrappers.
 * - A deposit cap below the price falls back to exact.
 * - The money check after the facilitator's claim and the refunds: the seller got exactly the sum of charges, each
 *   payer lost exactly what it was charged, and the sponsor paid every fee.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import axios from 'axios';
import express from 'express';
import { createFacilitator, type Facilitator } from 'x402-stacks';
import { getPaymentReceipt as axiosReceipt, wrapAxiosWithPayment } from 'x402-stacks/axios';
import {
  BATCH_SETTLEMENT,
  type BatchSettlementMechanism,
  type BuyerChannelRecord,
  batchSettlementFacilitator,
  type ChannelStore,
  createMemoryChannelStore,
  signVoucher,
} from 'x402-stacks/batch';
import { getPayment, paymentMiddleware } from 'x402-stacks/express';
import { getPaymentReceipt, wrapFetchWithPayment } from 'x402-stacks/fetch';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
} from 'x402-stacks/protocol';
import { STACKS_NETWORKS, type StacksAccount } from 'x402-stacks/stacks';

const NETWORK = STACKS_NETWORKS.testnet;
const ESCROW = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';
const PRICE = 1000n;
/** The buyers' deposit cap: below the route's suggested deposit (100 × the price), so each deposit is cut to it. */
const DEPOSIT_CAP = 30n * PRICE;

describe('batch-settlement through wrapFetchWithPayment and wrapAxiosWithPayment', () => {
  let devnet: Devnet;
  let engine: Facilitator;
  let mechanism: BatchSettlementMechanism;
  let server: Server;
  let url: string;
  let seller: string;
  let fetchPayer: StacksAccount;
  let axiosPayer: StacksAccount;
  let exactPayer: StacksAccount;
  const fetchStore = createMemoryChannelStore();
  const axiosStore = createMemoryChannelStore();
  /** Requests that reached the seller, and those carrying a payment. */
  const hits = { requests: 0, paid: 0 };
  /** What the handler charged, per payer: the seller's own account of the sum of charges. */
  const charged = new Map<string, bigint>();
  const before0 = new Map<string, bigint>();
  let startHeight: number;
  /** The price of `/priced`. */
  let routePrice = PRICE;

  const balance = async (address: string) =>
    BigInt(
      (
        (await (await fetch(`${devnet.url}/v2/accounts/${address}?proof=0`)).json()) as {
          balance: string;
        }
      ).balance,
    );
  /** Every transaction mined since the suite started, and whatever still waits in the mempool. */
  const onChainSince = (height: number) => {
    const txids: string[] = [];
    for (let h = height + 1; h <= devnet.chain.height; h++)
      txids.push(...(devnet.chain.block(h)?.txids ?? []));
    return { txids, mempool: devnet.chain.mempool.length };
  };
  const paidWith = (scheme: string, payer: string, amount: bigint) => {
    charged.set(`${scheme}:${payer}`, (charged.get(`${scheme}:${payer}`) ?? 0n) + amount);
  };
  /** A copy of a channel that only knows its config: a buyer that lost everything else. */
  const forgetful = async (record: BuyerChannelRecord): Promise<ChannelStore> => {
    const fresh = createMemoryChannelStore();
    await fresh.update(record, () => ({
      ...record,
      deposited: 0n,
      charged: 0n,
      signedMax: 0n,
      updatedAt: Date.now(),
    }));
    return fresh;
  };
  const onlyChannel = async (store: ChannelStore) => {
    const records = await store.list();
    assert.equal(records.length, 1);
    return records[0]!;
  };

  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 8 });
    fetchPayer = devnet.accounts[2]!.account;
    seller = devnet.accounts[3]!.address;
    axiosPayer = devnet.accounts[6]!.account;
    exactPayer = devnet.accounts[7]!.account;
    mechanism = batchSettlementFacilitator({
      escrows: { testnet: ESCROW },
      authorizerKey: devnet.accounts[4]!.account.privateKey,
      // Claims only when the test asks: the money check reads the balances after one.
      claims: { maxAgeMs: 60 * 60_000 },
    });
    engine = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      sponsor: { privateKeys: [devnet.accounts[5]!.account.privateKey] },
      schemes: [mechanism],
    });

    const app = express();
    app.use((req, _res, next) => {
      hits.requests++;
      if (req.headers['payment-signature']) hits.paid++;
      next();
    });
    const paid = (amount: string | (() => string)) =>
      paymentMiddleware({
        amount,
        payTo: seller,
        network: 'testnet',
        facilitator: engine,
        sponsored: true,
        batch: true,
      });
    app.get('/data', paid(PRICE.toString()), (req, res) => {
      const payment = getPayment(req)!;
      // A dynamic price: `?charge=` asks the handler to charge less than the route's price.
      const asked = typeof req.query.charge === 'string' ? BigInt(req.query.charge) : PRICE;
      if (payment.charge) payment.charge(asked);
      const scheme = payment.charge ? BATCH_SETTLEMENT : 'exact';
      paidWith(scheme, String(payment.payer), payment.charge ? asked : PRICE);
      res.json({ data: 'premium', scheme });
    });
    // A route whose price the test changes: a voucher sent ahead at the old price meets a 402 at the new one.
    app.get(
      '/priced',
      paid(() => routePrice.toString()),
      (req, res) => {
        const payment = getPayment(req)!;
        paidWith(payment.charge ? BATCH_SETTLEMENT : 'exact', String(payment.payer), routePrice);
        res.json({ data: 'priced', price: routePrice.toString() });
      },
    );
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data`;

    for (const address of [seller, fetchPayer.address, axiosPayer.address, exactPayer.address])
      before0.set(address, await balance(address));
    startHeight = devnet.chain.height;
  });
  after(async () => {
    server?.close();
    await engine?.idle();
    await devnet?.stop();
  });

  test('30 paid requests over fetch: batch-settlement chosen, one deposit then vouchers, some charged less', async () => {
    const pay = wrapFetchWithPayment(fetch, fetchPayer, {
      apiUrl: devnet.url,
      batch: {
        depositCap: { STX: DEPOSIT_CAP },
        escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
        store: fetchStore,
      },
    });
    let depositTxid = '';
    let sum = 0n;
    for (let i = 0; i < 30; i++) {
      const charge = i % 3 === 2 ? 400n : PRICE;
      const response = await pay(charge === PRICE ? url : `${url}?charge=${charge}`);
      assert.equal(response.status, 200, await response.clone().text());
      assert.deepEqual(await response.json(), { data: 'premium', scheme: BATCH_SETTLEMENT });
      const receipt = getPaymentReceipt(response);
      assert.equal(receipt?.requirements.scheme, BATCH_SETTLEMENT);
      assert.equal(receipt?.batch?.type, i === 0 ? 'deposit' : 'voucher', `request ${i}`);
      assert.equal(receipt?.batch?.chargedAmount, charge, `request ${i}`);
      // Each voucher's ceiling is what was charged before it plus the price: the most this request could cost.
      assert.equal(receipt?.batch?.maxClaimableAmount, sum + PRICE, `request ${i}`);
      sum += charge;
      if (i === 0) {
        assert.equal(receipt?.batch?.deposit, DEPOSIT_CAP);
        depositTxid = receipt!.txid;
        assert.match(depositTxid, /^[0-9a-f]{64}$/);
      } else {
        assert.equal(
          decodePaymentResponseHeader(response.headers.get('payment-response') ?? '')?.transaction,
          '',
        );
      }
    }
    assert.equal(charged.get(`${BATCH_SETTLEMENT}:${fetchPayer.address}`), sum);
    assert.equal(sum, 20n * PRICE + 10n * 400n);
    // One transaction in all: the deposit. The 29 vouchers put nothing on chain, and nothing waits to.
    const chain = onChainSince(startHeight);
    assert.deepEqual(chain, { txids: [depositTxid], mempool: 0 });
    // The first request to each URL asks for the 402 and pays it; every later one carries its voucher at once.
    assert.deepEqual(hits, { requests: 32, paid: 30 });
    const record = await onlyChannel(fetchStore);
    assert.equal(record.deposited, DEPOSIT_CAP);
    assert.equal(record.charged, sum);
  });

  test('a fetch buyer that lost its records pays through the corrective 402, once more, with no deposit', async () => {
    const record = await onlyChannel(fetchStore);
    const store = await forgetful(record);
    const pay = wrapFetchWithPayment(fetch, fetchPayer, {
      apiUrl: devnet.url,
      batch: {
        depositCap: { STX: DEPOSIT_CAP },
        escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
        store,
      },
    });
    const tip = devnet.chain.height;
    const hitsBefore = { ...hits };
    const response = await pay(url);
    assert.equal(response.status, 200, await response.clone().text());
    const receipt = getPaymentReceipt(response);
    assert.equal(receipt?.batch?.type, 'voucher');
    assert.equal(receipt?.batch?.maxClaimableAmount, record.charged + PRICE);
    // Unpaid, refused with the corrective 402, paid again from the corrected total.
    assert.deepEqual(
      { requests: hits.requests - hitsBefore.requests, paid: hits.paid - hitsBefore.paid },
      { requests: 3, paid: 2 },
    );
    assert.equal(devnet.chain.height, tip, 'nothing went on chain');
    const recovered = await onlyChannel(store);
    assert.equal(recovered.charged, record.charged + PRICE);
    assert.equal(recovered.deposited, DEPOSIT_CAP);
    // The first store is now a request behind; the recovered one is the buyer's view from here on.
    await fetchStore.update(record, () => ({ ...recovered, updatedAt: Date.now() }));
  });

  test('axios pays from a channel too, and pays through the corrective 402 after losing its records', async () => {
    const api = wrapAxiosWithPayment(axios.create(), axiosPayer, {
      apiUrl: devnet.url,
      batch: {
        depositCap: { STX: DEPOSIT_CAP },
        escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
        store: axiosStore,
      },
    });
    const tip = devnet.chain.height;
    const hitsBeforeLoop = { ...hits };
    for (let i = 0; i < 5; i++) {
      const response = await api.get(i === 4 ? `${url}?charge=1` : url);
      assert.equal(response.status, 200);
      assert.deepEqual(response.data, { data: 'premium', scheme: BATCH_SETTLEMENT });
      const receipt = axiosReceipt(response);
      assert.equal(receipt?.requirements.scheme, BATCH_SETTLEMENT);
      assert.equal(receipt?.batch?.type, i === 0 ? 'deposit' : 'voucher');
      assert.equal(receipt?.batch?.chargedAmount, i === 4 ? 1n : PRICE);
    }
    assert.equal(devnet.chain.height, tip + 1, 'the deposit alone went on chain');
    // The unpaid request and the deposit; three vouchers paid ahead; a new URL asks first again.
    assert.deepEqual(
      { requests: hits.requests - hitsBeforeLoop.requests, paid: hits.paid - hitsBeforeLoop.paid },
      { requests: 7, paid: 5 },
    );
    const record = await onlyChannel(axiosStore);
    assert.equal(record.charged, 4n * PRICE + 1n);

    const store = await forgetful(record);
    const forgetfulApi = wrapAxiosWithPayment(axios.create(), axiosPayer, {
      apiUrl: devnet.url,
      batch: {
        depositCap: { STX: DEPOSIT_CAP },
        escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
        store,
      },
    });
    const hitsBefore = { ...hits };
    const response = await forgetfulApi.get(url);
    assert.equal(response.status, 200);
    assert.equal(axiosReceipt(response)?.batch?.maxClaimableAmount, record.charged + PRICE);
    assert.deepEqual(
      { requests: hits.requests - hitsBefore.requests, paid: hits.paid - hitsBefore.paid },
      { requests: 3, paid: 2 },
    );
    assert.equal(devnet.chain.height, tip + 1, 'no second deposit');
    const recovered = await onlyChannel(store);
    assert.equal(recovered.charged, record.charged + PRICE);
    await axiosStore.update(record, () => ({ ...recovered, updatedAt: Date.now() }));
  });

  test('paying ahead: one request per payment, a price change paid from the 402 it meets, and payAhead: false asks first', async () => {
    const priced = url.replace('/data', '/priced');
    const options = (store: ChannelStore, payAhead?: boolean) => ({
      apiUrl: devnet.url,
      batch: {
        depositCap: { STX: DEPOSIT_CAP },
        escrows: [ESCROW],
        store,
        ...(payAhead === undefined ? {} : { payAhead }),
      },
    });
    const pay = wrapFetchWithPayment(fetch, fetchPayer, options(fetchStore));
    const api = wrapAxiosWithPayment(axios.create(), axiosPayer, options(axiosStore));
    const send = {
      fetch: async () => {
        const response = await pay(priced);
        assert.equal(response.status, 200, await response.clone().text());
        return {
          body: (await response.json()) as { price: string },
          receipt: getPaymentReceipt(response),
        };
      },
      axios: async () => {
        const response = await api.get(priced);
        assert.equal(response.status, 200);
        return { body: response.data as { price: string }, receipt: axiosReceipt(response) };
      },
    };
    const counted = async (work: () => Promise<unknown>) => {
      const from = { ...hits };
      await work();
      return { requests: hits.requests - from.requests, paid: hits.paid - from.paid };
    };
    const tip = devnet.chain.height;
    for (const wrapper of ['fetch', 'axios'] as const) {
      routePrice = PRICE;
      assert.deepEqual(await counted(send[wrapper]), { requests: 2, paid: 1 }, `${wrapper}: first`);
      for (let i = 0; i < 2; i++) {
        const ahead = await counted(async () => {
          const { receipt } = await send[wrapper]();
          assert.equal(receipt?.batch?.chargedAmount, PRICE);
        });
        assert.deepEqual(ahead, { requests: 1, paid: 1 }, `${wrapper}: paid ahead`);
      }
      // The price moved: the voucher sent ahead for the old one meets a 402, and the new price is paid from it.
      routePrice = PRICE / 2n;
      const moved = await counted(async () => {
        const { body, receipt } = await send[wrapper]();
        assert.equal(body.price, (PRICE / 2n).toString());
        assert.equal(receipt?.batch?.chargedAmount, PRICE / 2n);
        assert.equal(receipt?.requirements.amount, (PRICE / 2n).toString());
      });
      assert.deepEqual(moved, { requests: 2, paid: 2 }, `${wrapper}: price change`);
      assert.deepEqual(
        await counted(send[wrapper]),
        { requests: 1, paid: 1 },
        `${wrapper}: ahead again`,
      );
    }
    assert.equal(devnet.chain.height, tip, 'vouchers only');
    // Turned off, each payment asks for its 402 first.
    const asking = wrapFetchWithPayment(fetch, axiosPayer, options(axiosStore, false));
    for (let i = 0; i < 2; i++) {
      const steps = await counted(async () => {
        const response = await asking(priced);
        assert.equal(response.status, 200, await response.clone().text());
      });
      assert.deepEqual(steps, { requests: 2, paid: 1 });
    }
    routePrice = PRICE;
  });

  test('a deposit cap below the price falls back to exact', async () => {
    const store = createMemoryChannelStore();
    const pay = wrapFetchWithPayment(fetch, exactPayer, {
      apiUrl: devnet.url,
      batch: {
        depositCap: { STX: PRICE - 1n },
        escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
        store,
      },
    });
    const tip = devnet.chain.height;
    const response = await pay(url);
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(await response.json(), { data: 'premium', scheme: 'exact' });
    const receipt = getPaymentReceipt(response);
    assert.equal(receipt?.requirements.scheme, 'exact');
    assert.equal(receipt?.batch, undefined);
    assert.deepEqual(await store.list(), [], 'no channel was opened');
    assert.equal(devnet.chain.height, tip + 1);
    assert.deepEqual(devnet.chain.block(tip + 1)?.txids, [receipt?.txid]);
  });

  test('the money adds up after the claim and the refunds: charges to the seller, fees to the sponsor', async (t) => {
    await mechanism.claimNow();
    const batchCharged =
      charged.get(`${BATCH_SETTLEMENT}:${fetchPayer.address}`)! +
      charged.get(`${BATCH_SETTLEMENT}:${axiosPayer.address}`)!;
    const exactCharged = charged.get(`exact:${exactPayer.address}`)!;
    assert.equal(exactCharged, PRICE);
    assert.equal(await balance(seller), before0.get(seller)! + batchCharged + exactCharged);

    // Each buyer takes the rest back with a cooperative refund, sent to the seller as a payment: a zero-charge voucher
    // at the charged total, which only the payer can sign.
    for (const [payer, store] of [
      [fetchPayer, fetchStore],
      [axiosPayer, axiosStore],
    ] as const) {
      const record = await onlyChannel(store);
      assert.equal(record.charged, charged.get(`${BATCH_SETTLEMENT}:${payer.address}`));
      const challenge = decodePaymentRequiredHeader(
        (await fetch(url)).headers.get('payment-required')!,
      );
      const offer = challenge.accepts.find((entry) => entry.scheme === BATCH_SETTLEMENT)!;
      const refund = {
        type: 'refund',
        channelConfig: record.config,
        voucher: {
          channelId: record.channelId,
          maxClaimableAmount: record.charged.toString(),
          signature: signVoucher(
            payer.privateKey,
            NETWORK,
            ESCROW,
            record.channelId,
            record.charged,
          ),
        },
      };
      const answer = await fetch(url, {
        headers: {
          'payment-signature': encodePaymentSignatureHeader({
            x402Version: 2,
            accepted: offer,
            payload: refund,
          }),
        },
      });
      assert.equal(answer.status, 200, await answer.clone().text());
      const settled = decodePaymentResponseHeader(answer.headers.get('payment-response') ?? '');
      assert.equal(settled?.success, true);
      assert.equal(record.deposited, DEPOSIT_CAP, 'one deposit, no top-up');
      assert.equal(settled?.amount, (DEPOSIT_CAP - record.charged).toString());
    }
    await mechanism.claimNow();

    assert.equal(await balance(seller), before0.get(seller)! + batchCharged + exactCharged);
    for (const payer of [fetchPayer, axiosPayer]) {
      assert.equal(
        await balance(payer.address),
        before0.get(payer.address)! - charged.get(`${BATCH_SETTLEMENT}:${payer.address}`)!,
        payer.address,
      );
    }
    assert.equal(await balance(exactPayer.address), before0.get(exactPayer.address)! - PRICE);
    // Nothing is left waiting: every claim, sweep and refund was mined.
    const chain = onChainSince(startHeight);
    assert.equal(chain.mempool, 0);
    t.diagnostic(
      `${chain.txids.length} transactions on chain for ${hits.paid} paid requests and 2 refunds`,
    );
  });
});
