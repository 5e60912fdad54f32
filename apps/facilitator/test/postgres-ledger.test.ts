/**
 * The SQL ledger on a real PostgreSQL (the run's, see @x402-stacks/test-kit: the environment's, 127.0.0.1:5432, or an
 * embedded one), in a schema of its own, through the same conformance suite as the in-memory ledger. The pool has
 * ten connections, so the concurrency cases race at the database.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endServerConnection, inSchema } from '@x402-stacks/test-kit';
import { ledgerConformance, settlement } from '@x402-stacks/test-kit/ledger-conformance';
import { type CompiledQuery, type Kysely, type RawBuilder, sql } from 'kysely';
import pg from 'pg';
import { GROUPED_LOOKUP } from '../src/ledger/grouped-reads.js';
import { GROUPED_MOVES, groupedAnswers } from '../src/ledger/grouped-writes.js';
import { nameStatements, planEveryRun } from '../src/ledger/named-statements.js';
import { openPostgresLedger } from '../src/ledger/postgres.js';
import { IN_FLIGHT_INDEX, type LedgerDatabase } from '../src/ledger/schema.js';
import { ledgerInOwnSchema } from './ledger-schema.js';

const { connectionString, schema, opened } = await ledgerInOwnSchema('x402_ledger_test');

ledgerConformance(
  'PostgreSQL ledger',
  async () => {
    await sql`truncate x402_settlements, x402_sponsor_nonces, x402_sponsor_released, x402_sponsor_fees, x402_answers, x402_payment_ids`.execute(
      opened.db,
    );
    return opened.ledger;
  },
  { claimToSend: true, claimReadsInFlight: true },
);

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

/**
 * Opens the ledger in `schema` while a process of the previous release is mid-transaction on `first`'s connection: it
 * ran `begun`, and runs `next` and commits once the opening has waited 300 ms.
 * @returns the error the running process got, if any, and the opening's ledger or error.
 */
async function openBesideTransaction(
  first: Awaited<ReturnType<typeof openPostgresLedger>>,
  schema: string,
  begun: RawBuilder<unknown>,
  next: RawBuilder<unknown>,
) {
  return first.db.connection().execute(async (previous) => {
    await sql`begin`.execute(previous);
    await begun.execute(previous);
    const opening = openPostgresLedger({ connectionString, schema }).then(
      (opened) => ({ opened }),
      (error: Error) => ({ error }),
    );
    await new Promise((r) => setTimeout(r, 300));
    let previousError: string | undefined;
    try {
      await next.execute(previous);
      await sql`commit`.execute(previous);
    } catch (error) {
      previousError = (error as Error).message;
      await sql`rollback`.execute(previous);
    }
    return { previousError, opened: await opening };
  });
}

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
    // The previous release, mid-reservation: it has read the settlements and will write one next.
    const outcome = await openBesideTransaction(
      first,
      upgraded,
      sql`select state from x402_settlements where payment_txid = 'none'`,
      sql`update x402_settlements set state = state where payment_txid = 'none'`,
    );
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

