/**
 * A buyer whose paid response is lost (the connection drops after the seller served and the facilitator settled)
 * resends the same signed payment under the same `payment-identifier` id: it is served, pays once, and its nonce and
 * budget stay right. The library's own Express middleware settles through the facilitator service app over HTTP,
 * against the devnet; a proxy in front of the seller drops the first paid response.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import axios from 'axios';
import express from 'express';
import {
  createFacilitator,
  type Facilitator,
  generateKeypair,
  PaymentPolicyError,
  PaymentRejectedError,
  type StacksAccount,
} from 'x402-stacks';
import { wrapAxiosWithPayment } from 'x402-stacks/axios';
import { paymentMiddleware } from 'x402-stacks/express';
import { readPaymentIdentifier } from 'x402-stacks/extensions';
import { wrapFetchWithPayment } from 'x402-stacks/fetch';
import { decodePaymentSignatureHeader } from 'x402-stacks/protocol';

const PRICE = 1_000n;
const FEE = 1_000n;

/** A pass-through proxy that drops the connection instead of answering, for the next `drops` paid requests. */
async function startLossyProxy(target: string) {
  const state = { drops: 0, paid: [] as string[] };
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(request.headers as IncomingHttpHeaders).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host',
      ),
    );
    const answer = await fetch(`${target}${request.url}`, {
      method: request.method ?? 'GET',
      headers,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    const body = Buffer.from(await answer.arrayBuffer());
    const payment = headers['payment-signature'];
    if (payment !== undefined) {
      state.paid.push(payment);
      if (state.drops > 0) {
        // The seller answered (and settled): only the buyer never hears it.
        state.drops--;
        request.socket.destroy();
        return;
      }
    }
    response.writeHead(answer.status, Object.fromEntries(answer.headers));
    response.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The payment-identifier id a payment-signature header carries. */
function idOf(header: string): string | undefined {
  const read = readPaymentIdentifier(decodePaymentSignatureHeader(header).extensions);
  return read.status === 'present' ? read.info.id : undefined;
}

describe('a lost paid response, resent under its payment-identifier id', {
  timeout: 60_000,
}, () => {
  let devnet: Devnet;
  let facilitator: Facilitator;
  let withoutIds: Facilitator;
  let seller: Server;
  let proxy: Awaited<ReturnType<typeof startLossyProxy>>;
  const served = { count: 0 };
  const facilitatorServers: ReturnType<typeof serve>[] = [];
  const serveFacilitator = async (engine: Facilitator) => {
    const server = serve({
      fetch: createFacilitatorApp({ facilitator: engine }).fetch,
      port: 0,
      hostname: '127.0.0.1',
    });
    await once(server, 'listening');
    facilitatorServers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 2 });
    const engine = (paymentIdentifier?: false) =>
      createFacilitator({
        networks: { testnet: { url: devnet.url } },
        settleTimeoutMs: 2_000,
        pollIntervalMs: 20,
        ...(paymentIdentifier === false ? { paymentIdentifier } : {}),
      });
    facilitator = engine();
    withoutIds = engine(false);
    // The seller reaches each engine as it would in production: the facilitator service, over HTTP.
    const withIdsUrl = await serveFacilitator(facilitator);
    const withoutIdsUrl = await serveFacilitator(withoutIds);
    const app = express();
    const common = { payTo: devnet.accounts[1]!.address, network: 'testnet', sponsored: false };
    const resource = (_req: express.Request, res: express.Response) => {
      served.count++;
      res.json({ data: 'premium' });
    };
    app.get(
      '/data',
      paymentMiddleware({ ...common, amount: PRICE.toString(), facilitatorUrl: withIdsUrl }),
      resource,
    );
    app.get(
      '/no-ids',
      paymentMiddleware({ ...common, amount: PRICE.toString(), facilitatorUrl: withoutIdsUrl }),
      resource,
    );
    seller = app.listen(0, '127.0.0.1');
    await once(seller, 'listening');
    proxy = await startLossyProxy(`http://127.0.0.1:${(seller.address() as AddressInfo).port}`);
  });
  after(async () => {
    for (const server of facilitatorServers) server.close();
    await proxy.close();
    const closed = new Promise<void>((resolve) => seller.close(() => resolve()));
    seller.closeAllConnections();
    await closed;
    await facilitator.idle();
    await withoutIds.idle();
    await devnet.stop();
  });

  const buyer = (): StacksAccount => {
    const account = generateKeypair('testnet');
    devnet.chain.fund(account.address, { stx: 1_000_000n });
    return account;
  };
  const balance = (account: StacksAccount) => devnet.chain.state.stx(account.address);
  const options = { apiUrl: '', feeRate: 1n, minFee: FEE, maxFee: FEE } as const;

  for (const client of ['fetch', 'axios'] as const) {
    test(`${client}: served on the resend, paid once, the same payment and id sent twice; the nonce and budget stay right`, async () => {
      const account = buyer();
      const start = balance(account);
      const receipts: string[] = [];
      const pay = (url: string) => {
        const settings = {
          ...options,
          apiUrl: devnet.url,
          budget: { STX: 2n * PRICE },
          onPaymentSettled: ({ txid }: { txid: string }) => receipts.push(txid),
        };
        if (client === 'fetch') {
          const fetchWithPayment = wrapFetchWithPayment(fetch, account, settings);
          return async () => {
            const response = await fetchWithPayment(url);
            return { status: response.status, body: await response.json() };
          };
        }
        const api = wrapAxiosWithPayment(axios.create(), account, settings);
        return async () => {
          const response = await api.get(url);
          return { status: response.status, body: response.data };
        };
      };
      const get = pay(`${proxy.url}/data`);
      const paidBefore = proxy.state.paid.length;
      const servedBefore = served.count;
      proxy.state.drops = 1;

      const answer = await get();
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, { data: 'premium' });
      const sent = proxy.state.paid.slice(paidBefore);
      assert.equal(sent.length, 2, 'the paid request, and its resend');
      assert.equal(sent[0], sent[1], 'the same signed payment and id');
      const id = idOf(sent[0]!);
      assert.match(id ?? '', /^[A-Za-z0-9_-]{16,128}$/);
      assert.equal(
        served.count - servedBefore,
        2,
        'the seller served the lost answer and the resend',
      );
      assert.equal(receipts.length, 1);
      assert.equal(balance(account), start - PRICE - FEE, 'paid once');
      assert.equal(devnet.chain.nonces(account.address).possibleNext, 1n);

      // The budget counted the payment once, and the next payment takes the next nonce.
      const next = await get();
      assert.equal(next.status, 200);
      assert.equal(balance(account), start - 2n * (PRICE + FEE));
      assert.equal(devnet.chain.nonces(account.address).possibleNext, 2n);
      const idOfNext = idOf(proxy.state.paid.at(-1)!);
      assert.notEqual(idOfNext, id, 'a new payment, a new id');
      await assert.rejects(get(), (error) => {
        assert.ok(error instanceof PaymentPolicyError, String(error));
        assert.equal(error.reason, 'payment_over_budget');
        return true;
      });
    });
  }

  test('lostResponseRetries: 0 resends nothing: the buyer hears the network error, and was charged once', async () => {
    const account = buyer();
    const start = balance(account);
    const fetchWithPayment = wrapFetchWithPayment(fetch, account, {
      ...options,
      apiUrl: devnet.url,
      lostResponseRetries: 0,
    });
    const paidBefore = proxy.state.paid.length;
    proxy.state.drops = 1;
    await assert.rejects(fetchWithPayment(`${proxy.url}/data`), /retry|network|fetch/i);
    assert.equal(proxy.state.paid.length - paidBefore, 1);
    assert.equal(balance(account), start - PRICE - FEE);
  });

  test('a facilitator without the extension answers the resend duplicate_settlement: not served again, never charged twice', async () => {
    const account = buyer();
    const start = balance(account);
    const fetchWithPayment = wrapFetchWithPayment(fetch, account, {
      ...options,
      apiUrl: devnet.url,
    });
    proxy.state.drops = 1;
    await assert.rejects(fetchWithPayment(`${proxy.url}/no-ids`), (error) => {
      assert.ok(error instanceof PaymentRejectedError, String(error));
      assert.equal(error.facilitatorReason, 'duplicate_settlement');
      return true;
    });
    assert.equal(balance(account), start - PRICE - FEE);
  });
});
