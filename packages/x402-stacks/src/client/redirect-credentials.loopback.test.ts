/**
 * Attack review: a request with credentials (`authorization`, `cookie`) redirected to another origin that answers
 * 402. fetch itself drops those headers on a cross-origin redirect; the retry that carries the proof or the payment to
 * the URL that answered 402 must not put them back.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { entry } from '@x402-stacks/test-kit/server-doubles';
import axios from 'axios';
import { wrapAxiosWithPayment } from 'x402-stacks/axios';
import { declareSiwxStacks } from 'x402-stacks/extensions';
import { wrapFetchWithPayment } from 'x402-stacks/fetch';
import { encodePaymentRequiredHeader } from 'x402-stacks/protocol';
import { privateKeyToAccount } from 'x402-stacks/stacks';

const account = privateKeyToAccount(
  '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801',
  'testnet',
);

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('credentials never follow a cross-origin redirect into the retry', () => {
  const seen: IncomingHttpHeaders[] = [];
  let front: Server;
  let other: Server;
  let frontUrl = '';
  let otherUrl = '';
  before(async () => {
    other = createServer((request, response) => {
      seen.push(request.headers);
      if (request.headers['sign-in-with-x']) {
        response.writeHead(200).end('ok');
        return;
      }
      const url = `${otherUrl}/data`;
      const info = {
        domain: new URL(otherUrl).host,
        uri: url,
        version: '1',
        nonce: '0123456789abcdef0123456789abcdef',
        issuedAt: new Date().toISOString(),
        expirationTime: new Date(Date.now() + 300_000).toISOString(),
      };
      response
        .writeHead(402, {
          'payment-required': encodePaymentRequiredHeader({
            x402Version: 2,
            resource: { url },
            accepts: [entry],
            extensions: {
              'sign-in-with-x': declareSiwxStacks(info, ['stacks:2147483648']),
            },
          }),
        })
        .end('{}');
    });
    otherUrl = await listen(other);
    front = createServer((_request, response) => {
      response.writeHead(302, { location: `${otherUrl}/data` }).end();
    });
    frontUrl = await listen(front);
  });
  after(() => {
    front.close();
    other.close();
  });

  test('the sign-in retry to the other origin carries no authorization or cookie', async () => {
    const pay = wrapFetchWithPayment(fetch, account, { signInWithX: true });
    const response = await pay(`${frontUrl}/start`, {
      headers: { authorization: 'Bearer front-secret', cookie: 'session=front-secret' },
    });
    assert.equal(response.status, 200);
    assert.equal(seen.length, 2);
    assert.equal(seen[0]!.authorization, undefined, 'fetch dropped it on the redirect');
    assert.ok(seen[1]!['sign-in-with-x'], 'the retry carries the proof');
    assert.equal(seen[1]!.authorization, undefined, 'the retry gave the other origin the token');
    assert.equal(seen[1]!.cookie, undefined, 'the retry gave the other origin the cookie');
  });

  test('axios: the sign-in retry to the other origin carries no authorization, cookie or basic auth', async () => {
    seen.length = 0;
    const api = wrapAxiosWithPayment(axios.create(), account, { signInWithX: true });
    const response = await api.get(`${frontUrl}/start`, {
      headers: { authorization: 'Bearer front-secret', cookie: 'session=front-secret' },
    });
    assert.equal(response.status, 200);
    assert.equal(seen.length, 2);
    assert.ok(seen[1]!['sign-in-with-x']);
    assert.equal(seen[1]!.authorization, undefined);
    assert.equal(seen[1]!.cookie, undefined);

    seen.length = 0;
    await api.get(`${frontUrl}/start`, { auth: { username: 'front', password: 'secret' } });
    assert.equal(seen.length, 2);
    assert.equal(seen[1]!.authorization, undefined, 'basic auth sent to the other origin');
  });
});
