/**
 * sign-in-with-x at the seller, through `createResourceServer` with a scripted facilitator: the 402 offers it, a payer
 * on record is served on a proof, and every refusal is a 402 with its reason. The full flow over HTTP on the devnet is
 * in e2e/extensions/sign-in-with-x.devnet.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entry, paid, request, scripted } from '@x402-stacks/test-kit/server-doubles';
import {
  createSiwxStacksProof,
  encodeSiwxHeader,
  readSiwxDeclaration,
  type SiwxInfo,
  type SiwxPayload,
} from 'x402-stacks/extensions';
import { decodePaymentRequiredHeader } from 'x402-stacks/protocol';
import {
  type Admission,
  createMemorySiwxStore,
  createResourceServer,
  type PaymentMiddlewareOptions,
  ServerConfigError,
  type SignInWithXOptions,
} from 'x402-stacks/server';
import { privateKeyToAccount, signStructuredData } from 'x402-stacks/stacks';

const KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
const buyer = privateKeyToAccount(KEY, 'testnet');
const URL_ = 'http://seller.test/api/data';
const HOUR = 3_600_000;
const START = Date.parse('2026-03-01T12:00:00.000Z');

function sellerWith(
  signInWithX: Partial<SignInWithXOptions> = {},
  more: Partial<PaymentMiddlewareOptions> = {},
) {
  const clock = { now: START };
  const server = createResourceServer<null>({
    amount: '1000',
    payTo: entry.payTo,
    network: 'testnet',
    sponsored: false,
    facilitator: scripted({
      settle: async () => ({
        success: true,
        transaction: 'ab'.repeat(32),
        network: 'stacks:2147483648',
        payer: buyer.address,
      }),
    }),
    signInWithX: {
      origin: 'http://seller.test',
      accessMs: HOUR,
      clock: () => clock.now,
      ...signInWithX,
    },
    ...more,
  });
  return { server, clock };
}

function replyOf(admission: Admission) {
  assert.equal(admission.action, 'reply');
  if (admission.action !== 'reply') throw new Error('unreachable');
  return admission.reply;
}

function challengeOf(admission: Admission): { error: string; info: SiwxInfo } {
  const reply = replyOf(admission);
  assert.equal(reply.status, 402);
  const required = decodePaymentRequiredHeader(reply.headers['payment-required']!);
  const declared = readSiwxDeclaration(required.extensions);
  assert.ok(declared, 'the 402 offers sign-in-with-x');
  return { error: required.error ?? '', info: declared.info };
}

const sign = (info: SiwxInfo, chainId = 'stacks:2147483648', key = KEY, address = buyer.address) =>
  createSiwxStacksProof(info, chainId, address, (domain, message) =>
    signStructuredData(key, domain, message),
  );

const withProof = (proof: SiwxPayload, url = URL_) =>
  request({ 'sign-in-with-x': encodeSiwxHeader(proof) }, url);

describe('sign-in-with-x at the seller', () => {
  test('the 402 carries a fresh challenge for the configured origin, one sip018 chain, and the proof schema', async () => {
    const { server } = sellerWith({ statement: 'Sign in to read' });
    const first = replyOf(await server.admit(request({}, URL_)));
    const required = decodePaymentRequiredHeader(first.headers['payment-required']!);
    const entry402 = required.extensions?.['sign-in-with-x'] as Record<string, unknown>;
    assert.deepEqual(entry402.supportedChains, [{ chainId: 'stacks:2147483648', type: 'sip018' }]);
    assert.equal(typeof entry402.schema, 'object');
    const { info } = challengeOf(await server.admit(request({}, URL_)));
    assert.equal(info.domain, 'seller.test');
    assert.equal(info.uri, 'http://seller.test/api/data');
    assert.equal(info.statement, 'Sign in to read');
    assert.match(info.nonce, /^[0-9a-f]{32}$/);
    assert.equal(Date.parse(info.expirationTime!) - Date.parse(info.issuedAt), 300_000);
    const again = challengeOf(await server.admit(request({}, URL_))).info;
    assert.notEqual(again.nonce, info.nonce);
  });

  test('the Host header does not choose the domain: a request to another host gets the configured one', async () => {
    const { server } = sellerWith();
    const { info } = challengeOf(await server.admit(request({}, 'http://evil.test/api/data?x=1')));
    assert.equal(info.domain, 'seller.test');
    assert.equal(info.uri, 'http://seller.test/api/data');
  });

  test('each request URL gets the URI of its own path, past the memo of recent URLs and for long URLs', async () => {
    const { server } = sellerWith();
    const long = `http://seller.test/api/${'x'.repeat(2_000)}`;
    for (let round = 0; round < 2; round++) {
      for (let k = 0; k < 300; k++) {
        const { info } = challengeOf(
          await server.admit(request({}, `http://h.test/p${k}/../q${k}?k=${k}`)),
        );
        assert.equal(info.uri, `http://seller.test/q${k}`);
      }
      const { info } = challengeOf(await server.admit(request({}, long)));
      assert.equal(info.uri, long);
    }
  });

  test('never paid: a valid proof gets the plain 402; paid: served without paying, once per proof', async () => {
    const { server } = sellerWith();
    const before = challengeOf(await server.admit(request()));
    const unpaid = challengeOf(await server.admit(withProof(await sign(before.info))));
    assert.equal(unpaid.error, 'payment_required');

    const payment = await server.admit(request(paid(entry)));
    assert.equal(payment.action, 'serve');

    const proof = await sign(challengeOf(await server.admit(request())).info);
    const served = await server.admit(withProof(proof));
    assert.equal(served.action, 'serve');
    if (served.action !== 'serve') return;
    assert.equal(served.payment.transaction, 'ab'.repeat(32));
    assert.equal(served.payment.signInWithX?.address, buyer.address);
    assert.equal(served.headers['payment-response'], undefined, 'nothing was settled now');
    assert.equal(served.headers['cache-control'], 'private');

    assert.equal(
      challengeOf(await server.admit(withProof(proof))).error,
      'invalid_siwx_nonce_reused',
    );
  });

  test('the access period ends: the plain 402 again', async () => {
    const { server, clock } = sellerWith();
    await server.admit(request(paid(entry)));
    clock.now += HOUR;
    const proof = await sign(challengeOf(await server.admit(request())).info);
    assert.equal(challengeOf(await server.admit(withProof(proof))).error, 'payment_required');
  });

  test('refusals, each a 402 with its reason and a fresh challenge', async () => {
    const { server, clock } = sellerWith();
    await server.admit(request(paid(entry)));
    const fresh = async () => challengeOf(await server.admit(request())).info;
    const reasonFor = async (proof: SiwxPayload, url = URL_) =>
      challengeOf(await server.admit(withProof(proof, url))).error;

    // Signed for another host (a phishing page's challenge): refused whatever Host the request names.
    const crossHost = await sign({ ...(await fresh()), domain: 'evil.test' });
    assert.equal(
      await reasonFor(crossHost, 'http://evil.test/api/data'),
      'invalid_siwx_domain_mismatch',
    );
    // A challenge for another path.
    assert.equal(
      await reasonFor(await sign({ ...(await fresh()), uri: 'http://seller.test/api/other' })),
      'invalid_siwx_uri_mismatch',
    );
    // A nonce this seller never issued, or an expiry the buyer extended.
    assert.equal(
      await reasonFor(await sign({ ...(await fresh()), nonce: 'f'.repeat(32) })),
      'invalid_siwx_nonce',
    );
    const longer = await fresh();
    assert.equal(
      await reasonFor(
        await sign({ ...longer, expirationTime: new Date(clock.now + HOUR).toISOString() }),
      ),
      'invalid_siwx_nonce',
    );
    // Expired.
    const old = await sign(await fresh());
    clock.now += 300_000;
    assert.equal(await reasonFor(old), 'invalid_siwx_expired');
    // Another signer's signature over this address's proof.
    const forged = await sign(
      await fresh(),
      'stacks:2147483648',
      'd655b2523bcd65e34889725c73064feb17ceb796831c0e111ba1a552b0f31b3901',
    );
    assert.equal(await reasonFor(forged), 'invalid_siwx_signature');
    assert.equal(
      await reasonFor({ ...(await sign(await fresh())), signature: '00' }),
      'invalid_siwx_malformed_signature',
    );
    // Not a proof at all.
    const garbage = challengeOf(await server.admit(request({ 'sign-in-with-x': '!!' })));
    assert.equal(garbage.error, 'invalid_siwx_header');
  });

  test('a testnet proof at a mainnet seller: invalid_siwx_unsupported_chain', async () => {
    const testnet = sellerWith();
    const info = challengeOf(await testnet.server.admit(request())).info;
    const mainnet = sellerWith(
      { nonceSecret: 'a'.repeat(32) },
      { network: 'mainnet', payTo: 'SP000000000000000000002Q6VF78' },
    );
    const proof = await sign(info);
    assert.equal(
      challengeOf(await mainnet.server.admit(withProof(proof))).error,
      'invalid_siwx_unsupported_chain',
    );
  });

  test('processes sharing nonceSecret and store accept each other’s challenges, and a proof once among them', async () => {
    const shared = {
      nonceSecret: 's'.repeat(32),
      store: createMemorySiwxStore({ retainMs: HOUR, clock: () => START }),
    };
    const one = sellerWith(shared);
    const two = sellerWith(shared);
    const other = sellerWith({ nonceSecret: 't'.repeat(32), store: shared.store });
    await one.server.admit(request(paid(entry)));
    const proof = await sign(challengeOf(await one.server.admit(request())).info);
    assert.equal(
      challengeOf(await other.server.admit(withProof(proof))).error,
      'invalid_siwx_nonce',
    );
    assert.equal((await two.server.admit(withProof(proof))).action, 'serve');
    assert.equal(
      challengeOf(await one.server.admit(withProof(proof))).error,
      'invalid_siwx_nonce_reused',
    );
  });

  test('one address signing in a loop is capped: siwx_capacity_exceeded, until its challenges expire', async () => {
    const { server, clock } = sellerWith({
      store: createMemorySiwxStore({
        retainMs: HOUR,
        maxNoncesPerAddress: 2,
        clock: () => clock.now,
      }),
    });
    await server.admit(request(paid(entry)));
    const signIn = async () =>
      server.admit(withProof(await sign(challengeOf(await server.admit(request())).info)));
    assert.equal((await signIn()).action, 'serve');
    assert.equal((await signIn()).action, 'serve');
    assert.equal(challengeOf(await signIn()).error, 'siwx_capacity_exceeded');
    clock.now += 300_001;
    assert.equal((await signIn()).action, 'serve');
  });

  test('after-handler: the payment is recorded when it settles, and a sign-in is served after', async () => {
    const { server } = sellerWith({}, { settle: 'after-handler' });
    const admission = await server.admit(request(paid(entry)));
    assert.equal(admission.action, 'serve-then-settle');
    if (admission.action !== 'serve-then-settle') return;
    assert.equal((await admission.settle()).action, 'serve');
    const proof = await sign(challengeOf(await server.admit(request())).info);
    assert.equal((await server.admit(withProof(proof))).action, 'serve');
  });

  test('a script asking for challenges in a loop costs the seller no memory: issuing touches no store', async () => {
    let calls = 0;
    const counting = {
      recordPayment: () => {
        calls += 1;
      },
      lastPayment: () => {
        calls += 1;
        return undefined;
      },
      useNonce: () => {
        calls += 1;
        return 'fresh' as const;
      },
    };
    const { server } = sellerWith({ store: counting });
    const nonces = new Set<string>();
    for (let index = 0; index < 500; index += 1) {
      nonces.add(challengeOf(await server.admit(request())).info.nonce);
    }
    assert.equal(nonces.size, 500);
    assert.equal(calls, 0);
    // A proof of an address that never paid is judged without storing its nonce either.
    const proof = await sign(challengeOf(await server.admit(request())).info);
    assert.equal(challengeOf(await server.admit(withProof(proof))).error, 'payment_required');
    assert.equal(calls, 1, 'one lookup, no write');
  });

  test('a store that fails to record still serves the paid request', async () => {
    const { server } = sellerWith({
      store: {
        recordPayment: async () => {
          throw new Error('disk full');
        },
        lastPayment: () => undefined,
        useNonce: () => 'fresh',
      },
    });
    assert.equal((await server.admit(request(paid(entry)))).action, 'serve');
  });

  test('options: an origin is required (never the Host header), without a path; accessMs is required', () => {
    const base = {
      amount: '1000',
      payTo: entry.payTo,
      network: 'testnet',
      facilitator: scripted({}),
    } as const;
    const problems = (signInWithX: unknown) => {
      try {
        createResourceServer({ ...base, signInWithX } as PaymentMiddlewareOptions);
      } catch (error) {
        assert.ok(error instanceof ServerConfigError);
        return error.message;
      }
      return '';
    };
    assert.match(problems({ accessMs: HOUR }), /signInWithX\.origin/);
    assert.match(problems({ origin: 'https://a.example/path', accessMs: HOUR }), /no path/);
    assert.match(problems({ origin: 'https://a.example' }), /accessMs/);
    assert.match(
      problems({ origin: 'https://a.example', accessMs: HOUR, nonceSecret: 'short' }),
      /nonceSecret/,
    );
    assert.doesNotThrow(() =>
      createResourceServer({
        ...base,
        resource: 'https://a.example/x',
        signInWithX: { accessMs: HOUR },
      }),
    );
  });
});
