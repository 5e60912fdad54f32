/**
 * settlement_pending is followed through the facilitator's settlement status, never served while pending.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entry, paid, request, SELLER, scripted, URL_ } from '@x402-stacks/test-kit/server-doubles';
import type { SettleResponse } from 'x402-stacks';
import {
  createResourceServer,
  type FacilitatorClient,
  FacilitatorRequestError,
} from 'x402-stacks/server';

const pending: SettleResponse = {
  success: false,
  errorReason: 'settlement_pending',
  transaction: 'cd'.repeat(32),
  network: 'stacks:2147483648',
  payer: SELLER,
};

describe('settlement_pending is followed through GET /settlements/:txid, never served while pending', () => {
  const serverWith = (facilitator: FacilitatorClient) =>
    createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      facilitator,
      sponsored: false,
      settlementPending: { attempts: 3, intervalMs: 1 },
    });

  test('confirmed while polling, bound to this request: settled again, served on that success', async () => {
    let looks = 0;
    const settles: unknown[] = [];
    const server = serverWith(
      scripted({
        settle: async (payload) => {
          settles.push(payload);
          return settles.length === 1
            ? pending
            : { success: true, transaction: pending.transaction, network: pending.network };
        },
        status: async (txid) => ({
          transaction: txid,
          state: ++looks < 2 ? 'broadcast' : 'success',
          payer: SELLER,
          network: 'stacks:2147483648',
          amount: '1000',
          asset: 'STX',
          payTo: SELLER,
          resource: URL_,
        }),
      }),
    );
    const admission = await server.admit(request(paid(entry)));
    assert.equal(admission.action, 'serve');
    assert.equal(
      admission.action === 'serve' && admission.payment.transaction,
      pending.transaction,
    );
    assert.equal(looks, 2);
    assert.equal(settles.length, 2, 'the facilitator, not the status, said this request is served');
  });

  test('still pending after the attempts: 402 settlement_pending with the txid in payment-response', async () => {
    let looks = 0;
    const server = serverWith(
      scripted({
        settle: async () => pending,
        status: async (txid) => {
          looks++;
          return {
            transaction: txid,
            state: 'broadcast',
            payer: SELLER,
            network: 'stacks:2147483648',
          };
        },
      }),
    );
    const admission = await server.admit(request(paid(entry)));
    assert.equal(admission.action, 'reply');
    if (admission.action !== 'reply') return;
    assert.equal(admission.reply.status, 402);
    assert.equal(JSON.parse(admission.reply.body).error, 'settlement_pending');
    const receipt = JSON.parse(
      Buffer.from(admission.reply.headers['payment-response']!, 'base64').toString(),
    );
    assert.equal(receipt.transaction, pending.transaction);
    assert.equal(looks, 3);
  });

  test('failed while polling: 402 with the failure', async () => {
    const server = serverWith(
      scripted({
        settle: async () => pending,
        status: async (txid) => ({
          transaction: txid,
          state: 'failed',
          errorReason: 'transaction_failed',
          payer: SELLER,
          network: 'stacks:2147483648',
        }),
      }),
    );
    const admission = await server.admit(request(paid(entry)));
    assert.equal(
      admission.action === 'reply' && JSON.parse(admission.reply.body).error,
      'transaction_failed',
    );
  });

  test('a settle that timed out, its transaction known as settled but not bound (an older facilitator): 402 settlement_pending, never served', async () => {
    let looks = 0;
    const server = serverWith(
      scripted({
        settle: async () => {
          throw new FacilitatorRequestError('facilitator_unreachable', 'timed out', {
            timedOut: true,
          });
        },
        status: async () => {
          looks++;
          return {
            transaction: 'ef'.repeat(32),
            state: 'success',
            payer: SELLER,
            network: 'stacks:2147483648',
          };
        },
      }),
    );
    const admission = await server.admit(request(paid(entry)));
    assert.equal(admission.action, 'reply');
    if (admission.action !== 'reply') return;
    assert.equal(admission.reply.status, 402);
    assert.equal(JSON.parse(admission.reply.body).error, 'settlement_pending');
    const receipt = JSON.parse(
      Buffer.from(admission.reply.headers['payment-response']!, 'base64').toString(),
    );
    assert.equal(receipt.success, false);
    assert.equal(receipt.transaction, 'ef'.repeat(32));
    assert.equal(looks, 1, 'one look to know the txid, never followed to a success');
  });

  test('a settle that timed out, its transaction unknown: 502, the buyer was not charged', async () => {
    const server = serverWith(
      scripted({
        settle: async () => {
          throw new FacilitatorRequestError('facilitator_unreachable', 'timed out', {
            timedOut: true,
          });
        },
      }),
    );
    const admission = await server.admit(request(paid(entry)));
    assert.equal(admission.action === 'reply' && admission.reply.status, 502);
  });
});
