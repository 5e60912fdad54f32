/** The key a per-caller limit counts an address under: an IPv6 client's /64, an IPv4 one however written. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { callerKey } from '@x402-stacks/service-runtime';

describe('callerKey', () => {
  test('every address of one IPv6 /64 is one caller, however it is written', () => {
    for (const address of [
      '2001:db8:1:2::1',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0DB8:0001:0002:0:0:0:7',
      '2001:db8:1:2:aaaa::1.2.3.4',
      '2001:db8:1:2::9%eth0',
    ])
      assert.equal(callerKey(address), '2001:db8:1:2::/64', address);
  });

  test('a zone is no part of the address, even with dots in its name', () => {
    assert.equal(callerKey('::2:3:4:5:6:7:8%eth0.100'), '0:2:3:4::/64');
  });

  test('another /64 is another caller', () => {
    assert.notEqual(callerKey('2001:db8:1:3::1'), callerKey('2001:db8:1:2::1'));
    assert.equal(callerKey('2001:db8::'), '2001:db8:0:0::/64');
  });

  test('an IPv4 client is its IPv4 address, however an IPv6 form writes it', () => {
    for (const address of [
      '::ffff:1.2.3.4',
      '0:0:0:0:0:ffff:1.2.3.4',
      '::ffff:102:304',
      '::1.2.3.4',
      '64:ff9b::1.2.3.4',
      '64:ff9b::102:304',
    ])
      assert.equal(callerKey(address), '1.2.3.4', address);
    assert.notEqual(callerKey('::ffff:1.2.3.5'), callerKey('::ffff:1.2.3.4'));
  });

  test('the rest of the first /64 is a caller per address, never one shared bucket', () => {
    assert.equal(callerKey('::1'), '0:0:0:0:0:0:0:1');
    assert.equal(callerKey('::'), '0:0:0:0:0:0:0:0');
    assert.notEqual(callerKey('::ffff:0:1.2.3.4'), callerKey('::ffff:0:1.2.3.5'));
  });

  test('IPv4 and what is no address stay as they are', () => {
    for (const address of ['203.0.113.7', 'local', 'unknown', '[]', '2001:db8::zz'])
      assert.equal(callerKey(address), address);
  });
});
