/** The facilitator's HTTP routes, in-process over the engine, against the devnet over real HTTP. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { pino } from 'pino';
import { createFacilitator, type Facilitator } from 'x402-stacks';
import { ChainRequestError } from 'x402-stacks/chain';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import type { FacilitatorApp } from '../src/app.js';
import { createFacilitatorApp } from '../src/app.js';
import { stxPaymentBody } from './payment-body.js';

const post = (app: FacilitatorApp, path: string, body: unknown) =>
  app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** A devnet, an engine on it, and the app over the engine: what each suite below starts fresh. */
async function devnetApp() {
  const devnet = await startDevnet({ port: 0 });
  const facilitator = createFacilitator({
    networks: { testnet: { url: devnet.url } },
    pollIntervalMs: 10,
  });
  return { devnet, facilitator, app: createFacilitatorApp({ facilitator }) };
}

async function stopDevnetApp(devnet: Devnet, facilitator: Facilitator) {
  await facilitator.idle();
  await devnet.stop();
}

describe('facilitator HTTP routes', () => {
  let devnet: Devnet;
  let facilitator: Facilitator;
  let app: FacilitatorApp;
  before(async () => {
    ({ devnet, facilitator, app } = await devnetApp());
  });
  after(() => stopDevnetApp(devnet, facilitator));

  /** A settle body: `payer` is the account paying (account 1 is paid). */
  function request(nonce = 0n, payer = 0) {
    return stxPaymentBody({
      payer: devnet.accounts[payer]!.account,
      payTo: devnet.accounts[1]!.address,
      nonce,
    });
  }

  test('POST /verify: 200 with isValid, and a business failure is 200 with false', async () => {
    const body = await request();
    const ok = await post(app, '/verify', body);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { isValid: boolean }).isValid, true);
    const wrongAmount = {
      ...body,
      paymentRequirements: { ...body.paymentRequirements, amount: '999' },
    };
    const refused = await post(app, '/verify', wrongAmount);
    assert.equal(refused.status, 200);
    assert.equal(((await refused.json()) as { isValid: boolean }).isValid, false);
  });

  test('POST /settle, then GET /settlements/:txid with the terms it is bound to; a replay is 200 duplicate_settlement', async () => {
    const body = await request();
    const resource = 'https://api.example.com/weather';
    const bound = {
      ...body,
      paymentPayload: { ...body.paymentPayload, resource: { url: resource } },
    };
    const settled = (await (await post(app, '/settle', bound)).json()) as {
      success: boolean;
      transaction: string;
      payer: string;
    };
    assert.equal(settled.success, true);
    const status = await app.request(`/settlements/${settled.transaction}`);
    assert.equal(status.status, 200);
    const answer = (await status.json()) as Record<string, unknown>;
    assert.equal(typeof answer.blockHeight, 'number');
    delete answer.blockHeight;
    assert.deepEqual(answer, {
      transaction: settled.transaction,
      state: 'success',
      payer: settled.payer,
      network: 'stacks:2147483648',
      amount: '1000',
      asset: 'STX',
      payTo: devnet.accounts[1]!.address,
      resource,
    });
    const replay = (await (await post(app, '/settle', bound)).json()) as { errorReason: string };
    assert.equal(replay.errorReason, 'duplicate_settlement');
    assert.equal((await app.request(`/settlements/${'ab'.repeat(32)}`)).status, 404);
    for (const malformed of [
      '%00',
      'ab'.repeat(31),
      `0x${'zz'.repeat(32)}`,
      `${'ab'.repeat(32)}%00`,
    ]) {
      const refused = await app.request(`/settlements/${malformed}`);
      assert.equal(refused.status, 400, malformed);
      assert.equal(((await refused.json()) as { error: string }).error, 'invalid_txid');
    }
  });

  test('a settle that names no resource is answered without one: bound to no route', async () => {
    const settled = (await (await post(app, '/settle', await request(0n, 2))).json()) as {
      transaction: string;
    };
    const answer = (await (await app.request(`/settlements/${settled.transaction}`)).json()) as {
      amount: string;
    };
    assert.equal(answer.amount, '1000');
    assert.equal('resource' in answer, false);
  });

  test('malformed bodies are 400 with error and details', async () => {
    const body = await request(1n);
    const cases: [unknown, string][] = [
      ['{not json', 'invalid_json'],
      [{ x402Version: 2 }, 'invalid_request'],
      [{ ...body, paymentRequirements: undefined }, 'invalid_request'],
      [{ ...body, x402Version: 1 }, 'invalid_request'],
      [
        { ...body, paymentPayload: { ...body.paymentPayload, accepted: { scheme: 7 } } },
        'invalid_request',
      ],
    ];
    for (const [payload, error] of cases) {
      for (const route of ['/verify', '/settle']) {
        const response = await post(app, route, payload);
        assert.equal(response.status, 400, `${route} ${JSON.stringify(payload).slice(0, 40)}`);
        const json = (await response.json()) as { error: string; details: unknown };
        assert.equal(json.error, error);
        assert.ok(json.details);
      }
    }
  });

  test('a body over the limit is 413', async () => {
    const response = await post(app, '/verify', { padding: 'x'.repeat(70 * 1024) });
    assert.equal(response.status, 413);
  });

  test('GET /metrics counts verifies and settles by outcome, in Prometheus text', async () => {
    const response = await app.request('/metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    assert.match(
      text,
      /x402_facilitator_requests_total\{operation="verify",outcome="valid"\} [1-9]/,
    );
    assert.match(
      text,
      /x402_facilitator_requests_total\{operation="settle",outcome="duplicate_settlement"\} [1-9]/,
    );
    assert.match(text, /x402_facilitator_request_duration_seconds_bucket/);
  });

  test('GET /supported and /health', async () => {
    const supported = (await (await app.request('/supported')).json()) as { kinds: unknown[] };
    assert.equal(supported.kinds.length, 1);
    const health = await app.request('/health');
    assert.equal(health.status, 200);
    const json = (await health.json()) as { status: string; networks: { reachable: boolean }[] };
    assert.equal(json.status, 'ok');
    assert.equal(json.networks[0]?.reachable, true);
  });

  test('an unreachable chain: 503 on /verify and /health', async () => {
    const offline = createFacilitatorApp({
      facilitator: createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:9' } } }),
    });
    const verify = await post(offline, '/verify', await request(1n));
    assert.equal(verify.status, 503);
    assert.equal(((await verify.json()) as { error: string }).error, 'chain_unreachable');
    assert.equal((await offline.request('/health')).status, 503);
  });
});

