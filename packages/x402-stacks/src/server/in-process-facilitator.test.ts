/**
 * An in-process facilitator that throws is answered like a facilitator service that is down.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PaymentRequirements } from 'x402-stacks';
import { encodePaymentSignatureHeader } from 'x402-stacks/protocol';
import {
  createResourceServer,
  type FacilitatorClient,
  type PaywallRequest,
} from 'x402-stacks/server';

const SELLER = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
const URL_ = 'http://seller.test/api/data';

function request(headers: Record<string, string> = {}, url = URL_): PaywallRequest<null> {
  return { url, header: (name) => headers[name], request: null };
}

function paid(requirements: PaymentRequirements): Record<string, string> {
  return {
    'payment-signature': encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: requirements,
      payload: { transaction: '00' },
    }),
  };
}

const entry: PaymentRequirements = {
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo: SELLER,
  maxTimeoutSeconds: 300,
};

/** An in-process facilitator whose answers a test scripts. */
function scripted(overrides: Partial<FacilitatorClient>): FacilitatorClient {
  return {
    verify: async () => ({ isValid: true, payer: SELLER }),
    settle: async () => ({
      success: true,
      transaction: 'ab'.repeat(32),
      network: 'stacks:2147483648',
    }),
    status: async () => undefined,
    supported: () => ({ kinds: [], extensions: [], signers: {} }),
    ...overrides,
  };
}

describe('an in-process facilitator', () => {
  test('that throws (its node unreachable) is answered like a service that is down: 502, not a crash', async () => {
    const server = createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      sponsored: false,
      facilitator: scripted({
        settle: async () => {
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3999'), {
            reason: 'chain_unreachable',
          });
        },
      }),
    });
    const admission = await server.admit(request(paid(entry)));
    assert.equal(admission.action === 'reply' && admission.reply.status, 502);
    if (admission.action !== 'reply') return;
    const body = JSON.parse(admission.reply.body);
    assert.equal(body.error, 'facilitator_unreachable');
    assert.match(body.message, /settle failed \(chain_unreachable\)/);
    assert.doesNotMatch(body.message, /127\.0\.0\.1/, 'no internals in the answer');
  });
});
