/**
 * An in-process facilitator that throws is answered like a facilitator service that is down.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entry, paid, request, SELLER, scripted } from '@x402-stacks/test-kit/server-doubles';
import { createResourceServer } from 'x402-stacks/server';

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
