/** The configuration from the environment: defaults, every problem at once, no password in any message. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, describeDatabase, loadConfig } from '../src/index.js';

test('defaults: local, SQLite, strict probing', () => {
  const config = loadConfig({});
  assert.deepEqual(
    [config.host, config.port, config.database, config.allowInsecureLocal, config.rateLimitPerHour],
    ['127.0.0.1', 8090, { kind: 'sqlite', path: './registry.db' }, false, 30],
  );
});

test('every problem is listed at once', () => {
  try {
    loadConfig({
      PORT: 'eighty',
      ALLOW_INSECURE_LOCAL: 'yes',
      FETCH_TIMEOUT_MS: '5',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://root:hunter22@db/registry',
    });
    assert.fail('expected a ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.reason, 'invalid_config');
    assert.deepEqual(
      error.problems.map((p) => p.split(':')[0]),
      ['PORT', 'ALLOW_INSECURE_LOCAL', 'FETCH_TIMEOUT_MS', 'LOG_LEVEL', 'DATABASE_URL'],
    );
    assert.doesNotMatch(error.message, /hunter22/);
  }
});

test('a PostgreSQL URL is accepted and shown without its password', () => {
  const config = loadConfig({ DATABASE_URL: 'postgres://registry:hunter22@db.internal:5432/x402' });
  assert.equal(config.database.kind, 'postgres');
  assert.doesNotMatch(describeDatabase(config.database), /hunter22/);
  assert.match(describeDatabase(config.database), /db\.internal:5432/);
});

test('local mode and the scheduler interval', () => {
  const config = loadConfig({ ALLOW_INSECURE_LOCAL: 'true', CHECK_INTERVAL_MS: '0' });
  assert.deepEqual([config.allowInsecureLocal, config.checkIntervalMs], [true, 0]);
});

test('TRUST_PROXY counts the proxies in front: false or 0 none, true or 1 one, or a number up to 10', () => {
  for (const [setting, count] of [
    ['false', 0],
    ['0', 0],
    ['true', 1],
    ['1', 1],
    ['3', 3],
  ] as const)
    assert.equal(loadConfig({ TRUST_PROXY: setting }).trustProxy, count, setting);
  assert.throws(
    () => loadConfig({ TRUST_PROXY: '11' }),
    (error: unknown) => error instanceof ConfigError && /TRUST_PROXY/.test(error.message),
  );
});
