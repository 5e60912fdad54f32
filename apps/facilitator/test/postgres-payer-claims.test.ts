/**
 * Claims under the payer's lock on a real PostgreSQL (`payer-claims.ts`): a claim mid-way holds its payer's other
 * claims and reads until it commits, and a payment whose payer has nothing else in flight is claimed and marked in one
 * statement, while one beside others is judged in a transaction.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { settlement } from '@x402-stacks/test-kit/ledger-conformance';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { NewSettlement } from 'x402-stacks/facilitator';
import { type ClaimWrite, claimQuery, PAYER_LOCK_CLASS } from '../src/ledger/payer-claims.js';
import { openPostgresLedger } from '../src/ledger/postgres.js';
import type { LedgerDatabase } from '../src/ledger/schema.js';
import { SqlLedger } from '../src/ledger/sql-ledger.js';
import { ledgerInOwnSchema } from './ledger-schema.js';

const { connectionString, schema, opened } = await ledgerInOwnSchema('x402_payer_claims');
const NETWORK = 'stacks:2147483648';

/** A payer of its own per test: the tests share the schema. */
const payerOf = (n: number) => `ST${String(n).padStart(3, '0')}PAYERCLAIMSTESTPAYERCLAIMSTEST0`;

/** The claim function's input for a settlement, inserted as `mode` says. */
function writeOf(one: NewSettlement, mode: ClaimWrite['mode']): ClaimWrite {
  return {
    paymentTxid: one.paymentTxid,
    txid: one.txid,
    network: one.network,
    payer: one.payer,
    nonce: one.nonce.toString(),
    sponsor: null,
    sponsorNonce: null,
    amount: one.amount.toString(),
    asset: one.asset,
    payTo: one.payTo,
    transaction: one.transaction,
    errorReason: null,
    errorMessage: null,
    blockHeight: null,
    holder: null,
    resource: null,
    now: String(Date.now()),
    mode,
  };
}

/** Whether `promise` is still unsettled after `ms`. */
async function stillWaiting(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const pending = Symbol('pending');
  const first = await Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    new Promise((resolve) => setTimeout(resolve, ms, pending)),
  ]);
  return first === pending;
}

test("a claim of a payer mid-transaction holds the payer's reads in flight and claims until it commits, and they see it; another payer's claims go on", async () => {
  const { ledger } = opened;
  const payer = payerOf(1);
  const other = payerOf(2);
  const held = settlement(9_001, { payer });
  await opened.db.connection().execute(async (connection) => {
    await sql`begin`.execute(connection);
    // Inserted and marked, its payer's lock held, not yet committed: another process's claim to send mid-way.
    await connection.executeQuery(claimQuery([writeOf(held, 'send')]));
    const read = ledger.inFlight(NETWORK, payer);
    const plain = ledger.claim(settlement(9_002, { payer }));
    const toSend = ledger.claimToSend(settlement(9_003, { payer }), (inFlight) =>
      inFlight.filter((r) => r.state === 'broadcast').length > 1 ? 'full' : undefined,
    );
    // Another payer's claim to send, alone in flight, goes on at once. (Made in a later turn: claims of one turn go as
    // one statement, which waits for each of its payers.)
    await new Promise((resolve) => setTimeout(resolve, 50));
    const elsewhere = await ledger.claimToSend(
      settlement(9_004, { payer: other }),
      () => undefined,
    );
    assert.equal(elsewhere.claimed && elsewhere.record.state, 'broadcast');
    assert.ok(await stillWaiting(read, 300), 'the read waits for the claim mid-way');
    assert.ok(await stillWaiting(plain, 0), 'the plain claim waits');
    assert.ok(await stillWaiting(toSend, 0), 'the claim to send waits');
    await sql`commit`.execute(connection);

    assert.ok((await read).some((r) => r.paymentTxid === held.paymentTxid));
    const claimed = await plain;
    assert.ok(claimed.claimed);
    assert.deepEqual(
      claimed.inFlight?.map((r) => `${r.paymentTxid}:${r.state}`).sort(),
      [`${held.paymentTxid}:broadcast`, `${settlement(9_002).paymentTxid}:claimed`].sort(),
      'the claim read its payer in flight after the held one committed',
    );
    // The held claim and this one both broadcast: over the bound, so refused and not recorded.
    assert.deepEqual(await toSend, { claimed: false, refused: 'full' });
    assert.equal(await ledger.get(settlement(9_003).paymentTxid), undefined);
  });
});

