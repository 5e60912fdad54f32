/**
 * The buyer's refusals and failures against the devnet and the real facilitator: every policy limit, a hostile 402,
 * insufficient balance, a request that already carries a payment, a facilitator rejection (with nonce resync),
 * settlement pending, and network failures. Each test proves what was not paid: the seller's count of paid attempts,
 * and the balances.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import axios, { AxiosError } from 'axios';
import type { PaymentRequirements, StacksAccount } from 'x402-stacks';
import { createChainClient } from 'x402-stacks/chain';
import {
  InsufficientBalanceError,
  InvalidPaymentRequiredError,
  NoAcceptableRequirementError,
  PayerOptionsError,
  PaymentNetworkError,
  type PaymentOptions,
  PaymentPolicyError,
  PaymentRejectedError,
  type PaymentRequiredContext,
  SettlementPendingError,
  wrapAxiosWithPayment,
} from 'x402-stacks/client';
import { wrapFetchWithPayment } from 'x402-stacks/fetch';
import { encodePaymentSignatureHeader } from 'x402-stacks/protocol';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { closedPortUrl, requirement, type Stack, startStack } from './client-stack.js';

describe('buyer refusals and failures', () => {
  let stack: Stack;
  let route = 0;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  /** A fresh route offering `accepts`, and a fresh buyer with a fetch that pays it. */
  function setup(accepts: Partial<PaymentRequirements>[], options: PaymentOptions = {}) {
    const path = `/route-${++route}`;
    stack.route(path, {
      accepts: accepts.map((offer) => requirement({ payTo: stack.payTo, ...offer })),
    });
    const buyer = stack.buyer();
    const pay = wrapFetchWithPayment(fetch, buyer, { apiUrl: stack.devnet.url, ...options });
    return { path, url: `${stack.sellerUrl}${path}`, buyer, pay };
  }

  async function assertNothingPaid(path: string, buyer: StacksAccount, stx: bigint) {
    assert.equal(stack.hits(path).paid, 0, 'no paid request reached the seller');
    assert.equal(stack.stx(buyer.address), stx, 'the buyer balance did not move');
    assert.equal(stack.devnet.chain.nonces(buyer.address).possibleNext, 0n, 'no transaction');
  }

  test('each policy limit refuses before signing, naming the limit', async () => {
    const other = stack.devnet.accounts[0]!.address;
    const seen: PaymentRequiredContext[] = [];
    const cases: [string, Partial<PaymentRequirements>[], PaymentOptions, string, bigint?][] = [
      [
        'default maximum of 1 STX',
        [{ amount: '1000001' }],
        {},
        'payment_over_max_amount',
        1_000_000n,
      ],
      [
        'maxAmount per asset',
        [{ amount: '1000' }],
        { maxAmount: { STX: 999n } },
        'payment_over_max_amount',
        999n,
      ],
      ['allowedPayTo', [{}], { allowedPayTo: [other] }, 'pay_to_not_allowed'],
      ['allowedAssets', [{}], { allowedAssets: ['sBTC'] }, 'asset_not_allowed'],
      ['a token with no maximum', [{ asset: `${other}.other-token` }], {}, 'asset_not_allowed'],
      [
        'onPaymentRequired declines',
        [{ amount: '1234' }],
        {
          onPaymentRequired: (context) => {
            seen.push(context);
            return false;
          },
        },
        'payment_declined',
      ],
    ];
    for (const [name, accepts, options, reason, limit] of cases) {
      const { path, url, buyer, pay } = setup(accepts, options);
      const before = stack.stx(buyer.address);
      await assert.rejects(pay(url), (error) => {
        assert.ok(error instanceof PaymentPolicyError, name);
        assert.equal(error.reason, reason, name);
        assert.equal(error.limit, limit, name);
        return true;
      });
      await assertNothingPaid(path, buyer, before);
    }
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.amount, 1234n);
    assert.equal(seen[0]!.asset, 'STX');
    assert.equal(seen[0]!.payTo, stack.payTo);
  });

  test('a budget pays until the next payment would pass it, then refuses; the balance moved only for the paid ones', async () => {
    const { path, url, buyer, pay } = setup([{ amount: '1000' }], { budget: { STX: 2_500n } });
    const sellerBefore = stack.stx(stack.payTo);
    assert.equal((await pay(url)).status, 200);
    assert.equal((await pay(url)).status, 200);
    const afterTwo = stack.stx(buyer.address);
    await assert.rejects(pay(url), (error) => {
      assert.ok(error instanceof PaymentPolicyError);
      assert.equal(error.reason, 'payment_over_budget');
      assert.equal(error.limit, 2_500n);
      assert.match(error.message, /\(0\.0005 STX left\)/);
      return true;
    });
    assert.equal(stack.hits(path).paid, 2);
    assert.equal(stack.stx(buyer.address), afterTwo);
    assert.equal(stack.stx(stack.payTo), sellerBefore + 2_000n);
  });

  test('the first offer within the policy is chosen: STX over its maximum, sBTC paid instead', async () => {
    const { url, buyer, pay } = setup([{ amount: '5000' }, { amount: '40', asset: 'sBTC' }], {
      maxAmount: { STX: 1_000n },
    });
    const sbtc = stack.sbtc(buyer.address);
    assert.equal((await pay(url)).status, 200);
    assert.equal(stack.sbtc(buyer.address), sbtc - 40n);
  });

  test('no acceptable requirement: another network, another scheme; each refusal is listed', async () => {
    const mainnetPayTo = 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7';
    const { path, url, buyer, pay } = setup([
      { network: 'stacks:1', payTo: mainnetPayTo },
      { scheme: 'upto' },
    ]);
    const before = stack.stx(buyer.address);
    await assert.rejects(pay(url), (error) => {
      assert.ok(error instanceof NoAcceptableRequirementError);
      assert.deepEqual(
        error.refusals.map((refusal) => refusal.reason),
        ['invalid_network', 'invalid_scheme'],
      );
      return true;
    });
    await assertNothingPaid(path, buyer, before);
  });

  test('a payment flow this buyer does not know is refused unpaid (x402 v2 §6.1); authorization is preferred over upfront', async () => {
    const unknown = setup([{ extra: { paymentFlow: 'escrow' } }]);
    const before = stack.stx(unknown.buyer.address);
    await assert.rejects(unknown.pay(unknown.url), (error) => {
      assert.ok(error instanceof NoAcceptableRequirementError);
      assert.deepEqual(
        error.refusals.map((refusal) => refusal.reason),
        ['unsupported_payment_flow'],
      );
      return true;
    });
    await assertNothingPaid(unknown.path, unknown.buyer, before);

    // The upfront offer comes first, for more; the buyer pays the authorization one.
    const both = setup([
      { amount: '1300', extra: { paymentFlow: 'upfront' } },
      { amount: '1200', extra: { paymentFlow: 'authorization' } },
    ]);
    const sellerBefore = stack.stx(stack.payTo);
    assert.equal((await both.pay(both.url)).status, 200);
    assert.equal(stack.stx(stack.payTo), sellerBefore + 1200n);
  });

  test('a seller that names its sponsor only as extra.feePayer (the sponsoring Stacks peers) is paid sponsored, fee 0', async () => {
    const { url, buyer, pay } = setup([{ amount: '800', extra: { feePayer: stack.sponsor } }]);
    const [buyerBefore, sponsorBefore] = [stack.stx(buyer.address), stack.stx(stack.sponsor)];
    assert.equal((await pay(url)).status, 200);
    assert.equal(stack.stx(buyer.address), buyerBefore - 800n, 'the buyer paid the price, no fee');
    assert.ok(stack.stx(stack.sponsor) < sponsorBefore, 'the sponsor paid the fee');
  });

  test('sponsor and feePayer naming different accounts are refused unpaid', async () => {
    const other = stack.devnet.accounts[0]!.address;
    const { path, url, buyer, pay } = setup([
      { extra: { sponsor: stack.sponsor, feePayer: other } },
    ]);
    const before = stack.stx(buyer.address);
    await assert.rejects(pay(url), (error) => {
      assert.ok(error instanceof NoAcceptableRequirementError);
      assert.equal(error.refusals[0]?.reason, 'invalid_payment_requirements');
      assert.match(error.refusals[0]?.message ?? '', /different accounts/);
      return true;
    });
    await assertNothingPaid(path, buyer, before);
  });

  test('a hostile 402: a header that is not base64, or a challenge with a float amount, is refused unpaid', async () => {
    const forged = Buffer.from(
      JSON.stringify({
        x402Version: 2,
        resource: { url: 'x' },
        accepts: [{ ...requirement({ payTo: stack.payTo }), amount: 1e21 }],
      }),
    ).toString('base64');
    for (const [header, reason] of [
      ['%%% not base64 %%%', 'invalid_header_encoding'],
      [forged, 'invalid_header_schema'],
    ] as const) {
      const path = `/route-${++route}`;
      stack.route(path, {
        accepts: [requirement({ payTo: stack.payTo })],
        challengeHeader: header,
      });
      const buyer = stack.buyer();
      const before = stack.stx(buyer.address);
      const pay = wrapFetchWithPayment(fetch, buyer, { apiUrl: stack.devnet.url });
      await assert.rejects(pay(`${stack.sellerUrl}${path}`), (error) => {
        assert.ok(error instanceof InvalidPaymentRequiredError);
        assert.equal(error.reason, 'invalid_payment_required');
        assert.equal((error.cause as { reason?: string }).reason, reason);
        return true;
      });
      await assertNothingPaid(path, buyer, before);
    }
  });

  test('a balance shortfall on the first offer falls back to the next: no sBTC, so STX is paid', async () => {
    const path = `/route-${++route}`;
    stack.route(path, {
      accepts: [
        requirement({ payTo: stack.payTo, amount: '10', asset: 'sBTC' }),
        requirement({ payTo: stack.payTo, amount: '1000' }),
      ],
    });
    const buyer = stack.buyer({ stx: 1_000_000n });
    const pay = wrapFetchWithPayment(fetch, buyer, { apiUrl: stack.devnet.url });
    assert.equal((await pay(`${stack.sellerUrl}${path}`)).status, 200);
    assert.equal(stack.stx(buyer.address), 1_000_000n - 1000n - 300n);
    assert.deepEqual(stack.hits(path), { requests: 2, paid: 1 });
  });

  test('a v1 body over 64 KiB is not read to the end, and not paid', async () => {
    const path = `/route-${++route}`;
    const accepts = [requirement({ payTo: stack.payTo })];
    const padding = 'x'.repeat(100 * 1024);
    const body = JSON.stringify({ x402Version: 1, accepts: [], padding });
    stack.route(path, { version: 1, accepts, challengeBody: body });
    const buyer = stack.buyer();
    const before = stack.stx(buyer.address);
    const pay = wrapFetchWithPayment(fetch, buyer, { apiUrl: stack.devnet.url });
    await assert.rejects(
      pay(`${stack.sellerUrl}${path}`),
      (error) => error instanceof InvalidPaymentRequiredError,
    );
    await assertNothingPaid(path, buyer, before);
  });

  test('insufficient balance is found on the chain before anything is sent', async () => {
    const path = `/route-${++route}`;
    stack.route(path, { accepts: [requirement({ payTo: stack.payTo, amount: '10000' })] });
    const buyer = stack.buyer({ stx: 10_100n });
    const pay = wrapFetchWithPayment(fetch, buyer, { apiUrl: stack.devnet.url });
    await assert.rejects(pay(`${stack.sellerUrl}${path}`), (error) => {
      assert.ok(error instanceof InsufficientBalanceError);
      assert.equal(error.reason, 'insufficient_funds');
      assert.equal(error.required, 10_300n);
      assert.equal(error.available, 10_100n);
      return true;
    });
    await assertNothingPaid(path, buyer, 10_100n);
  });

  test('a request that already carries a payment is sent as is and never paid again (fetch and axios)', async () => {
    const { path, url, buyer, pay } = setup([{ amount: '1000' }]);
    const api = wrapAxiosWithPayment(axios.create(), buyer, { apiUrl: stack.devnet.url });
    const before = stack.stx(buyer.address);
    // A payment the caller made by hand, on a nonce far ahead: the facilitator refuses it and the seller answers 402.
    const accepted = requirement({ payTo: stack.payTo, amount: '1000' });
    const { transaction } = await createPaymentTransaction({
      account: buyer,
      requirements: accepted,
      nonce: 9n,
      fee: 300n,
    });
    const header = encodePaymentSignatureHeader({
      x402Version: 2,
      accepted,
      payload: { transaction },
    });
    const response = await pay(url, { headers: { 'payment-signature': header } });
    assert.equal(response.status, 402);
    await assert.rejects(api.get(url, { headers: { 'Payment-Signature': header } }), (error) => {
      assert.ok(error instanceof AxiosError);
      assert.equal(error.response?.status, 402);
      return true;
    });
    assert.deepEqual(stack.hits(path), { requests: 2, paid: 2 });
    assert.equal(stack.stx(buyer.address), before);
  });

  test('a facilitator rejection carries its reason and txid; exactly one retry; the next payment resyncs its nonce', async () => {
    const { path, url, buyer } = setup([{ amount: '1000' }]);
    const api = wrapAxiosWithPayment(axios.create(), buyer, { apiUrl: stack.devnet.url });
    stack.devnet.chain.injectFault('next', { kind: 'abort' });
    await assert.rejects(api.get(url), (error) => {
      assert.ok(error instanceof PaymentRejectedError);
      assert.equal(error.facilitatorReason, 'transaction_failed');
      assert.match(error.txid ?? '', /^[0-9a-f]{64}$/);
      // The docs' `error.response?.data?.error` works: the axios response of the refusal is attached.
      assert.equal(
        (error.response as { data: { error: string } }).data.error,
        'transaction_failed',
      );
      return true;
    });
    assert.deepEqual(stack.hits(path), { requests: 2, paid: 1 });
    // The aborted transaction spent nonce 0 (and its fee, not the price); the next payment must use 1.
    assert.equal((await api.get(url)).status, 200);
    assert.equal(stack.devnet.chain.nonces(buyer.address).possibleNext, 2n);
  });

  test("the library's own middleware: its refusal after payment is read the same way", async () => {
    const buyer = stack.buyer();
    const pay = wrapFetchWithPayment(fetch, buyer, { apiUrl: stack.devnet.url });
    stack.devnet.chain.injectFault('next', { kind: 'abort' });
    await assert.rejects(pay(`${stack.middlewareUrl}/stx`), (error) => {
      assert.ok(error instanceof PaymentRejectedError);
      assert.equal(error.facilitatorReason, 'transaction_failed');
      assert.equal((error.response as Response).status, 402);
      return true;
    });
    assert.equal((await pay(`${stack.middlewareUrl}/stx`)).status, 200);
  });

  test('a nonce spent behind the payer is refused once with the facilitator reason, then resynced', async () => {
    const { url, buyer, pay } = setup([{ amount: '1000' }]);
    assert.equal((await pay(url)).status, 200); // the payer's local counter is now at 1
    const elsewhere = await createPaymentTransaction({
      account: buyer,
      requirements: requirement({ payTo: stack.payTo, amount: '1' }),
      nonce: 1n,
      fee: 300n,
    });
    const chain = createChainClient({ network: 'testnet', url: stack.devnet.url });
    assert.equal((await chain.broadcast(elsewhere.transaction)).accepted, true);
    await assert.rejects(pay(url), (error) => {
      assert.ok(error instanceof PaymentRejectedError);
      assert.equal(error.facilitatorReason, 'invalid_exact_stacks_payload_nonce');
      return true;
    });
    assert.equal((await pay(url)).status, 200);
    assert.equal(stack.devnet.chain.nonces(buyer.address).possibleNext, 3n);
  });

  test('settlement pending: the error carries the txid, nothing is served, and the budget keeps the amount', async () => {
    const { path, url, buyer } = setup([{ amount: '1000' }]);
    const pay = wrapFetchWithPayment(fetch, buyer, {
      apiUrl: stack.devnet.url,
      budget: { STX: 1_500n },
    });
    stack.devnet.chain.injectFault('next', { kind: 'delay', blocks: 3 });
    await assert.rejects(pay(url), (error) => {
      assert.ok(error instanceof SettlementPendingError);
      assert.equal(error.reason, 'settlement_pending');
      assert.equal(stack.devnet.chain.transaction(error.txid)?.status, 'pending');
      assert.equal((error.response as Response).status, 402);
      return true;
    });
    assert.equal(stack.hits(path).paid, 1);
    // The pending 1000 still counts against the budget of 1500.
    await assert.rejects(pay(url), (error) => error instanceof PaymentPolicyError);
    stack.devnet.mine(5);
  });

  test('network failure: an unreachable chain API signs nothing; a dropped paid request names its txid', async () => {
    const { path, url, buyer } = setup([{ amount: '1000' }]);
    const before = stack.stx(buyer.address);
    const down = createChainClient({
      network: 'testnet',
      url: await closedPortUrl(),
      maxRetries: 0,
    });
    await assert.rejects(wrapFetchWithPayment(fetch, buyer, { chain: down })(url), (error) => {
      assert.ok(error instanceof PaymentNetworkError);
      assert.equal(error.stage, 'chain');
      return true;
    });
    await assertNothingPaid(path, buyer, before);

    const dropping = `/route-${++route}`;
    stack.route(dropping, { accepts: [requirement({ payTo: stack.payTo })], fault: 'drop' });
    const pay = wrapFetchWithPayment(fetch, buyer, { apiUrl: stack.devnet.url });
    await assert.rejects(pay(`${stack.sellerUrl}${dropping}`), (error) => {
      assert.ok(error instanceof PaymentNetworkError);
      assert.equal(error.stage, 'retry');
      assert.match(error.txid ?? '', /^[0-9a-f]{64}$/);
      return true;
    });
    assert.deepEqual(stack.hits(dropping), { requests: 2, paid: 1 });
    // The dropped payment never reached the chain: the same payer pays the next request at nonce 0.
    assert.equal((await pay(url)).status, 200);
    assert.equal(stack.devnet.chain.nonces(buyer.address).possibleNext, 1n);
  });

  test('bad options are refused when the wrapper is created, never at payment time', () => {
    const buyer = stack.buyer();
    for (const options of [
      { maxAmount: { STX: '1.5' } },
      { budget: { DOGE: 1n } },
      { allowedPayTo: ['not-an-address'] },
      { maxFee: 10n },
    ] as PaymentOptions[]) {
      assert.throws(
        () => wrapFetchWithPayment(fetch, buyer, options),
        (error) => error instanceof PayerOptionsError && error.reason === 'invalid_payer_options',
      );
    }
  });
});