test('upgrading to answers that name their claim beside a process of the previous release answering mid-transaction: neither fails, old answers count for every claim', async () => {
  const upgraded = `${schema}_answer_claims`;
  const first = await openPostgresLedger({ connectionString, schema: upgraded });
  const { paymentTxid } = settlement(7);
  const claimed = await first.ledger.claim(settlement(7));
  assert.ok(claimed.claimed);
  // The previous release: answers without their claim.
  await sql`alter table x402_answers drop column claimed_at`.execute(first.db);
  try {
    // The previous release, mid-transaction on the answers (as its forgetDropped is): the upgrade waits for it.
    const outcome = await openBesideTransaction(
      first,
      upgraded,
      sql`delete from x402_answers where payment_txid = 'none'`,
      sql`insert into x402_answers (payment_txid, answer, at) values (${paymentTxid}, 'pending', 1)`,
    );
    assert.equal(outcome.previousError, undefined, 'the running process kept its transaction');
    assert.ok('opened' in outcome.opened, `the upgrade opened: ${JSON.stringify(outcome.opened)}`);
    const { ledger } = outcome.opened.opened;
    try {
      await ledger.release(paymentTxid, claimed.record.createdAt);
      await new Promise((resolve) => setTimeout(resolve, 2));
      const again = await ledger.claim(settlement(7));
      assert.ok(again.claimed);
      assert.equal(await ledger.answerOf(paymentTxid, again.record.createdAt), 'pending');
      assert.equal(
        await ledger.recordAnswer(paymentTxid, 'success', again.record.createdAt),
        'pending',
        'an answer naming no claim stands',
      );
      const fresh = settlement(8).paymentTxid;
      const own = await ledger.claim(settlement(8));
      assert.ok(own.claimed);
      assert.equal(await ledger.recordAnswer(fresh, 'pending', own.record.createdAt), undefined);
      assert.equal(await ledger.answerOf(fresh, own.record.createdAt + 1), undefined);
    } finally {
      await outcome.opened.opened.close();
    }
  } finally {
    await sql`drop schema if exists ${sql.id(upgraded)} cascade`.execute(first.db);
    await first.close();
  }
});

for (const before of ['stranded holds', 'the in-flight index and stranded holds'] as const) {
  test(`upgrading from before ${before} beside a process of the previous release sponsoring mid-transaction: neither fails, its fee row holds no stranded nonce`, async () => {
    const upgraded = `${schema}_stranded_holds${before === 'stranded holds' ? '' : '_index'}`;
    const first = await openPostgresLedger({ connectionString, schema: upgraded });
    const { paymentTxid } = settlement(9);
    assert.ok((await first.ledger.claim(settlement(9))).claimed);
    // The previous release: sponsor fees without the stranded mark, and maybe settlements without the in-flight index.
    await sql`alter table x402_sponsor_fees drop column stranded_at`.execute(first.db);
    if (before !== 'stranded holds')
      await sql`drop index ${sql.id(IN_FLIGHT_INDEX)}`.execute(first.db);
    try {
      // The previous release, mid-reservation: it has read the fees, and will update the settlement and write its fee.
      const outcome = await openBesideTransaction(
        first,
        upgraded,
        sql`select count(*) from x402_sponsor_fees`,
        sql`with held as (update x402_settlements set updated_at = updated_at where payment_txid = ${paymentTxid}
          returning payment_txid)
          insert into x402_sponsor_fees (payment_txid, network, payer, sponsor, nonce, fee, at)
          select payment_txid, 'stacks:2147483648', 'SP1', 'SP2', 4, 300, 1 from held`,
      );
      assert.equal(outcome.previousError, undefined, 'the running process kept its transaction');
      assert.ok(
        'opened' in outcome.opened,
        `the upgrade opened: ${JSON.stringify(outcome.opened)}`,
      );
      try {
        const { rows } = await sql<{
          stranded_at: unknown;
        }>`select stranded_at from x402_sponsor_fees where payment_txid = ${paymentTxid}`.execute(
          outcome.opened.opened.db,
        );
        assert.deepEqual(rows, [{ stranded_at: null }]);
      } finally {
        await outcome.opened.opened.close();
      }
    } finally {
      await sql`drop schema if exists ${sql.id(upgraded)} cascade`.execute(first.db);
      await first.close();
    }
  });
}

