/**
 * Attack review: a remote offer-receipt signer that never answers (a KMS behind a dead connection). The sale must go
 * on without signatures: the unpaid request still gets its 402, and a settled payment is still served, receipt or
 * not. The test's own timeout turns a hang into a failure.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { paid, request, scripted } from '@x402-stacks/test-kit/server-doubles';
import { createResourceServer } from 'x402-stacks/server';
import { privateKeyToAccount } from 'x402-stacks/stacks';

const seller = privateKeyToAccount(
  '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801',
  'testnet',
);
const entry = {
  scheme: 'exact',
  network: 'stacks:2147483648' as const,
  amount: '1000',
  asset: 'STX',
  payTo: seller.address,
  maxTimeoutSeconds: 300,
};

const serverWithHungSigner = () =>
  createResourceServer<null>({
    amount: '1000',
    payTo: seller.address,
    network: 'testnet',
    sponsored: false,
    facilitator: scripted({
      settle: async () => ({
        success: true,
        transaction: 'ef'.repeat(32),
        network: 'stacks:2147483648',
        payer: 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG',
      }),
    }),
    offerReceipt: {
      signer: { address: seller.address, sign: () => new Promise<string>(() => {}) },
      signerTimeoutMs: 50,
    },
  });

describe('a remote signer that never answers', { timeout: 20_000 }, () => {
  test('the unpaid request gets its 402, unsigned', async () => {
    const admission = await serverWithHungSigner().admit(request());
    assert.equal(admission.action, 'reply');
    if (admission.action === 'reply') assert.equal(admission.reply.status, 402);
  });

  test('a settled payment is served, without a receipt', async () => {
    const admission = await serverWithHungSigner().admit(request(paid(entry)));
    assert.equal(admission.action, 'serve');
    if (admission.action === 'serve') assert.equal(admission.payment.signedReceipt, undefined);
  });
});
