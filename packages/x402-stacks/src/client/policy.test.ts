import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PAYER_KEY } from '@x402-stacks/test-kit/fixtures';
import { privateKeyToAccount } from '../stacks/accounts.js';
import { assetKey, resolveAsset, STX_ASSET } from '../stacks/assets.js';
import { STACKS_NETWORKS } from '../stacks/networks.js';
import { type PaymentTerms, resolvePaymentTerms } from '../stacks/payment/terms.js';
import { privateKeySigner } from '../stacks/signer.js';
import { createBudgetTracker } from './budget.js';
import { PayerOptionsError } from './errors.js';
import { createPayer } from './payer.js';
import { createSpendingPolicy, DEFAULT_MAX_AMOUNT } from './policy.js';

const testnet = STACKS_NETWORKS.testnet;
const SELLER = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
const OTHER = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
const SBTC = 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token';
const TOKEN = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG.points';

/** The typed terms of a testnet exact offer. */
function terms(asset: string, amount: string, payTo = SELLER): PaymentTerms {
  const resolved = resolvePaymentTerms({
    scheme: 'exact',
    network: 'stacks:2147483648',
    asset,
    amount,
    payTo,
  });
  if ('reason' in resolved) throw new Error(resolved.message);
  return resolved;
}

describe('createSpendingPolicy', () => {
  test('the default maxima pay up to and including 1 STX, 10,000 sats and 1 USDCx, and refuse one unit more', () => {
    const policy = createSpendingPolicy({}, testnet);
    assert.equal(policy.check(terms('STX', DEFAULT_MAX_AMOUNT.STX.toString())), undefined);
    assert.equal(policy.check(terms('sBTC', '10000')), undefined);
    assert.equal(policy.check(terms('USDCx', '1000000')), undefined);
    assert.deepEqual(policy.check(terms('STX', '1000001')), {
      reason: 'payment_over_max_amount',
      message: '1.000001 STX is above maxAmount 1 STX',
      limit: 1_000_000n,
    });
    assert.equal(policy.check(terms('sBTC', '10001'))?.reason, 'payment_over_max_amount');
  });

  test('an asset nobody gave a maximum is never paid', () => {
    const refusal = createSpendingPolicy({}, testnet).check(terms(TOKEN, '1'));
    assert.equal(refusal?.reason, 'asset_not_allowed');
    assert.match(refusal?.message ?? '', /no maximum per payment/);
    // Naming it in maxAmount makes it payable, in the same canonical key as the wire spelling.
    const named = createSpendingPolicy({ maxAmount: { [TOKEN]: 5n } }, testnet);
    assert.equal(named.check(terms(TOKEN, '5')), undefined);
    // Its decimals are unknown: the message says the amounts are atomic rather than guess whole units.
    assert.equal(
      named.check(terms(TOKEN, '6'))?.message,
      `6 atomic units of ${TOKEN}::points is above maxAmount 5 atomic units of ${TOKEN}::points`,
    );
  });

  test('maxAmount overrides a default, and a symbol and its contract id are the same asset', () => {
    const policy = createSpendingPolicy({ maxAmount: { sBTC: '500' } }, testnet);
    assert.equal(policy.check(terms(SBTC, '500')), undefined);
    assert.deepEqual(policy.check(terms(SBTC, '501')), {
      reason: 'payment_over_max_amount',
      message: '0.00000501 sBTC is above maxAmount 0.000005 sBTC',
      limit: 500n,
    });
  });

  test('amounts beyond 2^53 stay exact', () => {
    const huge = 2n ** 64n - 1n;
    const policy = createSpendingPolicy({ maxAmount: { [TOKEN]: huge.toString() } }, testnet);
    assert.equal(policy.check(terms(TOKEN, huge.toString())), undefined);
    assert.equal(policy.check(terms(TOKEN, (huge + 1n).toString()))?.limit, huge);
  });

  test('allowedAssets narrows the assets with a maximum', () => {
    const policy = createSpendingPolicy({ allowedAssets: ['sbtc'] }, testnet);
    assert.equal(policy.check(terms(SBTC, '1')), undefined);
    assert.deepEqual(policy.check(terms('STX', '1')), {
      reason: 'asset_not_allowed',
      message: 'STX is not in allowedAssets',
    });
  });

  test('allowedPayTo refuses any other recipient', () => {
    const policy = createSpendingPolicy({ allowedPayTo: [SELLER] }, testnet);
    assert.equal(policy.check(terms('STX', '1', SELLER)), undefined);
    assert.deepEqual(policy.check(terms('STX', '1', OTHER)), {
      reason: 'pay_to_not_allowed',
      message: `${OTHER} is not in allowedPayTo`,
    });
  });

  test('the budget is resolved to canonical asset keys for the tracker', () => {
    const policy = createSpendingPolicy({ budget: { STX: 10_000n, sBTC: '700' } }, testnet);
    assert.deepEqual(
      [...policy.budget.total],
      [
        ['STX', 10_000n],
        [`${SBTC}::sbtc-token`, 700n],
      ],
    );
  });

  test('options that are not atomic units, unknown assets and foreign principals are refused at creation', () => {
    const refused = (options: Parameters<typeof createSpendingPolicy>[0], message: RegExp) =>
      assert.throws(
        () => createSpendingPolicy(options, testnet),
        (error: unknown) =>
          error instanceof PayerOptionsError &&
          error.reason === 'invalid_payer_options' &&
          message.test(error.message),
      );
    refused({ maxAmount: { STX: '1.5' } }, /maxAmount\.STX must be atomic units/);
    refused({ budget: { STX: 0.5 } }, /budget\.STX must be atomic units/);
    refused({ maxAmount: { DOGE: 1n } }, /maxAmount: "DOGE" is not an asset on testnet/);
    // A mainnet contract is not a testnet asset, and a mainnet address is not a testnet recipient.
    refused(
      { allowedAssets: ['SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token'] },
      /allowedAssets/,
    );
    refused(
      { allowedPayTo: ['SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7'] },
      /allowedPayTo: .* is not a testnet principal/,
    );
  });
});

