/**
 * Review (issue 15), an attack on the signer's budget: the caller chooses the fee of the transaction it asks the
 * signer to sign, and the budget counts only the amount. An agent that may pay 1 micro-STX at a time can have the
 * signer sign any number of payments that each burn the largest fee, so the STX that can leave the payer is bounded
 * by nothing but the number of requests. The budget of STX must bound amount plus fee.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateKeypair } from 'x402-stacks';
import {
  createMemoryBudgetStore,
  type Signer,
  type SignTransactionRequest,
} from 'x402-stacks/client';
import { createPaymentTransaction, privateKeySigner } from 'x402-stacks/stacks';
import { createSignerPolicy, decideSignature } from '../src/signer-policy.js';

const account = generateKeypair('testnet');
const PAY_TO = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';

/** The request a payer would send the signer: one micro-STX, the largest fee the signer takes, the given nonce. */
async function tinyPaymentWithLargestFee(
  nonce: bigint,
  fee: bigint,
): Promise<SignTransactionRequest> {
  let captured: SignTransactionRequest | undefined;
  const capturing: Signer = {
    ...privateKeySigner(account.privateKey, account.network),
    async signTransaction(request) {
      captured = request;
      throw new Error('captured');
    },
  };
  const requirements = {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '1',
    asset: 'STX',
    payTo: PAY_TO,
    maxTimeoutSeconds: 60,
  };
  await createPaymentTransaction({ account: capturing, requirements, nonce, fee }).catch(() => {});
  return captured!;
}

describe('the signer budget against fees chosen by the caller', () => {
  test('the STX that signed payments can move (amount + fee) stays within the STX budget', async () => {
    const maxFee = 10_000n;
    const budget = 5_000n;
    const rules = createSignerPolicy({
      network: 'testnet',
      maxAmount: undefined,
      maxFee,
      allowedPayTo: undefined,
      allowedAssets: undefined,
      total: { STX: budget },
      window: {},
      windowMs: 60_000,
    });
    const store = createMemoryBudgetStore();
    let movable = 0n;
    for (let nonce = 0n; nonce < 20n; nonce++) {
      const decision = await decideSignature(
        await tinyPaymentWithLargestFee(nonce, maxFee),
        account,
        rules,
        store,
      );
      if (decision.ok) movable += decision.amount + decision.fee;
    }
    assert.ok(
      movable <= budget,
      `signed payments may move ${movable} micro-STX, above the budget of ${budget}`,
    );
  });
});
