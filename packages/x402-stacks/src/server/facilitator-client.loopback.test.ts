/**
 * createFacilitatorClient against facilitators on 127.0.0.1: unreachable, slow, garbage, 5xx, redirects, and the redaction of credentials.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  entry,
  fakeFacilitatorService,
  request,
  SELLER,
} from '@x402-stacks/test-kit/server-doubles';
import {
  createFacilitatorClient,
  createResourceServer,
  FacilitatorRequestError,
} from 'x402-stacks/server';

describe('createFacilitatorClient', () => {
  let garbage: { url: string; server: Server };
  let failing: { url: string; server: Server };
  let slow: { url: string; server: Server };
  before(async () => {
    garbage = await fakeFacilitatorService(() => ({ status: 200, body: '{"hello":"world"}' }));
    failing = await fakeFacilitatorService(() => ({
      status: 500,
      body: '{"error":"internal_error"}',
    }));
    slow = await fakeFacilitatorService(() => ({ status: 200, body: '{"kinds":[]}' }), 500);
  });
  after(() => {
    for (const { server } of [garbage, failing, slow]) server.close();
  });

  test('a body that is not the x402 schema, or a 5xx: facilitator_bad_response', async () => {
    for (const { url } of [garbage, failing]) {
      const client = createFacilitatorClient({ url });
      await assert.rejects(client.settle({ x402Version: 2, accepted: entry, payload: {} }, entry), {
        name: 'FacilitatorRequestError',
        reason: 'facilitator_bad_response',
      });
    }
  });

  test('the middleware answers 502 with the reason for a garbage facilitator', async () => {
    const server = createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      facilitatorUrl: garbage.url,
    });
    const admission = await server.admit(request());
    assert.equal(admission.action === 'reply' && admission.reply.status, 502);
    assert.equal(
      admission.action === 'reply' && JSON.parse(admission.reply.body).error,
      'facilitator_bad_response',
    );
  });

  test('a timeout is facilitator_unreachable with timedOut', async () => {
    const client = createFacilitatorClient({ url: slow.url, timeoutMs: 50 });
    await assert.rejects(Promise.resolve(client.supported()), {
      reason: 'facilitator_unreachable',
      timedOut: true,
    });
  });

  test('without a fetch option the client talks over node http: the global fetch is never called', async () => {
    const supported = await fakeFacilitatorService(() => ({
      status: 200,
      body: '{"kinds":[{"x402Version":2,"scheme":"exact","network":"stacks:2147483648"}]}',
    }));
    const globalFetch = globalThis.fetch;
    let globalCalls = 0;
    globalThis.fetch = (async (...args: Parameters<typeof fetch>) => {
      globalCalls += 1;
      return globalFetch(...args);
    }) as typeof fetch;
    try {
      const answer = await createFacilitatorClient({ url: supported.url }).supported();
      assert.equal(answer.kinds[0]?.network, 'stacks:2147483648');
      assert.equal(globalCalls, 0);
    } finally {
      globalThis.fetch = globalFetch;
      supported.server.close();
    }
  });

  test('a redirect is not followed: the API key never reaches the other host', async () => {
    let reachedWithKey = 0;
    const elsewhere = await fakeFacilitatorService(() => {
      reachedWithKey += 1;
      return { status: 200, body: '{"kinds":[]}' };
    });
    const redirecting = createServer((_req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/supported` }).end();
    });
    redirecting.listen(0, '127.0.0.1');
    await once(redirecting, 'listening');
    const url = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`;
    try {
      for (const options of [{}, { fetch: globalThis.fetch }]) {
        const client = createFacilitatorClient({ url, apiKey: 'the-api-key-123', ...options });
        await assert.rejects(Promise.resolve(client.supported()), {
          reason: 'facilitator_bad_response',
          status: 302,
        });
      }
      assert.equal(reachedWithKey, 0);
    } finally {
      redirecting.close();
      elsewhere.server.close();
    }
  });

  test('credentials in the URL and the API key never appear in errors', async () => {
    const client = createFacilitatorClient({
      url: 'http://alice:s3cret-pass@127.0.0.1:9/?api_key=k3y-in-url',
      apiKey: 'the-api-key-123',
    });
    await assert.rejects(Promise.resolve(client.supported()), (error: unknown) => {
      assert.ok(error instanceof FacilitatorRequestError);
      assert.equal(error.reason, 'facilitator_unreachable');
      assert.equal(error.timedOut, false);
      const shown = `${error.message} ${error.details ?? ''}`;
      for (const secret of ['s3cret-pass', 'k3y-in-url', 'the-api-key-123']) {
        assert.ok(!shown.includes(secret), `${secret} leaked: ${shown}`);
      }
      return true;
    });
  });

  test('requests go below the base path with its query; an error names that URL, credentials redacted', async () => {
    const paths: string[] = [];
    const facilitator = await fakeFacilitatorService((path) => {
      paths.push(path);
      return path.startsWith('/x402/supported')
        ? { status: 200, body: '{"kinds":[]}' }
        : { status: 500, body: '{}' };
    });
    try {
      const url = `${facilitator.url.replace('http://', 'http://alice:s3cret-pass@')}/x402/?tenant=t1`;
      const client = createFacilitatorClient({ url });
      await client.supported();
      const error = await settleFailure(client);
      assert.equal(
        error.message.split(' answered')[0],
        // The base's own query is hidden by name: a gateway may authenticate by any parameter.
        `POST ${facilitator.url}/x402/settle?tenant=***`,
      );
      assert.ok(!error.message.includes('s3cret-pass'));
      assert.deepEqual(paths, ['/x402/supported?tenant=t1', '/x402/settle?tenant=t1']);
    } finally {
      facilitator.server.close();
    }
  });

  test('a short value of the base query is hidden in URLs and name=value pairs, not in the rest of the message; a long one everywhere', async () => {
    const facilitator = await fakeFacilitatorService(() => ({
      status: 500,
      body: '{"error":"maintenance: k3y-in-url-9 paused, try /settle?tenant=main&id=k3y-in-url-9"}',
    }));
    try {
      const client = createFacilitatorClient({
        url: `${facilitator.url}/?tenant=main&id=k3y-in-url-9`,
      });
      const error = await settleFailure(client);
      assert.equal(
        error.message.split(' answered')[0],
        `POST ${facilitator.url}/settle?tenant=***&id=***`,
      );
      // "main" is a word here, not a credential: blotting it out would leave "***tenance". Where the body repeats the
      // query, it is hidden by name.
      assert.equal(
        error.details,
        '{"error":"maintenance: *** paused, try /settle?tenant=***&id=***"}',
      );
    } finally {
      facilitator.server.close();
    }
  });

  test('an error names a base path that starts with // as a path, not a host', async () => {
    const facilitator = await fakeFacilitatorService(() => ({ status: 500, body: '{}' }));
    try {
      const client = createFacilitatorClient({ url: `${facilitator.url}//x402/` });
      const error = await settleFailure(client);
      assert.equal(
        error.message.split('\n')[0],
        `POST ${facilitator.url}//x402/settle answered 500`,
      );
    } finally {
      facilitator.server.close();
    }
  });

  test('the API key is sent as a bearer token; a non-hex txid is never requested', async () => {
    let seen: string | undefined;
    const paths: string[] = [];
    const server = createServer((req, res) => {
      seen = req.headers.authorization;
      paths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kinds":[]}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = createFacilitatorClient({ url, apiKey: 'key-1' });
    assert.deepEqual(await client.supported(), { kinds: [], extensions: [], signers: {} });
    assert.equal(seen, 'Bearer key-1');
    assert.equal(await client.status('../verify'), undefined);
    assert.deepEqual(paths, ['/supported']);
    server.close();
  });
});

/** The error a settle call through `client` fails with: a `FacilitatorRequestError`, or the test fails. */
async function settleFailure(
  client: ReturnType<typeof createFacilitatorClient>,
): Promise<FacilitatorRequestError> {
  const failure = await client.settle({ x402Version: 2, accepted: entry, payload: {} }, entry).then(
    (answer) => answer,
    (error: unknown) => error,
  );
  assert.ok(
    failure instanceof FacilitatorRequestError,
    `not a FacilitatorRequestError: ${String(failure)}`,
  );
  return failure;
}
