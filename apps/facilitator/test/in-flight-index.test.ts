/**
 * A payer's settlements in flight are read through the partial index that holds only those (schema.ts,
 * `IN_FLIGHT_INDEX`), on SQLite and PostgreSQL: the reads every verify and every settle make no longer go over the
 * payer's finished settlements, however many there are. The statements explained are the ones the ledger runs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { settlement } from '@x402-stacks/test-kit/ledger-conformance';
import Database from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import type { Ledger } from 'x402-stacks/facilitator';
import { GROUPED_LOOKUP } from '../src/ledger/grouped-reads.js';
import { openPostgresLedger } from '../src/ledger/postgres.js';
import { IN_FLIGHT_INDEX as INDEX, type LedgerDatabase } from '../src/ledger/schema.js';
import { openSqliteLedger } from '../src/ledger/sqlite.js';
import { ledgerInOwnSchema } from './ledger-schema.js';

const NETWORK = 'stacks:2147483648';
const BUSY = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
const OTHER = 'ST2JHG361ZXG51QTKY2NQCVBPPRRE2KZB1HR05NNC';
/** The busy payer's finished settlements: each still holds its nonce, so the nonce index holds them all. */
const FINISHED = 2_000;

/** The busy payer's history, written straight into the table: nonces 0 to FINISHED - 1, all settled. */
async function fillHistory(db: Kysely<LedgerDatabase>, postgres: boolean): Promise<void> {
  const numbers = postgres
    ? sql`select i from generate_series(0, ${FINISHED - 1}::int) i`
    : sql`with recursive s(i) as (select 0 union all select i + 1 from s where i < ${FINISHED - 1}) select i from s`;
  await sql`insert into x402_settlements (payment_txid, txid, network, payer, nonce, nonce_claimed, amount, asset,
      pay_to, "transaction", state, block_height, created_at, updated_at)
    select 'h' || i, 'h' || i, ${NETWORK}, ${BUSY}, i, 1, '1000', 'STX', ${OTHER}, '8080', 'success', 7, 1, 1
    from (${numbers}) n`.execute(db);
}

/** Two in flight for the busy payer (one claimed, one broadcast), one for another payer, and the history. */
async function fillLedger(ledger: Ledger, db: Kysely<LedgerDatabase>, postgres: boolean) {
  await fillHistory(db, postgres);
  const claimed = settlement(FINISHED, { payer: BUSY });
  const sent = settlement(FINISHED + 1, { payer: BUSY });
  for (const one of [claimed, sent, settlement(FINISHED + 2, { payer: OTHER })]) {
    assert.equal((await ledger.claim(one)).claimed, true);
  }
  assert.ok(await ledger.update(sent.txid, { state: 'broadcast' }, ['claimed']));
  return { claimed, sent };
}

async function assertReadsRight(ledger: Ledger, inFlight: readonly string[]) {
  const read = await ledger.inFlight(NETWORK, BUSY);
  assert.deepEqual(read.map((record) => record.txid).sort(), [...inFlight].sort());
  const looked = await ledger.lookup('h5', NETWORK, BUSY);
  assert.equal(looked.settled?.state, 'success');
  assert.deepEqual(looked.inFlight.map((record) => record.txid).sort(), [...inFlight].sort());
}

describe('SQLite ledger: the in-flight reads', () => {
  const folder = mkdtempSync(join(tmpdir(), 'x402-in-flight-'));
  after(() => rmSync(folder, { recursive: true, force: true }));

  test("the reads of a payer's settlements in flight go through the in-flight index, not the payer's history", async () => {
    // Every statement the ledger prepares on its connection, in the order it first runs it. The ledger binds its
    // connection's `prepare` once, as it opens (it keeps one prepared statement per SQL text): patched until then, the
    // recording goes on after the prototype is restored.
    const prepared: string[] = [];
    const prepare = Database.prototype.prepare;
    Database.prototype.prepare = function recorded(this: Database.Database, source: string) {
      prepared.push(source);
      return prepare.call(this, source);
    } as typeof prepare;
    const path = join(folder, 'ledger.db');
    const opened = await openSqliteLedger({ path }).finally(() => {
      Database.prototype.prepare = prepare;
    });
    try {
      const { claimed, sent } = await fillLedger(opened.ledger, opened.db, false);
      prepared.length = 0;
      await assertReadsRight(opened.ledger, [claimed.txid, sent.txid]);
      const reads = prepared.filter((source) => /^select \* from "x402_settlements"/.test(source));
      assert.equal(
        reads.length,
        2,
        `the in-flight read and the replay lookup: ${reads.join('\n')}`,
      );

      const reader = new Database(path, { readonly: true });
      try {
        for (const source of reads) {
          const plan = reader.prepare(`explain query plan ${source}`).all(
            ...source
              .split('?')
              .slice(1)
              .map(() => null),
          ) as { detail: string }[];
          const details = plan.map((row) => row.detail).join(' | ');
          assert.match(details, new RegExp(`USING INDEX ${INDEX} \\(network=\\? AND payer=\\?\\)`));
          assert.doesNotMatch(details, /x402_settlements_nonce|SCAN x402_settlements/, details);
        }
      } finally {
        reader.close();
      }
    } finally {
      await opened.close();
    }
  });

  test('a ledger file made before the index gains it at open, and keeps its rows', async () => {
    const path = join(folder, 'older.db');
    const first = await openSqliteLedger({ path });
    const { claimed, sent } = await fillLedger(first.ledger, first.db, false);
    await sql.raw(`drop index ${INDEX}`).execute(first.db);
    await first.close();
    const reopened = await openSqliteLedger({ path });
    try {
      const { rows } = await sql<{
        name: string;
      }>`select name from pragma_index_list('x402_settlements')`.execute(reopened.db);
      assert.ok(rows.some((row) => row.name === INDEX));
      await assertReadsRight(reopened.ledger, [claimed.txid, sent.txid]);
    } finally {
      await reopened.close();
    }
  });
});

