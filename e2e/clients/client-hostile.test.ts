/**
 * The buyer against hostile or broken sellers, on the devnet and the real facilitator: a seller that broadcasts the
 * payment itself and answers 402, one that never answers, redirects before and after the payment, a stream body
 * with axios, what errors expose of the signed transaction, and a chain failure after signing.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import axios, { AxiosError } from 'axios';
import type { StacksAccount } from 'x402-stacks';
import { type ChainClient, ChainRequestError, createChainClient } from 'x402-stacks/chain';
import {
  PaymentError,
  PaymentNetworkError,
  type PaymentOptions,
  PaymentPolicyError,
  PaymentRejectedError,
  wrapAxiosWithPayment,
} from 'x402-stacks/client';
import { wrapFetchWithPayment } from 'x402-stacks/fetch';
import { decodePaymentSignatureHeader, encodePaymentRequiredHeader } from 'x402-stacks/protocol';
import {
  requirement,
  type Stack,
  startStack,
  startTestServer,
  type TestServer,
} from './client-stack.js';

describe('buyer against hostile sellers', () => {
  let stack: Stack;
  let route = 0;
  const servers: TestServer[] = [];
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    for (const server of servers) await server.close();
    await stack.stop();
  });

  const server = async (handle: Parameters<typeof startTestServer>[0]) => {
    const started = await startTestServer(handle);
    servers.push(started);
    return started;
  };

  /** The headers of a v2 402 for 1000 µSTX to the stack's seller. */
  const challenge = (url: string, extra: Record<string, string> = {}) => ({
    'content-type': 'application/json',
    'payment-required': encodePaymentRequiredHeader({
      x402Version: 2,
      resource: { url },
      accepts: [requirement({ payTo: stack.payTo, amount: '1000' })],
    }),
    ...extra,
  });

  /** A fresh route of the stack's honest seller, for 1000 µSTX. */
  const honestRoute = () => {
    const path = `/honest-${++route}`;
    stack.route(path, { accepts: [requirement({ payTo: stack.payTo, amount: '1000' })] });
    return { path, url: `${stack.sellerUrl}${path}` };
  };

  const options = (extra: PaymentOptions = {}): PaymentOptions => ({
    apiUrl: stack.devnet.url,
    ...extra,
  });

  const transactionOf = (header: unknown): string =>
    (decodePaymentSignatureHeader(String(header)).payload as { transaction: string }).transaction;

  const paidHeaders = (server: TestServer) =>
    server.requests.map((headers) => headers['payment-signature']).filter(Boolean);

  test('a seller that broadcasts the payment itself and answers 402 cannot drain past the budget', async () => {
    const chain = createChainClient({ network: 'testnet', url: stack.devnet.url });
    const broadcast: string[] = [];
    const thief: TestServer = await server(async (request, response) => {
      const header = request.headers['payment-signature'];
      if (typeof header === 'string') {
        const transaction = transactionOf(header);
        assert.equal((await chain.broadcast(transaction)).accepted, true);
        broadcast.push(transaction);
        response.writeHead(402, challenge(thief.url));
        response.end(JSON.stringify({ error: 'invalid_transaction_state' }));
        return;
      }
      response.writeHead(402, challenge(thief.url)).end('{}');
    });
    const buyer = stack.buyer();
    const before = stack.stx(buyer.address);
    const pay = wrapFetchWithPayment(fetch, buyer, options({ budget: { STX: 1_500n } }));
    await assert.rejects(pay(thief.url), (error) => error instanceof PaymentRejectedError);
    // The refused payment still counts: 1000 of 1500 are spent as far as the budget knows.
    await assert.rejects(pay(thief.url), (error) => {
      assert.ok(error instanceof PaymentPolicyError);
      assert.equal(error.reason, 'payment_over_budget');
      return true;
    });
    assert.equal(broadcast.length, 1, 'only one payment was ever handed to the thief');
    stack.devnet.mine(1);
    assert.equal(stack.devnet.chain.nonces(buyer.address).possibleNext, 1n);
    assert.ok(stack.stx(buyer.address) < before - 1_000n);
    assert.ok(stack.stx(buyer.address) > before - 2_000n, 'charged once');
  });

  test('a paid request that provably never left gives the amount back to the budget', async () => {
    const gone: TestServer = await startTestServer((_request, response) => {
      response.writeHead(402, challenge(gone.url, { connection: 'close' })).end('{}');
    });
    const buyer = stack.buyer();
    const { url } = honestRoute();
    const pay = wrapFetchWithPayment(
      fetch,
      buyer,
      options({
        budget: { STX: 1_500n },
        // The seller goes away between its 402 and the paid request: the connection is refused.
        onPaymentRequired: async () => {
          await gone.close().catch(() => undefined);
          return true;
        },
      }),
    );
    await assert.rejects(pay(gone.url), (error) => {
      assert.ok(error instanceof PaymentNetworkError);
      assert.equal(error.stage, 'retry');
      assert.equal(error.sent, false);
      assert.match(error.message, /never left/);
      return true;
    });
    // The budget got the 1000 back: the same wrapper pays 1000 to the honest seller within its 1500.
    assert.equal((await pay(url)).status, 200);
  });

  test('a seller that never answers the paid request does not block the next payment past nonceLeaseMs', async () => {
    const held: ServerResponse[] = [];
    const silent: TestServer = await server((request, response) => {
      if (request.headers['payment-signature']) {
        held.push(response); // never answered
        return;
      }
      response.writeHead(402, challenge(silent.url)).end('{}');
    });
    const buyer = stack.buyer();
    const { path, url } = honestRoute();
    const pay = wrapFetchWithPayment(fetch, buyer, options({ nonceLeaseMs: 200 }));
    const abort = new AbortController();
    const hanging = pay(silent.url, { signal: abort.signal });
    hanging.catch(() => undefined);
    try {
      while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      let timer: NodeJS.Timeout | undefined;
      const served = await Promise.race([
        pay(url),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('the second payment waited on the first')),
            8_000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      assert.equal(served.status, 200);
      assert.equal(stack.hits(path).paid, 1);
      // The held payment was never broadcast: the next one reused its nonce from the chain.
      assert.equal(stack.devnet.chain.nonces(buyer.address).possibleNext, 1n);
    } finally {
      abort.abort();
    }
    await assert.rejects(hanging, (error) => {
      assert.ok(error instanceof PaymentNetworkError);
      assert.equal(error.stage, 'retry');
      return true;
    });
  });

  test('fetch: the payment is for the URL that answered 402, and never follows a redirect', async () => {
    const { path, url: target } = honestRoute();
    const front = await server((_request, response) => {
      response.writeHead(302, { location: target }).end();
    });
    const seen: string[] = [];
    const buyer = stack.buyer();
    const pay = wrapFetchWithPayment(
      fetch,
      buyer,
      options({
        onPaymentRequired: ({ url }) => {
          seen.push(url);
          return true;
        },
      }),
    );
    const response = await pay(`${front.url}/start`);
    assert.equal(response.status, 200);
    assert.deepEqual(seen, [target], 'consent shows the URL that asked to be paid');
    assert.equal(front.requests.length, 1, 'the paid request went straight to that URL');
    assert.deepEqual(paidHeaders(front), []);
    assert.deepEqual(stack.hits(path), { requests: 2, paid: 1 });

    // A redirect answering the paid request is returned as is; the payment header stays home.
    const elsewhere = await server((_request, response) => {
      response.writeHead(200).end('ok');
    });
    const bouncer: TestServer = await server((request, response) => {
      if (request.headers['payment-signature']) {
        response.writeHead(307, { location: `${elsewhere.url}/take` }).end();
        return;
      }
      response.writeHead(402, challenge(bouncer.url)).end('{}');
    });
    const settled: unknown[] = [];
    const bounced = await wrapFetchWithPayment(
      fetch,
      stack.buyer(),
      options({ onPaymentSettled: (receipt) => settled.push(receipt) }),
    )(`${bouncer.url}/pay`);
    assert.equal(bounced.status, 307);
    assert.equal(elsewhere.requests.length, 0, 'the payment never reached another origin');
    assert.equal(settled.length, 0, 'a redirect is not a served payment');
  });

  test('axios: the payment is for the URL that answered 402, and never follows a redirect', async () => {
    const { path, url: target } = honestRoute();
    const front = await server((_request, response) => {
      response.writeHead(302, { location: target }).end();
    });
    const seen: string[] = [];
    const api = wrapAxiosWithPayment(
      axios.create(),
      stack.buyer(),
      options({
        onPaymentRequired: ({ url }) => {
          seen.push(url);
          return true;
        },
      }),
    );
    const response = await api.get(`${front.url}/start`, { params: { q: '1' } });
    assert.equal(response.status, 200);
    assert.deepEqual(seen, [target]);
    assert.equal(front.requests.length, 1);
    assert.deepEqual(paidHeaders(front), []);
    assert.deepEqual(stack.hits(path), { requests: 2, paid: 1 });

    const elsewhere = await server((_request, response) => {
      response.writeHead(200).end('ok');
    });
    const bouncer: TestServer = await server((request, response) => {
      if (request.headers['payment-signature']) {
        response.writeHead(307, { location: `${elsewhere.url}/take` }).end();
        return;
      }
      response.writeHead(402, challenge(bouncer.url)).end('{}');
    });
    const bouncing = wrapAxiosWithPayment(axios.create(), stack.buyer(), options());
    await assert.rejects(bouncing.get(`${bouncer.url}/pay`), (error) => {
      assert.ok(error instanceof AxiosError);
      assert.equal(error.response?.status, 307);
      return true;
    });
    assert.equal(elsewhere.requests.length, 0, 'the payment never reached another origin');
  });

  test('axios: a stream body is refused before signing, since the unpaid request consumed it', async () => {
    const { path, url } = honestRoute();
    const buyer = stack.buyer();
    const api = wrapAxiosWithPayment(axios.create(), buyer, options());
    await assert.rejects(api.post(url, Readable.from(['a body'])), (error) => {
      assert.ok(error instanceof PaymentError);
      assert.equal(error.name, 'UnreplayableRequestError');
      assert.equal(error.reason, 'request_body_not_replayable');
      return true;
    });
    assert.deepEqual(stack.hits(path), { requests: 1, paid: 0 });
    assert.equal(stack.devnet.chain.nonces(buyer.address).possibleNext, 0n);
  });

  test('errors after a paid request carry no part of the signed transaction (axios and fetch)', async () => {
    const leaky: TestServer = await server((request, response) => {
      const mode = new URL(request.url ?? '/', leaky.url).pathname;
      if (!request.headers['payment-signature']) {
        response.writeHead(402, challenge(`${leaky.url}${mode}`)).end('{}');
      } else if (mode === '/refuse') {
        response.writeHead(402, challenge(`${leaky.url}${mode}`));
        response.end(JSON.stringify({ error: 'invalid_transaction_state' }));
      } else if (mode === '/fail') {
        response.writeHead(500).end('{}');
      } else {
        request.socket.destroy();
      }
    });
    const assertClean = (error: unknown, what: string) => {
      const header = String(paidHeaders(leaky).at(-1));
      const transaction = transactionOf(header);
      const found = error as {
        response?: { config?: unknown; request?: { _header?: unknown } };
        request?: { _header?: unknown };
        cause?: { config?: unknown; request?: { _header?: unknown } };
      };
      const texts = [
        JSON.stringify(error),
        JSON.stringify(found.response?.config ?? null),
        JSON.stringify(found.cause ?? null),
        JSON.stringify(found.cause?.config ?? null),
        String(found.response?.request?._header ?? ''),
        String(found.request?._header ?? ''),
        String(found.cause?.request?._header ?? ''),
      ];
      for (const text of texts) {
        for (const secret of [header, transaction, transaction.slice(40, 104)]) {
          assert.ok(!text.includes(secret), `${what}: ${text.slice(0, 200)}`);
        }
      }
    };
    const api = wrapAxiosWithPayment(axios.create(), stack.buyer(), options());
    for (const mode of ['/refuse', '/fail', '/drop']) {
      const error = await api.get(`${leaky.url}${mode}`).then(
        () => assert.fail(`${mode} was served`),
        (error: unknown) => error,
      );
      assert.ok(
        error instanceof PaymentRejectedError ||
          error instanceof AxiosError ||
          error instanceof PaymentNetworkError,
      );
      assertClean(error, `axios ${mode}`);
    }
    const pay = wrapFetchWithPayment(fetch, stack.buyer(), options());
    for (const mode of ['/refuse', '/drop']) {
      const error = await pay(`${leaky.url}${mode}`).then(
        () => assert.fail(`${mode} was served`),
        (error: unknown) => error,
      );
      assertClean(error, `fetch ${mode}`);
    }
  });

  test('a chain failure after signing says nothing was sent, and nothing was', async () => {
    const { path, url } = honestRoute();
    const buyer: StacksAccount = stack.buyer();
    const real = createChainClient({ network: 'testnet', url: stack.devnet.url });
    const chain: ChainClient = Object.assign(Object.create(real) as ChainClient, {
      getStxBalance: async () => {
        throw new ChainRequestError('chain_unreachable', 'the balance read failed', {
          method: 'GET',
          url: stack.devnet.url,
          attempts: 1,
        });
      },
    });
    const pay = wrapFetchWithPayment(fetch, buyer, { chain });
    await assert.rejects(pay(url), (error) => {
      assert.ok(error instanceof PaymentNetworkError);
      assert.equal(error.stage, 'chain');
      assert.doesNotMatch(error.message, /nothing was signed/);
      assert.match(error.message, /nothing was sent/);
      return true;
    });
    assert.equal(stack.hits(path).paid, 0);
    assert.equal(stack.devnet.chain.nonces(buyer.address).possibleNext, 0n);
  });
});
