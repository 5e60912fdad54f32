/**
 * The client address behind the operator's proxies: counted from the right of `X-Forwarded-For`, so a client that
 * writes its own entries cannot pass as someone else, and `TRUST_PROXY`'s settings.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  forwardedClientAddress,
  MAX_TRUSTED_PROXIES,
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
