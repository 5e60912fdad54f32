import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { utf8ToBase64 } from './base64.js';
import {
  isRawTransactionHex,
  LegacyPaymentRequestSchema,
  LegacySettleRequestSchema,
  LegacyTokenTypeSchema,
} from './x402-stacks-1x.js';

// The shape of a serialized testnet STX transfer: version 0x80, chain id 0x80000000, …
const TX = `80800000000400${'ab'.repeat(120)}`;

describe('isRawTransactionHex', () => {
  test('raw hex, with or without 0x, is a transaction', () => {
    assert.equal(isRawTransactionHex(TX), true);
    assert.equal(isRawTransactionHex(`0x${TX}`), true);
    assert.equal(isRawTransactionHex(TX.toUpperCase()), true);
  });

  test('never the base64 of a JSON object, whatever it starts with', () => {
    for (const json of [
      '{"x402Version":1}',
      '{ "a": 1 }',
      '{\n"a":1}',
      '\n{"a":1}',
      ' {"a":1}',
      '\t{}',
    ]) {
      const padded = json + ' '.repeat(200);
      assert.equal(isRawTransactionHex(utf8ToBase64(padded)), false, JSON.stringify(json));
    }
  });

  test('too short, odd-length or non-hex text is not', () => {
    assert.equal(isRawTransactionHex('abcd'), false);
    assert.equal(isRawTransactionHex(`${TX}a`), false);
    assert.equal(isRawTransactionHex(`${TX}zz`), false);
  });
});

describe('LegacyTokenTypeSchema', () => {
  test('every case x402-stacks sends maps to our symbol; anything else is refused', () => {
    for (const [input, symbol] of [
      ['STX', 'STX'],
      ['stx', 'STX'],
      ['sBTC', 'sBTC'],
      ['SBTC', 'sBTC'],
      ['USDCx', 'USDCx'],
      ['USDCX', 'USDCx'],
    ]) {
      assert.equal(LegacyTokenTypeSchema.parse(input), symbol);
    }
    assert.equal(LegacyTokenTypeSchema.safeParse('BTC').success, false);
    assert.equal(LegacyTokenTypeSchema.safeParse('toString').success, false);
  });
});

describe('LegacyPaymentRequestSchema', () => {
  const request = {
    maxAmountRequired: '250',
    resource: '/data',
    payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
    network: 'testnet',
    nonce: '9f86d081884c7d659a2feaa0c55ad015',
    expiresAt: '2026-12-01T08:05:00.000Z',
    tokenType: 'sBTC',
    tokenContract: { address: 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1', name: 'sbtc-token' },
  };

  test('reads the flat 402 body of x402-stacks 1.x', () => {
    const parsed = LegacyPaymentRequestSchema.parse(request);
    assert.equal(parsed.tokenType, 'sBTC');
    assert.equal(parsed.maxAmountRequired, '250');
  });

  test('refuses a network other than its two names, and a v2 resource object', () => {
    assert.equal(
      LegacyPaymentRequestSchema.safeParse({ ...request, network: 'stacks:1' }).success,
      false,
    );
    assert.equal(
      LegacyPaymentRequestSchema.safeParse({ ...request, resource: { url: '/data' } }).success,
      false,
    );
  });
});

describe('LegacySettleRequestSchema', () => {
  const body = {
    signed_transaction: TX,
    expected_recipient: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
    min_amount: 1000,
    network: 'testnet',
    resource: '/data',
    method: 'GET',
    token_type: 'SBTC',
  };

  test('its number amount becomes an atomic string; its token type our symbol', () => {
    const parsed = LegacySettleRequestSchema.parse(body);
    assert.equal(parsed.min_amount, '1000');
    assert.equal(parsed.token_type, 'sBTC');
  });

  test('a fraction or an unsafe integer amount is refused, never rounded', () => {
    for (const min_amount of [1.5, 2 ** 53, -1]) {
      assert.equal(LegacySettleRequestSchema.safeParse({ ...body, min_amount }).success, false);
    }
  });

  test('a transaction that is not hex is refused', () => {
    assert.equal(
      LegacySettleRequestSchema.safeParse({ ...body, signed_transaction: 'not a transaction' })
        .success,
      false,
    );
  });
});
