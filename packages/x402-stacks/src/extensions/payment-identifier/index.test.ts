/**
 * The pure parts of `payment-identifier`: the id format, fresh ids, the seller's declaration, the buyer's echo, and
 * reading an id (or why it cannot be read) out of a payload's extensions.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createPaymentId,
  declarePaymentIdentifier,
  PAYMENT_IDENTIFIER,
  PaymentIdSchema,
  paymentIdOf,
  readPaymentIdentifier,
  withPaymentId,
} from './index.js';

describe('payment-identifier', () => {
  test('ids are 16 to 128 letters, digits, _ or -', () => {
    for (const id of ['a'.repeat(16), 'Z'.repeat(128), 'pay_0123-4567_89ab']) {
      assert.equal(PaymentIdSchema.safeParse(id).success, true, id);
    }
    for (const id of [
      'a'.repeat(15),
      'a'.repeat(129),
      'pay 0123456789abc',
      'pay/0123456789abc',
      '',
    ]) {
      assert.equal(PaymentIdSchema.safeParse(id).success, false, id);
    }
  });

  test('fresh ids are valid and distinct', () => {
    const ids = new Set(Array.from({ length: 1_000 }, () => createPaymentId()));
    assert.equal(ids.size, 1_000);
    for (const id of ids) assert.match(id, /^pay_[0-9a-f]{32}$/);
  });

  test('the declaration is optional unless asked', () => {
    assert.deepEqual(declarePaymentIdentifier().info, { required: false });
    assert.deepEqual(declarePaymentIdentifier({ required: true }).info, { required: true });
  });

  test('withPaymentId echoes the declaration with an id, in a copy; without a declaration nothing changes', () => {
    const declared = {
      [PAYMENT_IDENTIFIER]: declarePaymentIdentifier({ required: true }),
      other: 1,
    };
    const echoed = withPaymentId(declared, 'pay_0123456789abcdef')!;
    assert.deepEqual(echoed[PAYMENT_IDENTIFIER], {
      ...declared[PAYMENT_IDENTIFIER],
      info: { required: true, id: 'pay_0123456789abcdef' },
    });
    assert.equal(echoed.other, 1);
    assert.deepEqual(declared[PAYMENT_IDENTIFIER].info, { required: true }, 'the 402 untouched');
    assert.equal(withPaymentId(undefined), undefined);
    const none = { bazaar: {} };
    assert.equal(withPaymentId(none), none);
    assert.throws(() => withPaymentId(declared, 'short'));
    const fresh = paymentIdOf(withPaymentId(declared));
    assert.ok(fresh.ok && fresh.id?.startsWith('pay_'));
  });

  test('paymentIdOf: none, the id, or invalid_payment_identifier with where it is wrong', () => {
    assert.deepEqual(paymentIdOf(undefined), { ok: true, id: undefined });
    assert.deepEqual(paymentIdOf(null), { ok: true, id: undefined });
    assert.deepEqual(paymentIdOf({ [PAYMENT_IDENTIFIER]: { info: { required: false } } }), {
      ok: true,
      id: undefined,
    });
    assert.deepEqual(
      paymentIdOf({
        [PAYMENT_IDENTIFIER]: { info: { required: false, id: 'pay_0123456789abcdef' } },
      }),
      { ok: true, id: 'pay_0123456789abcdef' },
    );
    for (const entry of [
      'pay_0123456789abcdef',
      { info: 'pay_0123456789abcdef' },
      { info: { id: 'short' } },
      { info: { id: 1234567890123456 } },
      { info: { required: 'yes' } },
    ]) {
      const of = paymentIdOf({ [PAYMENT_IDENTIFIER]: entry });
      assert.equal(of.ok, false, JSON.stringify(entry));
      assert.equal(!of.ok && of.reason, 'invalid_payment_identifier');
      assert.match(!of.ok ? of.message : '', /extensions\.payment-identifier/);
    }
  });

  test('readPaymentIdentifier keeps fields it does not know', () => {
    const read = readPaymentIdentifier({
      [PAYMENT_IDENTIFIER]: { info: { required: true, note: 'x' } },
    });
    assert.deepEqual(read, { status: 'present', info: { required: true, note: 'x' } });
  });
});
