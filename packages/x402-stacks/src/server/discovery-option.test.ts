/**
 * The route's `discovery` option: the 402 carries `extensions.bazaar`, a bad declaration stops the middleware at
 * startup with its reason, the facilitator is handed the seller's own declaration, not the buyer's echo, and beside
 * offer-receipt and sign-in-with-x one 402 carries every declared extension.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entry, paid, request, SELLER, scripted, URL_ } from '@x402-stacks/test-kit/server-doubles';
import type { PaymentPayload } from 'x402-stacks';
import {
  checkBazaarDeclaration,
  declareBazaar,
  readSignedOffers,
  readSiwxDeclaration,
} from 'x402-stacks/extensions';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from 'x402-stacks/protocol';
import { createResourceServer, ServerConfigError } from 'x402-stacks/server';

const route = {
  amount: '1000',
  payTo: SELLER,
  network: 'stacks:2147483648',
  sponsored: false,
  description: 'Weather',
} as const;
const discovery = {
  method: 'GET',
  input: { example: { city: 'Paris' }, schema: { properties: { city: { type: 'string' } } } },
  output: { example: { temperature: 21 } },
} as const;

describe('the discovery option', () => {
  test('the 402 header and body carry extensions.bazaar = { info, schema }', async () => {
    const server = createResourceServer({ ...route, facilitator: scripted({}), discovery });
    const admission = await server.admit(request());
    assert.equal(admission.action, 'reply');
    if (admission.action !== 'reply') return;
    const challenge = decodePaymentRequiredHeader(admission.reply.headers['payment-required']!);
    assert.deepEqual(challenge.extensions?.bazaar, declareBazaar(discovery));
    assert.deepEqual(JSON.parse(admission.reply.body).extensions, challenge.extensions);
    assert.equal(checkBazaarDeclaration(challenge.extensions?.bazaar).ok, true);
  });

  test('a ready { info, schema } entry (as @x402/extensions builds it) is taken as is', async () => {
    const ready = {
      info: { input: { type: 'http', method: 'POST', bodyType: 'json', body: {} } },
      schema: { type: 'object' },
    };
    const server = createResourceServer({ ...route, facilitator: scripted({}), discovery: ready });
    const admission = await server.admit(request());
    if (admission.action !== 'reply') return assert.fail('expected a 402');
    assert.deepEqual(JSON.parse(admission.reply.body).extensions.bazaar, ready);
  });

  test('beside offerReceipt and signInWithX, one 402 carries every declared extension', async () => {
    const signer = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
    const extensionsOf = async (server: ReturnType<typeof createResourceServer>) => {
      const admission = await server.admit(request());
      if (admission.action !== 'reply') return assert.fail('expected a 402');
      const challenge = decodePaymentRequiredHeader(admission.reply.headers['payment-required']!);
      assert.deepEqual(JSON.parse(admission.reply.body).extensions, challenge.extensions);
      return challenge.extensions ?? {};
    };
    // A static price with signed offers: the challenge cached per resource URL keeps the declaration.
    const offered = createResourceServer({
      ...route,
      facilitator: scripted({}),
      discovery,
      offerReceipt: { signer },
    });
    for (let i = 0; i < 2; i++) {
      const extensions = await extensionsOf(offered);
      assert.deepEqual(Object.keys(extensions).sort(), [
        'bazaar',
        'offer-receipt',
        'payment-identifier',
      ]);
      assert.deepEqual(extensions.bazaar, declareBazaar(discovery));
      assert.equal(readSignedOffers(extensions).length, 1);
    }
    // With sign-in, each 402 is built afresh: still one extensions object holding all three.
    const all = createResourceServer({
      ...route,
      facilitator: scripted({}),
      discovery,
      offerReceipt: { signer },
      signInWithX: { origin: 'http://seller.test', accessMs: 3_600_000 },
    });
    const extensions = await extensionsOf(all);
    assert.deepEqual(Object.keys(extensions).sort(), [
      'bazaar',
      'offer-receipt',
      'payment-identifier',
      'sign-in-with-x',
    ]);
    assert.deepEqual(extensions.bazaar, declareBazaar(discovery));
    assert.equal(readSignedOffers(extensions).length, 1);
    assert.ok(readSiwxDeclaration(extensions));
  });

  test('a route without the option sends no bazaar entry (payment-identifier alone, declared by default)', async () => {
    const server = createResourceServer({ ...route, facilitator: scripted({}) });
    const admission = await server.admit(request());
    if (admission.action !== 'reply') return assert.fail('expected a 402');
    assert.deepEqual(Object.keys(JSON.parse(admission.reply.body).extensions), [
      'payment-identifier',
    ]);
  });

  test('a bad declaration is refused at startup, with its reason', () => {
    const cases: [unknown, string][] = [
      [
        { info: { input: { type: 'http', method: 'TRACE' } }, schema: {} },
        'bazaar_declaration_malformed',
      ],
      [{ input: { example: { blob: 'x'.repeat(20_000) } } }, 'bazaar_declaration_too_large'],
      [
        { info: { input: { type: 'http' } }, schema: { $ref: 'https://evil.example/' } },
        'bazaar_schema_external_ref',
      ],
    ];
    for (const [given, reason] of cases) {
      assert.throws(
        () =>
          createResourceServer({
            ...route,
            facilitator: scripted({}),
            discovery: given as typeof discovery,
          }),
        (error: unknown) =>
          error instanceof ServerConfigError && error.message.includes(`discovery: ${reason}`),
        reason,
      );
    }
  });

  test("the facilitator gets the seller's declaration and resource, whatever the buyer echoed", async () => {
    const settled: PaymentPayload[] = [];
    const server = createResourceServer({
      ...route,
      discovery,
      facilitator: scripted({
        settle: async (payload) => {
          settled.push(payload as PaymentPayload);
          return { success: true, transaction: 'ab'.repeat(32), network: 'stacks:2147483648' };
        },
      }),
    });
    const forged = {
      'payment-signature': encodePaymentSignatureHeader({
        x402Version: 2,
        resource: { url: 'https://evil.example/' },
        accepted: entry,
        payload: { transaction: '00' },
        extensions: {
          bazaar: { info: { input: { type: 'http', method: 'GET' } }, schema: {} },
          other: { info: {} },
        },
      }),
    };
    for (const headers of [paid(entry), forged]) {
      const admission = await server.admit(request(headers));
      assert.equal(admission.action, 'serve');
    }
    assert.equal(settled.length, 2);
    for (const payload of settled) {
      assert.deepEqual(payload.extensions?.bazaar, declareBazaar(discovery));
      assert.deepEqual(payload.resource, { url: URL_, description: 'Weather' });
    }
    assert.deepEqual(
      settled[1]!.extensions?.other,
      { info: {} },
      "the buyer's other extensions stay",
    );
  });
});
