import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidHeaderError, type InvalidHeaderReason } from './errors.js';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponse,
  decodePaymentResponseHeader,
  decodePaymentSignatureHeader,
  decodeXPaymentHeader,
  decodeXPaymentResponse,
  decodeXPaymentResponseHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
  encodePaymentSignatureHeader,
  encodeXPaymentHeader,
  encodeXPaymentResponseHeader,
  MAX_PAYMENT_HEADER_LENGTH,
  PAYMENT_HEADERS,
} from './headers.js';
import type { PaymentPayloadV1, SettleResponseV1 } from './v1.js';
import type {
  PaymentPayload,
  PaymentRequired,
  PaymentRequirements,
  ResourceInfo,
  SettleResponse,
} from './v2.js';

const TESTNET = 'stacks:2147483648';
const PAY_TO = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
const PAYER = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
const SBTC = 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token';
const TXID = `0x${'ab'.repeat(32)}`;
// Shaped like a serialized Stacks transaction; the codecs never look inside it.
const SIGNED_TX = `0x80800000000400${'5e'.repeat(150)}`;

const resource: ResourceInfo = {
  url: 'https://api.example.com/weather',
  description: 'Weather in Lisbon ☀ (UTF-8 on purpose)',
  mimeType: 'application/json',
};
const stxRequirements: PaymentRequirements = {
  scheme: 'exact',
  network: TESTNET,
  amount: '1000',
  asset: 'STX',
  payTo: PAY_TO,
  maxTimeoutSeconds: 300,
};
const sbtcRequirements: PaymentRequirements = {
  ...stxRequirements,
  amount: '2500',
  asset: SBTC,
  extra: { sponsored: true },
};
const paymentRequired: PaymentRequired = {
  x402Version: 2,
  error: 'Payment required',
  resource,
  accepts: [stxRequirements, sbtcRequirements],
  extensions: { bazaar: { info: { input: { type: 'http' } }, schema: {} } },
};
const paymentPayload: PaymentPayload = {
  x402Version: 2,
  resource,
  accepted: sbtcRequirements,
  payload: { transaction: SIGNED_TX },
};
const settleResponse: SettleResponse = {
  success: true,
  payer: PAYER,
  transaction: TXID,
  network: TESTNET,
};
const paymentPayloadV1: PaymentPayloadV1 = {
  x402Version: 1,
  scheme: 'exact',
  network: 'testnet',
  payload: { transaction: SIGNED_TX },
};
const settleResponseV1: SettleResponseV1 = {
  txId: TXID,
  amount: '1000',
  sender: PAYER,
  success: true,
  network: 'testnet',
};

