/**
 * The SQL ledger on a real PostgreSQL (the run's, see @x402-stacks/test-kit: the environment's, 127.0.0.1:5432, or an
 * embedded one), in a schema of its own, through the same conformance suite as the in-memory ledger. The pool has
 * ten connections, so the concurrency cases race at the database.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { testPostgresUrl } from '@x402-stacks/test-kit';
import { ledgerConformance, settlement } from '@x402-stacks/test-kit/ledger-conformance';
import { sql } from 'kysely';
import { openPostgresLedger } from '../src/ledger/postgres.js';

const connectionString = await testPostgresUrl();
const schema = `x402_ledger_test_${process.pid}_${Date.now()}`;
let opened: Awaited<ReturnType<typeof openPostgresLedger>>;

before(async () => {
  opened = await openPostgresLedger({ connectionString, schema });
});

after(async () => {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(opened.db);
  await opened.close();
});

ledgerConformance('PostgreSQL ledger', async () => {
  await sql`truncate x402_settlements, x402_sponsor_nonces, x402_sponsor_released, x402_sponsor_fees, x402_answers, x402_payment_ids`.execute(
    opened.db,
  );
  return opened.ledger;
});

test('a ledger schema from before claims recorded their process gains the column at open, and keeps its rows', async () => {
  const older = `${schema}_older`;
  const first = await openPostgresLedger({ connectionString, schema: older });
  try {
    await first.ledger.claim(settlement(7));
    // A schema that old had neither column added since.
    await sql`alter table x402_settlements drop column resource`.execute(first.db);
    await sql`alter table x402_settlements drop column holder`.execute(first.db);
  } finally {
    await first.close();
  }
  const reopened = await openPostgresLedger({ connectionString, schema: older });
  try {
    assert.equal((await reopened.ledger.get(settlement(7).txid))?.state, 'claimed');
    const claim = await reopened.ledger.claim(settlement(8, { holder: 'process-b' }));
    assert.equal(claim.claimed && claim.record.holder, 'process-b');
  } finally {
    await sql`drop schema if exists ${sql.id(older)} cascade`.execute(reopened.db);
    await reopened.close();
  }
});

test('a ledger schema from before payment identifiers gains their table at open, and keeps its rows', async () => {
  const older = `${schema}_before_ids`;
  const first = await openPostgresLedger({ connectionString, schema: older });
  try {
    await first.ledger.claim(settlement(9));
    await sql`drop table x402_payment_ids`.execute(first.db);
  } finally {
    await first.close();
  }
  const reopened = await openPostgresLedger({ connectionString, schema: older });
  try {
    assert.equal((await reopened.ledger.get(settlement(9).txid))?.state, 'claimed');
    const key = {
      network: settlement(9).network,
      payer: settlement(9).payer,
      id: 'pay_0123456789abcdef',
    };
    const bound = await reopened.ledger.bindPaymentId(
      key,
      settlement(9).paymentTxid,
      1_000,
      60_000,
    );
    assert.equal(bound.paymentTxid, settlement(9).paymentTxid);
  } finally {
    await sql`drop schema if exists ${sql.id(older)} cascade`.execute(reopened.db);
    await reopened.close();
  }
});

test('opening an up-to-date ledger takes no table lock: a process restarting beside a busy one does not wait on it', async () => {
  // Another process's settle, mid-transaction: it holds row locks on the settlements and the sponsor fees.
  const busy = await opened.db.connection().execute(async (connection) => {
    await sql`begin`.execute(connection);
    try {
      await sql`update x402_settlements set state = state where payment_txid = 'none'`.execute(
        connection,
      );
      await sql`insert into x402_sponsor_fees (payment_txid, network, payer, sponsor, nonce, fee, at, failed)
        values ('busy', 'stacks:2147483648', 'p', 's', 0, 1, 0, 0)`.execute(connection);
      const started = Date.now();
      const restarted = await Promise.race([
        openPostgresLedger({ connectionString, schema }),
        new Promise<undefined>((resolve) => setTimeout(resolve, 5_000, undefined)),
      ]);
      await restarted?.close();
      return { restarted: restarted !== undefined, ms: Date.now() - started };
    } finally {
      await sql`rollback`.execute(connection);
    }
  });
  assert.ok(busy.restarted, `the second open waited on the busy transaction (${busy.ms} ms)`);
});

test('a ledger schema from before settlements recorded their resource gains the column at open; its rows read back without one', async () => {
  const older = `${schema}_noresource`;
  const first = await openPostgresLedger({ connectionString, schema: older });
  try {
    await first.ledger.claim(settlement(7));
    await first.ledger.recordAnswer(settlement(7).paymentTxid, 'pending');
    await sql`alter table x402_settlements drop column resource`.execute(first.db);
  } finally {
    await first.close();
  }
  const reopened = await openPostgresLedger({ connectionString, schema: older });
  try {
    const old = await reopened.ledger.get(settlement(7).txid);
    assert.equal(old?.state, 'claimed');
    assert.equal(old && 'resource' in old, false);
    const resource = 'https://api.example.com/weather';
    const claim = await reopened.ledger.claim(settlement(8, { resource }));
    assert.equal(claim.claimed && claim.record.resource, resource);
    assert.equal((await reopened.ledger.get(settlement(8).txid))?.resource, resource);
    assert.equal(await reopened.ledger.promoteAnswer?.(settlement(7).paymentTxid), true);
  } finally {
    await sql`drop schema if exists ${sql.id(older)} cascade`.execute(reopened.db);
    await reopened.close();
  }
});

test('a ledger schema from before both the resource column and payment identifiers gains both at open', async () => {
  const older = `${schema}_before_both`;
  const first = await openPostgresLedger({ connectionString, schema: older });
  try {
    await first.ledger.claim(settlement(5));
    await sql`alter table x402_settlements drop column resource`.execute(first.db);
    await sql`drop table x402_payment_ids`.execute(first.db);
  } finally {
    await first.close();
  }
  const reopened = await openPostgresLedger({ connectionString, schema: older });
  try {
    assert.equal((await reopened.ledger.get(settlement(5).txid))?.state, 'claimed');
    const resource = 'https://api.example.com/weather';
    const claim = await reopened.ledger.claim(settlement(6, { resource }));
    assert.equal(claim.claimed && claim.record.resource, resource);
    const key = {
      network: settlement(5).network,
      payer: settlement(5).payer,
      id: 'pay_0123456789abcdef',
    };
    const bound = await reopened.ledger.bindPaymentId(
      key,
      settlement(5).paymentTxid,
      1_000,
      60_000,
    );
    assert.equal(bound.paymentTxid, settlement(5).paymentTxid);
  } finally {
    await sql`drop schema if exists ${sql.id(older)} cascade`.execute(reopened.db);
    await reopened.close();
  }
});

test('upgrading beside a process of the previous release mid-transaction: neither fails, the column is added', async () => {
  const upgraded = `${schema}_upgrade`;
  const first = await openPostgresLedger({ connectionString, schema: upgraded });
  // The previous release: settlements without their resource.
  await sql`alter table x402_settlements drop column resource`.execute(first.db);
  try {
    const outcome = await first.db.connection().execute(async (previous) => {
      // The previous release, mid-reservation: it has read the settlements and will write one next.
      await sql`begin`.execute(previous);
      await sql`select state from x402_settlements where payment_txid = 'none'`.execute(previous);
      const opening = openPostgresLedger({ connectionString, schema: upgraded }).then(
        (opened) => ({ opened }),
        (error: Error) => ({ error }),
      );
      await new Promise((r) => setTimeout(r, 300));
      let previousError: string | undefined;
      try {
        await sql`update x402_settlements set state = state where payment_txid = 'none'`.execute(
          previous,
        );
        await sql`commit`.execute(previous);
      } catch (error) {
        previousError = (error as Error).message;
        await sql`rollback`.execute(previous);
      }
      return { previousError, opened: await opening };
    });
    assert.equal(outcome.previousError, undefined, 'the running process kept its transaction');
    assert.ok('opened' in outcome.opened, `the upgrade opened: ${JSON.stringify(outcome.opened)}`);
    const claim = await outcome.opened.opened.ledger.claim(
      settlement(9, { holder: 'process-c', resource: 'https://api.example.com/a' }),
    );
    assert.equal(claim.claimed && claim.record.holder, 'process-c');
    assert.equal(claim.claimed && claim.record.resource, 'https://api.example.com/a');
    await outcome.opened.opened.close();
  } finally {
    await sql`drop schema if exists ${sql.id(upgraded)} cascade`.execute(first.db);
    await first.close();
  }
});

test('two processes claiming the same payments in opposite orders each claim every payment once, without a deadlock', async () => {
  const shared = `${schema}_opposite`;
  const left = await openPostgresLedger({ connectionString, schema: shared });
  const right = await openPostgresLedger({ connectionString, schema: shared });
  try {
    // A deadlock is broken only after this long: a round that takes it waited for one.
    const { rows } = await sql<{ ms: number }>`select setting::int as ms from pg_settings
      where name = 'deadlock_timeout'`.execute(left.db);
    const deadlockMs = rows[0]!.ms;
    for (let round = 0; round < 5; round++) {
      // A full group each side (256 claims of one turn), one side's in the reverse order.
      const seeds = Array.from({ length: 256 }, (_, k) => round * 1000 + k + 1);
      const started = Date.now();
      const [ours, theirs] = await Promise.all([
        Promise.all(seeds.map((seed) => left.ledger.claim(settlement(seed)))),
        Promise.all([...seeds].reverse().map((seed) => right.ledger.claim(settlement(seed)))),
      ]);
      const took = Date.now() - started;
      for (const seed of seeds) {
        const winners = [...ours, ...theirs].filter(
          (result) => result.claimed && result.record.paymentTxid === settlement(seed).paymentTxid,
        );
        assert.equal(winners.length, 1, `payment ${seed} claimed once`);
      }
      assert.ok(took < deadlockMs, `round ${round} took ${took} ms: it waited on a deadlock`);
    }
  } finally {
    await sql`drop schema if exists ${sql.id(shared)} cascade`.execute(left.db);
    await left.close();
    await right.close();
  }
});
