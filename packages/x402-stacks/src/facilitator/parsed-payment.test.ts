/**
 * Payments parsed once (parsed-payment.ts): a value the schema accepted here passes again without a parse, and
 * cannot be changed since; anything else, whatever it looks like, is parsed. The engine's `verify` called directly
 * still refuses what the schema refuses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFacilitator } from './engine.js';
import {
  parsedOrInput,
  parsePaymentPayload,
  parsePaymentRequirements,
  parseVerifyRequest,
} from './parsed-payment.js';

const requirements = {
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
  maxTimeoutSeconds: 300,
};
const payload = () => ({
  x402Version: 2,
  accepted: { ...requirements },
  payload: { transaction: '00' },
  extensions: { note: { nested: ['a'] } },
});

test('a parsed payload passes again as it is, frozen all the way down', () => {
  const first = parsePaymentPayload(payload());
  assert.ok(first.success);
  const again = parsePaymentPayload(first.data);
  assert.ok(again.success);
  assert.equal(again.data, first.data);
  assert.ok(Object.isFrozen(first.data));
  assert.ok(Object.isFrozen(first.data.accepted));
  assert.ok(Object.isFrozen((first.data.extensions as { note: { nested: string[] } }).note.nested));
  assert.throws(() => {
    (first.data.accepted as { amount: string }).amount = '1';
  }, TypeError);
});

test('a value that only looks parsed is parsed: a refused one stays refused, an equal copy is checked anew', () => {
  const bad = { ...payload(), x402Version: 1 };
  assert.equal(parsePaymentPayload(bad).success, false);
  assert.equal(parsePaymentPayload(bad).success, false);
  const input = payload();
  const parsed = parsePaymentPayload(input);
  assert.ok(parsed.success);
  // The input itself was not registered: changed after the parse, it is refused.
  input.accepted.amount = 'not an amount';
  assert.equal(parsePaymentRequirements(input.accepted).success, false);
  assert.equal(parsedOrInput(bad, parsePaymentPayload), bad);
});

test('a /verify body parsed at the boundary hands the engine values it takes unparsed; the rest it refuses', async () => {
  const body = parseVerifyRequest({
    x402Version: 2,
    paymentPayload: payload(),
    paymentRequirements: requirements,
  });
  assert.ok(body.success);
  const payloadAgain = parsePaymentPayload(body.data.paymentPayload);
  const requirementsAgain = parsePaymentRequirements(body.data.paymentRequirements);
  assert.ok(payloadAgain.success && requirementsAgain.success);
  assert.equal(payloadAgain.data, body.data.paymentPayload);
  assert.equal(requirementsAgain.data, body.data.paymentRequirements);
  assert.equal(parseVerifyRequest({ x402Version: 2, paymentPayload: {} }).success, false);
  // Called directly, verify still runs the schema.
  const facilitator = createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:9' } } });
  const verdict = await facilitator.verify({ ...payload(), x402Version: 1 }, requirements);
  assert.equal(verdict.isValid, false);
  assert.equal(verdict.invalidReason, 'invalid_payload');
  const requirementsVerdict = await facilitator.verify(payload(), { ...requirements, amount: -1 });
  assert.equal(requirementsVerdict.invalidReason, 'invalid_payment_requirements');
});

test("the caller's records themselves are copied, not frozen in its hands, and each of their keys read once", () => {
  const extra = { sponsor: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5' };
  let reads = 0;
  const own = {
    get transaction() {
      reads++;
      return reads === 1 ? '00aa' : '00bb';
    },
  };
  const input = { x402Version: 2, accepted: { ...requirements, extra }, payload: own };
  const parsed = parsePaymentPayload(input);
  assert.ok(parsed.success);
  // The caller may go on using its objects; the parsed value is its own, frozen, and reads the same every time.
  assert.equal(Object.isFrozen(own), false);
  assert.equal(Object.isFrozen(extra), false);
  assert.notEqual(parsed.data.payload, own);
  assert.equal(parsed.data.payload.transaction, '00aa');
  assert.equal(parsed.data.payload.transaction, '00aa');
  assert.equal(reads, 1);
  assert.ok(Object.isFrozen(parsed.data.payload));
});

test('a "__proto__" key from JSON.parse is left out of a record, which keeps its ordinary prototype', () => {
  const input = JSON.parse(
    `{"x402Version":2,"accepted":${JSON.stringify(requirements)},"payload":{"transaction":"00","__proto__":{"x":"1"}}}`,
  );
  const parsed = parsePaymentPayload(input);
  assert.ok(parsed.success);
  assert.deepEqual(Object.keys(parsed.data.payload), ['transaction']);
  assert.equal(Object.getPrototypeOf(parsed.data.payload), Object.prototype);
  assert.equal((parsed.data.payload as { x?: string }).x, undefined);
});
