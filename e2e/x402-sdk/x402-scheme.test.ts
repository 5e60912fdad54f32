/**
 * The scheme without a chain: prices (atomic and `$`, with exact decimal math), decimals, the sponsor copied from
 * `/supported`, the spend-control presets as a stock `x402Client` applies them, registration on the stock core
 * classes, and that `x402-stacks` never loads `@x402/core` at run time.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { x402Client } from '@x402/core/client';
import { x402Facilitator } from '@x402/core/facilitator';
import { x402ResourceServer } from '@x402/core/server';
import type { PaymentRequirements } from '@x402/core/types';
import { ChainRequestError, createFacilitator, generateKeypair } from 'x402-stacks';
import { createPaymentTransaction, KNOWN_TOKENS } from 'x402-stacks/stacks';
import {
  EXACT_STACKS_PAYMENT_FLOWS,
  ExactStacksScheme,
  ExactStacksSchemeError,
  facilitatorFromX402,
  mergeStacksSpendControls,
  registerExactStacksScheme,
  stacksSpendControls,
} from 'x402-stacks/x402';

const TESTNET = 'stacks:2147483648';
const MAINNET = 'stacks:1';
const SBTC_MAINNET = KNOWN_TOKENS.sBTC.contracts.mainnet;
/** A testnet offer to a fresh payTo. */
const offer = (asset: string, amount: string): PaymentRequirements => ({
  scheme: 'exact',
  network: TESTNET,
  asset,
  amount,
  payTo: generateKeypair('testnet').address,
  maxTimeoutSeconds: 60,
  extra: {},
});
const reason = (expected: string) => (error: unknown) =>
  error instanceof ExactStacksSchemeError && error.reason === expected;