const caps = (total: [string, bigint][], window: [string, bigint][] = []) => ({
  total: new Map(total),
  window: new Map(window),
  windowMs: 60_000,
});

describe('createBudgetTracker', () => {
  test('reservations add up to the budget and not one unit past it', async () => {
    const tracker = createBudgetTracker(caps([['STX', 10_000n]]));
    const first = await tracker.reserve(STX_ASSET, 6_000n);
    assert.ok('release' in first);
    assert.ok('release' in (await tracker.reserve(STX_ASSET, 4_000n)));
    assert.deepEqual(await tracker.reserve(STX_ASSET, 1n), {
      reason: 'payment_over_budget',
      message:
        '0.000001 STX would bring the total to 0.010001 STX, above the budget of 0.01 STX (0 STX left)',
      limit: 10_000n,
    });
    assert.equal(tracker.spent('STX'), 10_000n);
  });

  test('a release gives the amount back once, however often it is called', async () => {
    const tracker = createBudgetTracker(caps([['STX', 10_000n]]));
    const held = await tracker.reserve(STX_ASSET, 7_000n);
    assert.ok('release' in held);
    await held.release();
    await held.release();
    assert.equal(tracker.spent('STX'), 0n);
    assert.ok('release' in (await tracker.reserve(STX_ASSET, 10_000n)));
  });

  test('a consumed amount stays counted: a later release does not give it back', async () => {
    const tracker = createBudgetTracker(caps([['STX', 10_000n]]));
    const held = await tracker.reserve(STX_ASSET, 7_000n);
    assert.ok('release' in held);
    await held.consume();
    await held.release();
    assert.equal(tracker.spent('STX'), 7_000n);
    assert.equal(
      ((await tracker.reserve(STX_ASSET, 4_000n)) as { reason?: string }).reason,
      'payment_over_budget',
    );
  });

  test('the window cap refuses with its own reason while the total still has room', async () => {
    const tracker = createBudgetTracker(caps([['STX', 100_000n]], [['STX', 5_000n]]));
    assert.ok('release' in (await tracker.reserve(STX_ASSET, 5_000n)));
    const refused = await tracker.reserve(STX_ASSET, 1n);
    assert.equal((refused as { reason?: string }).reason, 'payment_over_window_budget');
    assert.equal((refused as { limit?: bigint }).limit, 5_000n);
  });

  test('an asset without a budget is tracked and never refused', async () => {
    const tracker = createBudgetTracker(caps([]));
    const sbtc = resolveAsset('sBTC', testnet);
    assert.ok('release' in (await tracker.reserve(sbtc, 10n ** 30n)));
    assert.equal(tracker.spent(assetKey(sbtc)), 10n ** 30n);
  });
});

describe('createPayer budget and signer options', () => {
  const account = privateKeyToAccount(PAYER_KEY, 'testnet');
  const invalid = (error: unknown) =>
    error instanceof PayerOptionsError && error.reason === 'invalid_payer_options';
  test('a budget store that is not one, a window that is not a duration, a bad maxPaymentsInFlight', () => {
    assert.throws(() => createPayer(account, { budgetStore: {} as never }), invalid);
    assert.throws(() => createPayer(account, { budgetWindowMs: 0 }), invalid);
    assert.throws(() => createPayer(account, { budgetWindowMs: 1.5 }), invalid);
    assert.throws(() => createPayer(account, { windowBudget: { STX: '0.5' } }), invalid);
    assert.throws(() => createPayer(account, { maxPaymentsInFlight: 27 }), invalid);
  });

  test('a Signer pays; signInWithX: true needs the account key, so a bare Signer is refused', () => {
    const signer = privateKeySigner(PAYER_KEY, 'testnet');
    assert.equal(createPayer(signer).signer, signer);
    assert.equal(createPayer(account).signer.address, account.address);
    assert.throws(() => createPayer(signer, { signInWithX: true }), invalid);
    assert.throws(() => createPayer({} as never), invalid);
  });
});
