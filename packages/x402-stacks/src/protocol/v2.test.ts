import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AtomicAmountSchema,
  NetworkIdSchema,
  PaymentPayloadSchema,
  PaymentRequiredSchema,
  type PaymentRequirements,
  PaymentRequirementsSchema,
  ResourceInfoSchema,
  SettleRequestSchema,
  SettleResponseSchema,
  SupportedKindSchema,
  SupportedResponseSchema,
  VerifyRequestSchema,
  VerifyResponseSchema,
} from './v2.js';

const TESTNET = 'stacks:2147483648';
const PAY_TO = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
const SBTC = 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token';
const TXID = `0x${'cd'.repeat(32)}`;

const requirements: PaymentRequirements = {
  scheme: 'exact',
  network: TESTNET,
  amount: '1000',
  asset: 'STX',
  payTo: PAY_TO,
  maxTimeoutSeconds: 300,
};
const resource = { url: 'https://api.example.com/weather' };
const payment = {
  x402Version: 2,
  accepted: requirements,
  payload: { transaction: '0x8080' },
};

const accepts = (schema: { safeParse(value: unknown): { success: boolean } }, value: unknown) =>
  schema.safeParse(value).success;

describe('NetworkIdSchema', () => {
  for (const id of [
    'stacks:1',
    TESTNET,
    'eip155:84532',
    'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp',
  ]) {
    test(`accepts ${id}`, () => assert.equal(NetworkIdSchema.parse(id), id));
  }
  for (const id of [
    'testnet',
    'stacks',
    'stacks:',
    ':1',
    'Stacks:1',
    'st:1',
    'stacks:1:2',
    ' stacks:1',
    1,
  ]) {
    test(`refuses ${JSON.stringify(id)}`, () => assert.equal(accepts(NetworkIdSchema, id), false));
  }
});

describe('AtomicAmountSchema', () => {
  for (const amount of ['0', '1', '1000', '340282366920938463463374607431768211455']) {
    test(`keeps ${amount}`, () => assert.equal(AtomicAmountSchema.parse(amount), amount));
  }
  test('turns a bigint into its decimal string', () => {
    assert.equal(AtomicAmountSchema.parse(1000n), '1000');
    assert.equal(AtomicAmountSchema.parse(0n), '0');
  });
  for (const amount of [
    '01',
    '00',
    '-1',
    '+1',
    '1.5',
    '1e3',
    '',
    ' 1',
    '1 ',
    '0x10',
    1000,
    0,
    -1n,
    null,
  ]) {
    test(`refuses ${typeof amount === 'bigint' ? `${amount}n` : JSON.stringify(amount)}`, () => {
      assert.equal(accepts(AtomicAmountSchema, amount), false);
    });
  }
});

describe('ResourceInfoSchema', () => {
  test('keeps the Bazaar fields', () => {
    const info = {
      ...resource,
      description: 'Weather',
      mimeType: 'application/json',
      serviceName: 'Weather API',
      tags: ['weather'],
      iconUrl: 'https://api.example.com/icon.png',
    };
    assert.deepEqual(ResourceInfoSchema.parse(info), info);
  });
  test('requires a url', () => {
    assert.equal(accepts(ResourceInfoSchema, { description: 'x' }), false);
    assert.equal(accepts(ResourceInfoSchema, { url: '' }), false);
  });
});

describe('PaymentRequirementsSchema', () => {
  test('accepts STX and sBTC requirements', () => {
    assert.deepEqual(PaymentRequirementsSchema.parse(requirements), requirements);
    const sbtc = { ...requirements, asset: SBTC, extra: { sponsored: false } };
    assert.deepEqual(PaymentRequirementsSchema.parse(sbtc), sbtc);
  });
  for (const maxTimeoutSeconds of [0, -1, 1.5, '300']) {
    test(`refuses maxTimeoutSeconds ${JSON.stringify(maxTimeoutSeconds)}`, () => {
      assert.equal(
        accepts(PaymentRequirementsSchema, { ...requirements, maxTimeoutSeconds }),
        false,
      );
    });
  }
  test('refuses a v1 network name and a numeric amount', () => {
    assert.equal(
      accepts(PaymentRequirementsSchema, { ...requirements, network: 'testnet' }),
      false,
    );
    assert.equal(accepts(PaymentRequirementsSchema, { ...requirements, amount: 1000 }), false);
  });
  for (const field of ['scheme', 'network', 'amount', 'asset', 'payTo', 'maxTimeoutSeconds']) {
    test(`requires ${field}`, () => {
      const { [field as keyof PaymentRequirements]: _omitted, ...rest } = requirements;
      assert.equal(accepts(PaymentRequirementsSchema, rest), false);
    });
  }
});

