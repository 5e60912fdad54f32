/**
 * The client address behind the operator's proxies: counted from the right of `X-Forwarded-For`, so a client that
 * writes its own entries cannot pass as someone else, and `TRUST_PROXY`'s settings.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  forwardedClientAddress,
  MAX_TRUSTED_PROXIES,
  trustedProxiesOption,
  trustedProxyCount,
} from '@x402-stacks/service-runtime';

describe('forwardedClientAddress', () => {
  const peer = '10.0.0.2';

  test('trusting no proxy, the peer: whatever the header says', () => {
    assert.equal(forwardedClientAddress('203.0.113.7', peer, 0), peer);
    assert.equal(forwardedClientAddress(undefined, peer, 0), peer);
  });

  test('behind one proxy, the entry it appended, never one the client wrote before it', () => {
    assert.equal(forwardedClientAddress('203.0.113.7', peer, 1), '203.0.113.7');
    assert.equal(forwardedClientAddress('6.6.6.6, 7.7.7.7,203.0.113.7', peer, 1), '203.0.113.7');
  });

  test('behind two proxies, the entry the farther one wrote', () => {
    assert.equal(forwardedClientAddress('6.6.6.6, 203.0.113.7, 10.0.0.9', peer, 2), '203.0.113.7');
  });

  test('fewer entries than proxies: the leftmost, the farthest hop anyone wrote', () => {
    assert.equal(forwardedClientAddress('203.0.113.7', peer, 3), '203.0.113.7');
  });

  test('no header, or an empty entry where the client should be: the peer', () => {
    assert.equal(forwardedClientAddress(undefined, peer, 1), peer);
    assert.equal(forwardedClientAddress('203.0.113.7, ', peer, 1), peer);
    assert.equal(forwardedClientAddress('', undefined, 1), undefined);
  });

  test('one client is one address, whatever port or IPv6 form a proxy writes', () => {
    assert.equal(forwardedClientAddress('6.6.6.6, 203.0.113.7:51234', peer, 1), '203.0.113.7');
    assert.equal(forwardedClientAddress('[2001:DB8::1]:443', peer, 1), '2001:db8::1');
    assert.equal(forwardedClientAddress('2001:db8::1', peer, 1), '2001:db8::1');
    assert.equal(forwardedClientAddress('::ffff:203.0.113.7', peer, 1), '203.0.113.7');
  });

  test('entries as a split would count them: a leading comma is an empty first entry', () => {
    assert.equal(forwardedClientAddress(',203.0.113.7', peer, 1), '203.0.113.7');
    assert.equal(forwardedClientAddress(',203.0.113.7', peer, 2), peer);
    assert.equal(forwardedClientAddress(',203.0.113.7', peer, 3), peer);
    assert.equal(forwardedClientAddress('203.0.113.7,', peer, 1), peer);
  });

  test('an IPv6 address keeps its last group; an entry of brackets alone is nobody else', () => {
    assert.equal(forwardedClientAddress('[::1]', peer, 1), '::1');
    assert.equal(forwardedClientAddress('2001:db8::1:80', peer, 1), '2001:db8::1:80');
    assert.equal(forwardedClientAddress('[]', peer, 1), '[]');
  });

  test('the peer is one address too: IPv4 on a dual-stack socket as IPv4', () => {
    assert.equal(forwardedClientAddress(undefined, '::ffff:10.0.0.2', 1), '10.0.0.2');
    assert.equal(forwardedClientAddress('203.0.113.7', '::ffff:10.0.0.2', 0), '10.0.0.2');
  });

  test('a count that is not a whole number trusts nothing', () => {
    for (const count of [Number.NaN, 1.5, -1, Number.POSITIVE_INFINITY])
      assert.equal(forwardedClientAddress('203.0.113.7', peer, count), peer, String(count));
  });

  test('a header of thousands of entries: still the one the proxy appended', () => {
    const forged = Array.from({ length: 5_000 }, (_, n) => `198.51.${n >> 8}.${n & 255}`).join(',');
    assert.equal(forwardedClientAddress(`${forged}, 203.0.113.7`, peer, 1), '203.0.113.7');
    assert.equal(forwardedClientAddress(`${forged},203.0.113.7,10.0.0.9`, peer, 2), '203.0.113.7');
  });
});

describe('trustedProxiesOption', () => {
  test('true, false, nothing and whole numbers up to the most', () => {
    assert.equal(trustedProxiesOption(true), 1);
    assert.equal(trustedProxiesOption(false), 0);
    assert.equal(trustedProxiesOption(undefined), 0);
    assert.equal(trustedProxiesOption(3), 3);
  });

  test('any other number is refused: too many hops would key on an entry the client wrote', () => {
    for (const option of [1.5, -1, Number.NaN, MAX_TRUSTED_PROXIES + 1, 100])
      assert.throws(() => trustedProxiesOption(option), RangeError, String(option));
  });
});

describe('trustedProxyCount', () => {
  test('false, true and whole numbers up to the most', () => {
    assert.equal(trustedProxyCount('false'), 0);
    assert.equal(trustedProxyCount('true'), 1);
    assert.equal(trustedProxyCount('0'), 0);
    assert.equal(trustedProxyCount('2'), 2);
    assert.equal(trustedProxyCount(String(MAX_TRUSTED_PROXIES)), MAX_TRUSTED_PROXIES);
  });

  test('anything else is no setting', () => {
    for (const setting of ['yes', '', '-1', '1.5', ' 1', String(MAX_TRUSTED_PROXIES + 1), '001'])
      assert.equal(trustedProxyCount(setting), undefined, setting);
  });
});
