/**
 * `payment-identifier` envelopes between ours and the stock `@x402/extensions` 2.27: a seller's declaration and a
 * buyer's echo made by either side are read by the other, the id formats agree, and a stock buyer's echo of our 402
 * is taken by our seller.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { x402Client } from '@x402/core/client';
import type { PaymentRequired } from '@x402/core/types';
import {
  appendPaymentIdentifierToExtensions,
  declarePaymentIdentifierExtension,
  extractPaymentIdentifier,
  generatePaymentId,
  isPaymentIdentifierRequired,
  isValidPaymentId,
  paymentIdentifierSchema,
  validatePaymentIdentifier,
} from '@x402/extensions/payment-identifier';
import { startDevnet } from '@x402-stacks/devnet';
import { entry, request, SELLER, scripted } from '@x402-stacks/test-kit/server-doubles';
import {
  createPaymentId,
  declarePaymentIdentifier,
  PAYMENT_IDENTIFIER,
  PAYMENT_IDENTIFIER_JSON_SCHEMA,
  PaymentIdSchema,
  paymentIdOf,
  readPaymentIdentifier,
  withPaymentId,
} from 'x402-stacks/extensions';
import { encodePaymentSignatureHeader } from 'x402-stacks/protocol';
import { createResourceServer } from 'x402-stacks/server';
import { ExactStacksScheme, stacksSpendControls } from 'x402-stacks/x402';

const payloadWith = (extensions: Record<string, unknown>) => ({
  x402Version: 2 as const,
  accepted: entry,
  payload: { transaction: '00' },
  extensions,
});

describe('payment-identifier: ours and @x402/extensions 2.27', () => {
  test('a declaration is the same object on both sides, and each reads the other’s required flag', () => {
    for (const required of [false, true]) {
      const stock = declarePaymentIdentifierExtension(required);
      const ours = declarePaymentIdentifier({ required });
      assert.deepEqual(ours, JSON.parse(JSON.stringify(stock)));
      assert.deepEqual(PAYMENT_IDENTIFIER_JSON_SCHEMA, paymentIdentifierSchema);
      const read = readPaymentIdentifier({ [PAYMENT_IDENTIFIER]: stock });
      assert.equal(read.status === 'present' && read.info.required, required);
      assert.equal(isPaymentIdentifierRequired(ours), required);
    }
  });

  test('the first published form (info without required) reads as optional', () => {
    const read = readPaymentIdentifier({ [PAYMENT_IDENTIFIER]: { info: {}, schema: {} } });
    assert.equal(read.status === 'present' && read.info.required, false);
  });

  test('a stock buyer’s echo of our declaration carries an id we read', () => {
    const extensions = structuredClone({ [PAYMENT_IDENTIFIER]: declarePaymentIdentifier() });
    appendPaymentIdentifierToExtensions(extensions);
    const of = paymentIdOf(extensions);
    assert.ok(of.ok && of.id !== undefined);
    assert.equal(of.ok && of.id, extractPaymentIdentifier(payloadWith(extensions) as never));
  });

  test('our buyer’s echo of a stock declaration is valid to the stock validators, with the same id', () => {
    const declared = { [PAYMENT_IDENTIFIER]: declarePaymentIdentifierExtension(true) };
    const echoed = withPaymentId(declared)!;
    assert.deepEqual(validatePaymentIdentifier(echoed[PAYMENT_IDENTIFIER]), { valid: true });
    const id = extractPaymentIdentifier(payloadWith({ ...echoed }) as never);
    assert.ok(id);
    assert.equal(paymentIdOf(echoed).ok && (paymentIdOf(echoed) as { id: string }).id, id);
    assert.equal(declared[PAYMENT_IDENTIFIER].info.id, undefined, 'the 402 is left as it was');
  });

  test('the id formats agree: generated ids pass both checks, and both refuse the same bad ids', () => {
    for (let i = 0; i < 20; i++) {
      assert.equal(isValidPaymentId(createPaymentId()), true);
      assert.equal(PaymentIdSchema.safeParse(generatePaymentId()).success, true);
    }
    const samples = [
      'a'.repeat(15),
      'a'.repeat(16),
      'a'.repeat(128),
      'a'.repeat(129),
      'pay_0123456789abcdef',
      'pay-0123456789_ABCDEF',
      'pay 0123456789abcdef',
      'pay.0123456789abcdef',
      'pay_0123456789abcdé',
      '',
    ];
    for (const id of samples) {
      assert.equal(PaymentIdSchema.safeParse(id).success, isValidPaymentId(id), JSON.stringify(id));
    }
  });

  test('our seller takes a payment whose id a stock buyer appended to our 402', async () => {
    const settled: unknown[] = [];
    const server = createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      sponsored: false,
      paymentIdentifier: { required: true },
      facilitator: scripted({
        settle: async (payload) => {
          settled.push(payload.extensions);
          return { success: true, transaction: 'ab'.repeat(32), network: 'stacks:2147483648' };
        },
      }),
    });
    const challenge = await server.admit(request());
    assert.equal(challenge.action, 'reply');
    if (challenge.action !== 'reply') return;
    const extensions = { ...JSON.parse(challenge.reply.body).extensions };
    appendPaymentIdentifierToExtensions(extensions);
    const header = encodePaymentSignatureHeader(payloadWith(extensions));
    const admission = await server.admit(request({ 'payment-signature': header }));
    assert.equal(admission.action, 'serve');
    assert.deepEqual(settled, [extensions]);
  });

  test('a stock x402Client with our scheme echoes a stock declaration with a fresh id, keeping the seller’s fields', async () => {
    const devnet = await startDevnet({ port: 0, accounts: 2 });
    try {
      const client = x402Client.fromConfig({
        schemes: [
          {
            network: 'stacks:*',
            client: new ExactStacksScheme({
              account: devnet.accounts[0]!.account,
              apiUrl: devnet.url,
              // Nothing is sent here: each payload's turn of the nonce ends at once, not after a minute.
              responseTimeoutMs: 1,
            }),
          },
        ],
        spendControls: stacksSpendControls({ networks: ['testnet'] }),
      });
      const paymentRequired: PaymentRequired = {
        x402Version: 2,
        resource: { url: 'http://127.0.0.1/paid' },
        accepts: [{ ...entry, payTo: devnet.accounts[1]!.address, extra: {} }],
        extensions: { [PAYMENT_IDENTIFIER]: declarePaymentIdentifierExtension(true) },
      };
      const ids = new Set<string>();
      for (let i = 0; i < 2; i++) {
        const payload = await client.createPaymentPayload(paymentRequired);
        const echoed = payload.extensions?.[PAYMENT_IDENTIFIER];
        assert.deepEqual(validatePaymentIdentifier(echoed), { valid: true });
        assert.equal(isPaymentIdentifierRequired(echoed), true);
        const id = extractPaymentIdentifier(payload);
        assert.ok(id);
        ids.add(id);
      }
      assert.equal(ids.size, 2, 'one id per payment');
      const undeclared = await client.createPaymentPayload({ ...paymentRequired, extensions: {} });
      assert.equal(undeclared.extensions?.[PAYMENT_IDENTIFIER], undefined);
    } finally {
      await devnet.stop();
    }
  });
});