describe('facilitator HTTP routes: v1', () => {
  let devnet: Devnet;
  let facilitator: Facilitator;
  let app: FacilitatorApp;
  before(async () => {
    ({ devnet, facilitator, app } = await devnetApp());
  });
  after(() => stopDevnetApp(devnet, facilitator));

  async function v1Request(network = 'stacks') {
    const payTo = devnet.accounts[1]!.address;
    const v2 = {
      scheme: 'exact',
      network: 'stacks:2147483648',
      amount: '1500',
      asset: 'STX',
      payTo,
      maxTimeoutSeconds: 300,
    };
    const { transaction } = await createPaymentTransaction({
      account: devnet.accounts[0]!.account,
      requirements: v2,
      nonce: 0n,
      fee: 400n,
    });
    return {
      x402Version: 1,
      paymentPayload: { x402Version: 1, scheme: 'exact', network, payload: { transaction } },
      paymentRequirements: {
        scheme: 'exact',
        network,
        maxAmountRequired: '1500',
        resource: 'https://api.example.com/premium',
        description: 'premium data',
        mimeType: 'application/json',
        payTo,
        maxTimeoutSeconds: 300,
        asset: 'STX',
      },
    };
  }

  test('v1 verify and settle answer in the v1 shapes; legacy "stacks" resolves by payTo', async () => {
    const body = await v1Request();
    const verdict = (await (await post(app, '/api/v1/verify', body)).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(verdict, { isValid: true, payer: devnet.accounts[0]!.address });
    const settled = (await (await post(app, '/api/v1/settle', body)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(settled.success, true);
    assert.match(String(settled.txId), /^[0-9a-f]{64}$/);
    assert.equal(settled.amount, '1500');
    assert.equal(settled.sender, devnet.accounts[0]!.address);
    const replay = (await (await post(app, '/api/v1/settle', body)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(replay.success, false);
    assert.equal(replay.error, 'duplicate_settlement');
  });

  test('a v2 body on a v1 route, and a v1 body on a v2 route, are 400', async () => {
    const v1 = await v1Request('testnet');
    assert.equal((await post(app, '/verify', v1)).status, 400);
    assert.equal((await post(app, '/api/v1/verify', { ...v1, x402Version: 2 })).status, 400);
  });
});

describe('facilitator HTTP routes: API keys and CORS', () => {
  const facilitator = createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:9' } } });
  const app = createFacilitatorApp({
    facilitator,
    apiKeys: ['secret-1', 'secret-2'],
    corsOrigins: ['https://shop.example'],
  });

  test('verify and settle need a valid bearer key; the open routes do not', async () => {
    for (const path of ['/verify', '/settle', '/api/v1/verify', '/api/v1/settle']) {
      const none = await app.request(path, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(none.status, 401, path);
      assert.equal(((await none.json()) as { error: string }).error, 'unauthorized');
      const wrong = await app.request(path, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json', authorization: 'Bearer nope' },
      });
      assert.equal(wrong.status, 401, path);
      const right = await app.request(path, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json', authorization: 'Bearer secret-2' },
      });
      assert.equal(right.status, 400, `${path}: past the key check, the empty body is refused`);
    }
    assert.equal((await app.request('/supported')).status, 200);
  });

  test('CORS answers the allowed origin only', async () => {
    const allowed = await app.request('/supported', {
      headers: { origin: 'https://shop.example' },
    });
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://shop.example');
    const other = await app.request('/supported', { headers: { origin: 'https://evil.example' } });
    assert.notEqual(other.headers.get('access-control-allow-origin'), 'https://evil.example');
  });
});

describe('facilitator HTTP routes: rate limits and request logs', () => {
  const offline = () => createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:9' } } });
  const from = (address: string) => ({ 'x-forwarded-for': address });

  test('past its allowance an address gets 429 with Retry-After; other addresses and /health are not held', async () => {
    const app = createFacilitatorApp({
      facilitator: offline(),
      rateLimitPerMinute: 3,
      trustProxy: true,
    });
    for (let i = 0; i < 3; i++)
      assert.equal((await app.request('/supported', { headers: from('10.0.0.1') })).status, 200);
    const limited = await app.request('/supported', { headers: from('10.0.0.1') });
    assert.equal(limited.status, 429);
    assert.equal(((await limited.json()) as { error: string }).error, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await app.request('/supported', { headers: from('10.0.0.2') })).status, 200);
    assert.notEqual((await app.request('/health', { headers: from('10.0.0.1') })).status, 429);
  });

  test('behind a proxy, a caller who writes X-Forwarded-For entries of its own is still one caller', async () => {
    for (const [trustProxy, via] of [
      [true, ''],
      [2, ', 10.0.0.9'],
    ] as const) {
      const app = createFacilitatorApp({
        facilitator: offline(),
        rateLimitPerMinute: 3,
        trustProxy,
      });
      // The proxies append what they saw after whatever the caller wrote; the caller writes a new address each time.
      const spoofing = (n: number) => from(`198.51.100.${n}, 203.0.113.7${via}`);
      for (let n = 0; n < 3; n++)
        assert.equal((await app.request('/supported', { headers: spoofing(n) })).status, 200);
      assert.equal((await app.request('/supported', { headers: spoofing(3) })).status, 429);
      assert.equal(
        (await app.request('/supported', { headers: from(`198.51.100.0, 203.0.113.8${via}`) }))
          .status,
        200,
        'another caller behind the same proxies',
      );
    }
  });

  test('an IPv6 caller is its /64: a new address of the block each time is still one caller', async () => {
    const app = createFacilitatorApp({
      facilitator: offline(),
      rateLimitPerMinute: 3,
      trustProxy: true,
    });
    for (let n = 1; n <= 3; n++)
      assert.equal(
        (await app.request('/supported', { headers: from(`2001:db8:7:7::${n}`) })).status,
        200,
      );
    assert.equal(
      (await app.request('/supported', { headers: from('2001:db8:7:7::ffff') })).status,
      429,
    );
    assert.equal(
      (await app.request('/supported', { headers: from('2001:db8:7:8::1') })).status,
      200,
    );
  });

  test('a trustProxy that is no whole number of proxies up to 10 is refused when the app is built', () => {
    for (const trustProxy of [1.5, 11, -1])
      assert.throws(
        () => createFacilitatorApp({ facilitator: offline(), trustProxy }),
        RangeError,
        String(trustProxy),
      );
  });

  test('a stopping service refuses new requests 503 service_stopping, and answers a request it took with its connection closed', async () => {
    let stopping = false;
    const app = createFacilitatorApp({ facilitator: offline(), isStopping: () => stopping });
    // Taken before the stop, answered during it: its answer closes the keep-alive connection it came on.
    app.get('/slow', async (c) => {
      stopping = true;
      return c.json({ ok: true });
    });
    const before = await app.request('/supported');
    assert.equal(before.status, 200);
    assert.equal(before.headers.get('connection'), null);
    const taken = await app.request('/slow');
    assert.equal(taken.status, 200);
    assert.equal(taken.headers.get('connection'), 'close');
    for (const [path, init] of [
      ['/supported', {}],
      ['/health', {}],
      ['/settle', { method: 'POST', body: '{}' }],
    ] as const) {
      const refused = await app.request(path, init);
      assert.equal(refused.status, 503, path);
      assert.equal(((await refused.json()) as { error: string }).error, 'service_stopping');
      assert.equal(refused.headers.get('connection'), 'close');
      assert.equal(refused.headers.get('retry-after'), '1');
    }
  });

  test('a stopping service refuses a client past its rate limit as stopping too, closing its connection', async () => {
    let stopping = false;
    const app = createFacilitatorApp({
      facilitator: offline(),
      rateLimitPerMinute: 1,
      isStopping: () => stopping,
    });
    assert.equal((await app.request('/supported')).status, 200);
    assert.equal((await app.request('/supported')).status, 429);
    stopping = true;
    // Sent elsewhere and sent again: a 429 would hold the client here for its Retry-After, on an open connection.
    const refused = await app.request('/supported');
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { error: string }).error, 'service_stopping');
    assert.equal(refused.headers.get('connection'), 'close');
  });

  test('X-Forwarded-For is ignored unless the proxy is trusted', async () => {
    const app = createFacilitatorApp({ facilitator: offline(), rateLimitPerMinute: 2 });
    for (const address of ['10.0.0.1', '10.0.0.2'])
      assert.equal((await app.request('/supported', { headers: from(address) })).status, 200);
    // Both counted against the one real peer, whatever the header claimed.
    assert.equal((await app.request('/supported', { headers: from('10.0.0.3') })).status, 429);
  });

  test('a failure of the chain logs a warn line and anything else an error line, each with the request id', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const facilitator = offline();
    let failure: Error = new ChainRequestError('chain_unreachable', 'GET /v2/info timed out.', {
      method: 'GET',
      url: 'http://node.example/v2/info',
      attempts: 1,
    });
    const supported = facilitator.supported.bind(facilitator);
    let failing = false;
    facilitator.supported = () => {
      if (failing) throw failure;
      return supported();
    };
    const app = createFacilitatorApp({ facilitator, logger });
    failing = true;
    const unreachable = await app.request('/supported', { headers: { 'x-request-id': 'req-a' } });
    assert.equal(unreachable.status, 503);
    failure = new Error('engine bug: unexpected state 42');
    const broken = await app.request('/supported', { headers: { 'x-request-id': 'req-b' } });
    assert.equal(broken.status, 500);
    assert.equal(
      (await broken.text()).includes('unexpected state 42'),
      false,
      'no internals in the answer',
    );

    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const warn = records.find((r) => r.level === 40);
    assert.deepEqual(
      [warn?.requestId, warn?.reason, warn?.msg],
      ['req-a', 'chain_unreachable', 'GET /v2/info timed out.'],
    );
    const error = records.find((r) => r.level === 50);
    assert.equal(error?.requestId, 'req-b');
    assert.equal(
      (error?.err as { message?: string } | undefined)?.message,
      'engine bug: unexpected state 42',
    );
    assert.equal(error?.msg, 'unexpected failure');
    // Each request still has its own line, with the status it answered.
    const requests = records.filter((r) => r.msg === 'request');
    assert.deepEqual(
      requests.map((r) => [r.requestId, r.status]),
      [
        ['req-a', 503],
        ['req-b', 500],
      ],
    );
  });

  test('one JSON line per request with its id; keys and payments never logged', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const app = createFacilitatorApp({ facilitator: offline(), logger, apiKeys: ['sk-live-123'] });
    const body = { x402Version: 2, paymentPayload: { secret: 'deadbeefcafe' } };
    const echoed = await app.request('/settle', {
      method: 'POST',
      body: JSON.stringify(body),
      headers: {
        authorization: 'Bearer sk-live-123',
        'content-type': 'application/json',
        'x-request-id': 'seller-req-42',
      },
    });
    assert.equal(echoed.headers.get('x-request-id'), 'seller-req-42');
    const fresh = await app.request('/supported', { headers: { 'x-request-id': '<script>' } });
    const freshId = fresh.headers.get('x-request-id')!;
    assert.match(freshId, /^[0-9a-f-]{36}$/, 'an unsafe offered id is replaced');

    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = records.filter((r) => r.msg === 'request');
    assert.deepEqual(
      requests.map((r) => [r.requestId, r.method, r.path, r.status]),
      [
        ['seller-req-42', 'POST', '/settle', 400],
        [freshId, 'GET', '/supported', 200],
      ],
    );
    const text = lines.join('');
    assert.equal(text.includes('sk-live-123'), false, 'the API key is never logged');
    assert.equal(text.includes('deadbeefcafe'), false, 'bodies are never logged');
  });
});

