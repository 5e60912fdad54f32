/**
 * The seller's scenario table, run against Express 5, Express 4 and Hono 4: real payments signed with the library,
 * a real facilitator service over HTTP, and the devnet (mining on every broadcast) whose balances say what moved.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodePaymentResponse, decodeXPaymentResponse, type PaymentRequired } from 'x402-stacks';
import { SettlementPendingError } from 'x402-stacks/client';
import { wrapFetchWithPayment } from 'x402-stacks/fetch';
import { decodePaymentRequiredHeader } from 'x402-stacks/protocol';
import {
  FRAMEWORKS,
  type Framework,
  type PaidBody,
  paymentHeaders,
  type RouteSpec,
  SBTC,
  type Stack,
  startSeller,
  startStack,
} from './server-setup.js';

type Answer = { status: number; headers: Headers; body: unknown; text: string };

async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** The query's `rows`, from Express's req or Hono's c: the pricing function sees the framework's own request. */
function rowsOf(request: unknown): bigint {
  const url =
    (request as { originalUrl?: string }).originalUrl ??
    (request as { req: { url: string } }).req.url;
  return BigInt(new URL(url, 'http://x').searchParams.get('rows') ?? '1');
}

/** Payers the `/validated` route's paymentValidator refuses. */
const refusedPayers = new Set<string>();

function routesFor(stack: Stack, framework: Framework): RouteSpec[] {
  const common = {
    payTo: stack.seller,
    network: 'testnet',
    facilitatorUrl: stack.facilitatorUrl,
    sponsored: false,
  } as const;
  const routes: RouteSpec[] = [
    {
      path: '/stx',
      options: {
        ...common,
        amount: '1000',
        description: 'Premium data',
        mimeType: 'application/json',
        name: 'Scenario API',
        outputSchema: { input: { type: 'http', method: 'GET' }, output: { content: 'string' } },
      },
    },
    { path: '/sbtc', options: { ...common, amount: { amount: 25n, asset: 'sBTC' } } },
    {
      path: '/in-process',
      options: { ...common, facilitatorUrl: undefined, facilitator: stack.engine, amount: '1200' },
    },
    {
      path: '/sponsored',
      options: { ...common, network: 'stacks:2147483648', sponsored: true, amount: 2000n },
    },
    { path: '/after', options: { ...common, amount: '1500', settle: 'after-handler' } },
    {
      path: '/after-throws',
      options: { ...common, amount: '1500', settle: 'after-handler' },
      handler: 'throws',
    },
    {
      path: '/validated',
      options: {
        ...common,
        amount: '1100',
        paymentValidator: async (payment: { payer: string }) => !refusedPayers.has(payment.payer),
      },
    },
    { path: '/down', options: { ...common, facilitatorUrl: stack.deadUrl, amount: '1000' } },
    {
      path: '/down-sponsored',
      options: { ...common, facilitatorUrl: stack.deadUrl, sponsored: true, amount: '1000' },
    },
    {
      path: '/pending',
      options: { ...common, amount: '1000', settlementPending: { attempts: 2, intervalMs: 20 } },
    },
    {
      path: '/dynamic',
      options: { ...common, amount: async (request: unknown) => rowsOf(request) * 100n },
    },
    {
      path: '/multi',
      options: {
        ...common,
        amount: [
          { amount: '1000', asset: 'STX' },
          { amount: '30', asset: 'sBTC' },
        ],
      },
    },
  ];
  if (framework !== 'hono 4') {
    const { payTo, ...rest } = common;
    routes.push({
      path: '/v1-alias',
      v1Alias: true,
      options: { ...rest, address: payTo, amount: '1000' },
    });
  }
  return routes;
}

const SBTC_CONTRACT = SBTC.split('::')[0];

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(() => stack.stop());

