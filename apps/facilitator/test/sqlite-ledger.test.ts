/** The SQL ledger on a real SQLite file, through the same conformance suite as the other ledgers. */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  channelOf,
  escrowState,
  signatureOf,
} from '@x402-stacks/test-kit/channel-ledger-conformance';
import { ledgerConformance, settlement } from '@x402-stacks/test-kit/ledger-conformance';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { openSqliteLedger } from '../src/ledger/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'x402-ledger-'));
let opened: Awaited<ReturnType<typeof openSqliteLedger>>;

before(async () => {
  opened = await openSqliteLedger({ path: join(dir, 'ledger.db') });
});

after(async () => {
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
});

ledgerConformance(
  'SQLite ledger',
  async () => {
    for (const table of [
      'x402_settlements',
      'x402_sponsor_nonces',
      'x402_sponsor_released',
      'x402_sponsor_fees',
      'x402_answers',
      'x402_payment_ids',
    ]) {
      await sql`delete from ${sql.table(table)}`.execute(opened.db);
    }
    return opened.ledger;
  },
  { claimToSend: true },
);

test('every commit is synced to disk by the driver (synchronous = NORMAL, the WAL synced after each commit)', async () => {
  // Under NORMAL SQLite syncs only at checkpoints; the group commit driver syncs the WAL after every commit, before
  // anyone hears back (sqlite-group-commit.test.ts holds those syncs and watches who waits for them).
  const { rows } = await sql<{ synchronous: bigint }>`pragma synchronous`.execute(opened.db);
  assert.equal(rows[0]?.synchronous, 1n);
  const { rows: mode } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(
    opened.db,
  );
  assert.equal(mode[0]?.journal_mode, 'wal');
});

test('a ledger file from before claims recorded their process gains the column at open, and keeps its rows', async () => {
  const path = join(dir, 'older.db');
  const older = await openSqliteLedger({ path });
  await older.ledger.claim(settlement(7));
  // A file that old had neither column added since.
  await sql`alter table x402_settlements drop column resource`.execute(older.db);
  await sql`alter table x402_settlements drop column holder`.execute(older.db);
  await older.close();
  const reopened = await openSqliteLedger({ path });
  try {
    assert.equal((await reopened.ledger.get(settlement(7).txid))?.state, 'claimed');
    const claim = await reopened.ledger.claim(settlement(8, { holder: 'process-b' }));
    assert.equal(claim.claimed && claim.record.holder, 'process-b');
  } finally {
    await reopened.close();
  }
});

test('a ledger file from before stranded holds gains the column at open; its fee rows hold no stranded nonce', async () => {
  const path = join(dir, 'before-stranded.db');
  const older = await openSqliteLedger({ path });
  await sql`alter table x402_sponsor_fees drop column stranded_at`.execute(older.db);
  await sql`insert into x402_sponsor_fees (payment_txid, network, payer, sponsor, nonce, fee, at)
    values ('0xaa', 'stacks:2147483648', 'SP1', 'SP2', 4, 300, 1)`.execute(older.db);
  await older.close();
  const reopened = await openSqliteLedger({ path });
  try {
    const { rows } = await sql<{
      stranded_at: unknown;
    }>`select stranded_at from x402_sponsor_fees where payment_txid = '0xaa'`.execute(reopened.db);
    assert.deepEqual(rows, [{ stranded_at: null }]);
  } finally {
    await reopened.close();
  }
});

test('a ledger file from before payment identifiers gains their table at open, and keeps its rows', async () => {
  const path = join(dir, 'before-ids.db');
  const older = await openSqliteLedger({ path });
  await older.ledger.claim(settlement(9));
  await sql`drop table x402_payment_ids`.execute(older.db);
  await older.close();
  const reopened = await openSqliteLedger({ path });
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
    await reopened.close();
  }
});

test('a ledger file from before both the resource column and payment identifiers gains both at open', async () => {
  const path = join(dir, 'before-both.db');
  const older = await openSqliteLedger({ path });
  await older.ledger.claim(settlement(5));
  await sql`alter table x402_settlements drop column resource`.execute(older.db);
  await sql`drop table x402_payment_ids`.execute(older.db);
  await older.close();
  const reopened = await openSqliteLedger({ path });
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
    await reopened.close();
  }
});

