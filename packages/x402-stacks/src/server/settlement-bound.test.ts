/**
 * A payment left pending (or whose settle call timed out) is served only when its status is bound to this request
 * (amount, asset, payTo, network, resource) and the facilitator answers the same settle `success` again: the status
 * alone never serves, and the second settle is the facilitator's decision of which request is served.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entry, paid, request, SELLER, scripted, URL_ } from '@x402-stacks/test-kit/server-doubles';
import type { PaymentPayload, SettleResponse } from 'x402-stacks';
import {
  type Admission,
  createResourceServer,
  type FacilitatorClient,
  FacilitatorRequestError,
  type FacilitatorSettlementStatus,
} from 'x402-stacks/server';

const TXID = 'cd'.repeat(32);
const pending: SettleResponse = {
  success: false,
  errorReason: 'settlement_pending',
  transaction: TXID,
  network: 'stacks:2147483648',
  payer: SELLER,
};
const served: SettleResponse = { success: true, transaction: TXID, network: pending.network };
const duplicate: SettleResponse = {
  success: false,
  errorReason: 'duplicate_settlement',
  transaction: TXID,
  network: pending.network,
  payer: SELLER,
};
const timedOut = () =>
  new FacilitatorRequestError('facilitator_unreachable', 'timed out', { timedOut: true });

/** A confirmed settlement of exactly this request's terms. */
const boundSuccess: FacilitatorSettlementStatus = {
  transaction: TXID,
  state: 'success',
  payer: SELLER,
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo: SELLER,
  resource: URL_,
};

const OTHER = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
const MISMATCHES: Record<string, Partial<FacilitatorSettlementStatus>> = {
  'amount (1 µSTX for a 1000 µSTX route)': { amount: '1' },
  'asset (sBTC for an STX route)': {
    asset: 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token::sbtc-token',
  },
  'payTo (another seller)': { payTo: OTHER },
  'network (mainnet for a testnet route)': { network: 'stacks:1' },
  'resource (route A for route B)': { resource: 'http://seller.test/api/other' },
};

function serverWith(facilitator: FacilitatorClient) {
  return createResourceServer({
    amount: '1000',
    payTo: SELLER,
    network: 'testnet',
    facilitator,
    sponsored: false,
    settlementPending: { attempts: 2, intervalMs: 1 },
  });
}