describe('null handling and unknown keys', () => {
  test('a null optional field parses to an absent key', () => {
    const parsed = PaymentRequirementsSchema.parse({ ...requirements, extra: null });
    assert.deepEqual(parsed, requirements);
    assert.equal('extra' in parsed, false);
  });

  test('the input object is not modified', () => {
    const input = { ...requirements, extra: null };
    PaymentRequirementsSchema.parse(input);
    assert.equal(input.extra, null);
  });

  test('null is not accepted for a required field', () => {
    assert.equal(accepts(PaymentRequirementsSchema, { ...requirements, payTo: null }), false);
  });

  test('unknown keys pass through, at the top and nested', () => {
    const challenge = {
      x402Version: 2,
      resource: { ...resource, future: 'r' },
      accepts: [{ ...requirements, future: 'a' }],
      future: { any: ['thing'] },
    };
    assert.deepEqual(PaymentRequiredSchema.parse(challenge), challenge);
  });
});

describe('PaymentRequiredSchema', () => {
  test('accepts an empty accepts list', () => {
    const challenge = { x402Version: 2, resource, accepts: [] };
    assert.deepEqual(PaymentRequiredSchema.parse(challenge), challenge);
  });
  test('normalises null error and extensions', () => {
    const parsed = PaymentRequiredSchema.parse({
      x402Version: 2,
      error: null,
      resource,
      accepts: [requirements],
      extensions: null,
    });
    assert.deepEqual(parsed, { x402Version: 2, resource, accepts: [requirements] });
  });
  test('refuses x402Version 1, a missing resource, and a bad entry in accepts', () => {
    assert.equal(accepts(PaymentRequiredSchema, { x402Version: 1, resource, accepts: [] }), false);
    assert.equal(accepts(PaymentRequiredSchema, { x402Version: 2, accepts: [] }), false);
    const bad = { ...requirements, amount: '1.5' };
    assert.equal(
      accepts(PaymentRequiredSchema, { x402Version: 2, resource, accepts: [bad] }),
      false,
    );
  });
});

describe('PaymentPayloadSchema', () => {
  test('accepts a payment with and without resource', () => {
    assert.deepEqual(PaymentPayloadSchema.parse(payment), payment);
    assert.deepEqual(PaymentPayloadSchema.parse({ ...payment, resource }), {
      ...payment,
      resource,
    });
    assert.deepEqual(PaymentPayloadSchema.parse({ ...payment, resource: null }), payment);
  });
  test('refuses a payload that is not an object, and a missing accepted', () => {
    assert.equal(accepts(PaymentPayloadSchema, { ...payment, payload: '0x8080' }), false);
    assert.equal(accepts(PaymentPayloadSchema, { ...payment, payload: null }), false);
    assert.equal(accepts(PaymentPayloadSchema, { ...payment, payload: ['0x8080'] }), false);
    assert.equal(accepts(PaymentPayloadSchema, { ...payment, payload: new Map() }), false);
    assert.equal(accepts(PaymentPayloadSchema, { ...payment, payload: Object.create(null) }), true);
    const { accepted: _accepted, ...withoutAccepted } = payment;
    assert.equal(accepts(PaymentPayloadSchema, withoutAccepted), false);
  });
});

describe('VerifyRequestSchema and SettleRequestSchema', () => {
  const body = { x402Version: 2, paymentPayload: payment, paymentRequirements: requirements };
  for (const [name, schema] of [
    ['verify', VerifyRequestSchema],
    ['settle', SettleRequestSchema],
  ] as const) {
    test(`${name}: accepts a v2 body`, () => assert.deepEqual(schema.parse(body), body));
    test(`${name}: refuses v1 at either level`, () => {
      assert.equal(accepts(schema, { ...body, x402Version: 1 }), false);
      const v1Payment = { ...payment, x402Version: 1 };
      assert.equal(accepts(schema, { ...body, paymentPayload: v1Payment }), false);
    });
  }
});