test('a claim to send whose payer has nothing else in flight is one statement; beside another, it is judged in a transaction', async () => {
  const statements: string[] = [];
  const pool = new pg.Pool({
    connectionString,
    max: 2,
    onConnect: async (client) => {
      await client.query(`set search_path to "${schema}"`);
    },
  });
  const db = new Kysely<LedgerDatabase>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      const text = event.query.sql;
      statements.push(text.includes('x402_claim_v1(') ? 'claim' : text.trim().split(/\s+/)[0]!);
    },
  });
  try {
    const ledger = new SqlLedger(db, { dialect: 'postgres' });
    const payer = payerOf(3);
    const alone = await ledger.claimToSend(settlement(9_101, { payer }), () => undefined);
    assert.equal(alone.claimed && alone.record.state, 'broadcast');
    assert.deepEqual(statements, ['claim']);

    // Beside the first, in flight: judged with it, in a transaction, and rolled back on a refusal.
    statements.length = 0;
    let seen: string[] = [];
    const refused = await ledger.claimToSend(settlement(9_102, { payer }), (inFlight) => {
      seen = inFlight.map((r) => r.paymentTxid);
      return inFlight.length > 1 ? 'full' : undefined;
    });
    assert.deepEqual(refused, { claimed: false, refused: 'full' });
    assert.deepEqual(
      seen.sort(),
      [settlement(9_101).paymentTxid, settlement(9_102).paymentTxid].sort(),
    );
    assert.deepEqual(statements, ['claim', 'begin', 'claim', 'rollback']);
    assert.equal(await ledger.get(settlement(9_102).paymentTxid), undefined);

    // Admitted beside it: committed, marked.
    const kept = await ledger.claimToSend(settlement(9_103, { payer }), () => undefined);
    assert.equal(kept.claimed && kept.record.state, 'broadcast');
    assert.equal((await ledger.get(settlement(9_103).paymentTxid))?.state, 'broadcast');
  } finally {
    await db.destroy();
  }
});

test('two claims to send of one payer in one turn are never both kept alone: the second is judged with the first', async () => {
  const { ledger } = opened;
  const payer = payerOf(4);
  // Admits one broadcast at most: both alone would keep two.
  const admit = (inFlight: readonly { state: string }[]) =>
    inFlight.filter((r) => r.state === 'broadcast').length > 1 ? 'full' : undefined;
  const claims = await Promise.all([
    ledger.claimToSend(settlement(9_201, { payer }), admit),
    ledger.claimToSend(settlement(9_202, { payer }), admit),
  ]);
  assert.equal(claims.filter((c) => c.claimed).length, 1);
  assert.equal((await ledger.inFlight(NETWORK, payer)).length, 1);
});

test('a ledger schema from before the claim functions gains them at open, and keeps its rows', async () => {
  const older = `${schema}_older`;
  const first = await openPostgresLedger({ connectionString, schema: older });
  try {
    await first.ledger.claim(settlement(9_301));
    await sql`drop function x402_claim_v1`.execute(first.db);
    await sql`drop function x402_in_flight_v1`.execute(first.db);
  } finally {
    await first.close();
  }
  const reopened = await openPostgresLedger({ connectionString, schema: older });
  try {
    const claim = await reopened.ledger.claim(settlement(9_302));
    assert.ok(claim.claimed);
    assert.deepEqual(
      claim.inFlight?.map((r) => r.paymentTxid).sort(),
      [settlement(9_301).paymentTxid, settlement(9_302).paymentTxid].sort(),
    );
  } finally {
    await sql`drop schema if exists ${sql.id(older)} cascade`.execute(reopened.db);
    await reopened.close();
  }
});

test("a payer's many claims to send at once are judged one at a time in the process: none of them waits on the payer's lock holding a connection", async () => {
  const { ledger } = opened;
  const payer = payerOf(5);
  const watcher = new pg.Client({ connectionString });
  await watcher.connect();
  try {
    let waitingMost = 0;
    let storming = true;
    const watching = (async () => {
      while (storming) {
        const { rows } = await watcher.query<{ waiting: string }>(
          `select count(*) as waiting from pg_locks where locktype = 'advisory' and classid = $1 and not granted
             and objid::bigint = (hashtext($2 || '/' || $3)::bigint & 4294967295)`,
          [PAYER_LOCK_CLASS, NETWORK, payer],
        );
        waitingMost = Math.max(waitingMost, Number(rows[0]!.waiting));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const claims = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        ledger.claimToSend(settlement(9_400 + i, { payer }), (inFlight) =>
          inFlight.length > 5 ? 'full' : undefined,
        ),
      ),
    );
    storming = false;
    await watching;
    assert.equal(claims.filter((c) => c.claimed).length, 5, 'the bound holds');
    assert.equal(waitingMost, 0, `${waitingMost} claims waited on the payer's lock at once`);
  } finally {
    await watcher.end();
  }
});