describe('server role: parsePrice', () => {
  const scheme = new ExactStacksScheme();

  test('atomic prices keep their amount; every asset spelling goes on the wire as STX or the bare contract id', async () => {
    assert.deepEqual(await scheme.parsePrice({ asset: 'stx', amount: '1000' }, TESTNET), {
      asset: 'STX',
      amount: '1000',
    });
    for (const spelling of ['sBTC', 'SBTC', SBTC_MAINNET, `${SBTC_MAINNET}::sbtc-token`]) {
      assert.deepEqual(await scheme.parsePrice({ asset: spelling, amount: '5' }, MAINNET), {
        asset: SBTC_MAINNET,
        amount: '5',
      });
    }
    const other = 'SP2C2YFP12AJZB4MABJBAJ55XECVS7E4PMMZ89YZR.other-token::other';
    assert.equal((await scheme.parsePrice({ asset: other, amount: '1' }, MAINNET)).asset, other);
    assert.deepEqual(
      await scheme.parsePrice({ asset: 'STX', amount: '1', extra: { note: 'kept' } }, TESTNET),
      { asset: 'STX', amount: '1', extra: { note: 'kept' } },
    );
  });

  test('bad atomic prices are invalid_price: fractions, zero, over u64 for STX, a mainnet token on testnet', async () => {
    for (const price of [
      { asset: 'STX', amount: '1.5' },
      { asset: 'STX', amount: '0' },
      { asset: 'STX', amount: (2n ** 64n).toString() },
      { asset: SBTC_MAINNET, amount: '1' },
      { asset: 'DOGE', amount: '1' },
      { asset: 'STX', amount: 5 },
    ]) {
      await assert.rejects(
        scheme.parsePrice(price as never, TESTNET),
        reason('invalid_price'),
        JSON.stringify(price),
      );
    }
    await assert.rejects(
      scheme.parsePrice({ asset: 'STX', amount: '1' }, 'eip155:1'),
      reason('invalid_payment_requirements'),
    );
  });

  test('$ prices default to USDCx 1:1, exactly: $0.01 is 10,000 micro-USDCx, and a float literal converts exactly', async () => {
    const usdcx = KNOWN_TOKENS.USDCx.contracts.testnet;
    assert.deepEqual(await scheme.parsePrice('$0.01', TESTNET), { asset: usdcx, amount: '10000' });
    assert.deepEqual(await scheme.parsePrice(0.29, TESTNET), { asset: usdcx, amount: '290000' });
    assert.deepEqual(await scheme.parsePrice('1.5 USD', TESTNET), {
      asset: usdcx,
      amount: '1500000',
    });
    // Below one micro-USDCx rounds up to one: the seller is never paid less than the price. A number that float
    // arithmetic has already rounded (0.1 + 0.2 prints as 0.30000000000000004) is refused, as STXtoMicroSTX does.
    assert.deepEqual(await scheme.parsePrice('$0.0000001', TESTNET), { asset: usdcx, amount: '1' });
    assert.deepEqual(await scheme.parsePrice(0.000001, TESTNET), { asset: usdcx, amount: '1' });
    await assert.rejects(
      () => Promise.resolve().then(() => scheme.parsePrice(0.1 + 0.2, TESTNET)),
      (error: unknown) =>
        error instanceof Error &&
        (error as { reason?: string }).reason === 'invalid_price' &&
        /string/.test(error.message),
    );
  });

  test('$ prices in STX or sBTC use the rate source, rounding up, in integers', async () => {
    const rates: string[] = [];
    const sbtc = new ExactStacksScheme({
      money: {
        asset: 'sBTC',
        rate: (asset, network) => {
          rates.push(`${asset.symbol}@${network}`);
          return '97000';
        },
      },
    });
    // $1 / $97,000 per BTC = 1030.927… sats, so 1031.
    assert.deepEqual(await sbtc.parsePrice('$1', MAINNET), { asset: SBTC_MAINNET, amount: '1031' });
    assert.deepEqual(rates, ['sBTC@stacks:1']);
    const stx = new ExactStacksScheme({ money: { asset: 'STX', rate: async () => '0.333333' } });
    // $0.10 / 0.333333 = 0.3000003 STX = 300000.3… µSTX, so 300001.
    assert.deepEqual(await stx.parsePrice('$0.10', TESTNET), { asset: 'STX', amount: '300001' });
  });

  test('$ prices that cannot be charged are invalid_price', async () => {
    for (const price of [
      '$0',
      '-1',
      '$1e-7',
      'ten dollars',
      '0.1 EUR',
      Number.NaN,
      Number.POSITIVE_INFINITY,
      1e21,
    ]) {
      await assert.rejects(
        scheme.parsePrice(price, TESTNET),
        reason('invalid_price'),
        String(price),
      );
    }
    const noRate = new ExactStacksScheme({ money: { asset: 'STX' } });
    await assert.rejects(noRate.parsePrice('$1', TESTNET), reason('invalid_price'));
    for (const bad of ['0', '-1', 'abc', '1e3']) {
      const badRate = new ExactStacksScheme({ money: { asset: 'STX', rate: () => bad } });
      await assert.rejects(badRate.parsePrice('$1', TESTNET), reason('invalid_price'), bad);
    }
  });
});

