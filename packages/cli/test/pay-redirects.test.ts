/**
 * `x402-stacks pay` against hostile servers on loopback, beside the buyer test stack (devnet, the real facilitator
 * over HTTP, a seller): the redirect attacks of issue 15 exactly as reported, and answers that serve without
 * confirming a settlement. Each ends non-zero with a named reason; nothing is paid to a site nobody typed, and the
 * payment header never reaches another origin.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { encodePaymentRequiredHeader, encodePaymentResponseHeader } from 'x402-stacks/protocol';
import {
  requirement,
  type Stack,
  startStack,
  startTestServer,
  type TestServer,
} from '../../../e2e/clients/client-stack.js';
import { runPay } from '../src/pay.js';
import { capture } from './capture.js';

const paid = (request: IncomingMessage) =>
  typeof request.headers['payment-signature'] === 'string' ||
  typeof request.headers['x-payment'] === 'string';

describe('x402-stacks pay: redirects and unconfirmed settlements', () => {
  let stack: Stack;
  const servers: TestServer[] = [];
  before(async () => {
    stack = await startStack();
    // The other origin's offer: 0.9 STX, for a resource the buyer never asked for.
    stack.route('/expensive', { accepts: [requirement({ payTo: stack.payTo, amount: '900000' })] });
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await stack.stop();
  });

  async function server(handle: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
    const started = await startTestServer(handle);
    servers.push(started);
    return started;
  }

  /** A 402 whose offer is the stack's payTo, so the buyer can sign it against the devnet. */
  function challenge(url: string, amount = '1000') {
    return encodePaymentRequiredHeader({
      x402Version: 2,
      resource: { url },
      accepts: [requirement({ payTo: stack.payTo, amount })],
    });
  }

  function buyerEnv() {
    const buyer = stack.buyer();
    return {
      buyer,
      env: { STACKS_PRIVATE_KEY: buyer.privateKey, STACKS_API_URL: stack.devnet.url },
    };
  }

  test('a URL that 302s to another origin’s 402 (0.9 STX) is refused: nothing signed, nothing sent there', async () => {
    const hostile = await server((_request, response) => {
      response.writeHead(302, { location: `${stack.sellerUrl}/expensive` }).end();
    });
    const { buyer, env } = buyerEnv();
    const before = { stx: stack.stx(buyer.address), hits: stack.hits('/expensive') };
    const out = capture();
    assert.equal(await runPay([`${hostile.url}/article`], out.io, env), 1);
    assert.match(
      out.stderr(),
      /redirects \(302\) to another origin, http:\/\/127\.0\.0\.1:\d+\/?; nothing was paid.*\(cross_origin_redirect\)/s,
    );
    assert.doesNotMatch(out.stderr(), /Signed|Paying|Paid/);
    // The other origin was never even asked, let alone paid, and the buyer's account is untouched.
    assert.deepEqual(stack.hits('/expensive'), before.hits);
    assert.equal(stack.stx(buyer.address), before.stx);
    assert.equal(stack.devnet.chain.nonces(buyer.address).possibleNext, 0n);
  });

  test('a 307 on the paid request is not followed: the header never reaches the other origin; exit 1, paid_request_redirected', async () => {
    const capturer = await server((_request, response) => {
      // The attacker's origin: it would replay a captured header at the seller. It must never see one.
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"data":"free"}');
    });
    const hostile = await server((request, response) => {
      if (!paid(request)) {
        response.writeHead(402, { 'payment-required': challenge(`${hostile.url}/article`) }).end();
        return;
      }
      response.writeHead(307, { location: `${capturer.url}/steal` }).end();
    });
    const { env } = buyerEnv();
    const out = capture();
    assert.equal(await runPay([`${hostile.url}/article`], out.io, env), 1);
    assert.equal(capturer.requests.length, 0, 'nothing at all reached the other origin');
    assert.equal(hostile.requests.filter((headers) => headers['payment-signature']).length, 1);
    const said = out.stderr();
    assert.match(said, /Settling: GET http:\/\/127\.0\.0\.1:\d+\/article with payment-signature/);
    assert.match(said, /HTTP 307/);
    assert.match(
      said,
      /the paid request was answered 307 .*the redirect was not followed.*holds a signed payment \(txid [0-9a-f]{64}\).*\(paid_request_redirected\)/s,
    );
    assert.doesNotMatch(said, /Paid /);
  });

  test('a same-origin redirect is followed unpaid; a 200 without a payment-response is settlement_unconfirmed, exit 1', async () => {
    const hostile = await server((request, response) => {
      if (request.url === '/old') {
        response.writeHead(302, { location: '/paid' }).end();
      } else if (!paid(request)) {
        response.writeHead(402, { 'payment-required': challenge(`${hostile.url}/paid`) }).end();
      } else {
        // Served, but with no receipt: no settlement was confirmed, whatever the status says.
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"data":"maybe"}');
      }
    });
    const { env } = buyerEnv();
    const out = capture();
    assert.equal(await runPay([`${hostile.url}/old`], out.io, env), 1);
    const said = out.stderr();
    assert.match(said, /Redirected \(302\) within the origin, unpaid: \S+\/old -> \S+\/paid/);
    assert.match(said, /Settling: GET http:\/\/127\.0\.0\.1:\d+\/paid with payment-signature/);
    assert.match(
      said,
      /answered 200 without a payment-response confirming settlement.*\(settlement_unconfirmed\)/s,
    );
    assert.equal(out.stdout(), '{"data":"maybe"}', 'the body is still shown, as curl would');
    // Only the typed URL's origin was asked: the unpaid request twice (/old, /paid), the paid one once.
    assert.deepEqual(
      hostile.requests.map((headers) => Boolean(headers['payment-signature'])),
      [false, false, true],
    );
  });

  test('a payment-response saying settlement_pending exits 1 with the txid and where to look it up', async () => {
    const txid = 'ab'.repeat(32);
    const hostile = await server((request, response) => {
      if (!paid(request)) {
        response.writeHead(402, { 'payment-required': challenge(`${hostile.url}/x`) }).end();
        return;
      }
      const receipt = encodePaymentResponseHeader({
        success: false,
        errorReason: 'settlement_pending',
        transaction: txid,
        network: 'stacks:2147483648',
      });
      response.writeHead(402, { 'payment-response': receipt }).end();
    });
    const { env } = buyerEnv();
    const out = capture();
    assert.equal(await runPay([`${hostile.url}/x`], out.io, env), 1);
    assert.match(out.stderr(), new RegExp(`${txid}.*\\(settlement_pending\\)`, 's'));
    assert.match(out.stderr(), new RegExp(`Explorer: https://explorer\\.hiro\\.so/txid/0x${txid}`));
  });

  test('a v1 seller (402 body, X-PAYMENT): the challenge is shown before the offer it pays, and its receipt confirms', async () => {
    stack.route('/v1', {
      version: 1,
      accepts: [requirement({ payTo: stack.payTo, amount: '1200' })],
    });
    const { env } = buyerEnv();
    const out = capture();
    assert.equal(await runPay([`${stack.sellerUrl}/v1`], out.io, env), 0, out.stderr());
    const said = out.stderr();
    assert.match(said, /402 Payment Required \(x402 v1\), 1 offer\(s\)/);
    assert.ok(said.indexOf('402 Payment Required') < said.indexOf('Paying '), said);
    assert.match(said, /Settling: GET \S+\/v1 with x-payment/i);
    assert.match(said, /Paid 0\.0012 STX/);
  });

  test('--json: one object a line for each step, the last the result; --json=summary: one object with the steps', async () => {
    stack.route('/json', { accepts: [requirement({ payTo: stack.payTo, amount: '1500' })] });
    const { buyer, env } = buyerEnv();
    const steps = capture();
    assert.equal(await runPay([`${stack.sellerUrl}/json`, '--json'], steps.io, env), 0);
    assert.equal(steps.stderr(), '', 'JSON mode writes nothing else');
    const lines = steps
      .stdout()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((line) => line.step),
      ['request', 'challenge', 'offer_chosen', 'payment_sent', 'settlement', 'response', 'result'],
    );
    const [request, challenged, chosen, sent, settlement, response, result] = lines;
    assert.deepEqual(Object.keys(request), ['step', 'method', 'url', 'payer', 'network']);
    assert.equal(request.payer, buyer.address);
    const offer = {
      scheme: 'exact',
      network: 'stacks:2147483648',
      amount: '1500',
      asset: 'STX',
      price: '0.0015 STX',
      payTo: stack.payTo,
      sponsored: false,
    };
    assert.deepEqual(challenged.offers, [offer]);
    assert.equal(challenged.origin, new URL(stack.sellerUrl).origin);
    assert.deepEqual(chosen.offer, offer);
    assert.equal(sent.header, 'payment-signature');
    assert.match(sent.txid, /^[0-9a-f]{64}$/);
    assert.equal(settlement.chainStatus, 'success');
    assert.deepEqual(settlement.paid, {
      price: '0.0015 STX',
      amount: '1500',
      asset: 'STX',
      payTo: stack.payTo,
      fee: '0.0003 STX',
      feeMicroStx: '300',
    });
    assert.deepEqual(JSON.parse(response.body), { data: 'premium', path: '/json' });
    assert.equal(response.status, 200);
    assert.deepEqual(
      { ...result, txid: undefined, explorer: undefined },
      { step: 'result', ok: true, exitCode: 0, txid: undefined, explorer: undefined },
    );
    assert.equal(result.txid, settlement.txid);
    assert.ok(!steps.stdout().includes(buyer.privateKey), 'no key');

    const summary = capture();
    const refused = await runPay(
      [`${stack.sellerUrl}/json`, '--json=summary', '--max-amount', '0.001 STX'],
      summary.io,
      env,
    );
    assert.equal(refused, 1);
    const [only, ...rest] = summary.stdout().split('\n');
    assert.equal(rest.length, 0, 'one object');
    const parsed = JSON.parse(only!);
    assert.equal(parsed.ok, false);
    assert.equal(parsed.exitCode, 1);
    assert.equal(parsed.reason, 'payment_over_max_amount');
    assert.match(parsed.message, /0\.0015 STX is above maxAmount 0\.001 STX/);
    assert.deepEqual(
      parsed.steps.map((step: { step: string }) => step.step),
      ['request', 'challenge'],
    );
  });
});
