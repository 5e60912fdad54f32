/**
 * The 402 of a static route with sign-in is serialized once but for its fresh challenge's values (`challengeTemplate`):
 * whatever the characters around the slots, the body is exactly the challenge built whole and the header its base64;
 * values that do not fit their slots give no reply (the route then builds the 402 whole), and a route with sign-in
 * sends a fresh challenge, and the same 402 as built whole, on every 402.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request, SELLER, scripted, URL_ } from '@x402-stacks/test-kit/server-doubles';
import { createResourceServer } from 'x402-stacks/server';
import { jsonSlot } from './json-slots.js';
import { resolveOptions } from './options.js';
import { challengeReply, challengeTemplate } from './replies.js';

const decode = (header: string) => Buffer.from(header, 'base64').toString('utf8');
const NONCE = jsonSlot('nonce', 4);
const AT = jsonSlot('at', 2);

describe('challengeTemplate', () => {
  test('body and header equal the whole challenge for non-ASCII text around the slots', () => {
    for (const description of ['', 'a', 'café', 'données 🚀 premium', '日本語のデータ']) {
      const options = resolveOptions({
        amount: '1000',
        payTo: SELLER,
        network: 'testnet',
        facilitator: scripted({}),
        sponsored: false,
        ...(description ? { description } : {}),
      });
      const accepts = options.staticAccepts!;
      const extensionsWith = (nonce: string, at: string) => ({
        demo: { info: { nonce, note: 'é🚀', at }, schema: {} },
      });
      const fill = challengeTemplate(
        options,
        URL_,
        accepts,
        extensionsWith(NONCE.marker, AT.marker),
        [AT, NONCE],
      );
      assert.ok(fill);
      for (const [nonce, at] of [
        ['0123', '00'],
        ['abcd', '99'],
      ] as const) {
        const filled = fill([at, nonce]);
        assert.ok(filled);
        const whole = challengeReply(options, URL_, accepts, undefined, undefined, {
          ...extensionsWith(nonce, at),
        });
        assert.equal(filled.body, whole.body);
        assert.equal(decode(filled.headers['payment-required']!), whole.body);
        assert.deepEqual(filled.headers, whole.headers);
        assert.equal(filled.status, 402);
        assert.equal(filled.headers['cache-control'], 'no-store');
      }
      assert.equal(fill(['000', '0123']), undefined, 'a value of another width');
    }
  });

  test('no template when a marker is missing or appears twice', () => {
    const options = resolveOptions({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      facilitator: scripted({}),
      sponsored: false,
    });
    const accepts = options.staticAccepts!;
    assert.equal(
      challengeTemplate(options, URL_, accepts, { a: { info: {} } }, [NONCE]),
      undefined,
    );
    assert.equal(
      challengeTemplate(options, URL_, accepts, { a: { info: NONCE.marker }, b: NONCE.marker }, [
        NONCE,
      ]),
      undefined,
    );
  });

  for (const statement of [
    undefined,
    'Sign in: é🚀',
    'holds a marker \u0000json-slot:nonce\u0000',
  ]) {
    const named = JSON.stringify(statement);
    test(`a route with sign-in sends a fresh challenge on every 402 (statement ${named})`, async () => {
      const server = createResourceServer({
        amount: '1000',
        payTo: SELLER,
        network: 'testnet',
        facilitator: scripted({}),
        sponsored: false,
        description: 'données',
        signInWithX: {
          origin: 'https://api.example.com',
          accessMs: 60_000,
          ...(statement === undefined ? {} : { statement }),
        },
      });
      const nonces = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const admission = await server.admit(request());
        assert.equal(admission.action, 'reply');
        if (admission.action !== 'reply') return;
        const { body, headers } = admission.reply;
        assert.equal(decode(headers['payment-required']!), body);
        const challenge = JSON.parse(body);
        assert.equal(body, JSON.stringify(challenge), 'serialized as JSON.stringify would');
        const info = challenge.extensions['sign-in-with-x'].info;
        assert.equal(info.domain, 'api.example.com');
        assert.equal(info.statement, statement);
        assert.match(info.nonce, /^[0-9a-f]{32}$/);
        nonces.add(info.nonce);
      }
      assert.equal(nonces.size, 5, 'every 402 carries its own nonce');
    });
  }

  test('a clock past the year 9999: the 402 is built whole, the same shape', async () => {
    const server = createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      facilitator: scripted({}),
      sponsored: false,
      signInWithX: {
        origin: 'https://api.example.com',
        accessMs: 60_000,
        clock: () => Date.parse('+010000-01-01T00:00:00.000Z'),
      },
    });
    const admission = await server.admit(request());
    if (admission.action !== 'reply') return assert.fail('expected a 402');
    const { body, headers } = admission.reply;
    assert.equal(decode(headers['payment-required']!), body);
    const info = JSON.parse(body).extensions['sign-in-with-x'].info;
    assert.equal(info.issuedAt, '+010000-01-01T00:00:00.000Z');
    assert.match(info.nonce, /^[0-9a-f]{32}$/);
  });
});