describe('server role: decimals, flows and the sponsor', () => {
  const scheme = new ExactStacksScheme();
  const requirements = offer('STX', '1000');
  const sponsor = generateKeypair('testnet').address;
  const kind = { x402Version: 2, scheme: 'exact', network: TESTNET, extra: { sponsor } } as const;

  test('getAssetDecimals: STX 6, sBTC 8, USDCx 6, unknown undefined', () => {
    assert.equal(scheme.getAssetDecimals('STX', TESTNET), 6);
    assert.equal(scheme.getAssetDecimals('sBTC', MAINNET), 8);
    assert.equal(scheme.getAssetDecimals(SBTC_MAINNET, MAINNET), 8);
    assert.equal(scheme.getAssetDecimals('USDCX', MAINNET), 6);
    assert.equal(
      scheme.getAssetDecimals('SP2C2YFP12AJZB4MABJBAJ55XECVS7E4PMMZ89YZR.other', MAINNET),
      undefined,
    );
    assert.equal(scheme.getAssetDecimals('nonsense', MAINNET), undefined);
  });

  test('the flows are authorization (default) and upfront, with no on-wire asset transfer method', () => {
    assert.equal(scheme.defaultAssetTransferMethod, 'default');
    assert.deepEqual(scheme.paymentFlows, EXACT_STACKS_PAYMENT_FLOWS);
    assert.deepEqual(EXACT_STACKS_PAYMENT_FLOWS.default, {
      supported: ['authorization', 'upfront'],
      default: 'authorization',
    });
  });

  test('enhancePaymentRequirements copies the sponsor from /supported, unless the route or the options opt out', async () => {
    assert.deepEqual((await scheme.enhancePaymentRequirements(requirements, kind, [])).extra, {
      sponsor,
      feePayer: sponsor,
    });
    const optOut = { ...requirements, extra: { sponsor: false } };
    assert.deepEqual((await scheme.enhancePaymentRequirements(optOut, kind, [])).extra, {});
    const unsponsored = new ExactStacksScheme({ sponsored: false });
    assert.deepEqual(
      (await unsponsored.enhancePaymentRequirements(requirements, kind, [])).extra,
      {},
    );
    // A facilitator that sponsors nothing, or names a mainnet sponsor for testnet, adds nothing.
    assert.deepEqual(
      (await scheme.enhancePaymentRequirements(requirements, { ...kind, extra: {} }, [])).extra,
      {},
    );
    const mainnetSponsor = { ...kind, extra: { sponsor: generateKeypair('mainnet').address } };
    assert.deepEqual(
      (await scheme.enhancePaymentRequirements(requirements, mainnetSponsor, [])).extra,
      {},
    );
  });
});

