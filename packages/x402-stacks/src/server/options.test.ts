/**
 * The resource-server core checks its options once, at creation, including the options of x402-stacks 2.0.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request, SELLER, scripted } from '@x402-stacks/test-kit/server-doubles';
import { x402PaymentRequired } from 'x402-stacks';
import { createResourceServer, ServerConfigError } from 'x402-stacks/server';

const MAINNET_ADDRESS = 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7';

describe('options are checked once, at creation', () => {
  test('every problem is listed in one ServerConfigError', () => {
    assert.throws(
      () =>
        createResourceServer({
          amount: 1.5,
          payTo: MAINNET_ADDRESS,
          network: 'testnet',
          asset: 'DOGE',
          maxTimeoutSeconds: 0,
          settle: 'whenever' as never,
        }),
      (error: unknown) => {
        assert.ok(error instanceof ServerConfigError);
        assert.equal(error.reason, 'invalid_server_config');
        const listed = error.issues.join('\n');
        for (const option of [
          'amount:',
          'payTo:',
          'asset:',
          'maxTimeoutSeconds:',
          'settle:',
          'facilitatorUrl:',
        ]) {
          assert.match(listed, new RegExp(`^${option}`, 'm'), `${option} in\n${listed}`);
        }
        return true;
      },
    );
  });

  test('prices: zero, negative, floats and u64 overflow are refused, each entry named', () => {
    assert.throws(
      () =>
        createResourceServer({
          amount: ['0', -1n, { amount: '0.5', asset: 'STX' }, 2n ** 64n],
          payTo: SELLER,
          network: 'testnet',
          facilitatorUrl: 'http://127.0.0.1:1',
        }),
      (error: unknown) =>
        error instanceof ServerConfigError &&
        ['amount[0]', 'amount[1]', 'amount[2]', 'amount[3]'].every((where) =>
          error.issues.some((issue) => issue.startsWith(where)),
        ),
    );
  });

  test('facilitatorUrl and facilitator are exclusive; the v1 alias refuses address and payTo that differ', () => {
    assert.throws(
      () =>
        createResourceServer({
          amount: '1',
          payTo: SELLER,
          network: 'testnet',
          facilitatorUrl: 'http://127.0.0.1:1',
          facilitator: scripted({}),
        }),
      (error: unknown) => error instanceof ServerConfigError && /not both/.test(error.message),
    );
    assert.throws(
      () =>
        x402PaymentRequired({
          amount: '1',
          address: SELLER,
          payTo: 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG',
          network: 'testnet',
          facilitatorUrl: 'http://127.0.0.1:1',
        }),
      ServerConfigError,
    );
  });
});

describe('the options of x402-stacks 2.0', () => {
  test('tokenType and tokenContract name the asset; a disagreeing asset and another scheme are refused', async () => {
    const base = { payTo: SELLER, network: 'testnet', facilitator: scripted({}), sponsored: false };
    for (const [spelling, asset] of [
      // Offered by its contract id, a spelling every client reads as sBTC.
      [{ tokenType: 'sBTC' }, 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token'],
      [{ tokenContract: { address: SELLER, name: 'my-token' } }, `${SELLER}.my-token`],
    ] as const) {
      const admission = await createResourceServer({ ...base, amount: '5', ...spelling }).admit(
        request(),
      );
      assert.equal(
        admission.action === 'reply' && JSON.parse(admission.reply.body).accepts[0].asset,
        asset,
      );
    }
    assert.throws(
      () =>
        createResourceServer({
          ...base,
          amount: '5',
          asset: 'STX',
          tokenType: 'sBTC',
          scheme: 'upto' as 'exact',
        }),
      (error: unknown) =>
        error instanceof ServerConfigError &&
        error.issues.some((issue) => issue.startsWith('tokenType:')) &&
        error.issues.some((issue) => issue.startsWith('scheme:')),
    );
  });
});
