/**
 * The resource-server core and the facilitator client without a chain: option checking, the facilitator's failures
 * (unreachable, slow, garbage, 5xx) and their redaction, the settlement_pending follow-up, the precomputed 402.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import {
  generateKeypair,
  type PaymentRequirements,
  type SettleResponse,
  x402PaymentRequired,
} from 'x402-stacks';
import { paymentMiddleware as expressPaymentMiddleware } from 'x402-stacks/express';
import { paymentMiddleware as honoPaymentMiddleware } from 'x402-stacks/hono';
import { encodePaymentSignatureHeader } from 'x402-stacks/protocol';
import {
  createFacilitatorClient,
  createResourceServer,
  type FacilitatorClient,
  FacilitatorRequestError,
  type PaywallRequest,
  ServerConfigError,
} from 'x402-stacks/server';
import { createPaymentTransaction } from 'x402-stacks/stacks';

// Express 4 is installed under the npm alias `express4`; its API is the one @types/express describes.
const express4 = createRequire(import.meta.url)('express4') as typeof express;

const SELLER = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
const MAINNET_ADDRESS = 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7';
const URL_ = 'http://seller.test/api/data';

/** A facilitator over HTTP that answers every request with `answer` (after `delayMs`). */
async function fakeFacilitatorService(
  answer: (path: string) => { status: number; body: string },
  delayMs = 0,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    setTimeout(() => {
      const { status, body } = answer(req.url ?? '');
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    }, delayMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function request(headers: Record<string, string> = {}, url = URL_): PaywallRequest<null> {
  return { url, header: (name) => headers[name], request: null };
}

function paid(requirements: PaymentRequirements): Record<string, string> {
  return {
    'payment-signature': encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: requirements,
      payload: { transaction: '00' },
    }),
  };
}

const entry: PaymentRequirements = {
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo: SELLER,
  maxTimeoutSeconds: 300,
};

/** An in-process facilitator whose answers a test scripts. */
function scripted(overrides: Partial<FacilitatorClient>): FacilitatorClient {
  return {
    verify: async () => ({ isValid: true, payer: SELLER }),
    settle: async () => ({
      success: true,
      transaction: 'ab'.repeat(32),
      network: 'stacks:2147483648',
    }),
    status: async () => undefined,
    supported: () => ({ kinds: [], extensions: [], signers: {} }),
    ...overrides,
  };
}

const pending: SettleResponse = {
  success: false,
  errorReason: 'settlement_pending',
  transaction: 'cd'.repeat(32),
  network: 'stacks:2147483648',
  payer: SELLER,
};

describe('options are checked once, at creation', () => {
  test('every problem is listed in one ServerConfigError', () => {
    assert.throws(
      () =>
        createResourceServer({
          amount: 1.5,
          payTo: MAINNET_ADDRESS,
          network: 'testnet',
          asset: 'DOGE',
          maxTimeoutSeconds: 0,
          settle: 'whenever' as never,
        }),
      (error: unknown) => {
        assert.ok(error instanceof ServerConfigError);
        assert.equal(error.reason, 'invalid_server_config');
        const listed = error.issues.join('\n');
        for (const option of [
          'amount:',
          'payTo:',
          'asset:',
          'maxTimeoutSeconds:',
          'settle:',
          'facilitatorUrl:',
        ]) {
          assert.match(listed, new RegExp(`^${option}`, 'm'), `${option} in\n${listed}`);
        }
        return true;
      },
    );
  });

  test('prices: zero, negative, floats and u64 overflow are refused, each entry named', () => {
    assert.throws(
      () =>
        createResourceServer({
          amount: ['0', -1n, { amount: '0.5', asset: 'STX' }, 2n ** 64n],
          payTo: SELLER,
          network: 'testnet',
          facilitatorUrl: 'http://127.0.0.1:1',
        }),
      (error: unknown) =>
        error instanceof ServerConfigError &&
        ['amount[0]', 'amount[1]', 'amount[2]', 'amount[3]'].every((where) =>
          error.issues.some((issue) => issue.startsWith(where)),
        ),
    );
  });

  test('facilitatorUrl and facilitator are exclusive; the v1 alias refuses address and payTo that differ', () => {
    assert.throws(
      () =>
        createResourceServer({
          amount: '1',
          payTo: SELLER,
          network: 'testnet',
          facilitatorUrl: 'http://127.0.0.1:1',
          facilitator: scripted({}),
        }),
      (error: unknown) => error instanceof ServerConfigError && /not both/.test(error.message),
    );
    assert.throws(
      () =>
        x402PaymentRequired({
          amount: '1',
          address: SELLER,
          payTo: 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG',
          network: 'testnet',
          facilitatorUrl: 'http://127.0.0.1:1',
        }),
      ServerConfigError,
    );
  });
});