describe('client role: spend-control presets', () => {
  const sbtc = KNOWN_TOKENS.sBTC.contracts.testnet;
  /** The offers a stock client lets through to the scheme, each offered alone through the public API. */
  const allowed = async (
    controls: Parameters<typeof x402Client.fromConfig>[0]['spendControls'],
    offers: PaymentRequirements[],
  ) => {
    const seen: PaymentRequirements[] = [];
    const recorder = {
      scheme: 'exact',
      createPaymentPayload: async (x402Version: number, requirements: PaymentRequirements) => {
        seen.push(requirements);
        return { x402Version, payload: {} };
      },
    };
    const client = x402Client.fromConfig({
      schemes: [{ network: 'stacks:*', client: recorder }],
      spendControls: controls,
    });
    for (const accepted of offers) {
      await client
        .createPaymentPayload({
          x402Version: 2,
          resource: { url: 'http://127.0.0.1/' },
          accepts: [accepted],
        })
        .catch(() => undefined);
    }
    return seen;
  };

  test('stacksSpendControls lists STX, and sBTC and USDCx under symbol, bare id and ::asset, with the default caps', () => {
    const { allowedAssets } = stacksSpendControls({ networks: ['testnet'] });
    assert.ok(Array.isArray(allowedAssets));
    assert.deepEqual(
      allowedAssets.map((a) => `${a.asset}<=${a.maxAmountPerPayment}`),
      [
        'STX<=1000000',
        'sBTC<=10000',
        `${sbtc}<=10000`,
        `${sbtc}::sbtc-token<=10000`,
        'USDCx<=1000000',
        `${KNOWN_TOKENS.USDCx.contracts.testnet}<=1000000`,
        `${KNOWN_TOKENS.USDCx.contracts.testnet}::usdcx-token<=1000000`,
      ],
    );
    assert.ok(allowedAssets.every((a) => a.network === TESTNET));
    // Both networks by default: 7 entries each.
    assert.equal((stacksSpendControls().allowedAssets as unknown[]).length, 14);
  });

  test('a stock x402Client with the preset keeps STX and every sBTC spelling under the cap, and drops the rest', async () => {
    const controls = stacksSpendControls({
      networks: ['testnet'],
      maxAmount: { STX: 5_000n, USDCx: null },
    });
    const offers = [
      offer('STX', '5000'),
      offer('STX', '5001'),
      offer('SBTC', '100'),
      offer(`${sbtc}::sbtc-token`, '100'),
      offer('USDCx', '1'),
    ];
    assert.deepEqual(
      (await allowed(controls, offers)).map((o) => `${o.asset}:${o.amount}`),
      ['STX:5000', 'SBTC:100', `${sbtc}::sbtc-token:100`],
    );
    // Without the preset, the stock defaults refuse STX.
    assert.deepEqual(await allowed(undefined, [offer('STX', '1')]), []);
  });

  test('mergeStacksSpendControls keeps your entries first and your USD cap; allowedAssets: true stays as it is', () => {
    const mine = { network: TESTNET, asset: 'STX', maxAmountPerPayment: '10' } as const;
    const merged = mergeStacksSpendControls(
      { maxAmountPerPayment: '$5', allowedAssets: [mine] },
      { networks: ['testnet'] },
    );
    assert.equal(merged.maxAmountPerPayment, '$5');
    assert.ok(Array.isArray(merged.allowedAssets));
    assert.deepEqual(merged.allowedAssets[0], mine);
    assert.equal(merged.allowedAssets.length, 8);
    const open = { allowedAssets: true as const };
    assert.equal(mergeStacksSpendControls(open), open);
  });

  test('a cap that is not atomic units is invalid_payer_options', () => {
    assert.throws(
      () => stacksSpendControls({ maxAmount: { STX: '0.5' } }),
      reason('invalid_payer_options'),
    );
  });

  test('client options the payer cannot use throw at construction, keys never in the message', () => {
    const account = generateKeypair('testnet');
    for (const responseTimeoutMs of [0, -1, Number.NaN]) {
      assert.throws(
        () => new ExactStacksScheme({ account, responseTimeoutMs }),
        reason('invalid_payer_options'),
      );
    }
    assert.throws(
      () => new ExactStacksScheme({ account, maxFee: '1.5' }),
      (error: Error) =>
        error.name === 'PayerOptionsError' && !error.message.includes(account.privateKey),
    );
  });

  test('createPaymentPayload refuses v1, and a price over the spend control cap, before touching the chain', async () => {
    const scheme = new ExactStacksScheme({
      account: generateKeypair('testnet'),
      apiUrl: 'http://127.0.0.1:9',
    });
    await assert.rejects(
      scheme.createPaymentPayload(1, offer('STX', '1')),
      reason('invalid_x402_version'),
    );
    await assert.rejects(
      scheme.createPaymentPayload(2, offer('STX', '1001'), { maxAmountPerPayment: '1000' }),
      reason('payment_over_max_amount'),
    );
  });
});

describe('registerExactStacksScheme on the stock core classes', () => {
  const engine = createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:9' } } });

  test('a facilitator gets the engine’s concrete networks and extensions; its /supported has one kind per network', () => {
    const facilitator = registerExactStacksScheme(new x402Facilitator(), { facilitator: engine });
    assert.deepEqual(facilitator.getSupported(), {
      kinds: [{ x402Version: 2, scheme: 'exact', network: TESTNET }],
      extensions: ['bazaar'],
      signers: { 'stacks:*': [] },
    });
  });

  test('a facilitator with a pattern, or without an engine, is refused', () => {
    assert.throws(
      () =>
        registerExactStacksScheme(new x402Facilitator(), {
          facilitator: engine,
          networks: ['stacks:*'],
        }),
      reason('invalid_server_config'),
    );
    assert.throws(
      () => registerExactStacksScheme(new x402Facilitator()),
      reason('invalid_server_config'),
    );
  });

  test('a resource server and a client get stacks:*; a client needs an account', () => {
    const server = registerExactStacksScheme(new x402ResourceServer());
    assert.ok(server.hasRegisteredScheme(TESTNET, 'exact'));
    assert.ok(server.hasRegisteredScheme(MAINNET, 'exact'));
    assert.throws(
      () => registerExactStacksScheme(new x402Client()),
      reason('invalid_payer_options'),
    );
    const client = registerExactStacksScheme(new x402Client(), {
      account: generateKeypair('testnet'),
    });
    assert.ok(client instanceof x402Client);
  });

  test('anything else is refused', () => {
    assert.throws(() => registerExactStacksScheme({} as never), reason('invalid_server_config'));
  });
});

