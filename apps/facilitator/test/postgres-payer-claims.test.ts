/**
 * Claims under the payer's lock on a real PostgreSQL (`payer-claims.ts`): a claim mid-way holds its payer's other
 * claims and reads until it commits, and a payment whose payer has nothing else in flight is claimed and marked in one
 * statement, while one beside others is judged in a transaction.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inSchema } from '@x402-stacks/test-kit';
import { settlement } from '@x402-stacks/test-kit/ledger-conformance';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { NewSettlement } from 'x402-stacks/facilitator';
import { planEveryRun } from '../src/ledger/named-statements.js';
import {
  claimQuery,
  forPayerLocks,
  IDLE_TRANSACTION_LIMIT,
  inFlightQuery,
  PAYER_LOCK_CLASS,
} from '../src/ledger/payer-claims.js';
import { openPostgresLedger } from '../src/ledger/postgres.js';
import type { LedgerDatabase } from '../src/ledger/schema.js';
import { SqlLedger } from '../src/ledger/sql-ledger.js';
import { writeOf } from './claim-writes.js';
import { ledgerInOwnSchema } from './ledger-schema.js';

const { connectionString, schema, opened } = await ledgerInOwnSchema('x402_payer_claims');
const NETWORK = 'stacks:2147483648';

/** A payer of its own per test: the tests share the schema. */
const payerOf = (n: number) => `ST${String(n).padStart(3, '0')}PAYERCLAIMSTESTPAYERCLAIMSTEST0`;

/** A compiled query as pg's client takes it. */
const toPg = (query: { sql: string; parameters: readonly unknown[] }) => ({
  text: query.sql,
  values: [...query.parameters],
});

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

/** Holds `held`'s claim, marked, mid-transaction with its payer's lock: another process's claim to send mid-way. */
async function holdingClaim<T>(
  held: NewSettlement,
  body: (commit: () => Promise<void>) => Promise<T>,
) {
  return opened.db.connection().execute(async (connection) => {
    await sql`begin`.execute(connection);
    try {
      await connection.executeQuery(claimQuery([writeOf(held, 'send')], { wait: true }));
      return await body(async () => {
        await sql`commit`.execute(connection);
      });
    } finally {
      await sql`rollback`.execute(connection);
    }
  });
}

