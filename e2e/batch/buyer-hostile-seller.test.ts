/**
 * The buyer's wrappers against a hostile batch-settlement seller, on the devnet over HTTP. The seller is a bare HTTP
 * server that writes its own 402s and answers: it records every payload the buyer signs, which is everything a
 * hostile seller could present or broadcast.
 * - Deposits across 402s: each 402 names a fresh escrow the buyer never saw (or another withdraw delay), so each one is
 *   a new channel and asks for a new deposit. The buyer's deposit cap must bound what it signs into channels.
 * - A corrective loop: every voucher is refused with a "corrective" 402 built from the buyer's own refused voucher,
 *   claiming it was charged. The buyer re-signs a higher ceiling each time, and the budget must count what the seller
 *   can claim with the vouchers it holds.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { createPayer } from 'x402-stacks';
import { BATCH_SETTLEMENT, createMemoryChannelStore } from 'x402-stacks/batch';
import { wrapFetchWithPayment } from 'x402-stacks/fetch';
import { decodePaymentSignatureHeader } from 'x402-stacks/protocol';
import { STACKS_NETWORKS, type StacksAccount } from 'x402-stacks/stacks';
import {
  correctiveFromOwnVoucher,
  listenHostile,
  type SignedPayload,
  send402,
} from './hostile-seller.js';

const NETWORK = STACKS_NETWORKS.testnet;
const PRICE = 1000n;
const DEPOSIT_CAP = 30n * PRICE;

type Signed = SignedPayload & { deposit?: { amount: string; transaction: string } };

describe('the buyer against a hostile batch-settlement seller', () => {
  let devnet: Devnet;
  let server: Server;
  let url: string;
  let seller: string;
  let receiverAuthorizer: string;
  /** How the seller answers a paid request: `serve` once, or refuse with the buyer's own voucher as "corrective". */
  let mode: 'fresh-channel-each-402' | 'corrective-loop' = 'fresh-channel-each-402';
  let challenges = 0;
  const signed: Signed[] = [];

  const offer = (index: number) => ({
    scheme: BATCH_SETTLEMENT,
    network: NETWORK.caip2,
    amount: PRICE.toString(),
    asset: 'STX',
    payTo: seller,
    maxTimeoutSeconds: 300,
    extra: {
      // An escrow the buyer was never told about: the seller's own contract, another name per 402 in the first mode.
      escrow:
        mode === 'fresh-channel-each-402'
          ? `${seller}.batch-escrow-${index}`
          : `${seller}.batch-escrow`,
      receiverAuthorizer,
      withdrawDelay: 6,
      minDeposit: (10n ** 12n).toString(),
      sponsor: receiverAuthorizer,
      feePayer: receiverAuthorizer,
    },
  });
  const serve = (res: ServerResponse, payload: Signed, charged: bigint) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      // Written by hand: a voucher's answer has no transaction, which the library's encoder refuses.
      'payment-response': Buffer.from(
        JSON.stringify({
          success: true,
          transaction: '',
          network: NETWORK.caip2,
          payer: String(payload.channelConfig.payer),
          extra: { chargedAmount: charged.toString() },
        }),
      ).toString('base64'),
    });
    res.end(JSON.stringify({ data: 'premium' }));
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const header = req.headers['payment-signature'];
    if (typeof header !== 'string') return send402(res, url, [offer(challenges++)]);
    const payment = decodePaymentSignatureHeader(header) as unknown as {
      accepted: ReturnType<typeof offer>;
      payload: Signed;
    };
    const payload = payment.payload;
    signed.push(payload);
    if (mode === 'fresh-channel-each-402' || payload.type === 'deposit') {
      return serve(res, payload, PRICE);
    }
    // The buyer's own refused voucher, presented as proof that it was charged in full.
    return send402(
      res,
      url,
      [correctiveFromOwnVoucher(payment.accepted, payload, DEPOSIT_CAP)],
      'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
    );
  };

  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 6 });
    seller = devnet.accounts[3]!.address;
    receiverAuthorizer = devnet.accounts[4]!.address;
    const started = await listenHostile(handle);
    server = started.server;
    url = `${started.base}/data`;
  });
  after(async () => {
    server?.close();
    await devnet?.stop();
  });

  test('an escrow the buyer did not name is never deposited into: refused by name, nothing signed', async () => {
    mode = 'fresh-channel-each-402';
    signed.length = 0;
    const pay = wrapFetchWithPayment(fetch, devnet.accounts[1]!.account, {
      apiUrl: devnet.url,
      batch: {
        depositCap: { STX: DEPOSIT_CAP },
        escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
        store: createMemoryChannelStore(),
      },
    });
    await assert.rejects(pay(url), /invalid_batch_settlement_stacks_escrow/);
    assert.equal(signed.length, 0);
  });

  test('the deposit cap bounds what the buyer holds in all its channels, whatever new channels 402s name', async () => {
    mode = 'fresh-channel-each-402';
    signed.length = 0;
    const buyer: StacksAccount = devnet.accounts[1]!.account;
    const pay = wrapFetchWithPayment(fetch, buyer, {
      apiUrl: devnet.url,
      batch: {
        depositCap: { STX: DEPOSIT_CAP },
        // Even escrows the buyer trusts: each 402 names a new channel, and the cap holds across them.
        escrows: [0, 1, 2].map((index) => `${seller}.batch-escrow-${index}`),
        store: createMemoryChannelStore(),
      },
    });
    for (let i = 0; i < 3; i++) await pay(url).catch(() => undefined);
    const deposits = signed.filter((payload) => payload.type === 'deposit');
    const total = deposits.reduce((sum, payload) => sum + BigInt(payload.deposit!.amount), 0n);
    const escrows = new Set(deposits.map((payload) => JSON.stringify(payload.channelConfig)));
    assert.ok(
      total <= DEPOSIT_CAP,
      `the buyer signed ${deposits.length} deposits of ${total} in all into ${escrows.size} channels, above its cap of ${DEPOSIT_CAP}`,
    );
  });

  test('the budget counts every voucher ceiling a corrective loop makes the buyer sign', async () => {
    mode = 'corrective-loop';
    signed.length = 0;
    const buyer = devnet.accounts[2]!.account;
    const payer = createPayer(buyer, {
      apiUrl: devnet.url,
      budget: { STX: 100n * PRICE },
      batch: {
        depositCap: { STX: DEPOSIT_CAP },
        escrows: [`${seller}.batch-escrow`],
        store: createMemoryChannelStore(),
      },
    });
    const pay = wrapFetchWithPayment(fetch, payer);
    const first = await pay(url);
    assert.equal(first.status, 200, 'the deposit request is served');
    for (let i = 0; i < 5; i++) await pay(url).catch(() => undefined);
    const highest = signed.reduce(
      (max, payload) =>
        BigInt(payload.voucher.maxClaimableAmount) > max
          ? BigInt(payload.voucher.maxClaimableAmount)
          : max,
      0n,
    );
    // The seller holds a voucher it can claim up to `highest`: the buyer's budget must have counted at least that.
    assert.ok(
      payer.spent('STX') >= highest,
      `the seller holds a voucher for ${highest} after serving one request, the budget counted ${payer.spent('STX')}`,
    );
  });
});
