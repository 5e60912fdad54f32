/**
 * The 402 of a static route with sign-in is encoded once but for its fresh challenge (`challengeTemplate`): whatever
 * the lengths and characters around and inside the challenge, the header decodes to exactly the body's JSON, and both
 * equal the challenge built whole.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request, SELLER, scripted, URL_ } from '@x402-stacks/test-kit/server-doubles';
import { createResourceServer } from 'x402-stacks/server';
import { resolveOptions } from './options.js';
import { CHALLENGE_HOLE, challengeReply, challengeTemplate } from './replies.js';

const decode = (header: string) => JSON.parse(Buffer.from(header, 'base64').toString('utf8'));

describe('challengeTemplate', () => {
  test('header and body equal the whole challenge for every padding case and non-ASCII text', () => {
    for (const description of ['', 'a', 'ab', 'café', 'données 🚀 premium', '日本語のデータ']) {
      const options = resolveOptions({
        amount: '1000',
        payTo: SELLER,
        network: 'testnet',
        facilitator: scripted({}),
        sponsored: false,
        ...(description ? { description } : {}),
      });
      const accepts = options.staticAccepts!;
      const fill = challengeTemplate(options, URL_, accepts, {
        demo: { info: CHALLENGE_HOLE, schema: {} },
      });
      assert.ok(fill);
      for (const info of [
        {},
        { n: 'x' },
        { n: 'xy' },
        { n: 'xyz' },
        { nonce: 'é🚀', list: [1, 2, 3] },
      ]) {
        const filled = fill(JSON.stringify(info));
        const whole = challengeReply(options, URL_, accepts, undefined, undefined, {
          demo: { info, schema: {} },
        });
        assert.deepEqual(JSON.parse(filled.body), JSON.parse(whole.body));
        assert.deepEqual(decode(filled.headers['payment-required']!), JSON.parse(whole.body));
        assert.equal(filled.status, 402);
        const { 'payment-required': _, ...otherHeaders } = filled.headers;
        const { 'payment-required': __, ...wholeOtherHeaders } = whole.headers;
        assert.deepEqual(otherHeaders, wholeOtherHeaders);
        assert.equal(filled.headers['cache-control'], 'no-store');
      }
    }
  });

  test('no template when the hole is missing or appears twice', () => {
    const options = resolveOptions({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      facilitator: scripted({}),
      sponsored: false,
    });
    const accepts = options.staticAccepts!;
    assert.equal(challengeTemplate(options, URL_, accepts, { a: { info: {} } }), undefined);
    assert.equal(
      challengeTemplate(options, URL_, accepts, { a: { info: CHALLENGE_HOLE }, b: CHALLENGE_HOLE }),
      undefined,
    );
  });

  test('a route with sign-in sends a fresh challenge on every 402 through the template', async () => {
    const server = createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      facilitator: scripted({}),
      sponsored: false,
      signInWithX: { origin: 'https://api.example.com', accessMs: 60_000 },
    });
    const nonces = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const admission = await server.admit(request());
      assert.equal(admission.action, 'reply');
      if (admission.action !== 'reply') return;
      const header = decode(admission.reply.headers['payment-required']!);
      assert.deepEqual(header, JSON.parse(admission.reply.body));
      const info = header.extensions['sign-in-with-x'].info;
      assert.equal(info.domain, 'api.example.com');
      nonces.add(info.nonce);
    }
    assert.equal(nonces.size, 5, 'every 402 carries its own nonce');
  });
});
