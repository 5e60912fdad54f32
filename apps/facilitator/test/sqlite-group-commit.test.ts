/**
 * Group commit on the SQLite ledger (src/ledger/sqlite-group-commit.ts): writes made in one event-loop turn share one
 * synced commit, nobody hears back before the commit that made their write durable (checked from a second
 * connection and across SIGKILL), one caller's failure or rollback never undoes another's write, and an explicit
 * transaction never has someone else's statement run inside it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { settlement } from '@x402-stacks/test-kit/ledger-conformance';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, sql } from 'kysely';
import { type LedgerDatabase, migrateLedger } from '../src/ledger/schema.js';
import { SqlLedger } from '../src/ledger/sql-ledger.js';
import { openSqliteLedger } from '../src/ledger/sqlite.js';
import { GroupCommitSqliteDialect } from '../src/ledger/sqlite-group-commit.js';
import { openGroupCommitFile } from './group-commit-file.js';

const dir = mkdtempSync(join(tmpdir(), 'x402-group-commit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

async function open() {
  const { path, dialect, db } = await openGroupCommitFile(dir);
  const reader = new Database(path, { readonly: true });
  const committed = () =>
    Number((reader.prepare('select count(*) as n from x402_settlements').get() as { n: number }).n);
  // The statements go straight to the driver, as the ledger the SQLite opener makes runs them.
  const ledger = new SqlLedger(db, { dialect: 'sqlite', run: (query) => dialect.execute(query) });
  return { db, dialect, ledger, committed, path };
}

test('claims made together share a commit, and each is on disk before its caller hears back', async () => {
  const { db, dialect, ledger, committed } = await open();
  const before = dialect.stats.commits;
  const seen: number[] = [];
  await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const claim = await ledger.claim(settlement(i));
      assert.equal(claim.claimed, true);
      // Another connection, as another process would: the claim is already committed.
      seen.push(committed());
    }),
  );
  const commits = dialect.stats.commits - before;
  assert.ok(commits >= 1 && commits <= 5, `50 claims took ${commits} commits`);
  assert.ok(seen.every((count) => count >= 1));
  assert.equal(committed(), 50);
  await db.destroy();
});

test('a failed statement fails only its caller; the others in its batch are committed', async () => {
  const { db, ledger, committed } = await open();
  await ledger.claim(settlement(1));
  const duplicateRow = sql`insert into x402_settlements select * from x402_settlements limit 1`;
  const results = await Promise.allSettled([
    ledger.claim(settlement(2)),
    duplicateRow.execute(db),
    ledger.claim(settlement(3)),
  ]);
  assert.equal(results[0].status, 'fulfilled');
  assert.equal(results[1].status, 'rejected');
  assert.match(String((results[1] as PromiseRejectedResult).reason), /UNIQUE|constraint/i);
  assert.equal(results[2].status, 'fulfilled');
  assert.equal(committed(), 3);
  await db.destroy();
});

test("a transaction's rollback undoes only its own work, and nobody else's statement runs inside it", async () => {
  const { db, ledger, committed } = await open();
  let insideRan = false;
  const outsider = (async () => {
    await new Promise((resolve) => setImmediate(resolve));
    await ledger.claim(settlement(20));
    insideRan = true;
  })();
  const rolledBack = db.transaction().execute(async (trx) => {
    await sql`insert into x402_leases (name, holder, expires_at) values ('t', 'me', 1)`.execute(
      trx,
    );
    // Give the outsider every chance to run while this transaction is open.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(insideRan, false, 'a statement from outside ran inside the transaction');
    throw new Error('undo');
  });
  const kept = ledger.claim(settlement(21));
  await assert.rejects(rolledBack, /undo/);
  await Promise.all([outsider, kept]);
  assert.equal(committed(), 2);
  const leases = await sql<{ n: bigint }>`select count(*) as n from x402_leases`.execute(db);
  assert.equal(Number(leases.rows[0]!.n), 0);
  await db.destroy();
});

test('SIGKILL at any moment loses no claim whose caller heard back', {
  timeout: 60_000,
}, async () => {
  const path = join(dir, 'killed.db');
  // Created (and migrated) before the worker starts, so the kill never lands in a migration.
  await (await openSqliteLedger({ path })).close();
  const worker = fileURLToPath(new URL('./sqlite-group-commit.worker.ts', import.meta.url));
  for (const [round, wait] of [30, 120, 300].entries()) {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', worker, path, String(100_000 * (round + 1))],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let printed = '';
    child.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    // Killed once it has claimed for a while; the wait varies where in a batch the kill lands.
    await new Promise<void>((resolve) => {
      const check = () => (printed.split('\n').length > wait ? resolve() : setTimeout(check, 5));
      check();
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const heard = printed.split('\n').filter((line) => /^[0-9a-f]{64}$/.test(line));
    assert.ok(heard.length >= wait, `round ${round}: only ${heard.length} claims printed`);
    const { ledger, close } = await openSqliteLedger({ path });
    const missing: string[] = [];
    for (const txid of heard) if (!(await ledger.get(txid))) missing.push(txid);
    await close();
    assert.deepEqual(missing, [], `round ${round}: ${heard.length} claims heard back`);
  }
});

/**
 * A transaction that claims `first`, then stops until `go()` before claiming `second`: `halfway` resolves between
 * the two, `work` is the transaction.
 */
