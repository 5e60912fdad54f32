/**
 * Conformance: the bytes we put on the wire, checked against the x402 v2 shapes as the specification states them
 * (x402-protocol.md §1.1 and §1.3), written here independently of our own schemas and of any SDK internals. Strict
 * objects: a field the specification does not name fails the check.
 *
 * Checked: the 402 (`PAYMENT-REQUIRED` header, standard base64 of UTF-8 JSON) from our `paymentMiddleware` and from
 * stock `@x402/express` with our scheme; `PAYMENT-SIGNATURE` from our `wrapFetchWithPayment` and from stock
 * `@x402/fetch` with our scheme; `PAYMENT-RESPONSE`; and the facilitator's `/supported`, `/verify` and `/settle` JSON,
 * both from the plain engine service and from the service over a stock `x402Facilitator`.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import { privateKeySigner } from 'x402-stacks/client';
import { wrapFetchWithPayment as ourWrapFetch } from 'x402-stacks/fetch';
import { ExactStacksScheme, stacksSpendControls } from 'x402-stacks/x402';
import { z } from 'zod';
import {
  recordingFetch,
  type Stack,
  startOurSeller,
  startStack,
  startStockSeller,
  TESTNET,
} from './x402-setup.js';

// --- The x402 v2 shapes, from the specification --------------------------------------------------------------

const Base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'standard base64')
  .refine((s) => s.length % 4 === 0, 'padded base64');
/** CAIP-2: namespace:reference. */
const Network = z.string().regex(/^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/);
const Json = z.record(z.string(), z.unknown());
const ReasonCode = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a snake_case reason code');
const ResourceInfo = z.strictObject({
  url: z.string().url(),
  description: z.string().optional(),
  mimeType: z.string().optional(),
  serviceName: z.string().max(32).optional(),
  tags: z.array(z.string().max(32)).max(5).optional(),
  iconUrl: z.string().url().optional(),
});
const PaymentRequirements = z.strictObject({
  scheme: z.string().min(1),
  network: Network,
  asset: z.string().min(1),
  amount: z.string().regex(/^\d+$/, 'atomic units'),
  payTo: z.string().min(1),
  maxTimeoutSeconds: z.number().int().positive(),
  extra: Json.optional(),
});
const PaymentRequired = z.strictObject({
  x402Version: z.literal(2),
  error: z.string().optional(),
  resource: ResourceInfo,
  accepts: z.array(PaymentRequirements).min(1),
  extensions: Json.optional(),
});
const PaymentPayload = z.strictObject({
  x402Version: z.literal(2),
  resource: ResourceInfo.optional(),
  accepted: PaymentRequirements,
  payload: Json,
  extensions: Json.optional(),
});
const VerifyResponse = z.strictObject({
  isValid: z.boolean(),
  invalidReason: ReasonCode.optional(),
  invalidMessage: z.string().optional(),
  payer: z.string().optional(),
  extensions: Json.optional(),
  extensionResponses: Json.optional(),
  extra: Json.optional(),
});
const SettleResponse = z.strictObject({
  success: z.boolean(),
  errorReason: ReasonCode.optional(),
  errorMessage: z.string().optional(),
  payer: z.string().optional(),
  transaction: z.string(),
  network: Network,
  amount: z.string().regex(/^\d+$/).optional(),
  extensions: Json.optional(),
  extensionResponses: Json.optional(),
  extra: Json.optional(),
});
const SupportedResponse = z.strictObject({
  kinds: z.array(
    z.strictObject({
      x402Version: z.number().int(),
      scheme: z.string().min(1),
      network: Network,
      extra: Json.optional(),
    }),
  ),
  extensions: z.array(z.string()),
  signers: z.record(z.string(), z.array(z.string())),
});

// --- The Stacks exact scheme on top of them ----------------------------------------------------------------

const STACKS_NETWORK = z.enum(['stacks:1', 'stacks:2147483648']);
const StacksPayload = z.strictObject({
  transaction: z.string().regex(/^([0-9a-f]{2})+$/, 'lower-case hex, no 0x'),
});
const TXID = /^(0x)?[0-9a-f]{64}$/;

