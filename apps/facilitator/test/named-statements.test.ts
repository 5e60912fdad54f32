/**
 * The PostgreSQL ledger's statements run as named prepared statements (src/ledger/named-statements.ts): the server
 * parses each once per connection; DDL and queries without values are sent as they were.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testPostgresUrl } from '@x402-stacks/test-kit';
import pg from 'pg';
import { nameStatements } from '../src/ledger/named-statements.js';

const connectionString = await testPostgresUrl();

test('a query with values is prepared under a name once per connection and answers as before', async () => {
  const pool = new pg.Pool({ connectionString, max: 1 });
  nameStatements(pool);
  try {
    const text = 'select $1::int + $2::int as sum';
    const first = await pool.query(text, [1, 2]);
    const second = await pool.query(text, [40, 2]);
    assert.equal(first.rows[0].sum, 3);
    assert.equal(second.rows[0].sum, 42);
    // Without values, as migrations run: not named.
    await pool.query('select 1');
    const prepared = await pool.query<{ name: string; statement: string }>(
      'select name, statement from pg_prepared_statements',
    );
    assert.deepEqual(
      prepared.rows.map((row) => row.statement),
      [text],
    );
    assert.match(prepared.rows[0]!.name, /^x402_[0-9a-f]{24}$/);
  } finally {
    await pool.end();
  }
});