test("a claim of a payer mid-transaction holds the payer's reads in flight and claims until it commits, and they see it; another payer's claims in the same turn go on", async () => {
  const { ledger } = opened;
  const payer = payerOf(1);
  const held = settlement(9_001, { payer });
  await holdingClaim(held, async (commit) => {
    const read = ledger.inFlight(NETWORK, payer);
    // One turn: a plain claim of the held payer and a claim to send of another payer, in one statement.
    const plain = ledger.claim(settlement(9_002, { payer }));
    const elsewhere = ledger.claimToSend(settlement(9_004, { payer: payerOf(2) }), () => undefined);
    const other = await elsewhere;
    assert.equal(other.claimed && other.record.state, 'broadcast', 'the other payer goes on');
    // A later turn's claim to send of the held payer, behind the plain one.
    const toSend = ledger.claimToSend(settlement(9_003, { payer }), (inFlight) =>
      inFlight.filter((r) => r.state === 'broadcast').length > 1 ? 'full' : undefined,
    );
    assert.ok(await stillWaiting(read, 300), 'the read waits for the claim mid-way');
    assert.ok(await stillWaiting(plain, 0), 'the plain claim waits');
    assert.ok(await stillWaiting(toSend, 0), 'the claim to send waits');
    await commit();

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

/** A ledger on the test's schema that logs each statement it runs: `claim`, or the SQL's first word. */
function loggedLedger() {
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
      statements.push(/x402_claim_[0-9a-f]+\(/.test(text) ? 'claim' : text.trim().split(/\s+/)[0]!);
    },
  });
  return { ledger: new SqlLedger(db, { dialect: 'postgres' }), statements, db };
}

test("a claim to send alone in its turn, whose payer another process holds mid-claim, is locked out of the turn's statement and judged once the holder commits", async () => {
  const logged = loggedLedger();
  try {
    const payer = payerOf(6);
    const held = settlement(9_501, { payer });
    await holdingClaim(held, async (commit) => {
      const toSend = logged.ledger.claimToSend(settlement(9_502, { payer }), (inFlight) =>
        inFlight.some((r) => r.paymentTxid === held.paymentTxid) ? 'full' : undefined,
      );
      assert.ok(await stillWaiting(toSend, 300), 'it waits for the holder');
      await commit();
      assert.deepEqual(
        await toSend,
        { claimed: false, refused: 'full' },
        'judged with the held claim',
      );
    });
    assert.deepEqual(logged.statements, ['claim', 'begin', 'claim', 'rollback']);
  } finally {
    await logged.db.destroy();
  }
});

test('a claim to send whose payer has nothing else in flight is one statement; beside another, it is judged in a transaction', async () => {
  const { ledger, statements, db } = loggedLedger();
  try {
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
    const { rows } = await sql<{ name: string }>`select p.proname as name from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = ${older} and (p.proname like 'x402_claim_%' or p.proname like 'x402_in_flight_%')`.execute(
      first.db,
    );
    assert.equal(rows.length, 2);
    for (const { name } of rows) await sql`drop function ${sql.id(name)}`.execute(first.db);
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
  /** The payer's lock requests, granted or waiting, as pg_locks shows them. */
  const locksOf = async (whose: string, granted: boolean) => {
    const { rows } = await watcher.query<{ count: string }>(
      `select count(*) from pg_locks where locktype = 'advisory' and classid = $1 and granted = $5
         and objid::bigint = (hashtext($2 || '/' || $3 || '/' || $4)::bigint & 4294967295)`,
      [PAYER_LOCK_CLASS, schema, NETWORK, whose, granted],
    );
    return Number(rows[0]!.count);
  };
  try {
    // The watcher finds a payer's lock where a claim holds it: its key is the ledger's.
    const heldPayer = payerOf(8);
    await holdingClaim(settlement(9_450, { payer: heldPayer }), async () => {
      assert.equal(await locksOf(heldPayer, true), 1);
    });
    let waitingMost = 0;
    let storming = true;
    const watching = (async () => {
      while (storming) {
        waitingMost = Math.max(waitingMost, await locksOf(payer, false));
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

test('the claim functions refuse to run above read committed, where one snapshot would miss the lock holder; ledger connections end a transaction left idle', async () => {
  await opened.db.connection().execute(async (connection) => {
    await sql`begin isolation level repeatable read`.execute(connection);
    try {
      await assert.rejects(
        connection.executeQuery(
          claimQuery([writeOf(settlement(9_601, { payer: payerOf(7) }), 'claim')], { wait: false }),
        ),
        /read committed isolation, not repeatable read/,
      );
    } finally {
      await sql`rollback`.execute(connection);
    }
    const { rows } = await sql<{ limit: string; isolation: string }>`select
      current_setting('idle_in_transaction_session_timeout') as limit,
      current_setting('default_transaction_isolation') as isolation`.execute(connection);
    assert.deepEqual(rows[0], { limit: IDLE_TRANSACTION_LIMIT, isolation: 'read committed' });
  });
});

test("the claim functions' plans, made once per connection while a new ledger's table is small, read only the payer's rows once it has grown and other payers have thousands in flight", async () => {
  const own = `${schema}_growing`;
  const grown = await openPostgresLedger({ connectionString, schema: own });
  // Set up as the ledger's own connections are, planning its other statements at every run.
  const client = new pg.Client({ connectionString });
  try {
    // A table autovacuum has not reached: an analyze would drop the plans the connection keeps.
    await sql`alter table x402_settlements set (autovacuum_enabled = off)`.execute(grown.db);
    await client.connect();
    await inSchema(own)(client);
    await planEveryRun(client);
    await forPayerLocks(client);
    const claim = (n: number, payer: string) =>
      client.query(
        toPg(claimQuery([writeOf(settlement(n, { payer }), 'send_alone')], { wait: true })),
      );
    // A new ledger under load: its first claims meet an empty table, and then one analyzed with a few rows, where
    // reading it whole is the cheapest plan.
    for (let k = 0; k < 4; k++) await claim(9_800 + k, payerOf(200 + k));
    await sql`analyze x402_settlements`.execute(grown.db);
    for (let k = 4; k < 8; k++) await claim(9_800 + k, payerOf(200 + k));
    // 200 other payers with 2,000 settlements in flight and 30,000 settled, and 1,000 settled of the payer: settled
    // rows keep their nonce, so the payer's whole history is in the nonce index, and only its payments in flight are in
    // the in-flight index.
    const payer = payerOf(210);
    await sql`insert into x402_settlements (payment_txid, txid, network, payer, nonce, nonce_claimed, amount, asset,
        pay_to, transaction, state, created_at, updated_at)
      select 'p' || i, 't' || i, ${NETWORK}, case when i > 32000 then ${payer} else 'payer' || (i % 200) end,
        case when i > 32000 then i - 32000 else i / 200 end, 1, '1000', 'STX', 'seller', repeat('ab', 150),
        case when i <= 2000 then 'broadcast' else 'success' end, i, i
      from generate_series(1, 33000) i`.execute(grown.db);
    const reads = async () => {
      const { rows } = await client.query<{ seq_scan: string; fetched: string }>(
        `select seq_scan, coalesce(idx_tup_fetch, 0) as fetched from pg_stat_xact_user_tables
          where relname = 'x402_settlements' and schemaname = $1`,
        [own],
      );
      return { seqScans: Number(rows[0]?.seq_scan), fetched: Number(rows[0]?.fetched) };
    };
    await client.query('begin');
    try {
      const before = await reads();
      const { rows } = await claim(1_001, payer);
      assert.deepEqual(
        rows.map((row) => row.claimed_here),
        [true],
        'claimed, and back alone in flight',
      );
      const inFlight = await client.query(toPg(inFlightQuery(NETWORK, payer)));
      assert.equal(inFlight.rows.length, 1);
      const after = await reads();
      assert.ok(Number.isInteger(before.seqScans) && Number.isInteger(after.seqScans));
      assert.equal(
        after.seqScans,
        before.seqScans,
        'no claim or read goes through the whole table',
      );
      assert.ok(
        after.fetched - before.fetched <= 4,
        `rows read through indexes: ${after.fetched - before.fetched}`,
      );
    } finally {
      await client.query('rollback');
    }
    // Planned once per connection: each function carries its own plan mode, whatever the session's.
    const settings = await client.query<{ name: string; config: string[] }>(
      `select p.proname as name, p.proconfig as config from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = $1 and p.proname like 'x402%' order by 1`,
      [own],
    );
    assert.equal(settings.rows.length, 2);
    for (const { name, config } of settings.rows)
      assert.deepEqual(config, ['plan_cache_mode=force_generic_plan', 'enable_seqscan=off'], name);
  } finally {
    await client.end();
    await sql`drop schema if exists ${sql.id(own)} cascade`.execute(grown.db);
    await grown.close();
  }
});

test('two ledgers on one database, each claiming to send for the same payers turn after turn, keep one claim per payer where each admits only a payer with nothing else in flight', async () => {
  const second = await openPostgresLedger({ connectionString, schema });
  try {
    const admit = (inFlight: readonly unknown[]) => (inFlight.length > 1 ? 'full' : undefined);
    const claims: Promise<unknown>[] = [];
    for (let k = 0; k < 40; k++) {
      // Each payer's two claims, one per ledger, in turns of their own: each may find its payer alone in its turn.
      const payer = payerOf(100 + k);
      claims.push(opened.ledger.claimToSend(settlement(9_700 + 2 * k, { payer }), admit));
      claims.push(second.ledger.claimToSend(settlement(9_701 + 2 * k, { payer }), admit));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(claims);
    for (let k = 0; k < 40; k++) {
      const kept = await opened.ledger.inFlight(NETWORK, payerOf(100 + k));
      assert.equal(kept.length, 1, `payer ${k}: ${kept.length} kept`);
    }
  } finally {
    await second.close();
  }
});

test('a ledger connection the server ends mid-transaction fails that call alone: the claim is rolled back, and the process and the ledger go on', async () => {
  // In a process of its own: an unheard error on the connection would end that process, which the test runner here
  // would not show as a failure.
  const worker = fileURLToPath(new URL('./ended-session.worker.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', worker, connectionString, schema],
    { timeout: 60_000 },
  );
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)!), {
    ended: 'failed',
    rolledBack: true,
    next: 'broadcast',
  });
});
