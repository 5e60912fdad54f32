import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPaymentReservations, type ReservedPayment } from './reservations.js';

const NETWORK = 'stacks:2147483648';
const payment = (txid: string, nonce = 0n, payer = 'ST1PAYER'): ReservedPayment => ({
  txid,
  network: NETWORK,
  payer,
  nonce,
});
const LEASE = 1_000;

describe('payment reservations', () => {
  test('a payment is held by its txid and by its payer nonce until released', () => {
    const reservations = createPaymentReservations();
    const first = reservations.reserve(payment('aa'), LEASE);
    assert.ok(first.reserved);
    assert.deepEqual(reservations.reserve(payment('AA'), LEASE), {
      reserved: false,
      by: 'txid',
      state: 'in-progress',
    });
    assert.deepEqual(reservations.reserve(payment('bb'), LEASE), {
      reserved: false,
      by: 'nonce',
      state: 'in-progress',
    });
    assert.ok(reservations.reserve(payment('cc', 1n), LEASE).reserved, 'another nonce');
    assert.ok(reservations.reserve(payment('dd', 0n, 'ST1OTHER'), LEASE).reserved, 'another payer');
    first.reservation.release();
    first.reservation.consume();
    assert.ok(reservations.reserve(payment('bb'), LEASE).reserved, 'free again, and not spent');
  });

  test('a consumed payment is refused as spent for spentMemoryMs, then forgotten', () => {
    let clock = 0;
    const reservations = createPaymentReservations({ spentMemoryMs: 60, now: () => clock });
    const held = reservations.reserve(payment('aa'), LEASE);
    assert.ok(held.reserved);
    held.reservation.consume();
    held.reservation.release();
    assert.deepEqual(reservations.reserve(payment('aa'), LEASE), {
      reserved: false,
      by: 'txid',
      state: 'spent',
    });
    assert.deepEqual(reservations.reserve(payment('bb'), LEASE), {
      reserved: false,
      by: 'nonce',
      state: 'spent',
    });
    clock = 60;
    assert.ok(reservations.reserve(payment('bb'), LEASE).reserved);
  });

  test('a lease ends a reservation that is never released', () => {
    let clock = 0;
    const reservations = createPaymentReservations({ now: () => clock });
    const leaked = reservations.reserve(payment('aa'), LEASE);
    assert.ok(leaked.reserved);
    clock = LEASE - 1;
    assert.equal(reservations.reserve(payment('aa'), LEASE).reserved, false);
    clock = LEASE;
    const next = reservations.reserve(payment('aa'), LEASE);
    assert.ok(next.reserved, 'the lease is over');
    // The leaked request finishing late must not free the payment its successor holds.
    leaked.reservation.release();
    assert.equal(reservations.reserve(payment('bb'), LEASE).reserved, false);
    assert.equal(reservations.size, 1);
  });

  test('at capacity: expired entries go, then spent ones; in-progress ones never, a new payment is refused', () => {
    let clock = 0;
    const reservations = createPaymentReservations({ capacity: 3, now: () => clock });
    const spent = reservations.reserve(payment('s', 1n), LEASE);
    assert.ok(spent.reserved);
    spent.reservation.consume();
    assert.ok(reservations.reserve(payment('e', 2n), 10).reserved);
    assert.ok(reservations.reserve(payment('p', 3n), LEASE).reserved);
    clock = 10;
    assert.ok(reservations.reserve(payment('n1', 4n), LEASE).reserved, 'the expired one made room');
    assert.ok(reservations.reserve(payment('n2', 5n), LEASE).reserved, 'the spent one made room');
    assert.equal(reservations.size, 3);
    assert.deepEqual(reservations.reserve(payment('n3', 6n), LEASE), {
      reserved: false,
      by: 'capacity',
    });
    assert.equal(reservations.reserve(payment('p', 3n), LEASE).reserved, false, 'still held');
  });
});
