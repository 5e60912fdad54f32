/**
 * The SSRF-safe fetcher: private, loopback, link-local and mapped addresses are refused whether they come from the
 * URL, from DNS (an injected resolver) or from a redirect; local mode opens loopback and nothing else; the
 * connection goes to the address that was checked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  checkAddress,
  createSafeFetcher,
  ProbeError,
  type Resolver,
  validateEndpoint,
} from '../src/index.js';
import { docsDocument, jsonAnswer, startSeller } from './fixtures.js';

const resolverOf =
  (table: Record<string, string[]>): Resolver =>
  async (hostname) => {
    const addresses = table[hostname];
    if (!addresses) throw new Error(`ENOTFOUND ${hostname}`);
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

async function probeFailure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProbeError, String(error));
    return error.reason;
  }
  return 'no failure';
}

describe('checkAddress', () => {
  const cases: [string, boolean][] = [
    ['93.184.216.34', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['100.64.0.1', false],
    ['169.254.169.254', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fd12:3456::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:169.254.169.254', false],
    ['::ffff:93.184.216.34', true],
    ['64:ff9b::a00:1', false],
    ['2002:a00:1::1', false],
  ];
  for (const [address, allowed] of cases) {
    test(`${address} is ${allowed ? 'public' : 'refused'}`, () => {
      assert.equal(checkAddress(address).allowed, allowed);
    });
  }
  test('local mode opens loopback only', () => {
    assert.equal(checkAddress('127.0.0.1', { allowLoopback: true }).allowed, true);
    assert.equal(checkAddress('::1', { allowLoopback: true }).allowed, true);
    assert.equal(checkAddress('::ffff:127.0.0.1', { allowLoopback: true }).allowed, true);
    assert.equal(checkAddress('169.254.169.254', { allowLoopback: true }).allowed, false);
    assert.equal(checkAddress('10.0.0.1', { allowLoopback: true }).allowed, false);
  });
});

describe('createSafeFetcher', () => {
  let seller: Awaited<ReturnType<typeof startSeller>>;
  let port: string;
  before(async () => {
    seller = await startSeller((path) => {
      if (path === '/ok') return jsonAnswer(docsDocument(`${seller.url}/ok`));
      if (path === '/to-metadata')
        return { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } };
      if (path === '/to-internal')
        return { status: 307, headers: { location: `http://internal.test:${port}/ok` } };
      if (path === '/to-ok') return { status: 301, headers: { location: '/ok' } };
      if (path === '/loop') return { status: 302, headers: { location: '/loop' } };
      if (path === '/fat-headers')
        return { status: 402, headers: { 'x-pad': 'a'.repeat(200 * 1024) } };
      return undefined;
    });
    port = new URL(seller.url).port;
  });
  after(() => seller.stop());

  const strict = (table: Record<string, string[]>) =>
    createSafeFetcher({ resolve: resolverOf(table), timeoutMs: 2000 });
  const local = (table: Record<string, string[]> = {}) =>
    createSafeFetcher({ resolve: resolverOf(table), allowInsecureLocal: true, timeoutMs: 2000 });

  for (const [label, address] of [
    ['localhost', '127.0.0.1'],
    ['10/8', '10.20.30.40'],
    ['the metadata address', '169.254.169.254'],
    ['IPv6 loopback', '::1'],
    ['IPv4-mapped loopback', '::ffff:127.0.0.1'],
  ] as const) {
    test(`DNS that resolves to ${label} is refused`, async () => {
      const fetcher = strict({ 'seller.example': [address] });
      assert.equal(
        await probeFailure(fetcher({ url: 'https://seller.example/x', method: 'GET' })),
        'ssrf_blocked',
      );
    });
  }

  test('one private answer among public ones is enough to refuse', async () => {
    const fetcher = strict({ 'seller.example': ['93.184.216.34', '10.0.0.1'] });
    assert.equal(
      await probeFailure(fetcher({ url: 'https://seller.example/x', method: 'GET' })),
      'ssrf_blocked',
    );
  });

  test('private IP literals are refused without DNS', async () => {
    const fetcher = strict({});
    for (const url of ['https://10.0.0.1/x', 'https://[::1]/x', 'https://169.254.169.254/x']) {
      assert.equal(await probeFailure(fetcher({ url, method: 'GET' })), 'ssrf_blocked', url);
    }
  });

  test('http is refused unless in local mode', async () => {
    assert.equal(
      await probeFailure(strict({})({ url: `${seller.url}/ok`, method: 'GET' })),
      'insecure_url',
    );
    const response = await local()({ url: `${seller.url}/ok`, method: 'GET' });
    assert.equal(response.status, 402);
  });

  test('the connection goes to the checked address (a name resolved by the injected DNS)', async () => {
    const response = await local({ 'seller.test': ['127.0.0.1'] })({
      url: `http://seller.test:${port}/ok`,
      method: 'GET',
    });
    assert.equal(response.status, 402);
    assert.equal(response.url, `http://seller.test:${port}/ok`);
  });

  test('a redirect to the metadata address is refused, even in local mode', async () => {
    assert.equal(
      await probeFailure(local()({ url: `${seller.url}/to-metadata`, method: 'GET' })),
      'ssrf_blocked',
    );
  });

  test('a redirect to a name that resolves to private space is refused', async () => {
    const fetcher = local({ 'internal.test': ['10.0.0.7'] });
    assert.equal(
      await probeFailure(fetcher({ url: `${seller.url}/to-internal`, method: 'GET' })),
      'ssrf_blocked',
    );
  });

  test('a same-host redirect is followed and the final URL reported', async () => {
    const response = await local()({ url: `${seller.url}/to-ok`, method: 'GET' });
    assert.equal(response.status, 402);
    assert.equal(response.url, `${seller.url}/ok`);
  });

  test('redirect loops stop after three hops', async () => {
    assert.equal(
      await probeFailure(local()({ url: `${seller.url}/loop`, method: 'GET' })),
      'too_many_redirects',
    );
    assert.equal(seller.hits.get('GET /loop'), 4);
  });

  test('headers over the cap are refused', async () => {
    assert.equal(
      await probeFailure(local()({ url: `${seller.url}/fat-headers`, method: 'GET' })),
      'headers_too_large',
    );
  });

  test('a name that does not resolve fails as dns_failed', async () => {
    assert.equal(
      await probeFailure(strict({})({ url: 'https://nowhere.example/x', method: 'GET' })),
      'dns_failed',
    );
  });

  test('validation reports a blocked host as invalid_url with detail ssrf_blocked', async () => {
    const fetcher = strict({ 'seller.example': ['192.168.0.10'] });
    const result = await validateEndpoint({ url: 'https://seller.example/weather' }, { fetcher });
    assert.equal(result.error, 'invalid_url');
    assert.equal(result.findings[0]!.detail, 'ssrf_blocked');
  });

  test('without local mode a 127.0.0.1 seller is refused; with it, it validates', async () => {
    const url = `${seller.url}/ok`;
    const refused = await validateEndpoint({ url }, { fetcher: local() });
    assert.equal(refused.error, 'invalid_url');
    const allowed = await validateEndpoint({ url }, { fetcher: local(), allowInsecureLocal: true });
    assert.equal(allowed.valid, true);
  });
});