describe('facilitatorFromX402: our Facilitator over a stock x402Facilitator', () => {
  // A chain nobody listens on: the adapter's own answers need no chain, and the engine's reads fail.
  const engine = createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:9' } } });
  const buyer = generateKeypair('testnet');
  const requirements = offer('STX', '1000');
  const signed = async () => {
    const { transaction } = await createPaymentTransaction({
      account: buyer,
      requirements,
      nonce: 0n,
      fee: 300n,
    });
    return { x402Version: 2, accepted: requirements, payload: { transaction } };
  };
  const adapted = (
    core = registerExactStacksScheme(new x402Facilitator(), { facilitator: engine }),
  ) => facilitatorFromX402(core, engine);

  test('what core cannot dispatch is refused with a reason instead of a throw', async () => {
    const facilitator = adapted();
    const payload = await signed();
    const cases: [unknown, unknown, string][] = [
      [{ nope: 1 }, requirements, 'invalid_payload'],
      [payload, { ...requirements, amount: 'lots' }, 'invalid_payment_requirements'],
      [{ ...payload, x402Version: 1 }, requirements, 'invalid_x402_version'],
      [payload, { ...requirements, scheme: 'upto' }, 'unsupported_scheme'],
      [payload, { ...requirements, network: MAINNET }, 'invalid_network'],
    ];
    for (const [p, r, expected] of cases) {
      const verdict = await facilitator.verify(p, r);
      assert.equal(verdict.isValid, false, expected);
      assert.equal(verdict.invalidReason, expected);
      const settled = await facilitator.settle(p, r);
      assert.equal(settled.success, false, expected);
      assert.equal(settled.errorReason, expected);
      assert.equal(settled.transaction, '');
    }
  });

  test('a hook that aborts a settle answers unexpected_settle_error; one that aborts a verify keeps its reason', async () => {
    const core = registerExactStacksScheme(new x402Facilitator(), { facilitator: engine })
      .onBeforeVerify(async () => ({ abort: true, reason: 'blocked_payer' }))
      .onBeforeSettle(async () => ({ abort: true, reason: 'blocked_payer' }));
    const facilitator = adapted(core);
    const payload = await signed();
    assert.deepEqual(await facilitator.verify(payload, requirements), {
      isValid: false,
      invalidReason: 'blocked_payer',
    });
    const settled = await facilitator.settle(payload, requirements);
    assert.equal(settled.success, false);
    assert.equal(settled.errorReason, 'unexpected_settle_error');
    assert.match(settled.errorMessage ?? '', /blocked_payer/);
    assert.equal(settled.network, TESTNET);
  });

  test('a chain that cannot be reached still throws ChainRequestError (the service answers 503)', async () => {
    await assert.rejects(adapted().verify(await signed(), requirements), ChainRequestError);
  });

  test('supported is the x402Facilitator’s; the settlement lookup and health are the engine’s', async () => {
    const facilitator = adapted();
    assert.deepEqual(facilitator.supported().kinds, [
      { x402Version: 2, scheme: 'exact', network: TESTNET },
    ]);
    assert.equal(await facilitator.status('0'.repeat(64)), await engine.status('0'.repeat(64)));
    assert.deepEqual(
      (await facilitator.chainHealth()).map((h) => h.reachable),
      [false],
    );
    await facilitator.idle();
  });
});

describe('packaging', () => {
  test('src/x402 imports @x402/* for types only, so importing x402-stacks never loads @x402/core', () => {
    const dir = new URL('../../packages/x402-stacks/src/x402/', import.meta.url);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(new URL(file, dir), 'utf8');
      const valueImports = source.match(/^import (?!type )[^;]*from '@x402\/[^']+';/gms) ?? [];
      assert.deepEqual(valueImports, [], file);
    }
  });
});
