/**
 * Batch-settlement channels in the SQL ledger on a real PostgreSQL (the run's, see @x402-stacks/test-kit), in a schema
 * of its own, through the conformance suite the in-memory channel ledger passes. The race splits its charges between
 * two pools of ten connections each; a restart is a new pool. Two processes race in channel-cross-process.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { testPostgresUrl } from '@x402-stacks/test-kit';
import {
  channelLedgerConformance,
  channelOf,
  escrowState,
  signatureOf,
} from '@x402-stacks/test-kit/channel-ledger-conformance';
import { settlement } from '@x402-stacks/test-kit/ledger-conformance';
import { sql } from 'kysely';
import { openPostgresLedger } from '../src/ledger/postgres.js';

const connectionString = await testPostgresUrl();
const schema = `x402_channels_test_${process.pid}_${Date.now()}`;
let opened: Awaited<ReturnType<typeof openPostgresLedger>>;
/** The second pool of the race, opened on demand. */
let second: Awaited<ReturnType<typeof openPostgresLedger>> | undefined;

before(async () => {
  opened = await openPostgresLedger({ connectionString, schema });
});

after(async () => {
  await second?.close();
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(opened.db);
  await opened.close();
});

channelLedgerConformance('PostgreSQL channel ledger', {
  async create() {
    await sql`truncate x402_channels`.execute(opened.db);
    return opened.channels;
  },
  async another() {
    second ??= await openPostgresLedger({ connectionString, schema });
    return second.channels;
  },
  async reopen() {
    await opened.close();
    opened = await openPostgresLedger({ connectionString, schema });
    return opened.channels;
  },
});

test('amounts are numeric(39, 0) columns, compared as numbers', async () => {
  await sql`truncate x402_channels`.execute(opened.db);
  await opened.channels.mirrorChannel(channelOf(1), escrowState(2n ** 100n, 9n), 1_000);
  const { rows } = await sql<{ balance: string; claimed: string; kind: string }>`
    select balance, claimed, pg_typeof(balance)::text as kind from x402_channels`.execute(
    opened.db,
  );
  assert.deepEqual(rows, [{ balance: String(2n ** 100n), claimed: '9', kind: 'numeric' }]);
});

test('a ledger schema from before batch-settlement gains the channels table at open, and keeps its rows', async () => {
  const older = `${schema}_before_channels`;
  const first = await openPostgresLedger({ connectionString, schema: older });
  try {
    await first.ledger.claim(settlement(7));
    await sql`drop table x402_channels`.execute(first.db);
  } finally {
    await first.close();
  }
  const reopened = await openPostgresLedger({ connectionString, schema: older });
  try {
    assert.equal((await reopened.ledger.get(settlement(7).txid))?.state, 'claimed');
    await reopened.channels.mirrorChannel(channelOf(2), escrowState(100n), 1_000);
    const charged = await reopened.channels.chargeChannel(
      channelOf(2).channelId,
      { expectedCharged: 0n, charged: 5n, signedMax: 10n, signature: signatureOf(1) },
      2_000,
    );
    assert.equal(charged?.charged, 5n);
  } finally {
    await sql`drop schema if exists ${sql.id(older)} cascade`.execute(reopened.db);
    await reopened.close();
  }
});
