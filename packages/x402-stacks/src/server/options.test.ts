/**
 * The resource-server core checks its options once, at creation, including the options of x402-stacks 2.0.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { paid, request, SELLER, scripted } from '@x402-stacks/test-kit/server-doubles';
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
      [{ tokenType: 'sBTC' }, 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token'],
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

describe('tokens: which contract a symbol names for this seller', () => {
  const HIRO_TESTNET_SBTC = 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token';
  const base = { payTo: SELLER, network: 'testnet', facilitator: scripted({}), sponsored: false };

  async function offered(options: Parameters<typeof createResourceServer>[0]) {
    const admission = await createResourceServer(options).admit(request());
    assert.equal(admission.action, 'reply');
    return JSON.parse(admission.action === 'reply' ? admission.reply.body : '{}').accepts[0];
  }

  test("'sBTC' is offered at the default testnet sBTC, or at the configured one", async () => {
    const byDefault = await offered({ ...base, amount: '5', asset: 'sBTC' });
    assert.equal(byDefault.asset, 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token');
    const configured = await offered({
      ...base,
      amount: '5',
      asset: 'sBTC',
      tokens: { contracts: { sBTC: HIRO_TESTNET_SBTC } },
    });
    assert.equal(configured.asset, HIRO_TESTNET_SBTC);
  });

  test("a payment naming 'SBTC' pays the configured contract's entry, and without the override it does not", async () => {
    const verified: string[] = [];
    const facilitator = scripted({
      verify: async (_payload, requirements) => {
        verified.push(requirements.asset);
        return { isValid: true, payer: SELLER };
      },
    });
    const options = { ...base, facilitator, amount: '5', asset: HIRO_TESTNET_SBTC };
    const accepted = {
      scheme: 'exact',
      network: 'stacks:2147483648' as const,
      amount: '5',
      asset: 'SBTC',
      payTo: SELLER,
      maxTimeoutSeconds: 300,
    };
    const plain = await createResourceServer({ ...options, settle: 'after-handler' }).admit(
      request(paid(accepted)),
    );
    // Unconfigured, 'SBTC' is the default testnet sBTC: another asset than this route's.
    assert.equal(plain.action === 'reply' && plain.reply.status, 402);
    assert.equal(
      plain.action === 'reply' && JSON.parse(plain.reply.body).error,
      'accepted_requirements_mismatch',
    );
    assert.equal(verified.length, 0);

    const configured = await createResourceServer({
      ...options,
      settle: 'after-handler',
      tokens: { contracts: { sBTC: HIRO_TESTNET_SBTC } },
    }).admit(request(paid(accepted)));
    assert.equal(configured.action, 'serve-then-settle');
    assert.deepEqual(verified, [HIRO_TESTNET_SBTC]);
  });

  test('an override that is not a contract of the network, or names no known token, is refused at creation', () => {
    for (const [tokens, issue] of [
      [
        { contracts: { sBTC: 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token' } },
        'tokens.contracts.sBTC:',
      ],
      [{ contracts: { sBTC: 'not-a-contract' } }, 'tokens.contracts.sBTC:'],
      [{ contracts: { DOGE: HIRO_TESTNET_SBTC } }, 'tokens.contracts'],
    ] as const) {
      assert.throws(
        () =>
          createResourceServer({ ...base, amount: '5', asset: 'sBTC', tokens: tokens as never }),
        (error: unknown) =>
          error instanceof ServerConfigError &&
          error.issues.some((listed) => listed.startsWith(issue)),
        JSON.stringify(tokens),
      );
    }
  });
});