function halfDoneTransaction(db: Kysely<LedgerDatabase>, first: number, second: number) {
  let reached!: () => void;
  const halfway = new Promise<void>((resolve) => {
    reached = resolve;
  });
  let go!: () => void;
  const gate = new Promise<void>((resolve) => {
    go = resolve;
  });
  const work = db.transaction().execute(async (trx) => {
    const inside = new SqlLedger(trx, { dialect: 'sqlite' });
    await inside.claim(settlement(first));
    reached();
    await gate;
    await inside.claim(settlement(second));
  });
  return { halfway, go, work };
}

test('destroy() while a transaction is half done commits none of it', async () => {
  const { db, committed } = await open();
  const { halfway, go, work } = halfDoneTransaction(db, 30, 31);
  await halfway;
  await db.destroy();
  go();
  await assert.rejects(work);
  // All or nothing: the first claim of a transaction that never finished must not be on disk.
  assert.equal(committed(), 0);
});

test('a transaction whose commit failed cannot, rolling back, undo or unlock the transaction after it', async () => {
  const database = new Database(join(dir, `ledger-${files++}.db`));
  database.pragma('journal_mode = WAL');
  database.pragma('foreign_keys = ON');
  database.exec(`create table parent (id integer primary key);
    create table child (id integer primary key, parent integer references parent (id) deferrable initially deferred)`);
  const driver = new GroupCommitSqliteDialect({ database }).createDriver();
  await driver.init();
  const first = await driver.acquireConnection();
  await driver.beginTransaction(first, {});
  await first.executeQuery(CompiledQuery.raw('insert into child values (1, 99)'));
  // The deferred foreign key fails the batch's COMMIT itself, as a full disk or an I/O error would.
  await assert.rejects(driver.commitTransaction(first), /FOREIGN KEY/);
  const second = await driver.acquireConnection();
  await driver.beginTransaction(second, {});
  await second.executeQuery(CompiledQuery.raw('insert into parent values (1)'));
  // What Kysely does next: a transaction whose commit threw is rolled back (TransactionBuilder.execute).
  await driver.rollbackTransaction(first);
  await second.executeQuery(CompiledQuery.raw('insert into parent values (2)'));
  await driver.commitTransaction(second);
  const { n } = database.prepare('select count(*) as n from parent').get() as { n: number };
  assert.equal(n, 2);
  await driver.destroy();
});

/** A ledger whose WAL syncs wait for the test: `syncs` holds the pending ones, resolve or fail each by hand. */
async function openWithHeldSyncs() {
  const path = join(dir, `ledger-${files++}.db`);
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.defaultSafeIntegers(true);
  const syncs: { resolve(): void; reject(error: Error): void }[] = [];
  const syncWal = () =>
    new Promise<void>((resolve, reject) => {
      syncs.push({ resolve, reject });
    });
  const dialect = new GroupCommitSqliteDialect({ database, syncWal });
  const db = new Kysely<LedgerDatabase>({ dialect });
  // Migrations sync too: let them through.
  const migrating = migrateLedger(db);
  const release = setInterval(() => {
    for (const sync of syncs.splice(0)) sync.resolve();
  }, 1);
  await migrating;
  clearInterval(release);
  for (const sync of syncs.splice(0)) sync.resolve();
  const ledger = new SqlLedger(db, { dialect: 'sqlite', run: (query) => dialect.execute(query) });
  const reader = new Database(path, { readonly: true });
  const committed = () =>
    Number((reader.prepare('select count(*) as n from x402_settlements').get() as { n: number }).n);
  return { db, dialect, ledger, syncs, committed };
}

