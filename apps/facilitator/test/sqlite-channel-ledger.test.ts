/**
 * Batch-settlement channels in the SQL ledger on a real SQLite file, through the conformance suite the in-memory
 * channel ledger passes; a restart reopens the file. Two processes on one file race in channel-cross-process.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  channelLedgerConformance,
  channelOf,
  escrowState,
  signatureOf,
} from '@x402-stacks/test-kit/channel-ledger-conformance';
import { settlement } from '@x402-stacks/test-kit/ledger-conformance';
import { sql } from 'kysely';
import { openSqliteLedger } from '../src/ledger/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'x402-channels-'));
const path = join(dir, 'ledger.db');
let opened: Awaited<ReturnType<typeof openSqliteLedger>>;

before(async () => {
  opened = await openSqliteLedger({ path });
});

after(async () => {
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
});

channelLedgerConformance('SQLite channel ledger', {
  async create() {
    await sql`delete from x402_channels`.execute(opened.db);
    return opened.channels;
  },
  async reopen() {
    await opened.close();
    opened = await openSqliteLedger({ path });
    return opened.channels;
  },
});

test('amounts are stored as 39-digit text, so that the file orders them as numbers', async () => {
  await sql`delete from x402_channels`.execute(opened.db);
  await opened.channels.mirrorChannel(channelOf(1), escrowState(10n, 9n), 1_000);
  const { rows } = await sql<{ balance: string; claimed: string; kind: string }>`
    select balance, claimed, typeof(balance) as kind from x402_channels`.execute(opened.db);
  assert.deepEqual(rows, [
    { balance: '10'.padStart(39, '0'), claimed: '9'.padStart(39, '0'), kind: 'text' },
  ]);
});

test('a ledger file from before batch-settlement gains the channels table at open, and keeps its rows', async () => {
  const olderPath = join(dir, 'before-channels.db');
  const older = await openSqliteLedger({ path: olderPath });
  await older.ledger.claim(settlement(7));
  await sql`drop table x402_channels`.execute(older.db);
  await older.close();
  const reopened = await openSqliteLedger({ path: olderPath });
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
    await reopened.close();
  }
});
