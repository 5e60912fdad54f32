/**
 * The registry over real HTTP on 127.0.0.1: registration, re-registration and versions, the dry run, search with
 * filters and cursors, the Bazaar discovery shape, the pages (escaped), rate limits, and request-id logs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadConfig, type RegistryService, startRegistryService } from '../src/index.js';
import {
  type Answer,
  docsDocument,
  jsonAnswer,
  startSeller,
  TESTNET_PAY_TO,
  v2Answer,
  v2Challenge,
} from './fixtures.js';

// biome-ignore lint/suspicious/noExplicitAny: assertions read JSON answers by shape.
type Json = Record<string, any>;

const dir = mkdtempSync(join(tmpdir(), 'x402-registry-api-'));
const logLines: Json[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  }),
);

const routes = new Map<string, Answer>();
let seller: Awaited<ReturnType<typeof startSeller>>;
let service: RegistryService;
const at = (path: string) => `${seller.url}${path}`;

async function start(env: Record<string, string>, name: string) {
  return startRegistryService(
    loadConfig({
      PORT: '0',
      DATABASE_URL: `sqlite:${join(dir, `${name}.db`)}`,
      CHECK_INTERVAL_MS: '0',
      ...env,
    }),
    { logger },
  );
}

async function post(base: string, path: string, body: unknown) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Json,
  };
}
const get = async (path: string) => {
  const response = await fetch(`${service.url}${path}`);
  return { status: response.status, json: (await response.json()) as Json };
};

before(async () => {
  seller = await startSeller((path) => routes.get(path));
  routes.set('/weather', jsonAnswer(docsDocument(at('/weather'), { payTo: TESTNET_PAY_TO })));
  service = await start({ ALLOW_INSECURE_LOCAL: 'true', RATE_LIMIT_PER_HOUR: '1000' }, 'main');
});
after(async () => {
  await service.stop();
  await seller.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('registration', () => {
  let id: string;

  test('registers the docs example: 201, normalized, pending, with the probe as its first check', async () => {
    const { status, json } = await post(service.url, '/api/v1/resources', { url: at('/weather') });
    assert.equal(status, 201);
    assert.equal(json.created, true);
    assert.equal(json.status, 'pending');
    assert.deepEqual(json.findings, []);
    assert.deepEqual(json.listing.accepts[0], {
      scheme: 'exact',
      network: 'stacks:2147483648',
      amount: '1000000',
      asset: 'STX',
      symbol: 'STX',
      decimals: 6,
      payTo: TESTNET_PAY_TO,
      maxTimeoutSeconds: 60,
      price: { amount: '1', unit: 'STX' },
    });
    id = json.id;
    const detail = await get(`/api/v1/resources/${id}`);
    assert.equal(detail.json.input.type, 'http');
    assert.deepEqual(
      detail.json.versions.map((v: Json) => v.version),
      [1],
    );
    assert.deepEqual(
      detail.json.checks.map((c: Json) => [c.outcome, c.httpStatus]),
      [['ok', 402]],
    );
    assert.deepEqual(detail.json.uptime['24h'], { ok: 1, total: 1, ratio: 1 });
  });

  test('re-registering the same URL updates it; a new price is a new version', async () => {
    const same = await post(service.url, '/api/v1/resources', { url: at('/weather') });
    assert.deepEqual([same.status, same.json.id, same.json.listing.version], [200, id, 1]);
    routes.set(
      '/weather',
      jsonAnswer(
        docsDocument(at('/weather'), { payTo: TESTNET_PAY_TO, maxAmountRequired: '1500000' }),
      ),
    );
    const changed = await post(service.url, '/api/v1/resources', { url: at('/weather') });
    assert.deepEqual([changed.status, changed.json.id, changed.json.listing.version], [200, id, 2]);
    const detail = await get(`/api/v1/resources/${id}`);
    assert.deepEqual(
      detail.json.versions.map((v: Json) => [v.version, v.amount]),
      [
        [2, '1500000'],
        [1, '1000000'],
      ],
    );
  });

  test('a changed bazaar schema alone is a new version; the same declaration again is not', async () => {
    const declared = (schema: Json) => {
      const challenge: Json = v2Challenge(at('/quotes'));
      challenge.extensions.bazaar.schema = schema;
      return v2Answer(challenge);
    };
    routes.set('/quotes', declared({ type: 'object' }));
    const first = await post(service.url, '/api/v1/resources', { url: at('/quotes') });
    assert.deepEqual([first.status, first.json.listing.version], [201, 1]);
    const again = await post(service.url, '/api/v1/resources', { url: at('/quotes') });
    assert.deepEqual([again.status, again.json.listing.version], [200, 1]);
    // Same terms, input and output: only what the seller now says the input must hold changed.
    const stricter = { type: 'object', required: ['input'] };
    routes.set('/quotes', declared(stricter));
    const changed = await post(service.url, '/api/v1/resources', { url: at('/quotes') });
    assert.deepEqual([changed.status, changed.json.listing.version], [200, 2]);
    const detail = await get(`/api/v1/resources/${first.json.id}`);
    assert.deepEqual(detail.json.schema, stricter);
    assert.deepEqual(
      detail.json.versions.map((v: Json) => v.version),
      [2, 1],
    );
    assert.notEqual(detail.json.versions[0].schemaHash, detail.json.versions[1].schemaHash);
  });

  test('a refused registration is 400 with a documented error, a message and every finding', async () => {
    routes.set(
      '/broken',
      jsonAnswer(docsDocument(at('/broken'), { network: 'base' }, { name: '' })),
    );
    const { status, json } = await post(service.url, '/api/v1/resources', { url: at('/broken') });
    assert.equal(status, 400);
    assert.equal(json.error, 'invalid_name');
    assert.equal(json.message, 'name is empty');
    assert.deepEqual(
      json.findings.map((f: Json) => f.code),
      ['invalid_name', 'invalid_network'],
    );
  });

  test('the dry run reports the same findings and stores nothing', async () => {
    routes.set('/dry', jsonAnswer(docsDocument(at('/dry'), { resource: `${at('/dry')}/{id}` })));
    const before = (await get('/health')).json.listings;
    const { status, json } = await post(service.url, '/api/v1/validate', { url: at('/dry') });
    assert.equal(status, 200);
    assert.equal(json.valid, true);
    assert.deepEqual(
      json.findings.map((f: Json) => f.detail),
      ['placeholder'],
    );
    assert.equal((await get('/health')).json.listings, before);
  });

  test('a body that is not the request shape is 400 invalid_request', async () => {
    const notJson = await post(service.url, '/api/v1/resources', 'url=x');
    assert.deepEqual([notJson.status, notJson.json.error], [400, 'invalid_request']);
    const noUrl = await post(service.url, '/api/v1/resources', { method: 'GET' });
    assert.deepEqual([noUrl.status, noUrl.json.details[0].path], [400, 'url']);
  });

  test('an unknown listing is 404', async () => {
    const { status, json } = await get('/api/v1/resources/nope');
    assert.deepEqual([status, json.error], [404, 'not_found']);
  });

  test('every response carries a request id, and the log line for it has the same id', async () => {
    const response = await fetch(`${service.url}/health`);
    const requestId = response.headers.get('x-request-id');
    assert.ok(requestId);
    await response.arrayBuffer();
    const line = logLines.find((l) => l.requestId === requestId && l.msg === 'request');
    assert.deepEqual([line?.path, line?.status], ['/health', 200]);
  });

  test('local mode is announced loudly in the logs', () => {
    assert.ok(logLines.some((l) => l.level === 40 && /ALLOW_INSECURE_LOCAL is on/.test(l.msg)));
  });
});

describe('search', () => {
  const ids: Record<string, string> = {};
  before(async () => {
    const listings: [string, Json][] = [
      [
        '/cheap',
        docsDocument(
          at('/cheap'),
          { payTo: TESTNET_PAY_TO, maxAmountRequired: '999' },
          { name: 'Cheap forecast' },
        ),
      ],
      [
        '/exact',
        docsDocument(
          at('/exact'),
          { payTo: TESTNET_PAY_TO, maxAmountRequired: '1000' },
          { name: 'Exact forecast' },
        ),
      ],
      [
        '/dear',
        docsDocument(
          at('/dear'),
          { payTo: TESTNET_PAY_TO, maxAmountRequired: '1001' },
          { name: 'Dear forecast' },
        ),
      ],
      [
        '/sats',
        v2Challenge(at('/sats'), { asset: 'sBTC', amount: '50' }, { name: 'Satoshi oracle' }),
      ],
    ];
    for (const [path, document] of listings) {
      routes.set(path, path === '/sats' ? v2Answer(document) : jsonAnswer(document));
      const { json } = await post(service.url, '/api/v1/resources', { url: at(path) });
      assert.ok(json.id, JSON.stringify(json));
      ids[path] = json.id;
    }
  });

  test('full text matches word prefixes in names', async () => {
    const { json } = await get('/api/v1/resources?q=forec');
    assert.deepEqual(
      new Set(json.items.map((i: Json) => i.name)),
      new Set(['Cheap forecast', 'Exact forecast', 'Dear forecast']),
    );
    assert.equal(json.total, 3);
  });

  test('a maximum price compares atomic amounts exactly, and a human price converts exactly', async () => {
    const atomic = await get('/api/v1/resources?asset=STX&maxAmount=1000&sort=price');
    assert.deepEqual(
      atomic.json.items.map((i: Json) => i.name),
      ['Cheap forecast', 'Exact forecast'],
    );
    const human = await get('/api/v1/resources?asset=STX&maxPrice=0.001&sort=price');
    assert.deepEqual(human.json.items, atomic.json.items);
  });

  test('asset and network filters', async () => {
    const sbtc = await get('/api/v1/resources?asset=sBTC');
    assert.deepEqual(
      sbtc.json.items.map((i: Json) => i.id),
      [ids['/sats']],
    );
    const mainnet = await get('/api/v1/resources?network=mainnet');
    assert.equal(mainnet.json.total, 0);
    const testnet = await get('/api/v1/resources?network=stacks:2147483648&method=GET');
    assert.ok(testnet.json.total >= 5);
  });

  test('cursor paging walks every listing once, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const { json } = await get(`/api/v1/resources?limit=2${query}`);
      seen.push(...json.items.map((i: Json) => i.id));
      cursor = json.nextCursor;
    } while (cursor);
    const all = await get('/api/v1/resources?limit=100');
    assert.deepEqual(
      seen,
      all.json.items.map((i: Json) => i.id),
    );
    assert.equal(new Set(seen).size, all.json.total);
  });

  test('a bad query is 400 invalid_query with every problem', async () => {
    const { status, json } = await get('/api/v1/resources?network=base&limit=1000&maxAmount=-1');
    assert.equal(status, 400);
    assert.equal(json.error, 'invalid_query');
    assert.deepEqual(json.details.map((d: Json) => d.path).sort(), [
      'limit',
      'maxAmount',
      'network',
    ]);
    const noAsset = await get('/api/v1/resources?maxAmount=10');
    assert.equal(noAsset.json.details[0].path, 'maxAmount');
  });

  test('the Bazaar discovery route speaks x402 v2', async () => {
    const { status, json } = await get('/discovery/resources?limit=2&offset=1');
    assert.equal(status, 200);
    assert.equal(json.x402Version, 2);
    assert.deepEqual(json.pagination.limit, 2);
    assert.deepEqual(json.pagination.offset, 1);
    assert.ok(json.pagination.total >= 5);
    const item = json.items[0];
    assert.equal(item.type, 'http');
    assert.match(item.accepts[0].network, /^stacks:/);
    assert.match(item.accepts[0].amount, /^\d+$/);
    assert.ok(item.extensions.bazaar.info.input);
    const sats = (await get(`/discovery/resources?limit=100`)).json.items.find(
      (i: Json) => i.resource === at('/sats'),
    );
    assert.equal(sats.accepts[0].asset, 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token');
    assert.equal((await get('/discovery/resources?type=mcp')).json.pagination.total, 0);
  });
});

describe('pages', () => {
  test('a listing with <script> in its name renders escaped everywhere', async () => {
    const evil = '<script>alert(1)</script>';
    routes.set(
      '/evil',
      jsonAnswer(
        docsDocument(
          at('/evil'),
          { payTo: TESTNET_PAY_TO, description: `"><img src=x onerror=alert(2)>` },
          { name: evil },
        ),
      ),
    );
    const { json } = await post(service.url, '/api/v1/resources', { url: at('/evil') });
    for (const path of ['/', `/resources/${json.id}`, '/?q=alert']) {
      const response = await fetch(`${service.url}${path}`);
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      const page = await response.text();
      assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), path);
      assert.ok(!page.includes('<script>'), path);
      assert.ok(!page.includes('<img src=x'), path);
    }
  });

  test('the detail page shows human and atomic prices, uptime, the schema and a pay command', async () => {
    const { json } = await post(service.url, '/api/v1/resources', { url: at('/sats') });
    const page = await (await fetch(`${service.url}/resources/${json.id}`)).text();
    assert.match(page, /0\.0000005 sBTC/);
    assert.match(page, /50 sats/);
    assert.match(page, /Uptime, 24 h<\/span><b>100%/);
    assert.ok(
      page.includes(
        `npx x402-stacks pay &#39;${at('/sats')}&#39; --network testnet --max-amount 0.0000005sBTC`,
      ),
    );
    assert.match(page, /queryParams/);
  });

  test('the form shows the findings of a refused registration', async () => {
    const response = await fetch(`${service.url}/register`, {
      method: 'POST',
      body: new URLSearchParams({ url: at('/broken'), action: 'register' }),
    });
    assert.equal(response.status, 400);
    const page = await response.text();
    assert.match(page, /Refused: <b>invalid_name<\/b>/);
    assert.match(page, /invalid_network/);
  });
});

describe('other configurations', () => {
  test('without local mode a 127.0.0.1 seller is refused with invalid_url', async () => {
    const strict = await start({}, 'strict');
    try {
      const { status, json } = await post(strict.url, '/api/v1/resources', { url: at('/weather') });
      assert.deepEqual(
        [status, json.error, json.findings[0].detail],
        [400, 'invalid_url', 'not_https'],
      );
    } finally {
      await strict.stop();
    }
  });

  test('behind a proxy, the limit holds a caller who writes X-Forwarded-For entries of its own', async () => {
    const proxied = await start(
      { ALLOW_INSECURE_LOCAL: 'true', RATE_LIMIT_PER_HOUR: '2', TRUST_PROXY: 'true' },
      'proxied',
    );
    const validate = (forwardedFor: string) =>
      fetch(`${proxied.url}/api/v1/validate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
        body: JSON.stringify({ url: at('/weather') }),
      });
    try {
      // The caller writes a new address each time; the proxy appends the one it saw.
      for (let n = 0; n < 2; n++)
        assert.equal((await validate(`198.51.100.${n}, 203.0.113.7`)).status, 200);
      assert.equal((await validate('198.51.100.2, 203.0.113.7')).status, 429);
      assert.equal((await validate('198.51.100.2, 203.0.113.8')).status, 200, 'another caller');
      // An IPv6 caller is its /64, whatever address of the block it comes from.
      for (let n = 1; n <= 2; n++) assert.equal((await validate(`2001:db8:5:5::${n}`)).status, 200);
      assert.equal((await validate('2001:db8:5:5::ffff')).status, 429);
      assert.equal((await validate('2001:db8:5:6::1')).status, 200, 'another /64');
    } finally {
      await proxied.stop();
    }
  });

  test('registration and validation share a per-address rate limit', async () => {
    const limited = await start(
      { ALLOW_INSECURE_LOCAL: 'true', RATE_LIMIT_PER_HOUR: '2' },
      'limited',
    );
    try {
      assert.equal(
        (await post(limited.url, '/api/v1/validate', { url: at('/weather') })).status,
        200,
      );
      assert.equal(
        (await post(limited.url, '/api/v1/resources', { url: at('/weather') })).status,
        201,
      );
      const third = await post(limited.url, '/api/v1/resources', { url: at('/weather') });
      assert.equal(third.status, 429);
      assert.equal(third.json.error, 'rate_limited');
      assert.ok(Number(third.headers.get('retry-after')) > 0);
      assert.equal(
        (await fetch(`${limited.url}/api/v1/resources`)).status,
        200,
        'search is not limited',
      );
      const form = await fetch(`${limited.url}/register`, {
        method: 'POST',
        body: new URLSearchParams({ url: at('/weather') }),
      });
      assert.equal(form.status, 429);
      assert.match(await form.text(), /Too many submissions/);
    } finally {
      await limited.stop();
    }
  });
});
