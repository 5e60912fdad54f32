/**
 * Remembered reads on the SQLite ledger (`readRemembered` in src/ledger/sqlite-group-commit.ts, used for a voucher's
 * channel): a read answered from memory is always what a fresh read would answer. Any write through the ledger, and
 * any commit by another connection (another process, as SQLite sees it), makes the next read go to the file; a write
 * not yet committed and synced is never read around.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  channelOf,
  escrowState,
  signatureOf,
} from '@x402-stacks/test-kit/channel-ledger-conformance';
import Database from 'better-sqlite3';
import { SqlChannelLedger } from '../src/ledger/sql-channel-ledger.js';
import { openSqliteLedger } from '../src/ledger/sqlite.js';
import { openGroupCommitFile } from './group-commit-file.js';

const dir = mkdtempSync(join(tmpdir(), 'x402-remembered-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The channel ledger over the group-commit dialect, wired as `openSqliteLedger` wires it, with the dialect at hand. */
async function open() {
  const { path, dialect, db } = await openGroupCommitFile(dir);
  const channels = new SqlChannelLedger(db, {
    run: (query) => dialect.execute(query),
    read: (query) => dialect.readRemembered(query),
  });
  const channel = channelOf(1);
  await channels.mirrorChannel(channel, escrowState(1_000_000n), 1_000);
  return { db, dialect, channels, channel, path };
}

const charge = (expectedCharged: bigint, charged: bigint) => ({
  expectedCharged,
  charged,
  signedMax: charged,
  signature: signatureOf(charged),
});

test('a read repeated while nothing changed is answered from memory, equal to a fresh one', async () => {
  const { db, dialect, channels, channel } = await open();
  const first = await channels.getChannel(channel.channelId);
  const remembered = dialect.stats.rememberedReads;
  const again = await channels.getChannel(channel.channelId);
  assert.equal(dialect.stats.rememberedReads, remembered + 1);
  assert.deepEqual(again, first);
  assert.equal(await channels.getChannel(channelOf(2).channelId), undefined, 'another channel');
  await db.destroy();
});

test('a write through the ledger makes the next read fresh', async () => {
  const { db, dialect, channels, channel } = await open();
  await channels.getChannel(channel.channelId);
  await channels.getChannel(channel.channelId);
  assert.ok(await channels.chargeChannel(channel.channelId, charge(0n, 700n), 2_000));
  const remembered = dialect.stats.rememberedReads;
  assert.equal((await channels.getChannel(channel.channelId))?.charged, 700n);
  assert.equal(dialect.stats.rememberedReads, remembered, 'read from the file');
  // A write that changed nothing (a charge refused by its condition) still counts: reads after it go to the file.
  assert.equal(await channels.chargeChannel(channel.channelId, charge(5n, 900n), 3_000), undefined);
  assert.equal((await channels.getChannel(channel.channelId))?.charged, 700n);
  assert.equal(dialect.stats.rememberedReads, remembered);
  await db.destroy();
});

test("another connection's commit, to any table, makes the next read fresh", async () => {
  const { db, dialect, channels, channel, path } = await open();
  await channels.getChannel(channel.channelId);
  const other = new Database(path);
  other
    .prepare("update x402_channels set charged = '00000000000000000000000000000000000000042'")
    .run();
  assert.equal((await channels.getChannel(channel.channelId))?.charged, 42n);
  other.exec('create table unrelated (x)');
  other.prepare('insert into unrelated values (1)').run();
  const remembered = dialect.stats.rememberedReads;
  assert.equal((await channels.getChannel(channel.channelId))?.charged, 42n);
  assert.equal(
    dialect.stats.rememberedReads,
    remembered,
    'any commit elsewhere: read from the file',
  );
  assert.equal((await channels.getChannel(channel.channelId))?.charged, 42n);
  assert.equal(dialect.stats.rememberedReads, remembered + 1, 'then remembered again');
  other.close();
  await db.destroy();
});

test('a read made while a write of the same turn waits for its commit sees the write, never the remembered rows', async () => {
  const { db, channels, channel } = await open();
  await channels.getChannel(channel.channelId);
  await channels.getChannel(channel.channelId);
  // Not awaited: the charge runs at once in an open batch, which commits when the turn ends.
  const charging = channels.chargeChannel(channel.channelId, charge(0n, 300n), 2_000);
  const read = channels.getChannel(channel.channelId);
  assert.ok(await charging);
  assert.equal((await read)?.charged, 300n);
  await db.destroy();
});

test('the ledger opened on a file remembers channel reads, and a second process on the file is seen at once', async () => {
  const path = join(dir, 'opened.db');
  const one = await openSqliteLedger({ path });
  const two = await openSqliteLedger({ path });
  const channel = channelOf(3);
  await one.channels.mirrorChannel(channel, escrowState(1_000n), 1_000);
  for (let charged = 1n; charged <= 20n; charged++) {
    // Each side reads twice (the second may be remembered), then the other side charges.
    const [ours, theirs] = charged % 2n === 0n ? [one, two] : [two, one];
    assert.equal((await ours.channels.getChannel(channel.channelId))?.charged, charged - 1n);
    assert.equal((await ours.channels.getChannel(channel.channelId))?.charged, charged - 1n);
    assert.ok(
      await theirs.channels.chargeChannel(channel.channelId, charge(charged - 1n, charged), 2_000),
    );
  }
  assert.equal((await one.channels.getChannel(channel.channelId))?.charged, 20n);
  assert.equal((await two.channels.getChannel(channel.channelId))?.charged, 20n);
  await one.close();
  await two.close();
});
