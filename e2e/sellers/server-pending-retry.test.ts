/**
 * A buyer whose payment was left pending, or whose seller's settle call timed out, is served once the payment is
 * confirmed, exactly once, and only on the route and price it paid: the devnet over HTTP (mining only when a test
 * says), the facilitator service over HTTP, and a Hono seller whose facilitator client gives up on settle after
 * 300 ms, long before the facilitator answers.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { type Devnet, type DevnetAccount, startDevnet } from '@x402-stacks/devnet';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import { until } from '@x402-stacks/test-kit';
import {
  createFacilitator,
  decodePaymentResponse,
  type Facilitator,
  InMemoryLedger,
  type PaymentRequirements,
} from 'x402-stacks';
import { createPaymentId } from 'x402-stacks/extensions';
import {
  decodePaymentRequiredHeader,
  decodePaymentSignatureHeader,
  encodePaymentSignatureHeader,
} from 'x402-stacks/protocol';
import { createFacilitatorClient } from 'x402-stacks/server';
import { transactionIdOf } from 'x402-stacks/stacks';
import { paymentHeaders, startSeller } from './server-setup.js';

const LONG_PATH = `/long/${'x'.repeat(2_100)}`;

type Answer = { status: number; body: { error?: string; content?: string }; headers: Headers };

async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers };
}

describe('a pending or timed-out payment is served once it is confirmed, once, on the route it paid', () => {
  let devnet: Devnet;
  let ledger: InMemoryLedger;
  let engine: Facilitator;
  let facilitatorServer: ReturnType<typeof serve>;
  let seller: { url: string; stop(): Promise<void> };
  let next = 1;
  const freshPayer = (): DevnetAccount => devnet.accounts[next++]!;

  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 40, mining: { mode: 'manual' } });
    ledger = new InMemoryLedger();
    engine = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger,
      // Far past the seller's 300 ms: the facilitator is still waiting for the block when the seller gives up.
      settleTimeoutMs: 2_500,
      pollIntervalMs: 20,
      trackForMs: 60_000,
      // The retries here carry the buyer's payment id, which promotion needs. Without replays, "served once" means
      // once; the id's counted replays are e2e/facilitator/payment-identifier.test.ts's subject.
      paymentIdentifier: { maxReplays: 0 },
    });
    const app = createFacilitatorApp({ facilitator: engine });
    facilitatorServer = await new Promise((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(started),
      );
    });
    const facilitatorUrl = `http://127.0.0.1:${(facilitatorServer.address() as AddressInfo).port}`;
    const route = (path: string, amount: string, more: Record<string, unknown> = {}) => ({
      path,
      options: {
        ...more,
        amount,
        payTo: devnet.accounts[0]!.address,
        network: 'testnet' as const,
        sponsored: false,
        facilitator: createFacilitatorClient({ url: facilitatorUrl, settleTimeoutMs: 300 }),
        settlementPending: { attempts: 1, intervalMs: 1 },
      },
    });
    // Routes a and b cost the same to the same seller: only the resource tells a payment for one from the other.
    seller = await startSeller('hono 4', [
      route('/a', '1000'),
      route('/b', '1000'),
      route('/cheap', '1'),
      // Routes that verify before settling: their retry is refused by /verify (the txid is held) and then bound.
      route('/checked', '1000', { paymentValidator: () => true }),
      route('/after', '1000', { settle: 'after-handler' }),
      // An allow-list that admits nobody: no payment may be served here.
      route('/refusing', '1000', { paymentValidator: () => false }),
      // A route whose resource URL is longer than the facilitator's ledger keeps (MAX_RESOURCE_LENGTH).
      route(LONG_PATH, '1000'),
    ]);
  });

  after(async () => {
    await seller.stop();
    await new Promise<void>((resolve) => facilitatorServer.close(() => resolve()));
    devnet.mine();
    await engine.idle();
    await devnet.stop();
  });

  async function entryOf(path: string): Promise<PaymentRequirements> {
    const answer = await get(`${seller.url}${path}`);
    assert.equal(answer.status, 402);
    return decodePaymentRequiredHeader(answer.headers.get('payment-required')!).accepts[0]!;
  }

  /** Pays `path`; the seller's settle call times out and the buyer hears settlement_pending. */
  async function payPending(path: string, payer = freshPayer()) {
    const entry = await entryOf(path);
    // An id, as the library's buyers send by default: it is what lets a retry after the block be served.
    const paymentId = createPaymentId();
    const paid = await paymentHeaders(payer, entry, { paymentId });
    const first = await get(`${seller.url}${path}`, paid.headers);
    assert.equal(first.status, 402);
    assert.equal(first.body.error, 'settlement_pending');
    assert.equal(
      decodePaymentResponse(first.headers.get('payment-response'))?.transaction,
      paid.txid,
    );
    return { ...paid, entry, paymentId };
  }

  /** Lets the facilitator answer its own settle call pending, then mines the block and waits for the ledger. */
  async function confirmAfterPending(txid: string) {
    await until(async () => (await ledger.answerOf(txid)) !== undefined, 'the pending answer');
    assert.equal(await ledger.answerOf(txid), 'pending');
    devnet.mine();
    await until(async () => (await engine.status(txid))?.state === 'success', 'the confirmation');
  }

  test('timed out, confirmed later: the buyer’s retry is served once; the next retry is refused duplicate_settlement', async () => {
    const { headers, txid } = await payPending('/a');
    await confirmAfterPending(txid);
    const status = await engine.status(txid);
    assert.equal(status?.resource, `${seller.url}/a`);
    assert.equal(status?.amount, '1000');

    const retry = await get(`${seller.url}/a`, headers);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.equal(retry.body.content, 'secret');
    assert.equal(decodePaymentResponse(retry.headers.get('payment-response'))?.transaction, txid);

    const again = await get(`${seller.url}/a`, headers);
    assert.equal(again.status, 402);
    assert.equal(again.body.error, 'duplicate_settlement');
  });

  test('a confirmed pending payment for route a does not unlock route b at the same price; route a still serves it once', async () => {
    const { headers, txid } = await payPending('/a');
    await confirmAfterPending(txid);
    const onB = await get(`${seller.url}/b`, headers);
    assert.equal(onB.status, 402);
    assert.equal(onB.body.error, 'duplicate_settlement');
    assert.equal((await get(`${seller.url}/a`, headers)).status, 200);
  });

  test('a confirmed pending payment of 1 µSTX claimed as a payment of the 1000 µSTX route is refused; its own route serves it once', async () => {
    const payer = freshPayer();
    const cheap = await payPending('/cheap', payer);
    await confirmAfterPending(cheap.txid);
    // The same signed transaction, its payload claiming route a's entry.
    const entryA = await entryOf('/a');
    const forged = await paymentHeaders(payer, entryA, {
      sign: { amount: '1' },
      paymentId: cheap.paymentId,
    });
    assert.equal(forged.txid, cheap.txid, 'the same signed bytes');
    const onA = await get(`${seller.url}/a`, forged.headers);
    assert.equal(onA.status, 402);
    assert.notEqual(onA.body.content, 'secret');
    assert.equal((await get(`${seller.url}/cheap`, cheap.headers)).status, 200);
  });

  test('20 concurrent retries of one pending payment, confirmed: exactly one is served', async () => {
    const { headers, txid } = await payPending('/a');
    await confirmAfterPending(txid);
    const retries = await Promise.all(
      Array.from({ length: 20 }, () => get(`${seller.url}/a`, headers)),
    );
    assert.equal(retries.filter((retry) => retry.status === 200).length, 1);
    assert.deepEqual(
      [...new Set(retries.filter((retry) => retry.status !== 200).map((r) => r.body.error))],
      ['duplicate_settlement'],
    );
  });

  test('a retry before the block: settlement_pending again, nothing served; after it, served once', async () => {
    const { headers, txid } = await payPending('/a');
    await until(async () => (await ledger.answerOf(txid)) !== undefined, 'the pending answer');
    const early = await get(`${seller.url}/a`, headers);
    assert.equal(early.status, 402);
    assert.equal(early.body.error, 'settlement_pending');
    devnet.mine();
    await until(async () => (await engine.status(txid))?.state === 'success', 'the confirmation');
    const late = await get(`${seller.url}/a`, headers);
    assert.equal(late.status, 200, JSON.stringify(late.body));
    assert.equal((await get(`${seller.url}/a`, headers)).status, 402);
  });

  test('confirmed after the seller hung up but before the facilitator’s own timeout: the success is kept for the retry, served once', async () => {
    const { headers, txid } = await payPending('/a');
    // The seller's settle call is gone; the facilitator's is still waiting for the block.
    assert.equal(await ledger.answerOf(txid), undefined);
    devnet.mine();
    await until(
      async () => (await ledger.answerOf(txid)) !== undefined,
      'the facilitator’s answer',
    );
    assert.equal(
      await ledger.answerOf(txid),
      'pending',
      'a success nobody received is kept claimable',
    );
    assert.equal((await get(`${seller.url}/a`, headers)).status, 200);
    const again = await get(`${seller.url}/a`, headers);
    assert.equal(again.body.error, 'duplicate_settlement');
  });

  test('dropped while pending, then paid again with the same bytes: served once in all', async () => {
    const { headers, txid } = await payPending('/a');
    await until(async () => (await ledger.answerOf(txid)) !== undefined, 'the pending answer');
    assert.ok(devnet.chain.injectFault(txid, { kind: 'drop' }));
    await until(async () => (await engine.status(txid))?.state === 'failed', 'the drop');
    // The same bytes again: the drop is forgotten and the payment settled afresh; the block comes after the seller
    // gave up again, so this retry too hears settlement_pending.
    const resent = await get(`${seller.url}/a`, headers);
    assert.equal(resent.status, 402);
    assert.equal(resent.body.error, 'settlement_pending');
    await until(async () => devnet.chain.mempool.length > 0, 'the broadcast');
    devnet.mine();
    await until(async () => (await engine.status(txid))?.state === 'success', 'the confirmation');
    const retries = await Promise.all(
      Array.from({ length: 5 }, () => get(`${seller.url}/a`, headers)),
    );
    assert.equal(retries.filter((retry) => retry.status === 200).length, 1);
  });

  for (const path of ['/checked', '/after']) {
    test(`${path}: a route that verifies first serves the retry of its pending payment once, before any handler runs twice`, async () => {
      const { headers, txid } = await payPending(path);
      await confirmAfterPending(txid);
      const retries = await Promise.all(
        Array.from({ length: 5 }, () => get(`${seller.url}${path}`, headers)),
      );
      assert.equal(retries.filter((retry) => retry.status === 200).length, 1);
      const later = await get(`${seller.url}${path}`, headers);
      assert.equal(later.status, 402);
      assert.equal(later.body.error, 'duplicate_settlement');
    });
  }

  test('a pending payment for route a sent to a route that verifies first: the verify refusal stands', async () => {
    const { headers, txid } = await payPending('/a');
    await confirmAfterPending(txid);
    const onChecked = await get(`${seller.url}/checked`, headers);
    assert.equal(onChecked.status, 402);
    assert.equal(onChecked.body.error, 'invalid_exact_stacks_payload_txid_reused');
    assert.equal((await get(`${seller.url}/a`, headers)).status, 200);
  });

  // A route URL over 2,048 characters is bound by its digest, on both sides (boundResource).
  test('a buyer whose pending payment was for a route URL over 2,048 characters is served once it is confirmed', async () => {
    const { headers, txid } = await payPending(LONG_PATH);
    await confirmAfterPending(txid);
    const retry = await get(`${seller.url}${LONG_PATH}`, headers);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.equal((await get(`${seller.url}${LONG_PATH}`, headers)).status, 402);
  });

  // The first claim may not have come through the route: the buyer itself can settle at the facilitator, naming this
  // route's resource. The retry path asks the validator again.
  test('a payer the route’s validator refuses is not served by settling at the facilitator first, naming the route', async () => {
    const entry = await entryOf('/refusing');
    const { headers, txid } = await paymentHeaders(freshPayer(), entry, {
      paymentId: createPaymentId(),
    });
    // The buyer goes to the facilitator itself with the seller's resource URL; its settle waits, then says pending.
    const payload = decodePaymentSignatureHeader(headers['payment-signature']!);
    const direct = await engine.settle(
      { ...payload, resource: { url: `${seller.url}/refusing` } },
      entry,
    );
    assert.equal(direct.success ? 'success' : direct.errorReason, 'settlement_pending');
    devnet.mine();
    await until(async () => (await engine.status(txid))?.state === 'success', 'the confirmation');
    const atSeller = await get(`${seller.url}/refusing`, headers);
    assert.equal(atSeller.status, 402, 'served a payer the validator refuses');
    assert.notEqual(atSeller.body.content, 'secret');
  });

  // The bytes are public once broadcast (the mempool, the block) and the requirements are in the seller's 402; the
  // payment id the buyer sent is not. Promotion needs the id, so a stranger copying the bytes is not served.
  test('a stranger who copies a pending payment from the chain is not served in place of the buyer who paid', async () => {
    const { headers, txid } = await payPending('/a');
    await confirmAfterPending(txid);
    // What anyone can read: the chain's transactions, and the route's 402.
    const chain = (await (await fetch(`${devnet.url}/devnet/state`)).json()) as {
      transactions: { raw: string }[];
    };
    const raw = chain.transactions
      .map((transaction) => transaction.raw.replace(/^0x/, ''))
      .find((hex) => transactionIdOf(Buffer.from(hex, 'hex')) === txid);
    assert.ok(raw, 'the paid transaction is on the chain');
    const copied = encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: await entryOf('/a'),
      payload: { transaction: raw },
    });
    const stranger = await get(`${seller.url}/a`, { 'payment-signature': copied });
    const buyer = await get(`${seller.url}/a`, headers);
    assert.notEqual(stranger.body.content, 'secret', 'a stranger was served the paid content');
    assert.equal(buyer.status, 200, 'the buyer who paid was refused');
  });
});