describe('the options of x402-stacks 2.0', () => {
  test('tokenType and tokenContract name the asset; a disagreeing asset and another scheme are refused', async () => {
    const base = { payTo: SELLER, network: 'testnet', facilitator: scripted({}), sponsored: false };
    for (const [spelling, asset] of [
      // Offered by its contract id, a spelling every client reads as sBTC.
      [{ tokenType: 'sBTC' }, 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token'],
      [{ tokenContract: { address: SELLER, name: 'my-token' } }, `${SELLER}.my-token`],
    ] as const) {
      const admission = await createResourceServer({ ...base, amount: '5', ...spelling }).admit(
        request(),
      );
      assert.equal(
        admission.action === 'reply' && JSON.parse(admission.reply.body).accepts[0].asset,
        asset,
      );
    }
    assert.throws(
      () =>
        createResourceServer({
          ...base,
          amount: '5',
          asset: 'STX',
          tokenType: 'sBTC',
          scheme: 'upto' as 'exact',
        }),
      (error: unknown) =>
        error instanceof ServerConfigError &&
        error.issues.some((issue) => issue.startsWith('tokenType:')) &&
        error.issues.some((issue) => issue.startsWith('scheme:')),
    );
  });
});

describe('the 402 challenge', () => {
  test('a static route encodes its challenge once per resource URL; the query is not part of it', async () => {
    const server = createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'stacks:2147483648',
      facilitator: scripted({}),
      sponsored: false,
    });
    const first = await server.admit(request({}, `${URL_}?a=1`));
    const second = await server.admit(request({}, `${URL_}?a=2`));
    assert.equal(first.action, 'reply');
    assert.equal(second.action, 'reply');
    if (first.action !== 'reply' || second.action !== 'reply') return;
    assert.equal(first.reply, second.reply, 'the same precomputed reply');
    assert.equal(JSON.parse(first.reply.body).resource.url, URL_);
  });

  test('a pricing function that returns an unpayable price answers 500 invalid_price', async () => {
    const server = createResourceServer({
      amount: () => '0',
      payTo: SELLER,
      network: 'testnet',
      facilitator: scripted({}),
    });
    const admission = await server.admit(request());
    assert.equal(admission.action === 'reply' && admission.reply.status, 500);
    assert.equal(
      admission.action === 'reply' && JSON.parse(admission.reply.body).error,
      'invalid_price',
    );
  });
});