describe('VerifyResponseSchema', () => {
  test('normalises the nulls the reference SDK sends', () => {
    const parsed = VerifyResponseSchema.parse({
      isValid: false,
      invalidReason: 'insufficient_funds',
      invalidMessage: null,
      payer: null,
      extensions: null,
      extra: null,
    });
    assert.deepEqual(parsed, { isValid: false, invalidReason: 'insufficient_funds' });
  });
  test('requires isValid as a boolean', () => {
    assert.equal(accepts(VerifyResponseSchema, { isValid: 'true' }), false);
    assert.equal(accepts(VerifyResponseSchema, {}), false);
  });
});

describe('SettleResponseSchema', () => {
  const success = { success: true, transaction: TXID, network: TESTNET, payer: PAY_TO };

  test('accepts a success, with the settled amount', () => {
    assert.deepEqual(SettleResponseSchema.parse(success), success);
    const upto = { ...success, amount: '750' };
    assert.deepEqual(SettleResponseSchema.parse(upto), upto);
  });

  test('accepts a failure where nothing was broadcast', () => {
    const failure = {
      success: false,
      errorReason: 'insufficient_funds',
      transaction: '',
      network: TESTNET,
    };
    assert.deepEqual(SettleResponseSchema.parse(failure), failure);
  });

  test('accepts the x402-rs failure shape with an empty network', () => {
    const failure = { success: false, errorReason: 'x', transaction: '', network: '', payer: '' };
    assert.deepEqual(SettleResponseSchema.parse(failure), failure);
  });

  test('refuses a success without transaction or network', () => {
    assert.equal(accepts(SettleResponseSchema, { ...success, transaction: '' }), false);
    assert.equal(accepts(SettleResponseSchema, { ...success, network: '' }), false);
    const { transaction: _transaction, ...withoutTransaction } = success;
    assert.equal(accepts(SettleResponseSchema, withoutTransaction), false);
  });

  test('settlement_pending must name its transaction and must not claim success', () => {
    const pending = { success: false, errorReason: 'settlement_pending', network: TESTNET };
    assert.deepEqual(SettleResponseSchema.parse({ ...pending, transaction: TXID }), {
      ...pending,
      transaction: TXID,
    });
    assert.equal(accepts(SettleResponseSchema, { ...pending, transaction: '' }), false);
    const claimsSuccess = { ...pending, transaction: TXID, success: true };
    assert.equal(accepts(SettleResponseSchema, claimsSuccess), false);
  });

  test('refuses a numeric amount', () => {
    assert.equal(accepts(SettleResponseSchema, { ...success, amount: 750 }), false);
  });
});

describe('SupportedKindSchema', () => {
  test('accepts v2 CAIP-2 kinds and v1 named kinds', () => {
    const v2 = { x402Version: 2, scheme: 'exact', network: TESTNET, extra: { sponsor: PAY_TO } };
    const v1 = { x402Version: 1, scheme: 'exact', network: 'stacks-testnet' };
    assert.deepEqual(SupportedKindSchema.parse(v2), v2);
    assert.deepEqual(SupportedKindSchema.parse(v1), v1);
  });
  test('refuses other versions', () => {
    const kind = { scheme: 'exact', network: TESTNET };
    assert.equal(accepts(SupportedKindSchema, { ...kind, x402Version: 3 }), false);
    assert.equal(accepts(SupportedKindSchema, { ...kind, x402Version: '2' }), false);
  });
});

describe('SupportedResponseSchema', () => {
  const kind = { x402Version: 2, scheme: 'exact', network: TESTNET };

  test('fills in missing or null extensions and signers', () => {
    const expected = { kinds: [kind], extensions: [], signers: {} };
    assert.deepEqual(SupportedResponseSchema.parse({ kinds: [kind] }), expected);
    assert.deepEqual(
      SupportedResponseSchema.parse({ kinds: [kind], extensions: null, signers: null }),
      expected,
    );
  });

  test('keeps given extensions and signers', () => {
    const full = { kinds: [kind], extensions: ['bazaar'], signers: { 'stacks:*': [PAY_TO] } };
    assert.deepEqual(SupportedResponseSchema.parse(full), full);
  });

  test('each parse gets its own default objects', () => {
    const first = SupportedResponseSchema.parse({ kinds: [] });
    first.extensions.push('mutated');
    first.signers.mutated = [];
    assert.deepEqual(SupportedResponseSchema.parse({ kinds: [] }), {
      kinds: [],
      extensions: [],
      signers: {},
    });
  });

  test('refuses signers that are not lists of strings', () => {
    assert.equal(accepts(SupportedResponseSchema, { kinds: [], signers: { x: 'SP1' } }), false);
  });
});