test('a ledger file from before settlements recorded their resource gains the column at open; its rows read back without one', async () => {
  const path = join(dir, 'before-resource.db');
  const older = await openSqliteLedger({ path });
  await older.ledger.claim(settlement(7));
  await older.ledger.recordAnswer(settlement(7).paymentTxid, 'pending');
  await sql`alter table x402_settlements drop column resource`.execute(older.db);
  await older.close();
  const reopened = await openSqliteLedger({ path });
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
    await reopened.close();
  }
});

test('a ledger file from before answers named their claim gains the column at open; an answer written before counts for every claim', async () => {
  const path = join(dir, 'before-answer-claims.db');
  const older = await openSqliteLedger({ path });
  const { paymentTxid } = settlement(7);
  const claimed = await older.ledger.claim(settlement(7));
  assert.ok(claimed.claimed);
  await older.ledger.recordAnswer(paymentTxid, 'pending');
  await sql`alter table x402_answers drop column claimed_at`.execute(older.db);
  await older.close();
  const reopened = await openSqliteLedger({ path });
  try {
    const columns = await sql<{
      name: string;
    }>`select name from pragma_table_info('x402_answers')`.execute(reopened.db);
    assert.ok(columns.rows.some((column) => column.name === 'claimed_at'));
    await reopened.ledger.release(paymentTxid, claimed.record.createdAt);
    await new Promise((resolve) => setTimeout(resolve, 2));
    const again = await reopened.ledger.claim(settlement(7));
    assert.ok(again.claimed);
    assert.equal(await reopened.ledger.answerOf(paymentTxid, again.record.createdAt), 'pending');
    assert.equal(
      await reopened.ledger.recordAnswer(paymentTxid, 'success', again.record.createdAt),
      'pending',
      'an answer naming no claim stands',
    );
  } finally {
    await reopened.close();
  }
});

test('a ledger file whose channels table came before the refund hold gains it at open; its channels keep their charges', async () => {
  const path = join(dir, 'before-refund-hold.db');
  const older = await openSqliteLedger({ path });
  const channel = channelOf(50);
  await older.channels.mirrorChannel(channel, escrowState(10_000n), 1_000);
  await older.channels.chargeChannel(
    channel.channelId,
    { expectedCharged: 0n, charged: 400n, signedMax: 400n, signature: signatureOf(1) },
    1_100,
  );
  await sql`alter table x402_channels drop column frozen_until`.execute(older.db);
  await sql`alter table x402_channels drop column frozen_refund_nonce`.execute(older.db);
  await older.close();
  const reopened = await openSqliteLedger({ path });
  try {
    const before = await reopened.channels.getChannel(channel.channelId);
    assert.equal(before?.charged, 400n);
    assert.equal(before?.frozenUntil, undefined);
    assert.equal(
      (
        await reopened.channels.freezeChannel(
          channel.channelId,
          { until: 9_000, refundNonce: 0n },
          1_200,
        )
      )?.frozenUntil,
      9_000,
    );
    assert.equal(
      await reopened.channels.chargeChannel(
        channel.channelId,
        { expectedCharged: 400n, charged: 500n, signedMax: 500n, signature: signatureOf(2) },
        1_300,
      ),
      undefined,
    );
  } finally {
    await reopened.close();
  }
});

test('an up-to-date file opens with reads only, while another process holds its write lock', async () => {
  const path = join(dir, 'busy.db');
  await (await openSqliteLedger({ path })).close();
  // Another process in the middle of a write: it holds the lock as long as it likes.
  const busy = new Database(path);
  busy.exec('begin immediate');
  try {
    const started = Date.now();
    const again = await openSqliteLedger({ path });
    assert.ok(Date.now() - started < 2_000, 'it did not wait for the write lock');
    assert.equal(await again.ledger.get(settlement(1).paymentTxid), undefined);
    await again.close();
  } finally {
    busy.exec('rollback');
    busy.close();
  }
});

test('a new file another process keeps locked fails to open, naming the lock, and opens once it is free', async () => {
  const path = join(dir, 'locked.db');
  // A file made, switched to the write-ahead log and locked by another process before any table exists.
  const other = new Database(path);
  other.pragma('journal_mode = WAL');
  other.exec('begin immediate');
  try {
    await assert.rejects(openSqliteLedger({ path }), /locked|busy/i);
  } finally {
    other.exec('rollback');
    other.close();
  }
  // The failed open holds nothing of the file: it opens and migrates now.
  const opened = await openSqliteLedger({ path });
  assert.equal((await opened.ledger.claim(settlement(2))).claimed, true);
  await opened.close();
});