describe('settlement_pending is followed through GET /settlements/:txid, never served while pending', () => {
  const serverWith = (facilitator: FacilitatorClient) =>
    createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      facilitator,
      sponsored: false,
      settlementPending: { attempts: 3, intervalMs: 1 },
    });

  test('confirmed while polling: served, with the confirmed txid', async () => {
    let looks = 0;
    const server = serverWith(
      scripted({
        settle: async () => pending,
        status: async (txid) => ({
          transaction: txid,
          state: ++looks < 2 ? 'broadcast' : 'success',
          payer: SELLER,
          network: 'stacks:2147483648',
        }),
      }),
    );
    const admission = await server.admit(request(paid(entry)));
    assert.equal(admission.action, 'serve');
    assert.equal(
      admission.action === 'serve' && admission.payment.transaction,
      pending.transaction,
    );
    assert.equal(looks, 2);
  });

  test('still pending after the attempts: 402 settlement_pending with the txid in payment-response', async () => {
    let looks = 0;
    const server = serverWith(
      scripted({
        settle: async () => pending,
        status: async (txid) => {
          looks++;
          return {
            transaction: txid,
            state: 'broadcast',
            payer: SELLER,
            network: 'stacks:2147483648',
          };
        },
      }),
    );
    const admission = await server.admit(request(paid(entry)));
    assert.equal(admission.action, 'reply');
    if (admission.action !== 'reply') return;
    assert.equal(admission.reply.status, 402);
    assert.equal(JSON.parse(admission.reply.body).error, 'settlement_pending');
    const receipt = JSON.parse(
      Buffer.from(admission.reply.headers['payment-response']!, 'base64').toString(),
    );
    assert.equal(receipt.transaction, pending.transaction);
    assert.equal(looks, 3);
  });

  test('failed while polling: 402 with the failure', async () => {
    const server = serverWith(
      scripted({
        settle: async () => pending,
        status: async (txid) => ({
          transaction: txid,
          state: 'failed',
          errorReason: 'transaction_failed',
          payer: SELLER,
          network: 'stacks:2147483648',
        }),
      }),
    );
    const admission = await server.admit(request(paid(entry)));
    assert.equal(
      admission.action === 'reply' && JSON.parse(admission.reply.body).error,
      'transaction_failed',
    );
  });

  test('a settle that timed out, its transaction known as settled: 402 settlement_pending, never served', async () => {
    let looks = 0;
    const server = serverWith(
      scripted({
        settle: async () => {
          throw new FacilitatorRequestError('facilitator_unreachable', 'timed out', {
            timedOut: true,
          });
        },
        status: async () => {
          looks++;
          return {
            transaction: 'ef'.repeat(32),
            state: 'success',
            payer: SELLER,
            network: 'stacks:2147483648',
          };
        },
      }),
    );
    const admission = await server.admit(request(paid(entry)));
    assert.equal(admission.action, 'reply');
    if (admission.action !== 'reply') return;
    assert.equal(admission.reply.status, 402);
    assert.equal(JSON.parse(admission.reply.body).error, 'settlement_pending');
    const receipt = JSON.parse(
      Buffer.from(admission.reply.headers['payment-response']!, 'base64').toString(),
    );
    assert.equal(receipt.success, false);
    assert.equal(receipt.transaction, 'ef'.repeat(32));
    assert.equal(looks, 1, 'one look to know the txid, never followed to a success');
  });

  test('a settle that timed out, its transaction unknown: 502, the buyer was not charged', async () => {
    const server = serverWith(
      scripted({
        settle: async () => {
          throw new FacilitatorRequestError('facilitator_unreachable', 'timed out', {
            timedOut: true,
          });
        },
      }),
    );
    const admission = await server.admit(request(paid(entry)));
    assert.equal(admission.action === 'reply' && admission.reply.status, 502);
  });
});

