/**
 * Parallel nonces against the devnet and the facilitator service: an offer that says its facilitator accepts chained
 * nonces (`extra.maxNonceAhead`) gets several payments of one account in flight at once, on consecutive nonces, all
 * settled; an offer without it gets one paid request at a time. This devnet mines a block on every broadcast, so the
 * chained sponsored payments here each find the one before confirmed at once. The mempool watch is set to a minute so
 * that only the mode decides when the next payment goes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodePaymentResponse } from 'x402-stacks';
import { createChainClient } from 'x402-stacks/chain';
import { wrapFetchWithPayment } from 'x402-stacks/fetch';
import { requirement, type Stack, startStack } from './client-stack.js';

/** A fetch that counts the paid requests in flight at once. */
function countingFetch() {
  let inFlight = 0;
  let most = 0;
  const counted: typeof fetch = async (input, init) => {
    const headers = new Headers(
      init?.headers ?? (input instanceof Request ? input.headers : undefined),
    );
    const paid = headers.has('payment-signature');
    if (paid) most = Math.max(most, ++inFlight);
    try {
      return await fetch(input, init);
    } finally {
      if (paid) inFlight--;
    }
  };
  return { fetch: counted, most: () => most };
}

describe('parallel nonces', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
    stack.route('/chained', {
      accepts: [
        requirement({
          payTo: stack.payTo,
          amount: '900',
          extra: { sponsor: stack.sponsor, maxNonceAhead: 25 },
        }),
      ],
    });
    stack.route('/plain', {
      accepts: [
        requirement({ payTo: stack.payTo, amount: '900', extra: { sponsor: stack.sponsor } }),
      ],
    });
  });
  after(() => stack.stop());

  test('a sponsoring facilitator advertises no maxNonceAhead, and the library seller offers none', async () => {
    // Its sponsored payments go out only at the payer's confirmed next nonce: chained ones would wait a block each.
    const supported = (await (await fetch(`${stack.facilitatorUrl}/supported`)).json()) as {
      kinds: { extra: { sponsor?: string; maxNonceAhead?: number } }[];
    };
    assert.equal(supported.kinds[0]?.extra.sponsor, stack.sponsor);
    assert.equal(supported.kinds[0]?.extra.maxNonceAhead, undefined);
    const challenge = await fetch(`${stack.middlewareUrl}/sponsored`);
    const offer = JSON.parse(atob(challenge.headers.get('payment-required')!)).accepts[0];
    assert.equal(offer.extra.sponsor, stack.sponsor);
    assert.equal(offer.extra.maxNonceAhead, undefined);
  });

  for (const [path, expectParallel] of [
    ['/chained', true],
    ['/plain', false],
  ] as const) {
    test(`${path}: 8 payments of one account ${expectParallel ? 'in flight together' : 'one at a time'}, nonces 0 to 7`, async () => {
      const buyer = stack.buyer();
      const counting = countingFetch();
      const pay = wrapFetchWithPayment(counting.fetch, buyer, {
        apiUrl: stack.devnet.url,
        nonceWatchMs: 60_000,
      });
      const responses = await Promise.all(
        Array.from({ length: 8 }, () => pay(`${stack.sellerUrl}${path}`)),
      );
      assert.deepEqual(
        responses.map((response) => response.status),
        Array(8).fill(200),
      );
      if (expectParallel) assert.ok(counting.most() > 1, `at most ${counting.most()} in flight`);
      else assert.equal(counting.most(), 1);
      const chain = createChainClient({ network: 'testnet', url: stack.devnet.url });
      const nonces = await Promise.all(
        responses.map(async (response) => {
          const txid = decodePaymentResponse(response.headers.get('payment-response'))!.transaction;
          const tx = await chain.getTransaction(txid);
          return tx?.indexed ? tx.nonce : -1n;
        }),
      );
      assert.deepEqual(
        nonces.sort((a, b) => (a < b ? -1 : 1)),
        Array.from({ length: 8 }, (_, index) => BigInt(index)),
      );
    });
  }

  test('maxPaymentsInFlight: 1 turns it off, and a bad value is invalid_payer_options', async () => {
    const counting = countingFetch();
    const pay = wrapFetchWithPayment(counting.fetch, stack.buyer(), {
      apiUrl: stack.devnet.url,
      nonceWatchMs: 60_000,
      maxPaymentsInFlight: 1,
    });
    await Promise.all(Array.from({ length: 3 }, () => pay(`${stack.sellerUrl}/chained`)));
    assert.equal(counting.most(), 1);
    assert.throws(
      () => wrapFetchWithPayment(fetch, stack.buyer(), { maxPaymentsInFlight: 0 }),
      (error: Error & { reason?: string }) => error.reason === 'invalid_payer_options',
    );
  });
});

describe('sponsored payments on a chain with blocks a second apart', () => {
  let timed: Stack;
  before(async () => {
    timed = await startStack({ mining: { mode: 'interval', intervalMs: 1_000 } });
    timed.route('/sponsored', {
      accepts: [
        requirement({ payTo: timed.payTo, amount: '900', extra: { sponsor: timed.sponsor } }),
      ],
    });
  });
  after(() => timed.stop());

  test('the next payment of an account is sent only once the one before it is confirmed, not while it waits in the mempool', async () => {
    // The facilitator takes a sponsored payment only at its payer's confirmed next nonce: one sent earlier would wait
    // there, holding one of its nonce-wait slots, for up to a block.
    const buyer = timed.buyer();
    const chain = createChainClient({ network: 'testnet', url: timed.devnet.url });
    const confirmedAtSend: bigint[] = [];
    const watching: typeof fetch = async (input, init) => {
      const headers = new Headers(
        init?.headers ?? (input instanceof Request ? input.headers : undefined),
      );
      if (headers.has('payment-signature')) {
        confirmedAtSend.push((await chain.getNonces(buyer.address)).confirmedNext);
      }
      return fetch(input, init);
    };
    const pay = wrapFetchWithPayment(watching, buyer, {
      apiUrl: timed.devnet.url,
      nonceWatchMs: 50,
    });
    const responses = await Promise.all(
      Array.from({ length: 3 }, () => pay(`${timed.sellerUrl}/sponsored`)),
    );
    assert.deepEqual(
      responses.map((response) => response.status),
      [200, 200, 200],
    );
    assert.deepEqual(confirmedAtSend, [0n, 1n, 2n]);
  });
});
