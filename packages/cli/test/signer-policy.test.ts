/**
 * The signer's policy on decoded transactions, in process (the socket and the process are in signer.test.ts): each
 * refusal reason that one needs no chain for, and the window cap of its own budget.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateKeypair, privateKeyToAccount } from 'x402-stacks';
import {
  createMemoryBudgetStore,
  type Signer,
  type SignTransactionRequest,
} from 'x402-stacks/client';
import { createPaymentTransaction, privateKeySigner } from 'x402-stacks/stacks';
import { createSignerPolicy, decideSignature } from '../src/signer-policy.js';

const account = generateKeypair('testnet');
const PAY_TO = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
const offer = (overrides: Record<string, unknown> = {}) => ({
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo: PAY_TO,
  maxTimeoutSeconds: 60,
  ...overrides,
});

async function requestFor(
  requirements: ReturnType<typeof offer>,
  fee = 2_000n,
  from = account,
): Promise<SignTransactionRequest> {
  let captured: SignTransactionRequest | undefined;
  const capturing: Signer = {
    ...privateKeySigner(from.privateKey, from.network),
    async signTransaction(request) {
      captured = request;
      throw new Error('captured');
    },
  };
  await createPaymentTransaction({ account: capturing, requirements, nonce: 1n, fee }).catch(
    () => {},
  );
  return captured!;
}

const policy = (overrides: Partial<Parameters<typeof createSignerPolicy>[0]> = {}) =>
  createSignerPolicy({
    network: 'testnet',
    maxAmount: undefined,
    maxFee: 10_000n,
    allowedPayTo: undefined,
    allowedAssets: undefined,
    total: {},
    window: {},
    windowMs: 60_000,
    ...overrides,
  });

const reasonOf = async (
  request: SignTransactionRequest,
  rules = policy(),
  store = createMemoryBudgetStore(),
) => {
  const decision = await decideSignature(request, account, rules, store);
  return decision.ok ? 'signed' : decision.reason;
};

describe('the signer policy', () => {
  test('signs a payment within it, and the signature verifies as the payer’s', async () => {
    const decision = await decideSignature(
      await requestFor(offer()),
      account,
      policy(),
      createMemoryBudgetStore(),
    );
    assert.ok(decision.ok);
    assert.deepEqual([decision.payTo, decision.amount, decision.asset], [PAY_TO, 1000n, 'STX']);
  });

  test('asset_not_allowed: an asset left out of allowedAssets, or without a maximum', async () => {
    const sbtc = await requestFor(offer({ asset: 'sBTC', amount: '100' }));
    assert.equal(await reasonOf(sbtc, policy({ allowedAssets: ['STX'] })), 'asset_not_allowed');
    assert.equal(await reasonOf(sbtc, policy({ maxAmount: { STX: 5_000n } })), 'asset_not_allowed');
    assert.equal(await reasonOf(sbtc), 'signed');
  });

  test('fee_over_max_fee: the fee the transaction carries, whatever the caller says', async () => {
    assert.equal(await reasonOf(await requestFor(offer(), 20_000n)), 'fee_over_max_fee');
  });

  test('network_mismatch and origin_mismatch: a mainnet transaction, another payer’s transaction', async () => {
    const mainnet = privateKeyToAccount(account.privateKey, 'mainnet');
    const onMainnet = await requestFor(
      offer({ network: 'stacks:1', payTo: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7' }),
      2_000n,
      mainnet,
    );
    assert.equal(await reasonOf({ ...onMainnet, address: account.address }), 'network_mismatch');
    const other = generateKeypair('testnet');
    const theirs = await requestFor(offer(), 2_000n, other);
    assert.equal(await reasonOf({ ...theirs, address: account.address }), 'origin_mismatch');
  });

  test('payment_over_window_budget: its own window cap, counted per signature', async () => {
    const store = createMemoryBudgetStore();
    // Each signature counts its amount and its fee: 1,000 + 2,000.
    const rules = policy({ window: { STX: 6_000n } });
    const request = await requestFor(offer());
    assert.equal(await reasonOf(request, rules, store), 'signed');
    assert.equal(await reasonOf(request, rules, store), 'signed');
    assert.equal(await reasonOf(request, rules, store), 'payment_over_window_budget');
  });
});