describe('a settle that times out over HTTP is never served from a status not bound to the request', () => {
  // A replay: an old transaction, already settled for a cheap route, resent to this route. The facilitator's settle
  // hangs past the timeout, and its status of the txid says success (the old settlement).
  let stub: { url: string; server: Server; settles: number };
  before(async () => {
    const state = { settles: 0 };
    const server = createServer((req, res) => {
      const path = req.url ?? '';
      req.resume();
      if (path === '/settle') {
        state.settles++;
        return; // never answers
      }
      if (path.startsWith('/settlements/')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            transaction: path.slice('/settlements/'.length),
            state: 'success',
            payer: SELLER,
            network: 'stacks:2147483648',
            blockHeight: 7,
          }),
        );
        return;
      }
      if (path === '/verify') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ isValid: true, payer: SELLER }));
        return;
      }
      res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    stub = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      server,
      get settles() {
        return state.settles;
      },
    };
  });
  after(() => {
    stub.server.closeAllConnections();
    stub.server.close();
  });

  // A payment whose transaction parses, so its txid is known: the status is asked by it. Each request carries its
  // own, as distinct buyers' replays would: one payment sent twice at once is held for the first request
  // (`after-handler`) and, once claimed, refused by the seller before any settle.
  const replayed = async (): Promise<Record<string, string>> => ({
    'payment-signature': encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: entry,
      payload: {
        transaction: (
          await createPaymentTransaction({
            account: generateKeypair('testnet'),
            requirements: entry,
            nonce: 0n,
            fee: 400n,
          })
        ).transaction,
      },
    }),
  });

  for (const settle of ['before-handler', 'after-handler'] as const) {
    test(`${settle}: 402 settlement_pending on Express and Hono, the content never sent`, async () => {
      const options = {
        amount: '1000',
        payTo: SELLER,
        network: 'testnet',
        sponsored: false,
        settle,
        facilitator: createFacilitatorClient({ url: stub.url, settleTimeoutMs: 100 }),
        settlementPending: { attempts: 3, intervalMs: 1 },
      } as const;
      let handled = 0;
      const app = express();
      app.get('/data', expressPaymentMiddleware(options), (_req, res) => {
        handled++;
        res.json({ content: 'secret' });
      });
      const hono = new Hono();
      hono.get('/data', honoPaymentMiddleware(options), (c) => {
        handled++;
        return c.json({ content: 'secret' });
      });
      const listening = app.listen(0, '127.0.0.1');
      await once(listening, 'listening');
      const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/data`;
      try {
        const settlesBefore = stub.settles;
        for (const response of [
          await fetch(url, { headers: await replayed() }),
          await hono.request('/data', { headers: await replayed() }),
        ]) {
          const text = await response.text();
          assert.equal(response.status, 402, text);
          assert.equal(JSON.parse(text).error, 'settlement_pending');
          assert.doesNotMatch(text, /secret/);
          const receipt = JSON.parse(
            Buffer.from(response.headers.get('payment-response')!, 'base64').toString(),
          );
          assert.equal(receipt.success, false);
        }
        assert.equal(stub.settles - settlesBefore, 2, 'each request did try to settle');
        if (settle === 'before-handler') assert.equal(handled, 0, 'the handler never ran');
      } finally {
        listening.close();
      }
    });
  }
});

describe('an in-process facilitator', () => {
  test('that throws (its node unreachable) is answered like a service that is down: 502, not a crash', async () => {
    const server = createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      sponsored: false,
      facilitator: scripted({
        settle: async () => {
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3999'), {
            reason: 'chain_unreachable',
          });
        },
      }),
    });
    const admission = await server.admit(request(paid(entry)));
    assert.equal(admission.action === 'reply' && admission.reply.status, 502);
    if (admission.action !== 'reply') return;
    const body = JSON.parse(admission.reply.body);
    assert.equal(body.error, 'facilitator_unreachable');
    assert.match(body.message, /settle failed \(chain_unreachable\)/);
    assert.doesNotMatch(body.message, /127\.0\.0\.1/, 'no internals in the answer');
  });
});

describe('Express after-handler: a settle() that fails unexpectedly never hangs and never sends the held content', () => {
  for (const [name, createApp] of [
    ['express 5', express],
    ['express 4', express4],
  ] as const) {
    test(`${name}: a settle that throws is a 502, one that breaks the core is a 500; the connection closes`, async () => {
      const cases = [
        {
          // Through the in-process guard: like a service that is down.
          settle: async (): Promise<SettleResponse> => {
            throw new Error('boom at 127.0.0.1:3999');
          },
          status: 502,
          error: 'facilitator_unreachable',
        },
        {
          // A facilitator that answers no SettleResponse at all: the core itself throws.
          settle: async () => undefined as unknown as SettleResponse,
          status: 500,
          error: 'unexpected_settle_error',
        },
      ];
      for (const expected of cases) {
        let handled = 0;
        const app = createApp();
        app.use((_req: express.Request, res: express.Response, next: () => void) => {
          res.setHeader('x-request-id', 'r-1');
          next();
        });
        app.get(
          '/data',
          expressPaymentMiddleware({
            amount: '1000',
            payTo: SELLER,
            network: 'testnet',
            sponsored: false,
            settle: 'after-handler',
            facilitator: scripted({ settle: expected.settle }),
          }),
          (_req: express.Request, res: express.Response) => {
            handled++;
            res.setHeader('x-handler', 'ran');
            res.json({ content: 'secret' });
          },
        );
        let errorHandlerRan = false;
        app.use((error: Error, _req: express.Request, res: express.Response, _next: () => void) => {
          errorHandlerRan = true;
          res.status(500).send(`error handler: ${error.message}`);
        });
        const server = app.listen(0, '127.0.0.1');
        await once(server, 'listening');
        try {
          const response = await fetch(
            `http://127.0.0.1:${(server.address() as AddressInfo).port}/data`,
            { headers: paid(entry), signal: AbortSignal.timeout(3000) },
          );
          const text = await response.text();
          assert.equal(response.status, expected.status, text);
          assert.equal(JSON.parse(text).error, expected.error);
          assert.doesNotMatch(text, /secret|127\.0\.0\.1|boom|TypeError|undefined/);
          assert.equal(
            response.headers.get('x-handler'),
            null,
            "the handler's headers are dropped",
          );
          assert.equal(response.headers.get('x-request-id'), 'r-1', 'earlier middleware kept');
          assert.equal(handled, 1);
          assert.equal(errorHandlerRan, false);
        } finally {
          server.closeAllConnections();
          server.close();
        }
      }
    });
  }
});

