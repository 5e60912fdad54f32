import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  test('defaults point at a local devnet with a SQLite ledger', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8085);
    assert.deepEqual(config.networks, ['testnet']);
    assert.equal(config.apiUrls.testnet, 'http://127.0.0.1:3999');
    assert.deepEqual(config.database, { kind: 'sqlite', path: './facilitator.db' });
    assert.deepEqual(config.sponsorKeys, []);
    assert.equal(config.sponsorMaxFee, 100000n);
    assert.equal(config.rateLimitPerMinute, 6000);
    assert.equal(config.trustProxy, 0);
    assert.equal(config.verifyCacheMs, 2000);
    assert.equal(config.maxNonceAhead, 25n);
    assert.equal(config.paymentIdWindowMs, 600_000);
    assert.equal(config.paymentIdMaxReplays, 3);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.heapGrowthPercent, 30);
    assert.equal(config.sbtcContractTestnet, undefined, "the library's default testnet sBTC");
    assert.equal(config.blockEvents, true);
  });

  test('TRUST_PROXY counts the proxies in front: false 0, true 1, or a number up to 10', () => {
    assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, 0);
    assert.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, 1);
    assert.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
    assert.throws(
      () => loadConfig({ TRUST_PROXY: '11' }),
      (error: unknown) =>
        error instanceof ConfigError && /TRUST_PROXY.*number of proxies/.test(error.message),
    );
  });

  test('BLOCK_EVENTS turns pushed blocks off, and takes only true or false', () => {
    assert.equal(loadConfig({ BLOCK_EVENTS: 'false' }).blockEvents, false);
    assert.equal(loadConfig({ BLOCK_EVENTS: 'true' }).blockEvents, true);
    assert.throws(
      () => loadConfig({ BLOCK_EVENTS: 'off' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.reason === 'invalid_config' &&
        error.problems.some((problem) => /BLOCK_EVENTS.*expected true or false/.test(problem)),
    );
  });

  test('batch-settlement: an escrow needs the authorizer key, and neither is ever echoed', () => {
    const key = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
    const escrow = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';
    assert.equal(loadConfig({}).batch, undefined);
    const config = loadConfig({ BATCH_ESCROW_TESTNET: escrow, BATCH_AUTHORIZER_KEY: key });
    assert.deepEqual(config.batch, {
      escrows: { testnet: escrow },
      authorizerKey: key,
      claimMaxAgeMs: 600_000,
    });
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return '';
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error.message;
      }
    };
    assert.match(problems({ BATCH_ESCROW_TESTNET: escrow }), /BATCH_AUTHORIZER_KEY: required/);
    assert.match(problems({ BATCH_AUTHORIZER_KEY: key }), /no BATCH_ESCROW_TESTNET/);
    assert.match(
      problems({
        BATCH_ESCROW_TESTNET: 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM',
        BATCH_AUTHORIZER_KEY: key,
      }),
      /BATCH_ESCROW_TESTNET: .* is not a testnet contract id/,
    );
    const bad = problems({
      BATCH_ESCROW_TESTNET: escrow,
      BATCH_AUTHORIZER_KEY: `${key.slice(0, 60)}zz`,
    });
    assert.match(bad, /BATCH_AUTHORIZER_KEY: not a valid private key/);
    assert.doesNotMatch(bad, new RegExp(key.slice(0, 20)));
  });

  test('SBTC_CONTRACT_TESTNET names another testnet sBTC contract', () => {
    const hiro = 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token';
    assert.equal(loadConfig({ SBTC_CONTRACT_TESTNET: hiro }).sbtcContractTestnet, hiro);
    assert.equal(loadConfig({ SBTC_CONTRACT_TESTNET: ' ' }).sbtcContractTestnet, undefined);
  });

  test('HEAP_GROWTH_PERCENT: 0 leaves V8 its own choice; a negative or fractional one is refused', () => {
    assert.equal(loadConfig({ HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent, 0);
    assert.equal(loadConfig({ HEAP_GROWTH_PERCENT: '100' }).heapGrowthPercent, 100);
    for (const bad of ['-5', '2.5', 'lots', '101']) {
      assert.throws(
        () => loadConfig({ HEAP_GROWTH_PERCENT: bad }),
        (error) => error instanceof ConfigError && /HEAP_GROWTH_PERCENT/.test(error.message),
        bad,
      );
    }
  });

  test('the payment-identifier window and replays are read from the environment', () => {
    const config = loadConfig({ PAYMENT_ID_WINDOW_MS: '60000', PAYMENT_ID_MAX_REPLAYS: '0' });
    assert.equal(config.paymentIdWindowMs, 60_000);
    assert.equal(config.paymentIdMaxReplays, 0);
  });

  test('testnet or mainnet needs only the network, the API URL and the key; PostgreSQL by URL', () => {
    const config = loadConfig({
      NETWORKS: 'mainnet,testnet',
      STACKS_API_URL_MAINNET: 'https://node.example.com',
      STACKS_API_KEY: 'k',
      DATABASE_URL: 'postgres://u:p@db/x402',
    });
    assert.deepEqual(config.networks, ['mainnet', 'testnet']);
    assert.equal(config.apiKey, 'k');
    assert.deepEqual(config.database, {
      kind: 'postgres',
      url: 'postgres://u:p@db/x402',
      schema: undefined,
    });
    const named = loadConfig({ DATABASE_URL: 'postgres://db/x402', DATABASE_SCHEMA: 'payments' });
    assert.deepEqual(named.database, {
      kind: 'postgres',
      url: 'postgres://db/x402',
      schema: 'payments',
    });
  });

  test('every problem is listed at once, and secrets never appear', () => {
    const secretKey = 'f'.repeat(66);
    try {
      loadConfig({
        PORT: 'eighty',
        NETWORKS: 'devnet',
        STACKS_API_URL_TESTNET: 'ftp://nope',
        DATABASE_URL: 'mysql://root:hunter2@db/x',
        SPONSOR_PRIVATE_KEYS: secretKey,
        SETTLE_TIMEOUT_MS: '5',
        RATE_LIMIT_PER_MINUTE: '-1',
        TRUST_PROXY: 'yes',
        MAX_NONCE_AHEAD: '26',
        MAX_NONCE_WAITS: '-1',
        PAYMENT_ID_WINDOW_MS: '10',
        PAYMENT_ID_MAX_REPLAYS: '1000',
        LOG_LEVEL: 'loud',
        DATABASE_SCHEMA: 'x; drop table settlements',
      });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.reason, 'invalid_config');
      const text = error.message;
      for (const name of [
        'PORT',
        'NETWORKS',
        'STACKS_API_URL_TESTNET',
        'DATABASE_URL',
        'SPONSOR_PRIVATE_KEYS',
        'SETTLE_TIMEOUT_MS',
        'RATE_LIMIT_PER_MINUTE',
        'TRUST_PROXY',
        'MAX_NONCE_AHEAD',
        'MAX_NONCE_WAITS',
        'PAYMENT_ID_WINDOW_MS',
        'PAYMENT_ID_MAX_REPLAYS',
        'LOG_LEVEL',
        'DATABASE_SCHEMA',
      ]) {
        assert.match(text, new RegExp(name), name);
      }
      assert.equal(text.includes('hunter2'), false, 'database password redacted');
      assert.equal(text.includes(secretKey), false, 'key never repeated');
    }
  });
});
