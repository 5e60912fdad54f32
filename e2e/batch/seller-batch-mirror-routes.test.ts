/**
 * The seller's copy of a channel (`server/batch/channel-mirror.ts`) against changes this very process made: a buyer's
 * channel is the same on every route of one receiver, so a charge on one route (its own `paymentMiddleware`) or a
 * refund must not leave another copy that vouches for a voucher the facilitator then refuses. Two Express routes with
 * a middleware each, one facilitator service over HTTP, the devnet over HTTP; the handler must never run on a voucher
 * the facilitator refuses.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import type { FacilitatorService } from '@x402-stacks/facilitator';
import express, { type Request, type Response } from 'express';
import { paymentMiddleware } from 'x402-stacks/express';
import {
  batchOffer,
  get,
  handBuyer,
  PRICE,
  ROLES,
  startBatchService,
  WITHDRAW_DELAY,
} from './seller-stack.js';

describe("the seller's channel copy across its own routes and refunds", () => {
  let devnet: Devnet;
  let dir: string;
  let service: FacilitatorService;
  let server: Server;
  let url: string;
  /** Handler runs per route. */
  const runs = { a: 0, b: 0 };

  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 8 });
    dir = mkdtempSync(join(tmpdir(), 'seller-batch-mirror-routes-'));
    service = await startBatchService(devnet, `sqlite:${join(dir, 'ledger.db')}`);
    const payTo = devnet.accounts[ROLES.seller]!.address;
    // Two routes, a middleware each, as an app with a price per route writes them.
    const route = () =>
      paymentMiddleware({
        amount: PRICE.toString(),
        payTo,
        network: 'testnet',
        facilitatorUrl: service.url,
        batch: { withdrawDelay: WITHDRAW_DELAY },
      });
    const app = express();
    app.get('/a', route(), (_req: Request, res: Response) => {
      runs.a++;
      res.json({ content: 'secret a' });
    });
    app.get('/b', route(), (_req: Request, res: Response) => {
      runs.b++;
      res.json({ content: 'secret b' });
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.close();
    await service?.stop();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a voucher charged on one route, replayed on another of the same seller, never runs the handler', async () => {
    const offer = await batchOffer(`${url}/a`);
    const buyer = handBuyer(devnet.url, devnet.accounts[2]!.account, offer, 'a1');
    const opened = await get(`${url}/a`, await buyer.deposit(20n * PRICE, PRICE));
    assert.equal(opened.status, 200, opened.body);
    // /a charges, then /b charges the next voucher: the channel moved on in this process.
    assert.equal((await get(`${url}/a`, buyer.voucher(2n * PRICE))).status, 200);
    const used = buyer.voucher(3n * PRICE);
    assert.equal((await get(`${url}/b`, used)).status, 200);

    const before = runs.a;
    const replayed = await get(`${url}/a`, used);
    assert.equal(replayed.status, 402);
    assert.equal(runs.a, before, 'the handler of /a did not run on a voucher /b already charged');
  });

  test('a voucher right after a refund never runs the handler', async () => {
    const offer = await batchOffer(`${url}/a`);
    const buyer = handBuyer(devnet.url, devnet.accounts[3]!.account, offer, 'b2');
    const opened = await get(`${url}/a`, await buyer.deposit(20n * PRICE, PRICE));
    assert.equal(opened.status, 200, opened.body);
    const started = Date.now();
    assert.equal((await get(`${url}/a`, buyer.voucher(2n * PRICE))).status, 200);
    // Everything unclaimed goes back to the payer: the channel holds only what was charged.
    const refunded = await get(`${url}/a`, buyer.refund(2n * PRICE));
    assert.equal(refunded.status, 200, refunded.body);

    const before = runs.a;
    const after = await get(`${url}/a`, buyer.voucher(3n * PRICE));
    const elapsed = Date.now() - started;
    assert.equal(after.status, 402);
    assert.equal(
      runs.a,
      before,
      `the handler did not run on a voucher above the refunded balance (${elapsed} ms after the charge)`,
    );
  });
});