describe('createFacilitatorClient', () => {
  let garbage: { url: string; server: Server };
  let failing: { url: string; server: Server };
  let slow: { url: string; server: Server };
  before(async () => {
    garbage = await fakeFacilitatorService(() => ({ status: 200, body: '{"hello":"world"}' }));
    failing = await fakeFacilitatorService(() => ({
      status: 500,
      body: '{"error":"internal_error"}',
    }));
    slow = await fakeFacilitatorService(() => ({ status: 200, body: '{"kinds":[]}' }), 500);
  });
  after(() => {
    for (const { server } of [garbage, failing, slow]) server.close();
  });

  test('a body that is not the x402 schema, or a 5xx: facilitator_bad_response', async () => {
    for (const { url } of [garbage, failing]) {
      const client = createFacilitatorClient({ url });
      await assert.rejects(client.settle({ x402Version: 2, accepted: entry, payload: {} }, entry), {
        name: 'FacilitatorRequestError',
        reason: 'facilitator_bad_response',
      });
    }
  });

  test('the middleware answers 502 with the reason for a garbage facilitator', async () => {
    const server = createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      facilitatorUrl: garbage.url,
    });
    const admission = await server.admit(request());
    assert.equal(admission.action === 'reply' && admission.reply.status, 502);
    assert.equal(
      admission.action === 'reply' && JSON.parse(admission.reply.body).error,
      'facilitator_bad_response',
    );
  });

  test('a timeout is facilitator_unreachable with timedOut', async () => {
    const client = createFacilitatorClient({ url: slow.url, timeoutMs: 50 });
    await assert.rejects(Promise.resolve(client.supported()), {
      reason: 'facilitator_unreachable',
      timedOut: true,
    });
  });

  test('without a fetch option the client talks over node http: the global fetch is never called', async () => {
    const supported = await fakeFacilitatorService(() => ({
      status: 200,
      body: '{"kinds":[{"x402Version":2,"scheme":"exact","network":"stacks:2147483648"}]}',
    }));
    const globalFetch = globalThis.fetch;
    let globalCalls = 0;
    globalThis.fetch = (async (...args: Parameters<typeof fetch>) => {
      globalCalls += 1;
      return globalFetch(...args);
    }) as typeof fetch;
    try {
      const answer = await createFacilitatorClient({ url: supported.url }).supported();
      assert.equal(answer.kinds[0]?.network, 'stacks:2147483648');
      assert.equal(globalCalls, 0);
    } finally {
      globalThis.fetch = globalFetch;
      supported.server.close();
    }
  });

  test('a redirect is not followed: the API key never reaches the other host', async () => {
    let reachedWithKey = 0;
    const elsewhere = await fakeFacilitatorService(() => {
      reachedWithKey += 1;
      return { status: 200, body: '{"kinds":[]}' };
    });
    const redirecting = createServer((_req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/supported` }).end();
    });
    redirecting.listen(0, '127.0.0.1');
    await once(redirecting, 'listening');
    const url = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`;
    try {
      for (const options of [{}, { fetch: globalThis.fetch }]) {
        const client = createFacilitatorClient({ url, apiKey: 'the-api-key-123', ...options });
        await assert.rejects(Promise.resolve(client.supported()), {
          reason: 'facilitator_bad_response',
          status: 302,
        });
      }
      assert.equal(reachedWithKey, 0);
    } finally {
      redirecting.close();
      elsewhere.server.close();
    }
  });

  test('credentials in the URL and the API key never appear in errors', async () => {
    const client = createFacilitatorClient({
      url: 'http://alice:s3cret-pass@127.0.0.1:9/?api_key=k3y-in-url',
      apiKey: 'the-api-key-123',
    });
    await assert.rejects(Promise.resolve(client.supported()), (error: unknown) => {
      assert.ok(error instanceof FacilitatorRequestError);
      assert.equal(error.reason, 'facilitator_unreachable');
      assert.equal(error.timedOut, false);
      const shown = `${error.message} ${error.details ?? ''}`;
      for (const secret of ['s3cret-pass', 'k3y-in-url', 'the-api-key-123']) {
        assert.ok(!shown.includes(secret), `${secret} leaked: ${shown}`);
      }
      return true;
    });
  });

  test('the API key is sent as a bearer token; a non-hex txid is never requested', async () => {
    let seen: string | undefined;
    const paths: string[] = [];
    const server = createServer((req, res) => {
      seen = req.headers.authorization;
      paths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kinds":[]}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = createFacilitatorClient({ url, apiKey: 'key-1' });
    assert.deepEqual(await client.supported(), { kinds: [], extensions: [], signers: {} });
    assert.equal(seen, 'Bearer key-1');
    assert.equal(await client.status('../verify'), undefined);
    assert.deepEqual(paths, ['/supported']);
    server.close();
  });
});

describe('a facilitator that answers a refusal with a 4xx: the refusal, a 402 with its reason', () => {
  const refusedSettle = JSON.stringify({
    success: false,
    errorReason: 'duplicate_settlement',
    errorMessage: 'this transaction was already settled',
    transaction: 'ab'.repeat(32),
    network: 'stacks:2147483648',
    payer: SELLER,
  });
  const refusedVerify = JSON.stringify({
    isValid: false,
    invalidReason: 'insufficient_funds',
    payer: SELLER,
  });
  const services: Server[] = [];
  const serviceAnswering = async (answer: (path: string) => { status: number; body: string }) => {
    const service = await fakeFacilitatorService(answer);
    services.push(service.server);
    return service.url;
  };
  after(() => {
    for (const server of services) server.close();
  });
  const routeOn = (facilitatorUrl: string, settle: 'before-handler' | 'after-handler') =>
    createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      facilitatorUrl,
      sponsored: false,
      settle,
    });

  test('settle answers 400 duplicate_settlement: 402 duplicate_settlement, on the core and through Express', async () => {
    const url = await serviceAnswering(() => ({ status: 400, body: refusedSettle }));
    const admission = await routeOn(url, 'before-handler').admit(request(paid(entry)));
    assert.equal(admission.action, 'reply');
    if (admission.action !== 'reply') return;
    assert.equal(admission.reply.status, 402, admission.reply.body);
    assert.equal(JSON.parse(admission.reply.body).error, 'duplicate_settlement');

    let handled = 0;
    const app = express();
    app.get(
      '/data',
      expressPaymentMiddleware({
        amount: '1000',
        payTo: SELLER,
        network: 'testnet',
        facilitatorUrl: url,
        sponsored: false,
      }),
      (_req, res) => {
        handled++;
        res.json({ content: 'secret' });
      },
    );
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const response = await fetch(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/data`,
        { headers: paid(entry) },
      );
      const text = await response.text();
      assert.equal(response.status, 402, text);
      assert.equal(JSON.parse(text).error, 'duplicate_settlement');
      assert.ok(response.headers.get('payment-required'));
      assert.equal(handled, 0);
    } finally {
      server.close();
    }
  });

  test('verify answers 422 with a refusal: 402 with its reason, nothing settled', async () => {
    const paths: string[] = [];
    const url = await serviceAnswering((path) => {
      paths.push(path);
      return path === '/verify'
        ? { status: 422, body: refusedVerify }
        : { status: 200, body: refusedSettle };
    });
    const admission = await routeOn(url, 'after-handler').admit(request(paid(entry)));
    assert.equal(admission.action === 'reply' && admission.reply.status, 402);
    assert.equal(
      admission.action === 'reply' && JSON.parse(admission.reply.body).error,
      'insufficient_funds',
    );
    assert.deepEqual(paths, ['/verify']);
  });

  test('a 5xx with a refusal body, a 4xx with another body, or a 4xx claiming success: still 502', async () => {
    const accepted = JSON.stringify({
      success: true,
      transaction: 'ab'.repeat(32),
      network: 'stacks:2147483648',
    });
    for (const answer of [
      { status: 500, body: refusedSettle },
      { status: 400, body: '{"error":"bad_request"}' },
      { status: 400, body: 'not json' },
      { status: 409, body: accepted },
    ]) {
      const url = await serviceAnswering(() => answer);
      const admission = await routeOn(url, 'before-handler').admit(request(paid(entry)));
      assert.equal(admission.action === 'reply' && admission.reply.status, 502, answer.body);
      assert.equal(
        admission.action === 'reply' && JSON.parse(admission.reply.body).error,
        'facilitator_bad_response',
      );
    }
  });
});

describe('OPTIONS is priced like every method; only a real CORS preflight is answered, with 204', () => {
  const options = {
    amount: '1000',
    payTo: SELLER,
    network: 'testnet',
    facilitator: scripted({}),
    sponsored: false,
  } as const;
  const preflight = {
    origin: 'https://buyer.example',
    'access-control-request-method': 'GET',
  };
  // A CORS middleware as an app mounts it: it answers preflights itself, and adds its headers to the rest.
  const expressCors = (req: express.Request, res: express.Response, next: () => void) => {
    res.setHeader('access-control-allow-origin', '*');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.setHeader('access-control-allow-methods', 'GET, POST');
      res.setHeader('access-control-allow-headers', 'payment-signature');
      res.statusCode = 204;
      res.end();
      return;
    }
    next();
  };

  for (const [name, createApp] of [
    ['express 5', express],
    ['express 4', express4],
  ] as const) {
    test(`${name}: app.use('/premium', paymentMiddleware) with app.all('/premium/report')`, async () => {
      let handled = 0;
      const start = async (withCors: boolean) => {
        const app = createApp();
        if (withCors) app.use(expressCors);
        app.use('/premium', expressPaymentMiddleware(options));
        app.all('/premium/report', (_req, res) => {
          handled++;
          res.json({ content: 'secret' });
        });
        const server = app.listen(0, '127.0.0.1');
        await once(server, 'listening');
        return {
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/premium/report`,
          server,
        };
      };
      const plain = await start(false);
      const cors = await start(true);
      try {
        const unpaid = await fetch(plain.url, { method: 'OPTIONS' });
        const unpaidText = await unpaid.text();
        assert.equal(unpaid.status, 402, unpaidText);
        assert.equal(JSON.parse(unpaidText).error, 'payment_required');
        assert.ok(unpaid.headers.get('payment-required'));
        const answered = await fetch(plain.url, { method: 'OPTIONS', headers: preflight });
        assert.equal(answered.status, 204);
        assert.equal(await answered.text(), '');
        const viaCors = await fetch(cors.url, { method: 'OPTIONS', headers: preflight });
        assert.equal(viaCors.status, 204);
        assert.equal(await viaCors.text(), '');
        assert.equal(viaCors.headers.get('access-control-allow-origin'), '*');
        assert.equal(viaCors.headers.get('access-control-allow-methods'), 'GET, POST');
        const corsUnpaid = await fetch(cors.url, { method: 'OPTIONS' });
        assert.equal(corsUnpaid.status, 402);
        assert.equal(corsUnpaid.headers.get('access-control-allow-origin'), '*');
        assert.equal((await fetch(plain.url, { method: 'POST' })).status, 402);
        assert.equal(handled, 0, 'the handler never ran');
      } finally {
        plain.server.close();
        cors.server.close();
      }
    });
  }

  test("hono 4: app.use('/premium/*', paymentMiddleware) with app.all('/premium/report')", async () => {
    let handled = 0;
    const start = (withCors: boolean) => {
      const app = new Hono();
      if (withCors) {
        app.use(
          '*',
          cors({
            origin: '*',
            allowMethods: ['GET', 'POST'],
            allowHeaders: ['payment-signature'],
          }),
        );
      }
      app.use('/premium/*', honoPaymentMiddleware(options));
      app.all('/premium/report', (c) => {
        handled++;
        return c.json({ content: 'secret' });
      });
      return app;
    };
    const plain = start(false);
    const withCors = start(true);
    const unpaid = await plain.request('/premium/report', { method: 'OPTIONS' });
    const unpaidText = await unpaid.text();
    assert.equal(unpaid.status, 402, unpaidText);
    assert.equal(JSON.parse(unpaidText).error, 'payment_required');
    assert.ok(unpaid.headers.get('payment-required'));
    const answered = await plain.request('/premium/report', {
      method: 'OPTIONS',
      headers: preflight,
    });
    assert.equal(answered.status, 204);
    assert.equal(await answered.text(), '');
    const viaCors = await withCors.request('/premium/report', {
      method: 'OPTIONS',
      headers: preflight,
    });
    assert.equal(viaCors.status, 204);
    assert.equal(await viaCors.text(), '');
    assert.equal(viaCors.headers.get('access-control-allow-origin'), '*');
    assert.match(viaCors.headers.get('access-control-allow-methods') ?? '', /POST/);
    // hono/cors answers every OPTIONS itself; the rest reaches the payment middleware with its headers.
    const corsUnpaid = await withCors.request('/premium/report', {
      method: 'POST',
      headers: { origin: 'https://buyer.example' },
    });
    assert.equal(corsUnpaid.status, 402);
    assert.equal(corsUnpaid.headers.get('access-control-allow-origin'), '*');
    assert.equal((await plain.request('/premium/report', { method: 'POST' })).status, 402);
    assert.equal(handled, 0, 'the handler never ran');
  });
});

describe('framework boundaries', () => {
  test('only express/ names express and only hono/ names hono, both as types: no runtime import of either', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const root = new URL('../src/server/', import.meta.url);
    const files = (await readdir(root, { recursive: true })).filter((file) => file.endsWith('.ts'));
    assert.ok(files.length > 5);
    for (const file of files) {
      const source = await readFile(new URL(file, root), 'utf8');
      for (const framework of ['express', 'hono']) {
        const imports = [
          ...source.matchAll(
            new RegExp(`^import (type )?[^;]*from '${framework}(/[^']*)?';`, 'gm'),
          ),
        ];
        if (!file.startsWith(`${framework}/`))
          assert.equal(imports.length, 0, `${file} imports ${framework}`);
        for (const found of imports)
          assert.ok(found[1], `${file}: a runtime import of ${framework}`);
      }
    }
  });
});