/** Resolves every held sync, now and as they come, until the returned function is called. */
function releaseSyncs(syncs: { resolve(): void }[]): () => void {
  for (const sync of syncs.splice(0)) sync.resolve();
  const pump = setInterval(() => {
    for (const sync of syncs.splice(0)) sync.resolve();
  }, 1);
  return () => clearInterval(pump);
}

for (const path of ['straight to the driver', 'through Kysely'] as const) {
  test(`once destroy() began, a new write is refused, not committed (${path})`, async () => {
    const { db, dialect, syncs, committed } = await openWithHeldSyncs();
    const ledger =
      path === 'through Kysely'
        ? new SqlLedger(db, { dialect: 'sqlite' })
        : new SqlLedger(db, { dialect: 'sqlite', run: (query) => dialect.execute(query) });
    // A commit waiting for its sync keeps destroy() open while the late write comes.
    const first = ledger.claim(settlement(70));
    assert.equal(await settled(first), false);
    const closing = db.destroy();
    // Kysely reaches the driver's destroy a turn later; a write in the same turn as the call still runs before it.
    await new Promise((resolve) => setImmediate(resolve));
    const late = ledger.claim(settlement(71));
    const lateSettled = late.then(
      () => 'answered',
      () => 'refused',
    );
    // Time for the late write to run and commit while destroy() still waits for the first sync.
    await settled(late);
    const stop = releaseSyncs(syncs);
    assert.equal((await first).claimed, true);
    await closing;
    stop();
    assert.equal(await lateSettled, 'refused');
    assert.equal(committed(), 1);
  });
}

test('destroy() with a sync pending, a transaction half done: none of it is committed, its next statement refused', async () => {
  const { db, ledger, syncs, committed } = await openWithHeldSyncs();
  const pending = ledger.claim(settlement(80));
  assert.equal(await settled(pending), false);
  // destroy() rolls the first half back while it waits for the pending sync: the second must not run on its own.
  const { halfway, go, work } = halfDoneTransaction(db, 81, 82);
  await halfway;
  const closing = db.destroy();
  go();
  await assert.rejects(work);
  const stop = releaseSyncs(syncs);
  assert.equal((await pending).claimed, true);
  await closing;
  stop();
  assert.equal(committed(), 1, 'only the claim made outside the transaction is on disk');
});

test('a second Kysely over one dialect is refused: two drivers would share one connection', () => {
  const database = new Database(join(dir, `ledger-${files++}.db`));
  const dialect = new GroupCommitSqliteDialect({ database });
  new Kysely<LedgerDatabase>({ dialect });
  assert.throws(() => new Kysely<LedgerDatabase>({ dialect }), /already serves/);
  database.close();
});

test('destroy() a few microtasks after a transaction began, a write in the same turn: it closes, whatever the gap', async () => {
  // A transaction takes the turn at once and makes its savepoint a microtask later: close can fall in between.
  const failures: string[] = [];
  for (let gap = 0; gap < 12; gap++) {
    const database = new Database(join(dir, `ledger-${files++}.db`));
    database.pragma('journal_mode = WAL');
    database.exec('create table t (x integer)');
    const dialect = new GroupCommitSqliteDialect({ database });
    const db = new Kysely<{ t: { x: number } }>({ dialect });
    await db.selectFrom('t').selectAll().execute();
    const write = dialect.execute(CompiledQuery.raw('insert into t values (1)'));
    const work = db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('t').values({ x: 2 }).execute();
      })
      .then(
        () => 'committed',
        () => 'refused',
      );
    for (let i = 0; i < gap; i++) await Promise.resolve();
    const closed = await db.destroy().then(
      () => undefined,
      (error: Error) => error.message,
    );
    if (closed !== undefined) failures.push(`gap ${gap}: destroy threw ${closed}`);
    if (database.open) failures.push(`gap ${gap}: the file is still open`);
    await work;
    await write.catch(() => undefined);
  }
  assert.deepEqual(failures, []);
});