describe('PostgreSQL ledger: the in-flight reads', async () => {
  const { connectionString, schema, opened } = await ledgerInOwnSchema('x402_in_flight');

  test("the grouped read of a payer's settlements in flight uses the in-flight index", async () => {
    const { claimed, sent } = await fillLedger(opened.ledger, opened.db, true);
    await assertReadsRight(opened.ledger, [claimed.txid, sent.txid]);
    await sql`analyze x402_settlements`.execute(opened.db);
    // What the ledger sends for a verify's lookup, explained with a lookup's values on one of its connections.
    const plan = await opened.db.connection().execute(async (connection) => {
      await sql.raw(`prepare grouped_lookup as ${GROUPED_LOOKUP}`).execute(connection);
      try {
        const { rows } = await sql
          .raw<{ 'QUERY PLAN': string }>(
            `explain execute grouped_lookup('{h5}', '{${NETWORK}}', '{${BUSY}}')`,
          )
          .execute(connection);
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      } finally {
        await sql.raw('deallocate grouped_lookup').execute(connection);
      }
    });
    assert.match(plan, new RegExp(`Bitmap Index Scan on ${INDEX}`), plan);
    assert.doesNotMatch(plan, /x402_settlements_nonce|Seq Scan/, plan);
  });

  /** A schema of its own, made and filled by a first opener, then changed by `before` and opened again. */
  async function reopenedAfter(
    suffix: string,
    change: (db: Kysely<LedgerDatabase>) => Promise<void>,
  ) {
    const older = `${schema}_${suffix}`;
    const first = await openPostgresLedger({ connectionString, schema: older });
    let filled: Awaited<ReturnType<typeof fillLedger>>;
    try {
      filled = await fillLedger(first.ledger, first.db, true);
      await change(first.db);
    } finally {
      await first.close();
    }
    const reopened = await openPostgresLedger({ connectionString, schema: older });
    try {
      const { rows } = await sql<{ valid: boolean }>`select i.indisvalid as valid from pg_index i
        join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
        where c.relname = ${INDEX} and n.nspname = ${older}`.execute(reopened.db);
      assert.deepEqual(rows, [{ valid: true }], 'one valid in-flight index');
      await assertReadsRight(reopened.ledger, [filled.claimed.txid, filled.sent.txid]);
    } finally {
      await sql`drop schema if exists ${sql.id(older)} cascade`.execute(reopened.db);
      await reopened.close();
    }
  }

  // A schema name that needs quoting, as `DATABASE_SCHEMA` may hold: the opener's catalog reads compare it as a name.
  test('a ledger schema made before the index gains it at open, and keeps its rows', () =>
    reopenedAfter('Older ledger', async (db) => {
      await sql.raw(`drop index ${INDEX}`).execute(db);
    }));

  test('an invalid index left by a failed concurrent build is built again at open', () =>
    reopenedAfter('invalid', async (db) => {
      await sql.raw(`drop index ${INDEX}`).execute(db);
      // Unique on a column every row shares: the build fails, and leaves an invalid index under the name.
      await assert.rejects(
        sql
          .raw(`create unique index concurrently ${INDEX} on x402_settlements (network)`)
          .execute(db),
      );
      const { rows } = await sql<{ valid: boolean }>`select i.indisvalid as valid from pg_index i
        join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
        where c.relname = ${INDEX} and n.nspname = current_schema()`.execute(db);
      assert.deepEqual(rows, [{ valid: false }]);
    }));
});
