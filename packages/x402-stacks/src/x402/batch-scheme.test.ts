/**
 * The batch-settlement scheme's server role as `@x402/core` calls it: the offer built from the facilitator's kind and
 * the route's extra, the refusals of a misconfigured seller, and the corrective snapshot carried from a refused
 * verify into the 402 of the same payment.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { privateKeyToAccount } from '../stacks/accounts.js';
import { registerBatchSettlementStacksScheme } from './batch-register.js';
import { BatchSettlementStacksScheme } from './batch-scheme.js';
import { ExactStacksSchemeError } from './errors.js';

const ESCROW = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';
const AUTHORIZER = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
const SPONSOR = 'ST2JHG361ZXG51QTKY2NQCVBPPRRE2KZB1HR05NNC';
const PAY_TO = 'ST2NEB84ASENDXKYGJPQW86YXQCEFEX2ZQPG87ND';
const KIND = {
  x402Version: 2,
  scheme: 'batch-settlement',
  network: 'stacks:2147483648' as const,
  extra: { escrow: ESCROW, receiverAuthorizer: AUTHORIZER, sponsor: SPONSOR, feePayer: SPONSOR },
};
const base = (extra: Record<string, unknown> = {}): PaymentRequirements => ({
  scheme: 'batch-settlement',
  network: 'stacks:2147483648',
  asset: 'STX',
  amount: '1000',
  payTo: PAY_TO,
  maxTimeoutSeconds: 300,
  extra,
});

describe('BatchSettlementStacksScheme, server role', () => {
  test('the offer names the escrow, authorizer, default delay and deposit, and the sponsor', async () => {
    const scheme = new BatchSettlementStacksScheme();
    assert.equal(scheme.scheme, 'batch-settlement');
    assert.deepEqual(scheme.paymentFlows.default?.supported, ['authorization']);
    assert.deepEqual(await scheme.parsePrice({ asset: 'STX', amount: '1000' }, KIND.network), {
      asset: 'STX',
      amount: '1000',
    });
    const offer = await scheme.enhancePaymentRequirements(base(), KIND, []);
    assert.deepEqual(offer.extra, {
      escrow: ESCROW,
      receiverAuthorizer: AUTHORIZER,
      withdrawDelay: 144,
      minDeposit: '100000',
      sponsor: SPONSOR,
      feePayer: SPONSOR,
    });
  });

  test("a route's own extra wins over the options; sponsor false opts out", async () => {
    const scheme = new BatchSettlementStacksScheme({ withdrawDelay: 288, minDeposit: 50_000n });
    const offer = await scheme.enhancePaymentRequirements(
      base({ withdrawDelay: 6, minDeposit: '7000', sponsor: false }),
      KIND,
      [],
    );
    assert.deepEqual(offer.extra, {
      escrow: ESCROW,
      receiverAuthorizer: AUTHORIZER,
      withdrawDelay: 6,
      minDeposit: '7000',
    });
    const byOptions = await scheme.enhancePaymentRequirements(base(), KIND, []);
    assert.equal(byOptions.extra.withdrawDelay, 288);
    assert.equal(byOptions.extra.minDeposit, '50000');
    // A suggested deposit below the price is raised to the price: one request must fit.
    const small = await new BatchSettlementStacksScheme({
      minDeposit: 10,
    }).enhancePaymentRequirements(base(), KIND, []);
    assert.equal(small.extra.minDeposit, '1000');
  });

  test('a misconfigured seller is refused with invalid_server_config', async () => {
    const reasonOf = async (run: () => unknown) => {
      try {
        await run();
      } catch (error) {
        assert.ok(error instanceof ExactStacksSchemeError);
        return error.reason;
      }
      return 'accepted';
    };
    assert.equal(
      await reasonOf(() => new BatchSettlementStacksScheme({ withdrawDelay: 5 })),
      'invalid_server_config',
    );
    assert.equal(
      await reasonOf(() => new BatchSettlementStacksScheme({ minDeposit: '1.5' })),
      'invalid_server_config',
    );
    const scheme = new BatchSettlementStacksScheme();
    assert.equal(
      await reasonOf(() =>
        scheme.enhancePaymentRequirements(base(), { ...KIND, extra: { sponsor: SPONSOR } }, []),
      ),
      'invalid_server_config',
    );
    assert.equal(
      await reasonOf(() =>
        scheme.enhancePaymentRequirements(base({ withdrawDelay: 9999 }), KIND, []),
      ),
      'invalid_server_config',
    );
    assert.equal(
      await reasonOf(() => scheme.verify({} as PaymentPayload, base())),
      'invalid_server_config',
    );
  });

  test("a refused verify's snapshot goes into the 402 of that payment only, on the paid offer only", async () => {
    const scheme = new BatchSettlementStacksScheme();
    const offer = await scheme.enhancePaymentRequirements(base(), KIND, []);
    const other = { ...offer, amount: '2000' };
    const payment = { x402Version: 2, accepted: offer, payload: {} } as PaymentPayload;
    const channelState = { channelId: `0x${'ab'.repeat(32)}`, chargedCumulativeAmount: '3000' };
    const voucherState = { signedMaxClaimable: '3000', signature: `0x${'cd'.repeat(65)}` };
    await scheme.schemeHooks.onAfterVerify?.({
      paymentPayload: payment,
      requirements: offer,
      declaredExtensions: {},
      result: {
        isValid: false,
        invalidReason: 'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
        extra: { channelState, voucherState, unrelated: 1 },
      } as never,
    } as never);
    const context = (paymentPayload?: PaymentPayload) =>
      ({
        requirements: [offer, other],
        paymentPayload,
        resourceInfo: { url: 'http://127.0.0.1/batch' },
        paymentRequiredResponse: { x402Version: 2, resource: { url: '' }, accepts: [] },
      }) as never;
    assert.equal(await scheme.enrichPaymentRequiredResponse(context()), undefined);
    const enriched = await scheme.enrichPaymentRequiredResponse(context(payment));
    assert.deepEqual(enriched?.[0]?.extra, { ...offer.extra, channelState, voucherState });
    assert.deepEqual(enriched?.[1], other);
    // Used once: a later 402 for the same object carries nothing stale.
    assert.equal(await scheme.enrichPaymentRequiredResponse(context(payment)), undefined);
    assert.deepEqual(scheme.dynamicExtraFields, ['channelState', 'voucherState']);
  });
});

describe('BatchSettlementStacksScheme, client role', () => {
  const account = privateKeyToAccount(`${'7'.repeat(64)}01`, 'testnet');

  test('an account pays only with a deposit cap, given at the top level', () => {
    assert.throws(
      () => new BatchSettlementStacksScheme({ account }),
      (error: unknown) =>
        error instanceof ExactStacksSchemeError && error.reason === 'invalid_payer_options',
    );
    assert.throws(
      () =>
        new BatchSettlementStacksScheme({
          account,
          depositCap: { STX: 1n },
          batch: { depositCap: { STX: 1n } },
        } as never),
      (error: unknown) =>
        error instanceof ExactStacksSchemeError && error.reason === 'invalid_payer_options',
    );
  });

  test('registered on a client for stacks:*, with its response hook beside the server hooks', () => {
    const scheme = new BatchSettlementStacksScheme({
      account,
      depositCap: { STX: 100_000n },
      escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
    });
    assert.equal(typeof scheme.schemeHooks.onPaymentResponse, 'function');
    assert.equal(typeof scheme.schemeHooks.onAfterVerify, 'function');
    assert.equal(scheme.payer.account.address, account.address);
    // Told a client by its methods (src/x402 loads @x402/core for types only; the e2e uses a real x402Client).
    const registered: [string, unknown][] = [];
    const client = {
      createPaymentPayload: () => undefined,
      register: (network: string, registeredScheme: unknown) =>
        registered.push([network, registeredScheme]),
    };
    registerBatchSettlementStacksScheme(client as never, { scheme });
    assert.deepEqual(registered, [['stacks:*', scheme]]);
  });

  test('a client without an account, or a v1 payment, is refused before anything is signed', async () => {
    assert.throws(
      () =>
        registerBatchSettlementStacksScheme(
          { createPaymentPayload: () => undefined, register: () => undefined } as never,
          {},
        ),
      (error: unknown) =>
        error instanceof ExactStacksSchemeError && error.reason === 'invalid_payer_options',
    );
    const scheme = new BatchSettlementStacksScheme({
      account,
      depositCap: { STX: 100_000n },
      escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
    });
    await assert.rejects(
      scheme.createPaymentPayload(1, base()),
      (error: unknown) =>
        error instanceof ExactStacksSchemeError && error.reason === 'invalid_x402_version',
    );
    await assert.rejects(
      scheme.createPaymentPayload(2, base(), { maxAmountPerPayment: '999' }),
      (error: unknown) =>
        error instanceof ExactStacksSchemeError && error.reason === 'payment_over_max_amount',
    );
  });
});
