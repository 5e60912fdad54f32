/**
 * Paying ahead (`batch.payAhead`) against a hostile batch-settlement seller, on the devnet over HTTP. The seller is a
 * bare HTTP server that serves the first (deposit) payment, so the buyer remembers the resource, and then:
 * - refuses every voucher with a "corrective" 402 built from the buyer's own voucher: paying ahead must not make the
 *   buyer sign more ceilings for one request than a request that asked first would (the paid retry and one resync);
 * - answers a payment with a redirect to another server: the payment header must never follow it (axios included);
 * - stops charging (a 200 without a receipt): the buyer stops paying that URL ahead after one such answer.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import axios from 'axios';
import { wrapAxiosWithPayment } from 'x402-stacks/axios';
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
import { channelSnapshot } from './seller-stack.js';

const NETWORK = STACKS_NETWORKS.testnet;
const PRICE = 1000n;
const DEPOSIT_CAP = 30n * PRICE;

type Signed = SignedPayload;

describe('paying ahead against a hostile batch-settlement seller', () => {
  let devnet: Devnet;
  let server: Server;
  let thief: Server;
  let base: string;
  let thiefUrl: string;
  let seller: string;
  let receiverAuthorizer: string;
  let mode: 'corrective-loop' | 'redirect' | 'free' = 'corrective-loop';
  const signed: Signed[] = [];
  /** Payment headers the other server received. */
  const stolen: string[] = [];
  /** Requests that reached the seller without a payment. */
  let unpaid = 0;

  const offer = () => ({
    scheme: BATCH_SETTLEMENT,
    network: NETWORK.caip2,
    amount: PRICE.toString(),
    asset: 'STX',
    payTo: seller,
    maxTimeoutSeconds: 300,
    extra: {
      escrow: `${seller}.batch-escrow`,
      receiverAuthorizer,
      withdrawDelay: 6,
      minDeposit: (10n * PRICE).toString(),
      sponsor: receiverAuthorizer,
      feePayer: receiverAuthorizer,
    },
  });
  const serve = (res: ServerResponse, payload: Signed) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'payment-response': Buffer.from(
        JSON.stringify({
          success: true,
          transaction: '',
          network: NETWORK.caip2,
          payer: String(payload.channelConfig.payer),
          extra: {
            chargedAmount: PRICE.toString(),
            channelState: channelSnapshot(
              payload.voucher.channelId,
              DEPOSIT_CAP,
              payload.voucher.maxClaimableAmount,
            ),
          },
        }),
      ).toString('base64'),
    });
    res.end(JSON.stringify({ data: 'premium' }));
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = `${base}${req.url}`;
    const header = req.headers['payment-signature'];
    if (typeof header !== 'string') unpaid++;
    if (mode === 'free' && typeof header !== 'string') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"data":"free"}');
    }
    if (typeof header !== 'string') return send402(res, url, [offer()]);
    const payment = decodePaymentSignatureHeader(header) as unknown as {
      accepted: ReturnType<typeof offer>;
      payload: Signed;
    };
    const payload = payment.payload;
    signed.push(payload);
    if (payload.type === 'deposit') return serve(res, payload);
    if (mode === 'free') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"data":"free"}');
    }
    if (mode === 'redirect') {
      res.writeHead(302, { location: `${thiefUrl}/collect` });
      return res.end();
    }
    return send402(
      res,
      url,
      [correctiveFromOwnVoucher(payment.accepted, payload, DEPOSIT_CAP)],
      'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
    );
  };

  const batch = () => ({
    depositCap: { STX: DEPOSIT_CAP },
    escrows: [`${seller}.batch-escrow`],
    store: createMemoryChannelStore(),
  });
  /** The ceilings signed while `work` ran. */
  const signedDuring = async (work: () => Promise<unknown>): Promise<string[]> => {
    const from = signed.length;
    await work().catch(() => undefined);
    return signed.slice(from).map((payload) => payload.voucher.maxClaimableAmount);
  };

  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 8 });
    seller = devnet.accounts[3]!.address;
    receiverAuthorizer = devnet.accounts[4]!.address;
    ({ server, base } = await listenHostile(handle));
    thief = createServer((req, res) => {
      const header = req.headers['payment-signature'];
      if (typeof header === 'string') stolen.push(header);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }).listen(0, '127.0.0.1');
    await once(thief, 'listening');
    thiefUrl = `http://127.0.0.1:${(thief.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.close();
    thief?.close();
    await devnet?.stop();
  });

  for (const wrapper of ['fetch', 'axios'] as const) {
    const payWith = (account: StacksAccount, payAhead: boolean) => {
      if (wrapper === 'fetch') {
        const pay = wrapFetchWithPayment(fetch, account, {
          apiUrl: devnet.url,
          batch: { ...batch(), payAhead },
        });
        return (url: string) => pay(url);
      }
      const api = wrapAxiosWithPayment(axios.create(), account, {
        apiUrl: devnet.url,
        batch: { ...batch(), payAhead },
      });
      return (url: string) => api.get(url);
    };

    test(`${wrapper}: a corrective loop makes a request paid ahead sign no more ceilings than one that asked first`, async () => {
      mode = 'corrective-loop';
      const asking = payWith(devnet.accounts[1]!.account, false);
      await asking(`${base}/${wrapper}-asks`);
      const askedFirst = await signedDuring(() => asking(`${base}/${wrapper}-asks`));
      const ahead = payWith(devnet.accounts[2]!.account, true);
      await ahead(`${base}/${wrapper}-ahead`);
      const paidAhead = await signedDuring(() => ahead(`${base}/${wrapper}-ahead`));
      assert.equal(
        askedFirst.length,
        2,
        `asking first signs the paid retry and one resync: ${askedFirst}`,
      );
      assert.ok(
        paidAhead.length <= askedFirst.length,
        `paid ahead, one request signed ${paidAhead.length} ceilings (${paidAhead}); asking first, ${askedFirst.length}`,
      );
    });

    test(`${wrapper}: a payment sent ahead never follows a redirect`, async () => {
      mode = 'redirect';
      stolen.length = 0;
      const pay = payWith(devnet.accounts[wrapper === 'fetch' ? 5 : 6]!.account, true);
      const first = await pay(`${base}/${wrapper}-moved`);
      assert.equal((first as { status: number }).status, 200, 'the deposit is served');
      const from = signed.length;
      const unpaidBefore = unpaid;
      await pay(`${base}/${wrapper}-moved`).catch(() => undefined);
      assert.equal(signed.length, from + 1, 'one payment');
      assert.equal(unpaid, unpaidBefore, 'sent ahead, without asking for a 402 first');
      assert.deepEqual(stolen, [], 'the other server got no payment header');
    });
    test(`${wrapper}: a route that stops charging stops being paid ahead after one answer without a receipt`, async () => {
      mode = 'corrective-loop';
      const pay = payWith(devnet.accounts[wrapper === 'fetch' ? 0 : 7]!.account, true);
      await pay(`${base}/${wrapper}-free`);
      mode = 'free';
      const sentAhead = await signedDuring(() => pay(`${base}/${wrapper}-free`));
      assert.equal(
        sentAhead.length,
        1,
        'the next request was paid ahead, and served without a receipt',
      );
      const after = await signedDuring(() => pay(`${base}/${wrapper}-free`));
      assert.deepEqual(after, [], 'the one after asks first, and is served unpaid');
      mode = 'corrective-loop';
    });
  }
});
