import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configuredPostgresUrl, fuzzRuns } from '../src/index.js';

describe('configuredPostgresUrl', () => {
  test('TEST_DATABASE_URL wins over DATABASE_URL and the PG variables', () => {
    assert.equal(
      configuredPostgresUrl({
        TEST_DATABASE_URL: 'postgres://a@t/test',
        DATABASE_URL: 'postgres://b@d/app',
        PGHOST: 'pg',
      }),
      'postgres://a@t/test',
    );
  });

  test('a PostgreSQL DATABASE_URL is used; a SQLite one is not', () => {
    assert.equal(
      configuredPostgresUrl({ DATABASE_URL: 'postgresql://b@d/app' }),
      'postgresql://b@d/app',
    );
    assert.equal(configuredPostgresUrl({ DATABASE_URL: 'sqlite:./ledger.db' }), undefined);
  });

  test('the PG variables build a URL, with the suites defaults for what is missing', () => {
    assert.equal(
      configuredPostgresUrl({ PGHOST: 'db.internal' }),
      'postgres://postgres@db.internal:5432/test',
    );
    assert.equal(
      configuredPostgresUrl({
        PGPORT: '6543',
        PGUSER: 'ci',
        PGPASSWORD: 'p@ss word',
        PGDATABASE: 'x402',
      }),
      'postgres://ci:p%40ss%20word@127.0.0.1:6543/x402',
    );
  });

  test('a PGHOST that is a folder names a Unix socket', () => {
    assert.equal(
      configuredPostgresUrl({ PGHOST: '/var/run/postgresql' }),
      'postgres://postgres@/test?host=%2Fvar%2Frun%2Fpostgresql&port=5432',
    );
  });

  test('nothing configured is undefined', () => {
    assert.equal(configuredPostgresUrl({}), undefined);
  });
});

describe('fuzzRuns', () => {
  test('full by default, a fortieth (at least one) when quick, or an explicit count', () => {
    assert.equal(fuzzRuns(400, {}), 400);
    assert.equal(fuzzRuns(400, { X402_FUZZ_RUNS: 'full' }), 400);
    assert.equal(fuzzRuns(400, { X402_FUZZ_RUNS: 'quick' }), 10);
    assert.equal(fuzzRuns(18, { X402_FUZZ_RUNS: 'quick' }), 1);
    assert.equal(fuzzRuns(400, { X402_FUZZ_RUNS: '1200' }), 1200);
  });

  test('anything else is refused rather than read as zero', () => {
    for (const value of ['0', '-3', '2.5', 'lots', '']) {
      assert.throws(() => fuzzRuns(400, { X402_FUZZ_RUNS: value }), /X402_FUZZ_RUNS/);
    }
  });
});