/** Whether a promise has settled, after letting every pending turn of the event loop run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  return done;
}

test('with the WAL synced off the event loop, no write or read of it answers before its sync ends', async () => {
  const { db, dialect, ledger, syncs } = await openWithHeldSyncs();
  const claim = ledger.claim(settlement(40));
  assert.equal(await settled(claim), false, 'a claim answered before its WAL sync');
  assert.equal(syncs.length, 1);
  // Committed to the OS but not yet on disk: a read of it waits for the same sync, and so does a claim made meanwhile,
  // whose own commit needs a sync that begins after it.
  const read = ledger.get(settlement(40).paymentTxid);
  const later = ledger.claim(settlement(41));
  assert.equal(await settled(read), false, 'a read of an unsynced commit answered');
  syncs.shift()!.resolve();
  assert.equal((await claim).claimed, true);
  assert.ok(await read);
  assert.equal(await settled(later), false, 'a commit made during a sync rode on it');
  assert.equal(syncs.length, 1);
  syncs.shift()!.resolve();
  assert.equal((await later).claimed, true);
  // Nothing left unsynced: a read answers without waiting for any sync.
  assert.ok(await ledger.get(settlement(41).paymentTxid));
  assert.equal(syncs.length, 0);
  assert.ok(dialect.stats.syncs >= 2);
  const closing = db.destroy();
  await closing;
});

test('a failed WAL sync fails its callers and every write and read after it', async () => {
  const { db, ledger, syncs } = await openWithHeldSyncs();
  const claim = ledger.claim(settlement(50));
  await settled(claim);
  syncs.shift()!.reject(new Error('EIO: the disk failed'));
  await assert.rejects(claim, /EIO/);
  // After a failed fsync nothing can be called durable: the ledger refuses until it is opened again.
  await assert.rejects(ledger.claim(settlement(51)), /EIO/);
  await assert.rejects(ledger.get(settlement(50).paymentTxid), /EIO/);
  assert.equal(syncs.length, 0);
  await db.destroy();
});

test('the ledger opened on a file syncs the WAL itself, and its commits survive reopening', async () => {
  const path = join(dir, 'synced.db');
  const first = await openSqliteLedger({ path });
  const { rows } = await sql<{ synchronous: bigint }>`pragma synchronous`.execute(first.db);
  // NORMAL: SQLite leaves the commit's sync to the driver, which does it before anyone hears back.
  assert.equal(rows[0]?.synchronous, 1n);
  await Promise.all([1, 2, 3].map((i) => first.ledger.claim(settlement(60 + i))));
  await first.close();
  const second = await openSqliteLedger({ path });
  for (const i of [1, 2, 3]) assert.ok(await second.ledger.get(settlement(60 + i).paymentTxid));
  await second.close();
});

test('a claim to send answers only once it is synced, kept or refused: the caller broadcasts on it', async () => {
  const { db, ledger, syncs, committed } = await openWithHeldSyncs();
  const claimToSend = ledger.claimToSend?.bind(ledger);
  assert.ok(claimToSend);
  // A plain claim of the payer in the same turn: the refusal below is judged on it, before it is durable.
  const plain = ledger.claim(settlement(90));
  const kept = claimToSend(settlement(91, { nonce: 91n }), () => undefined);
  const refused = claimToSend(settlement(92), (inFlight) =>
    inFlight.length > 2 ? 'three in flight' : undefined,
  );
  assert.equal(await settled(kept), false, 'the kept claim waits for its sync');
  assert.equal(await settled(refused), false, 'the refusal waits for the sync of what it saw');
  assert.equal(committed(), 2, 'committed, not yet synced');
  const stop = releaseSyncs(syncs);
  const [, keptClaim, refusedClaim] = await Promise.all([plain, kept, refused]);
  stop();
  assert.equal(keptClaim.claimed && keptClaim.record.state, 'broadcast');
  assert.deepEqual(refusedClaim, { claimed: false, refused: 'three in flight' });
  assert.equal(committed(), 2);
  await db.destroy();
});