test('grouped answers: a failed statement leaves each call of it, and of the payment after it, to hear about its own answer', async () => {
  const { ledger } = opened;
  /** Pending about a claim released since, the payment claimed afresh: answers about both claims, and another payment. */
  async function scene(seed: number) {
    await sql`truncate x402_settlements, x402_answers`.execute(opened.db);
    const { paymentTxid } = settlement(seed);
    const gone = await ledger.claim(settlement(seed));
    assert.ok(gone.claimed);
    await ledger.recordAnswer(paymentTxid, 'pending', gone.record.createdAt);
    await ledger.release(paymentTxid, gone.record.createdAt);
    await new Promise((resolve) => setTimeout(resolve, 2));
    const held = await ledger.claim(settlement(seed));
    assert.ok(held.claimed && held.record.createdAt !== gone.record.createdAt);
    const now = String(Date.now());
    return {
      paymentTxid,
      held: held.record.createdAt,
      writes: [
        { id: paymentTxid, answer: 'success', now, claimedAt: String(gone.record.createdAt) },
        { id: paymentTxid, answer: 'success', now, claimedAt: String(held.record.createdAt) },
        { id: settlement(seed + 1).paymentTxid, answer: 'success', now, claimedAt: null },
      ],
    };
  }
  /** The ledger's database, but the statement numbered `failing` fails once (a broken deadlock, a dropped link). */
  function failingAt(failing: number) {
    let statements = 0;
    return {
      executeQuery: (query: CompiledQuery) =>
        ++statements === failing
          ? Promise.reject(new Error('connection terminated'))
          : opened.db.executeQuery(query),
    } as unknown as Kysely<LedgerDatabase>;
  }

  // The first statement, the stale answer's and the other payment's: each is tried again alone, and the held claim's
  // answer is written after the stale one was refused.
  const first = await scene(21);
  const store = groupedAnswers(failingAt(1));
  assert.deepEqual(await Promise.all(first.writes.map((write) => store(write))), [
    false,
    true,
    true,
  ]);
  assert.equal(await ledger.answerOf(first.paymentTxid, first.held), 'success');

  // The second, the held claim's answer alone: that call fails, and nothing else changes its answer (the other
  // payment's, written by the first statement, is still heard as written).
  const second = await scene(31);
  const storeAgain = groupedAnswers(failingAt(2));
  const settled = await Promise.allSettled(second.writes.map((write) => storeAgain(write)));
  assert.deepEqual(
    settled.map((result) => (result.status === 'fulfilled' ? result.value : 'failed')),
    [false, 'failed', true],
  );
  assert.equal(await ledger.answerOf(second.paymentTxid, second.held), undefined, 'not written');
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
      // A full group each side (256 claims of one turn), one side's in the reverse order, each of a payer of its own,
      // so that each side's statement meets the other's payer by payer.
      const seeds = Array.from({ length: 256 }, (_, k) => round * 1000 + k + 1);
      const payment = (seed: number) => settlement(seed, { payer: `ST${seed}OPPOSITEORDERS` });
      const started = Date.now();
      const [ours, theirs] = await Promise.all([
        Promise.all(seeds.map((seed) => left.ledger.claim(payment(seed)))),
        Promise.all([...seeds].reverse().map((seed) => right.ledger.claim(payment(seed)))),
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

test('a status round moves settlements through the id indexes, on a ledger whose statistics lag its growth', () =>
  inSchemaOfItsOwn('unanalyzed', async (grown) => {
    // The planner knows the table's size but nothing of its values, so it guesses every state is rare.
    await settleBeforeAnalyze(grown.db);
    const ids = Array.from({ length: 32 }, (_, k) => `'p${3000 - k * 90}'`);
    // The status round's columns after the ids (from, to, now, txid, transaction, height, claimed at), each the same
    // value for every input.
    const columns: [type: string, value: string][] = [
      ['text', "'broadcast'"],
      ['text', "'success'"],
      ['bigint', '5'],
      ['text', 'null'],
      ['text', 'null'],
      ['integer', '7'],
      ['bigint', 'null'],
    ];
    const round = [
      `array[${ids.join(',')}]::text[]`,
      ...columns.map(([type, value]) => `array[${ids.map(() => value).join(',')}]::${type}[]`),
    ].join(', ');
    const joins = await grown.db.connection().execute(async (connection) => {
      await sql.raw(`prepare status_round as ${GROUPED_MOVES}`).execute(connection);
      const seen: string[] = [];
      // The first runs of a prepared statement are planned for their values; later ones may take a generic plan.
      for (const mode of ['force_custom_plan', 'force_generic_plan']) {
        await sql.raw(`set plan_cache_mode = ${mode}`).execute(connection);
        const { rows } = await sql
          .raw<{ 'QUERY PLAN': unknown }>(`explain (format json) execute status_round(${round})`)
          .execute(connection);
        seen.push(...planNodes(rows[0]!['QUERY PLAN']));
      }
      // Back to the ledger's own setting (a reset would give the server's default to the pool's next caller).
      await sql
        .raw('deallocate status_round; set plan_cache_mode = force_custom_plan')
        .execute(connection);
      return seen;
    });
    assert.ok(joins.includes('Nested Loop'), `the plans: ${joins.join(', ')}`);
    for (const scan of ['Seq Scan on x402_settlements', 'Hash Join', 'Merge Join'])
      assert.ok(!joins.includes(scan), `a ${scan} reads every settlement: ${joins.join(', ')}`);
  }));

test("the ledger's grouped reads are planned for the table as it is, not kept on the plan of a new ledger's first runs", () =>
  inSchemaOfItsOwn('growing', async (ledger, fresh) => {
    /** The read's plan once the table has grown, on the one connection of a pool that names its statements. */
    const planAfterGrowth = async (everyRun: boolean) => {
      await sql`truncate x402_settlements`.execute(ledger.db);
      const pool = new pg.Pool({
        connectionString,
        max: 1,
        onConnect: async (client: pg.ClientBase) => {
          await inSchema(fresh)(client);
          if (everyRun) await planEveryRun(client);
        },
      });
      nameStatements(pool);
      try {
        const ids = Array.from({ length: 32 }, (_, k) => `p${k + 1}`);
        const values = [ids, ids.map(() => 'stacks:2147483648'), ids.map((_, k) => `payer${k}`)];
        // A new ledger under load: the first runs meet an empty table, where reading it whole is the cheapest plan.
        for (let run = 0; run < 8; run++) await pool.query(GROUPED_LOOKUP, values);
        await settleBeforeAnalyze(ledger.db, 30_000);
        const { rows } = await pool.query<{ name: string }>(
          'select name from pg_prepared_statements where statement = $1',
          [GROUPED_LOOKUP],
        );
        const literal = (list: readonly string[]) => `'{${list.join(',')}}'`;
        const plan = await pool.query(
          `explain (format json) execute ${rows[0]!.name}(${values.map(literal).join(', ')})`,
        );
        return planNodes(plan.rows[0]['QUERY PLAN']);
      } finally {
        await pool.end();
      }
    };
    const planned = await planAfterGrowth(true);
    assert.ok(!planned.includes('Seq Scan on x402_settlements'), planned.join(', '));
    assert.ok(planned.includes('BitmapOr'), planned.join(', '));
    // Left to the server's own choice, the plan made for the empty table stays: the trap is real here. Another test
    // file's DDL running at the same time can overflow the server's shared invalidation queue, which resets every
    // connection's cached plans and so hides the trap once: it is set up afresh, up to three times.
    let kept: string[] = [];
    for (let attempt = 0; attempt < 3 && !kept.includes('Seq Scan on x402_settlements'); attempt++)
      kept = await planAfterGrowth(false);
    assert.ok(kept.includes('Seq Scan on x402_settlements'), kept.join(', '));
    // The ledger's own pool is set up so.
    const { rows } = await sql<{ plan_cache_mode: string }>`show plan_cache_mode`.execute(
      ledger.db,
    );
    assert.equal(rows[0]!.plan_cache_mode, 'force_custom_plan');
  }));

test('an idle ledger connection the server ends is dropped, and the ledger goes on', () =>
  inSchemaOfItsOwn('terminated', async (ledger) => {
    await ledger.ledger.claim(settlement(21));
    // The ledger's connection, idle again once this read is done, ended by the server as a restart or a failover would.
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(ledger.db);
    assert.equal(await endServerConnection(connectionString, rows[0]!.pid), true);
    // The pool hears of it on its next turn; an unheard 'error' event would have ended this process.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await ledger.ledger.get(settlement(21).txid))?.state, 'claimed');
  }));

/** Runs `body` on a ledger opened in a schema of its own, never vacuumed, dropped afterwards. */
async function inSchemaOfItsOwn(
  suffix: string,
  body: (opened: Awaited<ReturnType<typeof openPostgresLedger>>, schema: string) => Promise<void>,
): Promise<void> {
  const own = `${schema}_${suffix}`;
  const opened = await openPostgresLedger({ connectionString, schema: own });
  try {
    // The case under test is a table autovacuum has not reached yet: it must not reach it during the test either (an
    // analyze or vacuum drops the plans a connection keeps).
    await sql`alter table x402_settlements set (autovacuum_enabled = off)`.execute(opened.db);
    await body(opened, own);
  } finally {
    await sql`drop schema if exists ${sql.id(own)} cascade`.execute(opened.db);
    await opened.close();
  }
}

/**
 * A new ledger that settled `count` payments under load before autovacuum analyzed its table. The grouped read's test
 * grows it to 30,000: at 3,000, one pass over the table is the cheapest way to answer a group of 32 reads, and a plan
 * made for the table as it is rightly takes it.
 */
async function settleBeforeAnalyze(
  db: Awaited<ReturnType<typeof openPostgresLedger>>['db'],
  count = 3000,
): Promise<void> {
  await sql`insert into x402_settlements (payment_txid, txid, network, payer, nonce, nonce_claimed, amount, asset,
      pay_to, transaction, state, created_at, updated_at)
    select 'p' || i, 't' || i, 'stacks:2147483648', 'payer' || (i % 100), i / 100, 0, '1000', 'STX', 'seller',
      repeat('ab', 150), 'success', i, i
    from generate_series(1, ${count}::int) i`.execute(db);
}

/** Every node of an `explain (format json)` plan, named by its type and, for a scan, its table. */
function planNodes(plan: unknown): string[] {
  const nodes: string[] = [];
  const visit = (node: { 'Node Type': string; 'Relation Name'?: string; Plans?: unknown[] }) => {
    nodes.push(
      node['Relation Name']
        ? `${node['Node Type']} on ${node['Relation Name']}`
        : node['Node Type'],
    );
    for (const child of node.Plans ?? []) visit(child as typeof node);
  };
  for (const statement of plan as { Plan: Parameters<typeof visit>[0] }[]) visit(statement.Plan);
  return nodes;
}

test('a connection URL with options of its own still opens the ledger in its schema, not a second one beside it', async () => {
  const own = `${schema}_url_options`;
  // What an operator adds for a statement timeout, naming a search_path too: one that does not exist, so that should
  // the URL win again, opening the ledger fails without writing anywhere.
  const options = `-c statement_timeout=30000 -c search_path=${own}_decoy`;
  const withOptions = `${connectionString}${connectionString.includes('?') ? '&' : '?'}options=${encodeURIComponent(options)}`;
  const opened = await openPostgresLedger({ connectionString: withOptions, schema: own });
  try {
    await opened.ledger.claim(settlement(41));
    const { rows } = await sql<{ schema: string; timeout: string }>`
      select current_schema() as schema, current_setting('statement_timeout') as timeout`.execute(
      opened.db,
    );
    assert.deepEqual(
      rows[0],
      { schema: own, timeout: '30s' },
      "the URL's other options still apply",
    );
    const held = await sql<{ n: string }>`
      select count(*) as n from ${sql.table(`${own}.x402_settlements`)}`.execute(opened.db);
    assert.equal(Number(held.rows[0]!.n), 1, 'the claim is in the schema named');
  } finally {
    await sql`drop schema if exists ${sql.id(own)} cascade`.execute(opened.db);
    await opened.close();
  }
});
