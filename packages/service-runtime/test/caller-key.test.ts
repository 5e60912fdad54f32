/** The key a per-caller limit counts an address under: an IPv6 client's /64, anything else as it is. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { callerKey } from '@x402-stacks/service-runtime';

describe('callerKey', () => {
  test('every address of one IPv6 /64 is one caller, however it is written', () => {
    const key = '2001:db8:1:2::/64';
    for (const address of [
      '2001:db8:1:2::1',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0DB8:0001:0002:0:0:0:7',
      '2001:db8:1:2:aaaa::1.2.3.4',
      'fe80::1%eth0'.replace('fe80::1', '2001:db8:1:2::9'),
    ])
      assert.equal(callerKey(address), key, address);
  });

  test('another /64 is another caller', () => {
    assert.notEqual(callerKey('2001:db8:1:3::1'), callerKey('2001:db8:1:2::1'));
    assert.equal(callerKey('::1'), '0:0:0:0::/64');
    assert.equal(callerKey('2001:db8::'), '2001:db8:0:0::/64');
  });

  test('IPv4 and what is no address stay as they are', () => {
    for (const address of ['203.0.113.7', 'local', 'unknown', '[]', '2001:db8::zz'])
      assert.equal(callerKey(address), address);
  });
});