for (const framework of FRAMEWORKS) {
  describe(`paymentMiddleware on ${framework}`, () => {
    let base: string;
    let stop: () => Promise<void>;
    before(async () => {
      ({ url: base, stop } = await startSeller(framework, routesFor(stack, framework)));
    });
    after(() => stop());

    const stx = (address: string) => stack.devnet.chain.state.stx(address);
    const sbtc = (address: string) => stack.devnet.chain.state.token(SBTC, address);
    async function challenge(path: string): Promise<PaymentRequired> {
      const answer = await get(`${base}${path}`);
      assert.equal(answer.status, 402, answer.text);
      return decodePaymentRequiredHeader(answer.headers.get('payment-required')!);
    }

    test('unpaid: 402 with the payment-required header and the same JSON body, never cached, headers exposed', async () => {
      const answer = await get(`${base}/stx?q=1`);
      assert.equal(answer.status, 402);
      const header = answer.headers.get('payment-required')!;
      const decoded = decodePaymentRequiredHeader(header);
      assert.deepEqual(answer.body, decoded);
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.equal(
        answer.headers.get('access-control-expose-headers'),
        'x-request-id, payment-required, payment-response, x-payment-response',
        'added to what an earlier middleware exposes',
      );
      assert.deepEqual(decoded.accepts, [
        {
          scheme: 'exact',
          network: 'stacks:2147483648',
          amount: '1000',
          asset: 'STX',
          payTo: stack.seller,
          maxTimeoutSeconds: 300,
          // Settled before the handler: x402 v2 §6.1 says a flow other than `authorization` MUST be named.
          extra: { paymentFlow: 'upfront' },
        },
      ]);
      assert.deepEqual(decoded.resource, {
        url: `${base}/stx`,
        description: 'Premium data',
        mimeType: 'application/json',
        serviceName: 'Scenario API',
      });
      const body = answer.body as Record<string, unknown>;
      assert.equal(body.name, 'Scenario API');
      assert.deepEqual(body.outputSchema, {
        input: { type: 'http', method: 'GET' },
        output: { content: 'string' },
      });
    });

    test('STX before-handler: settled, then served with payment-response; getPayment gives the payment', async () => {
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/stx')).accepts;
      const sellerBefore = stx(stack.seller);
      const { headers, txid } = await paymentHeaders(payer, entry!);
      const answer = await get(`${base}/stx`, headers);
      assert.equal(answer.status, 200, answer.text);
      const receipt = decodePaymentResponse(answer.headers.get('payment-response'));
      assert.deepEqual(receipt, {
        success: true,
        transaction: txid,
        network: 'stacks:2147483648',
        payer: payer.address,
      });
      assert.equal(stack.devnet.chain.transaction(txid)?.status, 'success');
      assert.equal(stx(stack.seller), sellerBefore + 1000n);
      assert.equal(answer.headers.get('cache-control'), 'private');
      const { payment } = answer.body as PaidBody;
      assert.deepEqual(
        {
          transaction: payment?.transaction,
          payer: payment?.payer,
          network: payment?.network,
          amount: payment?.amount,
          asset: payment?.asset,
          settled: payment?.settled,
        },
        {
          transaction: txid,
          payer: payer.address,
          network: 'stacks:2147483648',
          amount: '1000',
          asset: 'STX',
          settled: true,
        },
      );
    });

    test('a replayed payment-signature: 402 with the reason, and the money moved once', async () => {
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/stx')).accepts;
      const { headers } = await paymentHeaders(payer, entry!);
      const sellerBefore = stx(stack.seller);
      const payerBefore = stx(payer.address);
      assert.equal((await get(`${base}/stx`, headers)).status, 200);
      const replay = await get(`${base}/stx`, headers);
      assert.equal(replay.status, 402);
      assert.equal((replay.body as { error: string }).error, 'duplicate_settlement');
      assert.doesNotMatch(replay.text, /secret/);
      assert.equal(stx(stack.seller), sellerBefore + 1000n);
      assert.equal(stx(payer.address), payerBefore - 1000n - 400n);
    });

    test('sBTC: the token moves, not STX', async () => {
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/sbtc')).accepts;
      // Offered by its contract id, a spelling every client reads as sBTC.
      assert.equal(entry!.asset, SBTC_CONTRACT);
      assert.equal(entry!.amount, '25');
      const before = sbtc(stack.seller);
      const answer = await get(`${base}/sbtc`, (await paymentHeaders(payer, entry!)).headers);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(sbtc(stack.seller), before + 25n);
    });

    test('an in-process engine as the facilitator: the same payment flow without HTTP', async () => {
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/in-process')).accepts;
      const before = stx(stack.seller);
      const { headers, txid } = await paymentHeaders(payer, entry!);
      const answer = await get(`${base}/in-process`, headers);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(
        decodePaymentResponse(answer.headers.get('payment-response'))?.transaction,
        txid,
      );
      assert.equal(stx(stack.seller), before + 1200n);
    });

    test('sponsored: the sponsor from /supported is offered in extra; the buyer pays no fee', async () => {
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/sponsored')).accepts;
      assert.deepEqual(entry!.extra, {
        paymentFlow: 'upfront',
        sponsor: stack.sponsor,
        feePayer: stack.sponsor,
        // No maxNonceAhead: a sponsoring facilitator leaves it out, as its sponsored payments go out a block apart.
      });
      const payerBefore = stx(payer.address);
      const answer = await get(`${base}/sponsored`, (await paymentHeaders(payer, entry!)).headers);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(stx(payer.address), payerBefore - 2000n, 'exactly the price, no fee');
      const receipt = decodePaymentResponse(answer.headers.get('payment-response'))!;
      assert.equal(stack.devnet.chain.transaction(receipt.transaction)?.status, 'success');
    });

    test('after-handler: verified, handled, then settled and sent with payment-response', async () => {
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/after')).accepts;
      // The authorization flow, the spec's default, is not written.
      assert.equal(entry!.extra?.paymentFlow, undefined);
      const before = stx(stack.seller);
      const { headers, txid } = await paymentHeaders(payer, entry!);
      const answer = await get(`${base}/after`, headers);
      assert.equal(answer.status, 200, answer.text);
      assert.equal((answer.body as PaidBody).content, 'secret');
      assert.equal(
        (answer.body as PaidBody).payment?.settled,
        false,
        'the handler ran before the settlement',
      );
      assert.equal((answer.body as PaidBody).payment?.transaction, txid);
      assert.equal(
        decodePaymentResponse(answer.headers.get('payment-response'))?.transaction,
        txid,
      );
      assert.equal(stx(stack.seller), before + 1500n);
    });

    test('after-handler, one payment sent twice at once: both verify, one settles; the other gets a 402, not the content', async () => {
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/after')).accepts;
      const sellerBefore = stx(stack.seller);
      const { headers } = await paymentHeaders(payer, entry!);
      const answers = await Promise.all([
        get(`${base}/after`, headers),
        get(`${base}/after`, headers),
      ]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [200, 402]);
      const refused = answers.find((a) => a.status === 402)!;
      assert.doesNotMatch(refused.text, /secret/);
      assert.equal(
        refused.headers.get('x-handler'),
        null,
        "the handler's headers went with its body",
      );
      assert.ok(
        [
          'payment_in_progress',
          'duplicate_settlement',
          'invalid_exact_stacks_payload_txid_reused',
        ].includes((refused.body as { error: string }).error),
        refused.text,
      );
      assert.match(refused.headers.get('access-control-expose-headers')!, /^x-request-id, /);
      assert.equal(answers.find((a) => a.status === 200)!.headers.get('x-handler'), 'ran');
      assert.equal(stx(stack.seller), sellerBefore + 1500n, 'charged once');
    });

    test('after-handler with a handler that throws: its error is sent, nothing is charged or broadcast', async () => {
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/after-throws')).accepts;
      const payerBefore = stx(payer.address);
      const { headers, txid } = await paymentHeaders(payer, entry!);
      const answer = await get(`${base}/after-throws`, headers);
      assert.equal(answer.status, 500);
      assert.equal(answer.headers.get('payment-response'), null);
      assert.equal(stx(payer.address), payerBefore);
      assert.equal(stack.devnet.chain.transaction(txid), undefined, 'never broadcast');
      assert.equal(await stack.engine.status(txid), undefined, 'never claimed');
    });

    test('the facilitator is down: the static 402 still answers; a payment gets 502 and is not charged', async () => {
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/down')).accepts;
      const payerBefore = stx(payer.address);
      const answer = await get(`${base}/down`, (await paymentHeaders(payer, entry!)).headers);
      assert.equal(answer.status, 502);
      assert.equal((answer.body as { error: string }).error, 'facilitator_unreachable');
      assert.equal(stx(payer.address), payerBefore);
      const sponsored = await get(`${base}/down-sponsored`);
      assert.equal(sponsored.status, 502, 'a sponsored offer needs /supported');
      assert.equal((sponsored.body as { error: string }).error, 'facilitator_unreachable');
    });

    test('tampered headers: 400 for a malformed header, 402 with a reason for a payment that does not fit', async () => {
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/stx')).accepts;
      const sellerBefore = stx(stack.seller);
      const payerBefore = stx(payer.address);
      const other = stack.devnet.accounts[1]!.address;
      const cases: [string, Promise<Record<string, string>>, number, string][] = [
        [
          'not base64',
          Promise.resolve({ 'payment-signature': 'not base64!' }),
          400,
          'invalid_header_encoding',
        ],
        [
          'base64 of no JSON',
          Promise.resolve({ 'payment-signature': Buffer.from('{nope').toString('base64') }),
          400,
          'invalid_header_json',
        ],
        [
          'JSON of no payment',
          Promise.resolve({
            'payment-signature': Buffer.from('{"x402Version":3}').toString('base64'),
          }),
          400,
          'invalid_header_schema',
        ],
        [
          'accepted names another amount',
          paymentHeaders(payer, entry!, { accepted: { ...entry!, amount: '1' } }).then(
            (p) => p.headers,
          ),
          402,
          'accepted_requirements_mismatch',
        ],
        [
          'accepted names another payTo',
          paymentHeaders(payer, entry!, { accepted: { ...entry!, payTo: other } }).then(
            (p) => p.headers,
          ),
          402,
          'accepted_requirements_mismatch',
        ],
        [
          'accepted names another asset',
          paymentHeaders(payer, entry!, { accepted: { ...entry!, asset: 'sBTC' } }).then(
            (p) => p.headers,
          ),
          402,
          'accepted_requirements_mismatch',
        ],
        [
          'the transaction pays less than accepted claims',
          paymentHeaders(payer, entry!, { sign: { amount: '999' } }).then((p) => p.headers),
          402,
          'invalid_exact_stacks_payload_amount_mismatch',
        ],
        [
          'the transaction pays another payTo',
          paymentHeaders(payer, entry!, { sign: { payTo: other } }).then((p) => p.headers),
          402,
          'invalid_exact_stacks_payload_recipient_mismatch',
        ],
      ];
      for (const [name, headers, status, reason] of cases) {
        const answer = await get(`${base}/stx`, await headers);
        assert.equal(answer.status, status, `${name}: ${answer.text}`);
        assert.equal((answer.body as { error: string }).error, reason, name);
        assert.doesNotMatch(answer.text, /secret/, name);
        if (status === 402)
          assert.ok(answer.headers.get('payment-required'), `${name}: a fresh challenge`);
      }
      assert.equal(stx(stack.seller), sellerBefore);
      assert.equal(stx(payer.address), payerBefore);
    });

    test('settlement_pending: 402 with the txid in payment-response, never served; the outcome arrives later', async () => {
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/pending')).accepts;
      const { headers, txid } = await paymentHeaders(payer, entry!);
      stack.devnet.chain.stall(true);
      let answer: Answer;
      try {
        answer = await get(`${base}/pending`, headers);
      } finally {
        stack.devnet.chain.stall(false);
      }
      assert.equal(answer.status, 402, answer.text);
      assert.doesNotMatch(answer.text, /secret/);
      assert.equal((answer.body as { error: string }).error, 'settlement_pending');
      assert.match((answer.body as { message: string }).message, new RegExp(txid));
      const receipt = decodePaymentResponse(answer.headers.get('payment-response'));
      assert.equal(receipt?.success, false);
      assert.equal(receipt?.errorReason, 'settlement_pending');
      assert.equal(receipt?.transaction, txid);
      stack.devnet.mine();
      await stack.engine.idle();
      assert.equal((await stack.engine.status(txid))?.state, 'success');
    });

    test('a v1 client (X-PAYMENT) against the v2 middleware: served, with payment-response and X-PAYMENT-RESPONSE', async () => {
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/stx')).accepts;
      const { headers, txid } = await paymentHeaders(payer, entry!, { v1: true });
      const answer = await get(`${base}/stx`, headers);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(
        decodePaymentResponse(answer.headers.get('payment-response'))?.transaction,
        txid,
      );
      const v1 = decodeXPaymentResponse(answer.headers.get('x-payment-response'));
      assert.equal(v1?.txId, txid);
      assert.equal(v1?.amount, '1000');
      assert.equal(v1?.sender, payer.address);
      assert.equal((answer.body as PaidBody).payment?.x402Version, 1);
    });

    if (framework !== 'hono 4') {
      test('a v2 client against the v1 alias x402PaymentRequired({ address }): a v2 challenge, paid and served', async () => {
        const payer = stack.freshPayer();
        const [entry] = (await challenge('/v1-alias')).accepts;
        assert.equal(entry!.payTo, stack.seller);
        const before = stx(stack.seller);
        const answer = await get(`${base}/v1-alias`, (await paymentHeaders(payer, entry!)).headers);
        assert.equal(answer.status, 200, answer.text);
        assert.ok(answer.headers.get('payment-response'));
        assert.equal(stx(stack.seller), before + 1000n);
      });
    }

    test('dynamic pricing: the function of the request prices the 402 and the payment alike', async () => {
      assert.equal((await challenge('/dynamic?rows=3')).accepts[0]!.amount, '300');
      assert.equal((await challenge('/dynamic?rows=7')).accepts[0]!.amount, '700');
      const payer = stack.freshPayer();
      const [entry] = (await challenge('/dynamic?rows=3')).accepts;
      const { headers } = await paymentHeaders(payer, entry!);
      const cheaper = await get(`${base}/dynamic?rows=7`, headers);
      assert.equal(cheaper.status, 402, 'a 3-row payment does not buy 7 rows');
      assert.equal((cheaper.body as { error: string }).error, 'accepted_requirements_mismatch');
      const before = stx(stack.seller);
      const answer = await get(`${base}/dynamic?rows=3`, headers);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(stx(stack.seller), before + 300n);
    });

    test("the library's own buyer (wrapFetchWithPayment) pays STX, sponsored and after-handler routes", async () => {
      const payer = stack.freshPayer();
      const pay = wrapFetchWithPayment(fetch, payer.account, { apiUrl: stack.devnet.url });
      const before = stx(stack.seller);
      for (const path of ['/stx', '/sponsored', '/after']) {
        const response = await pay(`${base}${path}`);
        assert.equal(response.status, 200, path);
        assert.equal(((await response.json()) as PaidBody).content, 'secret', path);
        assert.equal(
          decodePaymentResponse(response.headers.get('payment-response'))?.payer,
          payer.address,
        );
      }
      assert.equal(stx(stack.seller), before + 1000n + 2000n + 1500n);
    });

    test("the library's buyer reads our settlement_pending 402 as SettlementPendingError with the txid", async () => {
      const payer = stack.freshPayer();
      const pay = wrapFetchWithPayment(fetch, payer.account, { apiUrl: stack.devnet.url });
      stack.devnet.chain.stall(true);
      try {
        await assert.rejects(pay(`${base}/pending`), (error: unknown) => {
          assert.ok(error instanceof SettlementPendingError);
          assert.match(error.txid, /^[0-9a-f]{64}$/);
          return true;
        });
      } finally {
        stack.devnet.chain.stall(false);
      }
      stack.devnet.mine();
      await stack.engine.idle();
    });

    test('paymentValidator: a refused payer gets 402 payment_refused and pays nothing; another is served', async () => {
      const refused = stack.freshPayer();
      const allowed = stack.freshPayer();
      refusedPayers.add(refused.address);
      const [entry] = (await challenge('/validated')).accepts;
      const before = stx(refused.address);
      const no = await get(`${base}/validated`, (await paymentHeaders(refused, entry!)).headers);
      assert.equal(no.status, 402);
      assert.equal((no.body as { error: string }).error, 'payment_refused');
      assert.equal(stx(refused.address), before);
      const yes = await get(`${base}/validated`, (await paymentHeaders(allowed, entry!)).headers);
      assert.equal(yes.status, 200, yes.text);
    });

    test('several assets: one accepts[] entry each; paying the sBTC one moves sBTC', async () => {
      const { accepts } = await challenge('/multi');
      assert.deepEqual(
        accepts.map((entry) => [entry.asset, entry.amount]),
        [
          ['STX', '1000'],
          [SBTC_CONTRACT, '30'],
        ],
      );
      const payer = stack.freshPayer();
      const before = sbtc(stack.seller);
      const answer = await get(`${base}/multi`, (await paymentHeaders(payer, accepts[1]!)).headers);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(sbtc(stack.seller), before + 30n);
      assert.equal((answer.body as PaidBody).payment?.asset, SBTC_CONTRACT);
    });
  });
}