function decodeHeader<T>(schema: z.ZodType<T>, value: string | null): T {
  assert.ok(value, 'the header is present');
  Base64.parse(value);
  const json: unknown = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
  const parsed = schema.safeParse(json);
  assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues));
  return parsed.data;
}

function assertShape<T>(schema: z.ZodType<T>, json: unknown): T {
  const parsed = schema.safeParse(json);
  assert.ok(
    parsed.success,
    parsed.success ? '' : `${JSON.stringify(parsed.error.issues)} in ${JSON.stringify(json)}`,
  );
  return parsed.data;
}

function assertStacksOffer(paymentRequired: z.infer<typeof PaymentRequired>) {
  for (const offer of paymentRequired.accepts) {
    assert.equal(offer.scheme, 'exact');
    STACKS_NETWORK.parse(offer.network);
    // STX or a bare contract id: what every Stacks client, the incumbent included, reads. A c32 address is 28 to 41
    // characters (a hash that begins with zero bits is written shorter).
    assert.match(offer.asset, /^(STX|S[TPMN][0-9A-Z]{26,39}\.[a-zA-Z][\w-]*)$/);
  }
}

describe('x402 v2 wire conformance', () => {
  let stack: Stack;
  let stock: { url: string; stop(): Promise<void> };
  let ours: { url: string; close(): Promise<void> };
  let plainFacilitatorUrl: string;
  let closePlain: () => Promise<void>;
  before(async () => {
    stack = await startStack();
    stock = await startStockSeller(stack, 'express');
    ours = await startOurSeller(stack);
    const plain = serve({
      fetch: createFacilitatorApp({ facilitator: stack.engine }).fetch,
      port: 0,
      hostname: '127.0.0.1',
    });
    await once(plain, 'listening');
    plainFacilitatorUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
    closePlain = () => new Promise<void>((resolve) => plain.close(() => resolve()));
  });
  after(async () => {
    await closePlain();
    await ours.close();
    await stock.stop();
    await stack.stop();
  });

  for (const seller of ['our paymentMiddleware', 'stock @x402/express with our scheme'] as const) {
    test(`${seller}: the 402 is a PaymentRequired in a base64 PAYMENT-REQUIRED header, not cacheable`, async () => {
      const base = seller === 'our paymentMiddleware' ? ours.url : stock.url;
      for (const path of ['/stx', '/sponsored']) {
        const response = await fetch(`${base}${path}`);
        assert.equal(response.status, 402);
        assert.match(response.headers.get('cache-control') ?? '', /no-store/);
        const paymentRequired = decodeHeader(
          PaymentRequired,
          response.headers.get('payment-required'),
        );
        assertStacksOffer(paymentRequired);
        assert.equal(paymentRequired.resource.url, `${base}${path}`);
        const [offer] = paymentRequired.accepts;
        if (path === '/sponsored') assert.equal(offer?.extra?.sponsor, stack.sponsor);
        else assert.equal(offer?.extra?.sponsor, undefined);
      }
    });
  }

  const buyers = {
    'our wrapFetchWithPayment': (stack: Stack, fetchFn: typeof fetch) =>
      ourWrapFetch(fetchFn, stack.buyer(), { apiUrl: stack.devnet.url }),
    'stock @x402/fetch with our scheme': (stack: Stack, fetchFn: typeof fetch) =>
      wrapFetchWithPayment(
        fetchFn,
        x402Client.fromConfig({
          schemes: [
            {
              network: 'stacks:*',
              client: new ExactStacksScheme({ account: stack.buyer(), apiUrl: stack.devnet.url }),
            },
          ],
          spendControls: stacksSpendControls({ networks: ['testnet'] }),
        }),
      ),
    // The key behind a Signer (as a socket signer or a wallet would hold it): the scheme only asks for signatures.
    'stock @x402/fetch with our scheme over a Signer': (stack: Stack, fetchFn: typeof fetch) =>
      wrapFetchWithPayment(
        fetchFn,
        x402Client.fromConfig({
          schemes: [
            {
              network: 'stacks:*',
              client: new ExactStacksScheme({
                account: privateKeySigner(stack.buyer().privateKey, 'testnet'),
                apiUrl: stack.devnet.url,
              }),
            },
          ],
          spendControls: stacksSpendControls({ networks: ['testnet'] }),
        }),
      ),
  };
  for (const [buyer, wrap] of Object.entries(buyers)) {
    test(`${buyer}: PAYMENT-SIGNATURE echoes the offer verbatim with {transaction}; PAYMENT-RESPONSE is a SettleResponse`, async () => {
      for (const path of ['/stx', '/sponsored']) {
        const recorder = recordingFetch();
        const response = await wrap(stack, recorder.fetch)(`${stock.url}${path}`);
        assert.equal(response.status, 200);
        const [challenge, paid] = recorder.exchanges;
        assert.equal(challenge?.status, 402);
        const paymentRequired = decodeHeader(
          PaymentRequired,
          challenge.response.get('payment-required'),
        );
        const payment = decodeHeader(PaymentPayload, paid!.request.get('payment-signature'));
        assert.deepEqual(payment.accepted, paymentRequired.accepts[0]);
        assert.deepEqual(payment.resource, paymentRequired.resource);
        StacksPayload.parse(payment.payload);
        const receipt = decodeHeader(SettleResponse, paid!.response.get('payment-response'));
        assert.equal(receipt.success, true);
        assert.match(receipt.transaction, TXID);
        assert.equal(receipt.network, TESTNET);
        assert.ok(receipt.payer);
      }
    });
  }

  test('our paymentMiddleware: the PAYMENT-RESPONSE of a paid request is a SettleResponse', async () => {
    const recorder = recordingFetch();
    const response = await buyers['stock @x402/fetch with our scheme'](
      stack,
      recorder.fetch,
    )(`${ours.url}/stx`);
    assert.equal(response.status, 200);
    const receipt = decodeHeader(
      SettleResponse,
      recorder.exchanges[1]!.response.get('payment-response'),
    );
    assert.equal(receipt.success, true);
    assert.match(receipt.transaction, TXID);
  });

  for (const service of ['plain engine', 'stock x402Facilitator'] as const) {
    test(`facilitator service (${service}): /supported, /verify and /settle answer the v2 shapes`, async () => {
      const url = service === 'plain engine' ? plainFacilitatorUrl : stack.facilitatorUrl;
      const supported = assertShape(
        SupportedResponse,
        await (await fetch(`${url}/supported`)).json(),
      );
      assert.deepEqual(supported.kinds, [
        {
          x402Version: 2,
          scheme: 'exact',
          network: TESTNET,
          extra: { sponsor: stack.sponsor, feePayer: stack.sponsor },
        },
      ]);

      const offer = decodeHeader(
        PaymentRequired,
        (await fetch(`${stock.url}/stx`)).headers.get('payment-required'),
      ).accepts[0]!;
      const scheme = new ExactStacksScheme({ account: stack.buyer(), apiUrl: stack.devnet.url });
      const { payload } = await scheme.createPaymentPayload(2, offer as never);
      const paymentPayload = { x402Version: 2, accepted: offer, payload };
      const post = async (path: string, paymentRequirements: unknown) =>
        (
          await fetch(`${url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ x402Version: 2, paymentPayload, paymentRequirements }),
          })
        ).json();

      const valid = assertShape(VerifyResponse, await post('/verify', offer));
      assert.equal(valid.isValid, true);
      const short = assertShape(
        VerifyResponse,
        await post('/verify', { ...offer, amount: '2000' }),
      );
      assert.equal(short.isValid, false);
      assert.ok(short.invalidReason);
      const other = assertShape(
        VerifyResponse,
        await post('/verify', { ...offer, scheme: 'upto' }),
      );
      assert.equal(other.isValid, false);

      const settled = assertShape(SettleResponse, await post('/settle', offer));
      assert.equal(settled.success, true);
      assert.match(settled.transaction, TXID);
      assert.equal(settled.network, TESTNET);
      const again = assertShape(
        SettleResponse,
        await post('/settle', { ...offer, amount: '2000' }),
      );
      assert.equal(again.success, false);
      assert.ok(again.errorReason);
    });
  }
});