function toBase64Json(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

function fromBase64Json(header: string): unknown {
  return JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
}

function isInvalidHeader(reason: InvalidHeaderReason, header?: string) {
  return (error: unknown) =>
    error instanceof InvalidHeaderError &&
    error.reason === reason &&
    (header === undefined || error.header === header);
}

describe('PAYMENT_HEADERS', () => {
  test('names the five headers in lower case', () => {
    assert.deepEqual(PAYMENT_HEADERS, {
      paymentRequired: 'payment-required',
      paymentSignature: 'payment-signature',
      paymentResponse: 'payment-response',
      xPayment: 'x-payment',
      xPaymentResponse: 'x-payment-response',
    });
  });

  test('the size limit is 16 KiB', () => {
    assert.equal(MAX_PAYMENT_HEADER_LENGTH, 16_384);
  });
});

describe('round trips', () => {
  const pairs = [
    {
      name: 'payment-required',
      encode: () => encodePaymentRequiredHeader(paymentRequired),
      decode: decodePaymentRequiredHeader,
      value: paymentRequired,
    },
    {
      name: 'payment-signature',
      encode: () => encodePaymentSignatureHeader(paymentPayload),
      decode: decodePaymentSignatureHeader,
      value: paymentPayload,
    },
    {
      name: 'payment-response',
      encode: () => encodePaymentResponseHeader(settleResponse),
      decode: decodePaymentResponseHeader,
      value: settleResponse,
    },
    {
      name: 'x-payment',
      encode: () => encodeXPaymentHeader(paymentPayloadV1),
      decode: decodeXPaymentHeader,
      value: paymentPayloadV1,
    },
    {
      name: 'x-payment-response',
      encode: () => encodeXPaymentResponseHeader(settleResponseV1),
      decode: decodeXPaymentResponseHeader,
      value: settleResponseV1,
    },
  ];

  for (const { name, encode, decode, value } of pairs) {
    test(`${name}: decode(encode(value)) equals value`, () => {
      assert.deepEqual(decode(encode()), value);
    });

    test(`${name}: the header is standard base64 of the JSON, readable by any peer`, () => {
      const header = encode();
      assert.match(header, /^[A-Za-z0-9+/]*={0,2}$/);
      assert.equal(header.length % 4, 0);
      assert.deepEqual(fromBase64Json(header), value);
    });
  }
});

describe('fixed vectors', () => {
  test('payment-response encodes to a known string', () => {
    const receipt = { success: true, transaction: '0x1234', network: 'stacks:1' } as const;
    const expected =
      'eyJzdWNjZXNzIjp0cnVlLCJ0cmFuc2FjdGlvbiI6IjB4MTIzNCIsIm5ldHdvcmsiOiJzdGFja3M6MSJ9';
    assert.equal(encodePaymentResponseHeader(receipt), expected);
    assert.deepEqual(decodePaymentResponseHeader(expected), receipt);
  });

  test('payment-required with non-ASCII text encodes its UTF-8 bytes', () => {
    const challenge: PaymentRequired = {
      x402Version: 2,
      resource: { url: 'https://api.example.com/météo' },
      accepts: [],
    };
    const expected =
      'eyJ4NDAyVmVyc2lvbiI6MiwicmVzb3VyY2UiOnsidXJsIjoiaHR0cHM6Ly9hcGkuZXhhbXBsZS5jb20vbcOpdMOpbyJ9LCJhY2NlcHRzIjpbXX0=';
    assert.equal(encodePaymentRequiredHeader(challenge), expected);
    assert.deepEqual(decodePaymentRequiredHeader(expected), challenge);
  });

  test('x-payment-response sends a numeric v1 amount as a string', () => {
    const expected =
      'eyJ0eElkIjoiMHhhYmNkIiwiYW1vdW50IjoiMTAwMCIsInNlbmRlciI6IlNUMVNKM0RURTVETjdYNTRZREg1RDY0UjNCQ0I2QTJBRzJaUThZUEQ1In0=';
    assert.equal(
      encodeXPaymentResponseHeader({ txId: '0xabcd', amount: 1000, sender: PAY_TO }),
      expected,
    );
  });
});

describe('encoders', () => {
  test('serialise bigint values as decimal strings', () => {
    const header = encodePaymentSignatureHeader({
      ...paymentPayload,
      accepted: { ...sbtcRequirements, amount: 2500n },
      payload: { transaction: SIGNED_TX, nonce: 7n },
    });
    assert.deepEqual(decodePaymentSignatureHeader(header), {
      ...paymentPayload,
      payload: { transaction: SIGNED_TX, nonce: '7' },
    });
  });

  test('refuse a value the decoder would refuse', () => {
    assert.throws(
      () =>
        encodePaymentResponseHeader({
          success: false,
          errorReason: 'settlement_pending',
          transaction: '',
          network: TESTNET,
        }),
      isInvalidHeader('invalid_header_schema', 'payment-response'),
    );
    // A number amount is also a type error; the cast stands for an untyped caller.
    const numberAmount = { ...stxRequirements, amount: 1000 } as unknown as PaymentRequirements;
    assert.throws(
      () => encodePaymentSignatureHeader({ ...paymentPayload, accepted: numberAmount }),
      isInvalidHeader('invalid_header_schema', 'payment-signature'),
    );
  });

  test('drop null optional fields from the wire', () => {
    const header = encodePaymentResponseHeader({ ...settleResponse, errorReason: null });
    assert.deepEqual(fromBase64Json(header), settleResponse);
  });
});

describe('size limit', () => {
  // Pads the description so the encoded header gets exactly `length` characters.
  function challengeEncodingTo(length: number) {
    const bare = { ...paymentRequired, resource: { ...resource, description: '' } };
    const bareBytes = Buffer.byteLength(JSON.stringify(bare), 'utf8');
    const targetBytes = (length / 4) * 3;
    return { ...bare, resource: { ...resource, description: 'x'.repeat(targetBytes - bareBytes) } };
  }

  test('a header of exactly the limit is accepted', () => {
    const challenge = challengeEncodingTo(MAX_PAYMENT_HEADER_LENGTH);
    const header = encodePaymentRequiredHeader(challenge);
    assert.equal(header.length, MAX_PAYMENT_HEADER_LENGTH);
    assert.deepEqual(decodePaymentRequiredHeader(header), challenge);
  });

  test('a well-formed header over the limit is refused', () => {
    const header = toBase64Json(challengeEncodingTo(MAX_PAYMENT_HEADER_LENGTH + 4));
    assert.equal(header.length, MAX_PAYMENT_HEADER_LENGTH + 4);
    assert.throws(
      () => decodePaymentRequiredHeader(header),
      isInvalidHeader('header_too_large', 'payment-required'),
    );
  });

  test('the length is checked before the encoding', () => {
    const garbage = '!'.repeat(MAX_PAYMENT_HEADER_LENGTH + 1);
    assert.throws(() => decodePaymentSignatureHeader(garbage), isInvalidHeader('header_too_large'));
  });

  test('the encoder refuses to produce a header over the limit', () => {
    const challenge = challengeEncodingTo(MAX_PAYMENT_HEADER_LENGTH + 4);
    assert.throws(
      () => encodePaymentRequiredHeader(challenge),
      isInvalidHeader('header_too_large', 'payment-required'),
    );
  });
});

describe('decoding failures', () => {
  const valid = encodePaymentResponseHeader(settleResponse);

  test('characters outside the base64 alphabet', () => {
    const corrupted = `${valid.slice(0, 8)}!${valid.slice(9)}`;
    assert.equal(corrupted.length, valid.length);
    assert.throws(
      () => decodePaymentResponseHeader(corrupted),
      isInvalidHeader('invalid_header_encoding', 'payment-response'),
    );
    assert.throws(
      () => decodePaymentResponseHeader(`${valid.slice(0, 8)} ${valid.slice(9)}`),
      isInvalidHeader('invalid_header_encoding'),
    );
  });

  test('a value that is not a string, as an absent request header is', () => {
    for (const absent of [undefined, null, 42, ['a']]) {
      assert.throws(
        () => decodePaymentSignatureHeader(absent as unknown as string),
        isInvalidHeader('invalid_header_encoding', 'payment-signature'),
        String(absent),
      );
    }
  });

  test('missing padding', () => {
    const padded = encodeXPaymentResponseHeader(settleResponseV1);
    assert.match(padded, /=$/);
    assert.throws(
      () => decodeXPaymentResponseHeader(padded.replace(/=+$/, '')),
      isInvalidHeader('invalid_header_encoding', 'x-payment-response'),
    );
  });

  test('the URL-safe alphabet', () => {
    const standard = encodePaymentResponseHeader({ ...settleResponse, errorMessage: '???>>>' });
    assert.match(standard, /[+/]/);
    assert.doesNotThrow(() => decodePaymentResponseHeader(standard));
    const urlSafe = standard.replaceAll('+', '-').replaceAll('/', '_');
    assert.throws(
      () => decodePaymentResponseHeader(urlSafe),
      isInvalidHeader('invalid_header_encoding'),
    );
  });

  test('base64 of text that is not JSON', () => {
    const header = Buffer.from('{"success":true,', 'utf8').toString('base64');
    assert.throws(
      () => decodePaymentResponseHeader(header),
      isInvalidHeader('invalid_header_json', 'payment-response'),
    );
  });

  test('base64 of bytes that are not UTF-8', () => {
    const header = Buffer.from([0x22, 0xff, 0xfe, 0x22]).toString('base64');
    assert.throws(
      () => decodePaymentResponseHeader(header),
      isInvalidHeader('invalid_header_json'),
    );
  });

  test('an amount sent as a number', () => {
    const header = toBase64Json({
      ...paymentPayload,
      accepted: { ...stxRequirements, amount: 1000 },
    });
    assert.throws(
      () => decodePaymentSignatureHeader(header),
      isInvalidHeader('invalid_header_schema', 'payment-signature'),
    );
  });

  test('a v1 object in a v2 header', () => {
    const header = toBase64Json({ ...paymentRequired, x402Version: 1 });
    assert.throws(
      () => decodePaymentRequiredHeader(header),
      isInvalidHeader('invalid_header_schema', 'payment-required'),
    );
  });

  test('a v2 payment in the v1 x-payment header', () => {
    assert.throws(
      () => decodeXPaymentHeader(toBase64Json(paymentPayload)),
      isInvalidHeader('invalid_header_schema', 'x-payment'),
    );
  });

  test('settlement_pending without a transaction', () => {
    const header = toBase64Json({
      success: false,
      errorReason: 'settlement_pending',
      transaction: '',
      network: TESTNET,
    });
    assert.throws(
      () => decodePaymentResponseHeader(header),
      isInvalidHeader('invalid_header_schema'),
    );
  });

  test('schema errors list "path: message" lines and never echo the header', () => {
    const header = toBase64Json({
      ...paymentPayload,
      accepted: { ...stxRequirements, amount: 1000 },
    });
    let caught: unknown;
    try {
      decodePaymentSignatureHeader(header);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof InvalidHeaderError);
    assert.equal(caught.header, 'payment-signature');
    assert.deepEqual(caught.metaMessages.length, 1);
    assert.match(caught.metaMessages[0] ?? '', /^accepted\.amount: /);
    assert.match(caught.shortMessage, /payment-signature/);
    assert.equal(caught.message.includes(header), false);
    assert.equal(caught.message.includes(SIGNED_TX), false);
  });

  test('JSON errors do not carry the parser message, which quotes the text', () => {
    const secret = 'not json but a secret';
    let caught: unknown;
    try {
      decodePaymentResponseHeader(Buffer.from(secret, 'utf8').toString('base64'));
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof InvalidHeaderError);
    assert.equal(caught.cause, undefined);
    assert.equal(caught.message.includes('secret'), false);
  });
});

describe('decoding normalises', () => {
  test('null optional fields become absent keys', () => {
    const header = toBase64Json({
      ...settleResponse,
      errorReason: null,
      errorMessage: null,
      amount: null,
      extensions: null,
    });
    const decoded = decodePaymentResponseHeader(header);
    assert.deepEqual(decoded, settleResponse);
    assert.equal('errorReason' in decoded, false);
  });

  test('unknown keys are preserved, at the top and nested', () => {
    const header = toBase64Json({
      ...paymentPayload,
      accepted: { ...stxRequirements, futureRequirementField: 1 },
      futureField: { nested: ['kept'] },
    });
    const decoded = decodePaymentSignatureHeader(header);
    assert.deepEqual(decoded.futureField, { nested: ['kept'] });
    assert.equal(decoded.accepted.futureRequirementField, 1);
  });
});

describe('decodePaymentResponse', () => {
  const header = encodePaymentResponseHeader(settleResponse);

  test('returns null when the header is absent or empty', () => {
    assert.equal(decodePaymentResponse(undefined), null);
    assert.equal(decodePaymentResponse(null), null);
    assert.equal(decodePaymentResponse(''), null);
    assert.equal(decodePaymentResponse([]), null);
  });

  test('decodes a present header', () => {
    const receipt = decodePaymentResponse(header);
    assert.deepEqual(receipt, settleResponse);
    assert.equal(receipt?.transaction, TXID);
  });

  test('takes the first element of an array', () => {
    assert.deepEqual(decodePaymentResponse([header, 'garbage!']), settleResponse);
    assert.throws(
      () => decodePaymentResponse(['garbage!', header]),
      isInvalidHeader('invalid_header_encoding'),
    );
  });

  test('throws when present but malformed', () => {
    assert.throws(
      () => decodePaymentResponse('not base64!'),
      isInvalidHeader('invalid_header_encoding'),
    );
    assert.throws(() => decodePaymentResponse(404), isInvalidHeader('invalid_header_encoding'));
    assert.throws(() => decodePaymentResponse(true), isInvalidHeader('invalid_header_json'));
  });
});

describe('decodeXPaymentResponse', () => {
  test('returns the v1 shape with an atomic string amount', () => {
    const header = toBase64Json({ txId: TXID, amount: 1000, sender: PAYER });
    const receipt = decodeXPaymentResponse(header);
    assert.deepEqual(receipt, { txId: TXID, amount: '1000', sender: PAYER });
  });

  test('returns null when absent, takes the first of an array, throws when malformed', () => {
    const header = encodeXPaymentResponseHeader(settleResponseV1);
    assert.equal(decodeXPaymentResponse(undefined), null);
    assert.equal(decodeXPaymentResponse(null), null);
    assert.equal(decodeXPaymentResponse(''), null);
    assert.deepEqual(decodeXPaymentResponse([header]), settleResponseV1);
    assert.throws(
      () => decodeXPaymentResponse(toBase64Json({ txId: TXID, amount: 1.5, sender: PAYER })),
      isInvalidHeader('invalid_header_schema', 'x-payment-response'),
    );
  });
});