describe("facilitator HTTP routes on Node's HTTP server: headers and log lines", () => {
  let devnet: Devnet;
  let facilitator: Facilitator;
  let server: ReturnType<typeof serve>;
  let port: number;
  const lines: string[] = [];
  before(async () => {
    devnet = await startDevnet({ port: 0 });
    facilitator = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      pollIntervalMs: 10,
    });
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const app = createFacilitatorApp({
      facilitator,
      logger,
      trustProxy: true,
      rateLimitPerMinute: 2,
    });
    server = await new Promise((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(started),
      );
    });
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await stopDevnetApp(devnet, facilitator);
  });

  /** Sends one request; a header given as an array goes as that many header lines. */
  const send = (
    method: string,
    path: string,
    headers: Record<string, string | string[]>,
    body?: string,
  ) =>
    new Promise<{ status: number; requestId: string | undefined; text: string }>(
      (resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              requestId: res.headers['x-request-id'] as string | undefined,
              text,
            }),
          );
        });
        for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
        req.on('error', reject);
        req.end(body);
      },
    );
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

  test('the id, the forwarded address and the settle line come from the headers as Node parsed them', async () => {
    const payer = devnet.accounts[1]!.account;
    const body = JSON.stringify(
      await stxPaymentBody({ payer, payTo: devnet.accounts[0]!.address, nonce: 0n }),
    );
    const settled = await send(
      'POST',
      '/settle',
      {
        'content-type': 'application/json',
        'x-request-id': 'seller-req-7',
        // Two header lines, one list in their order: behind one proxy, its last entry is the client (the proxy
        // appended it after whatever the client sent).
        'x-forwarded-for': ['6.6.6.6, 10.0.0.254', '10.9.0.1'],
      },
      body,
    );
    assert.equal(settled.status, 200, settled.text);
    assert.equal((JSON.parse(settled.text) as { success: boolean }).success, true);
    assert.equal(settled.requestId, 'seller-req-7');

    const settleLine = records().find((r) => r.msg === 'settle');
    assert.equal(settleLine?.requestId, 'seller-req-7');
    assert.equal(settleLine?.success, true);
    assert.equal(settleLine?.payer, payer.address);
    assert.match(String(settleLine?.txid), /^[0-9a-f]{64}$/);
    const requestLine = records().find((r) => r.msg === 'request' && r.path === '/settle');
    assert.deepEqual(
      [requestLine?.requestId, requestLine?.status, requestLine?.ip],
      ['seller-req-7', 200, '10.9.0.1'],
    );

    // The rate limit counts that same address: one more is allowed, then 429; another address is not held.
    const from = (address: string) => ({ 'x-forwarded-for': address });
    assert.equal((await send('GET', '/supported', from('10.9.0.1'))).status, 200);
    assert.equal((await send('GET', '/supported', from('10.9.0.1'))).status, 429);
    assert.equal((await send('GET', '/supported', from('10.9.0.2'))).status, 200);
  });

  test('an unsafe offered id is replaced by a fresh one, in the answer and in the line', async () => {
    const answer = await send('GET', '/supported', {
      'x-request-id': '<script>',
      'x-forwarded-for': '10.9.0.3',
    });
    assert.equal(answer.status, 200);
    assert.match(answer.requestId ?? '', /^[0-9a-f-]{36}$/);
    const line = records().find((r) => r.msg === 'request' && r.ip === '10.9.0.3');
    assert.equal(line?.requestId, answer.requestId);
  });
});