/** A facilitator that answers each settle call in turn, and counts them. */
function sequence(
  answers: readonly (SettleResponse | Error)[],
  status: FacilitatorSettlementStatus | undefined,
) {
  const sent: PaymentPayload[] = [];
  const facilitator = scripted({
    settle: async (payload) => {
      sent.push(payload);
      const answer = answers[Math.min(sent.length, answers.length) - 1]!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    status: async () => status,
  });
  return { facilitator, sent };
}

function errorOf(admission: Admission): string | undefined {
  return admission.action === 'reply' ? JSON.parse(admission.reply.body).error : undefined;
}

describe('a pending payment is served only when bound to the request, and once, by the facilitator', () => {
  test('the settle names the seller’s own resource, whatever the buyer echoed', async () => {
    const { facilitator, sent } = sequence([served], undefined);
    const header = paid(entry);
    const admission = await serverWith(facilitator).admit(request(header));
    assert.equal(admission.action, 'serve');
    assert.equal(sent[0]?.resource?.url, URL_);
  });

  test('pending, then confirmed and bound: the second settle answers success, served', async () => {
    const { facilitator, sent } = sequence([pending, served], boundSuccess);
    const admission = await serverWith(facilitator).admit(request(paid(entry)));
    assert.equal(admission.action, 'serve');
    assert.equal(sent.length, 2);
    assert.equal(sent[1]?.resource?.url, URL_);
  });

  test('pending, then confirmed and bound, but the facilitator answers the second settle duplicate: not served', async () => {
    const { facilitator } = sequence([pending, duplicate], boundSuccess);
    const admission = await serverWith(facilitator).admit(request(paid(entry)));
    assert.equal(errorOf(admission), 'duplicate_settlement');
  });

  for (const [field, mismatch] of Object.entries(MISMATCHES)) {
    test(`pending, then confirmed for another ${field}: never settled again, never served`, async () => {
      const { facilitator, sent } = sequence([pending, served], { ...boundSuccess, ...mismatch });
      const admission = await serverWith(facilitator).admit(request(paid(entry)));
      assert.equal(errorOf(admission), 'settlement_pending');
      assert.equal(sent.length, 1);
    });

    test(`a settle that timed out, confirmed for another ${field}: 402 settlement_pending, never served`, async () => {
      const { facilitator, sent } = sequence([timedOut(), served], {
        ...boundSuccess,
        ...mismatch,
      });
      const admission = await serverWith(facilitator).admit(request(paid(entry)));
      assert.equal(errorOf(admission), 'settlement_pending');
      assert.equal(sent.length, 1);
    });
  }

  test('an older facilitator’s status (no amount, asset, payTo, resource) binds nothing: not served', async () => {
    const { amount, asset, payTo, resource, ...older } = boundSuccess;
    void [amount, asset, payTo, resource];
    const { facilitator, sent } = sequence([pending, served], older);
    const admission = await serverWith(facilitator).admit(request(paid(entry)));
    assert.equal(errorOf(admission), 'settlement_pending');
    assert.equal(sent.length, 1);
  });

  test('a settle that timed out, confirmed and bound: settled again, served on its success', async () => {
    const { facilitator, sent } = sequence([timedOut(), served], boundSuccess);
    const admission = await serverWith(facilitator).admit(request(paid(entry)));
    assert.equal(admission.action, 'serve');
    assert.equal(sent.length, 2);
  });

  test('a settle that timed out, confirmed and bound, answered duplicate again: 402 duplicate_settlement', async () => {
    const { facilitator } = sequence([timedOut(), duplicate], boundSuccess);
    const admission = await serverWith(facilitator).admit(request(paid(entry)));
    assert.equal(errorOf(admission), 'duplicate_settlement');
  });

  test('a settle that timed out, still broadcast: 402 settlement_pending, one settle', async () => {
    const { facilitator, sent } = sequence([timedOut(), served], {
      ...boundSuccess,
      state: 'broadcast',
    });
    const admission = await serverWith(facilitator).admit(request(paid(entry)));
    assert.equal(errorOf(admission), 'settlement_pending');
    assert.equal(sent.length, 1);
  });

  test('a duplicate of a payment still being settled for this request: 402 settlement_pending (retry later)', async () => {
    for (const state of ['claimed', 'broadcast'] as const) {
      const { facilitator } = sequence([duplicate], { ...boundSuccess, state });
      const admission = await serverWith(facilitator).admit(request(paid(entry)));
      assert.equal(errorOf(admission), 'settlement_pending', state);
    }
  });

  test('a duplicate of a payment confirmed, or being settled for another route: stays duplicate_settlement', async () => {
    for (const status of [
      boundSuccess,
      { ...boundSuccess, state: 'broadcast' as const, resource: 'http://seller.test/api/other' },
      undefined,
    ]) {
      const { facilitator } = sequence([duplicate], status);
      const admission = await serverWith(facilitator).admit(request(paid(entry)));
      assert.equal(errorOf(admission), 'duplicate_settlement');
    }
  });

  test('a facilitator client reads an older facilitator’s status, and refuses an amount that is not an integer string', async () => {
    const { createFacilitatorClient } = await import('x402-stacks/server');
    const answers: unknown[] = [
      { transaction: TXID, state: 'success', payer: SELLER, network: 'stacks:2147483648' },
      { ...boundSuccess },
      { ...boundSuccess, amount: '1.5' },
    ];
    const client = createFacilitatorClient({
      url: 'http://facilitator.test',
      fetch: async () => new Response(JSON.stringify(answers.shift()), { status: 200 }),
    });
    assert.equal((await client.status(TXID))?.amount, undefined);
    assert.deepEqual(await client.status(TXID), boundSuccess);
    await assert.rejects(client.status(TXID), { reason: 'facilitator_bad_response' });
  });

  describe('a route that verifies first, its payment held by the facilitator (/verify: txid reused)', () => {
    const reused = {
      isValid: false,
      invalidReason: 'invalid_exact_stacks_payload_txid_reused',
      payer: SELLER,
    };
    const verifyingServer = (
      facilitator: FacilitatorClient,
      settle: 'before-handler' | 'after-handler',
    ) =>
      createResourceServer({
        amount: '1000',
        payTo: SELLER,
        network: 'testnet',
        facilitator,
        sponsored: false,
        settle,
        ...(settle === 'before-handler' ? { paymentValidator: () => true } : {}),
      });

    for (const order of ['before-handler', 'after-handler'] as const) {
      test(`${order}: bound to this route, settled at once (no handler first) and served on success`, async () => {
        const { facilitator, sent } = sequence([served], boundSuccess);
        const admission = await verifyingServer(
          { ...facilitator, verify: async () => reused },
          order,
        ).admit(request(paid(entry)));
        assert.equal(admission.action, 'serve');
        assert.equal(sent.length, 1);
      });

      test(`${order}: bound to another route, or unknown, the verify refusal stands and nothing is settled`, async () => {
        for (const status of [
          { ...boundSuccess, resource: 'http://seller.test/other' },
          undefined,
        ]) {
          const { facilitator, sent } = sequence([served], status);
          const admission = await verifyingServer(
            { ...facilitator, verify: async () => reused },
            order,
          ).admit(request(paid(entry)));
          assert.equal(errorOf(admission), 'invalid_exact_stacks_payload_txid_reused');
          assert.equal(sent.length, 0);
        }
      });
    }
  });
});
