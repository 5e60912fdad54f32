import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AmountV1Schema,
  PaymentPayloadV1Schema,
  PaymentRequiredV1Schema,
  PaymentRequirementsV1Schema,
  SettleRequestV1Schema,
  SettleResponseV1Schema,
  VerifyRequestV1Schema,
  VerifyResponseV1Schema,
} from './v1.js';

const PAY_TO = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
const SENDER = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
const TXID = `0x${'ef'.repeat(32)}`;

const requirements = {
  scheme: 'exact',
  network: 'testnet',
  maxAmountRequired: '1000',
  resource: 'https://api.example.com/weather',
  description: 'Weather',
  mimeType: 'application/json',
  payTo: PAY_TO,
  maxTimeoutSeconds: 300,
  asset: 'STX',
};
const payment = {
  x402Version: 1,
  scheme: 'exact',
  network: 'testnet',
  payload: { transaction: '0x8080' },
};

const accepts = (schema: { safeParse(value: unknown): { success: boolean } }, value: unknown) =>
  schema.safeParse(value).success;

describe('AmountV1Schema', () => {
  const kept: [input: unknown, output: string][] = [
    [1000, '1000'],
    ['1000', '1000'],
    [0, '0'],
    [-0, '0'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [1000n, '1000'],
  ];
  for (const [input, output] of kept) {
    test(`${String(input)} (${typeof input}) → '${output}'`, () => {
      assert.equal(AmountV1Schema.parse(input), output);
    });
  }

  const refused: unknown[] = [1.5, 2 ** 60, Number.MAX_SAFE_INTEGER + 1, -1, Number.NaN, Infinity];
  for (const input of [...refused, '1.5', '01', '-1', '', null, undefined]) {
    test(`refuses ${typeof input === 'string' ? JSON.stringify(input) : String(input)}`, () => {
      assert.equal(accepts(AmountV1Schema, input), false);
    });
  }
});

describe('PaymentRequirementsV1Schema', () => {
  test('accepts network names and keeps an output schema', () => {
    assert.deepEqual(PaymentRequirementsV1Schema.parse(requirements), requirements);
    const named = { ...requirements, network: 'stacks', outputSchema: { type: 'object' } };
    assert.deepEqual(PaymentRequirementsV1Schema.parse(named), named);
  });
  test('normalises null optional fields', () => {
    const parsed = PaymentRequirementsV1Schema.parse({
      ...requirements,
      outputSchema: null,
      extra: null,
    });
    assert.deepEqual(parsed, requirements);
  });
  test('refuses an empty network, a numeric maxAmountRequired, and a missing description', () => {
    assert.equal(accepts(PaymentRequirementsV1Schema, { ...requirements, network: '' }), false);
    const numeric = { ...requirements, maxAmountRequired: 1000 };
    assert.equal(accepts(PaymentRequirementsV1Schema, numeric), false);
    const { description: _description, ...withoutDescription } = requirements;
    assert.equal(accepts(PaymentRequirementsV1Schema, withoutDescription), false);
  });
});

describe('PaymentRequiredV1Schema', () => {
  test('accepts a v1 challenge body', () => {
    const challenge = {
      x402Version: 1,
      error: 'X-PAYMENT header is required',
      accepts: [requirements],
    };
    assert.deepEqual(PaymentRequiredV1Schema.parse(challenge), challenge);
  });
  test('refuses x402Version 2', () => {
    assert.equal(
      accepts(PaymentRequiredV1Schema, { x402Version: 2, accepts: [requirements] }),
      false,
    );
  });
});

describe('PaymentPayloadV1Schema', () => {
  test('accepts a v1 payment and keeps unknown keys', () => {
    const withExtra = { ...payment, future: true };
    assert.deepEqual(PaymentPayloadV1Schema.parse(withExtra), withExtra);
  });
  test('refuses x402Version 2 and a v2 payment', () => {
    assert.equal(accepts(PaymentPayloadV1Schema, { ...payment, x402Version: 2 }), false);
    const v2 = { x402Version: 2, accepted: {}, payload: {} };
    assert.equal(accepts(PaymentPayloadV1Schema, v2), false);
  });
});

describe('VerifyRequestV1Schema and SettleRequestV1Schema', () => {
  const body = { x402Version: 1, paymentPayload: payment, paymentRequirements: requirements };
  for (const [name, schema] of [
    ['verify', VerifyRequestV1Schema],
    ['settle', SettleRequestV1Schema],
  ] as const) {
    test(`${name}: accepts a v1 body and refuses a v2 one`, () => {
      assert.deepEqual(schema.parse(body), body);
      assert.equal(accepts(schema, { ...body, x402Version: 2 }), false);
    });
  }
});

describe('VerifyResponseV1Schema', () => {
  test('normalises null fields', () => {
    const parsed = VerifyResponseV1Schema.parse({
      isValid: true,
      invalidReason: null,
      payer: SENDER,
    });
    assert.deepEqual(parsed, { isValid: true, payer: SENDER });
  });
});

describe('SettleResponseV1Schema', () => {
  test('the documented { txId, amount, sender } with a numeric amount', () => {
    const parsed = SettleResponseV1Schema.parse({ txId: TXID, amount: 1000, sender: SENDER });
    assert.deepEqual(parsed, { txId: TXID, amount: '1000', sender: SENDER });
    assert.equal(typeof parsed.amount, 'string');
  });

  test('keeps the optional fields, drops their nulls', () => {
    const full = {
      txId: TXID,
      amount: '1000',
      sender: SENDER,
      success: false,
      error: 'broadcast failed',
      errorReason: 'broadcast_failed',
      network: 'testnet',
    };
    assert.deepEqual(SettleResponseV1Schema.parse(full), full);
    const nulls = { ...full, success: null, error: null, errorReason: null, network: null };
    assert.deepEqual(SettleResponseV1Schema.parse(nulls), {
      txId: TXID,
      amount: '1000',
      sender: SENDER,
    });
  });

  test('refuses a fractional or unsafe amount', () => {
    assert.equal(
      accepts(SettleResponseV1Schema, { txId: TXID, amount: 1.5, sender: SENDER }),
      false,
    );
    assert.equal(
      accepts(SettleResponseV1Schema, { txId: TXID, amount: 2 ** 60, sender: SENDER }),
      false,
    );
  });
});
