/**
 * A Kysely dialect for better-sqlite3 that commits many callers' writes with one disk sync (group commit).
 *
 * The ledger must not lose a claim to a power loss, so every commit is synced (`synchronous = FULL`). On this class
 * of machine a sync costs about 1.4 ms, and better-sqlite3 waits for it on the event loop: with one commit per
 * statement a settlement's three or four writes held the whole process for ~5 ms. Here the first write of an
 * event-loop turn opens a transaction (`BEGIN IMMEDIATE`, so the write lock is taken before anything is read), the
 * writes of every caller in that turn join it, and it commits once when the turn ends. No caller hears back before
 * the commit that made its work durable, so nothing anyone acted on can be undone by a crash.
 *
 * An explicit transaction (`db.transaction()`) runs as a savepoint inside the open batch, and no other caller's
 * statement runs until it ends, so its rollback undoes only its own work. Reads outside any batch answer at once;
 * a read inside a batch sees writes not yet durable, so it too answers only after the commit.
 *
 * Two processes on one file still work: a batch holds the write lock for one event-loop turn, and the other
 * process's `BEGIN IMMEDIATE` waits for it (`busy_timeout`).
 *
 * With `syncWal` (what `sqlite.ts` opens), the disk sync leaves the event loop: the file runs `synchronous = NORMAL`,
 * under which a WAL commit is a write to the OS and no sync, and the driver syncs the WAL file itself on libuv's
 * thread pool after each commit. A commit's callers hear back only once a sync that began after the commit has
 * finished, and a read answers only once everything committed before it is synced, so every caller sees exactly
 * what `synchronous = FULL` promises (a commit that answered survives a power loss) without the event loop waiting
 * ~1–2 ms per commit for the disk. Commits made while a sync runs share the next one. A failed sync fails its callers
 * and every later one until the ledger is opened again: after a failed fsync the kernel may have dropped the pages,
 * and a later fsync that succeeds says nothing about them.
 * @module
 */
import type Database from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SqliteDialect,
  type SqliteDialectConfig,
} from 'kysely';

/**
 * What the driver counts, for tests and metrics: commits made, statements they carried, WAL syncs made, and reads
 * `readRemembered` answered from memory.
 */
export type GroupCommitStats = {
  commits: number;
  statements: number;
  syncs: number;
  rememberedReads: number;
};

/**
 * SQLite through better-sqlite3, with group commit. Use it like Kysely's `SqliteDialect`.
 * @example
 * ```ts
 * const dialect = new GroupCommitSqliteDialect({ database: new Database('ledger.db') });
 * const db = new Kysely<LedgerDatabase>({ dialect });
 * ```
 */
export class GroupCommitSqliteDialect extends SqliteDialect {
  readonly #database: Database.Database;
  readonly #syncWal: (() => Promise<void>) | undefined;
  readonly stats: GroupCommitStats = { commits: 0, statements: 0, syncs: 0, rememberedReads: 0 };

  /**
   * @param config.syncWal makes the WAL durable (an fsync of the `-wal` file off the event loop); give it only with
   * `synchronous = NORMAL` set on the database, since under `FULL` SQLite already syncs at every commit.
   */
  constructor(
    config: SqliteDialectConfig & {
      database: Database.Database;
      syncWal?: () => Promise<void>;
    },
  ) {
    super(config);
    this.#database = config.database;
    this.#syncWal = config.syncWal;
  }

  #driver: GroupCommitDriver | undefined;

  override createDriver(): Driver {
    // One driver per connection: two would keep two batches on one connection, each committing the other's writes.
    if (this.#driver !== undefined)
      throw new Error('this dialect already serves a Kysely instance');
    this.#driver = new GroupCommitDriver(this.#database, this.stats, this.#syncWal);
    return this.#driver;
  }

  /**
   * Runs one statement outside any transaction, exactly as `db.executeQuery` on a Kysely over this dialect does, but
   * straight to the driver: Kysely's connection and result-plugin steps cost a third of a one-row read.
   * @throws {Error} before a Kysely instance was made over this dialect.
   */
  execute<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const driver = this.#driver;
    if (driver === undefined) throw new Error('no Kysely instance uses this dialect yet');
    return driver.execute<R>(new Handle(driver), query);
  }

  /**
   * Runs a read, or answers it with the rows the same read (same SQL, same values) found last, when provably nothing
   * in the database changed since: no write through this connection (counted here) and no commit by any other
   * connection or process (SQLite's `data_version`, read before the rows, so a commit landing between the two only
   * makes the remembered rows count as older than they are). Asking `data_version` costs a third of a one-row read:
   * for the hottest read, a voucher's channel. The rows (and their array) are frozen, shared by every caller that
   * gets them. Every write must go through this dialect: one made on the better-sqlite3 handle behind its back is
   * neither counted nor seen in `data_version` (which moves only for other connections' commits).
   * @throws {Error} before a Kysely instance was made over this dialect.
   */
  readRemembered<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const driver = this.#driver;
    if (driver === undefined) throw new Error('no Kysely instance uses this dialect yet');
    return driver.readRemembered<R>(new Handle(driver), query);
  }
}

type Waiter = { resolve(): void; reject(error: unknown): void };

function refuseWhile(closing: boolean): void {
  if (closing) throw new Error('the ledger is closing: no statement starts after close');
}

/** One handle per acquired connection, so the driver knows whose statement runs inside an explicit transaction. */
class Handle implements DatabaseConnection {
  constructor(readonly driver: GroupCommitDriver) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, query);
  }

  // biome-ignore lint/correctness/useYield: streaming is refused before anything is yielded
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the ledger does not stream queries');
  }
}

/** A read's identity: its SQL and each value with its type (SQLite compares `'1'` and `1` differently). */
function rememberedKey(query: CompiledQuery): string {
  let key = query.sql;
  for (const value of query.parameters) {
    // Each value length-prefixed, so no value's text can run into the next one's; bytes as hex, not as UTF-8.
    const text = value instanceof Uint8Array ? Buffer.from(value).toString('hex') : String(value);
    key += `\u0000${typeof value}:${text.length}:${text}`;
  }
  return key;
}

/** Remembered reads kept: past it the oldest goes. A channel each, for a facilitator's active channels. */
const MAX_REMEMBERED = 4_096;

class GroupCommitDriver implements Driver {
  readonly #db: Database.Database;
  readonly #stats: GroupCommitStats;
  /** Callers waiting for the open batch's commit. Undefined when no batch is open. */
  #batch: Waiter[] | undefined;
  #commitScheduled = false;
  /** The handle whose explicit transaction is open; everyone else's statements wait for it to end. */
  #owner: Handle | undefined;
  #waiting: (() => void)[] = [];
  readonly #syncWal: (() => Promise<void>) | undefined;
  /** Commits made, and how many of them a finished sync covers: callers wait until the second reaches theirs. */
  #committed = 0;
  #synced = 0;
  /** Callers waiting for the sync that covers commit `upTo`, oldest first. */
  #unsynced: (Waiter & { upTo: number })[] = [];
  #syncing = false;
  /** Set by a failed sync: nothing after it can be called durable. */
  #syncFailure: unknown;
  /** Set as `destroy` begins: no statement and no transaction starts after it, whoever asks. */
  #closing = false;
  /** Whether the owner's savepoint exists (it is made a microtask after the owner takes the turn). */
  #savepointOpen = false;
  /** Write statements run through this connection, failed ones included: a remembered read is older than any. */
  #writes = 0;
  #dataVersion: Database.Statement | undefined;
  /** `readRemembered`'s rows, by query, with the `data_version` and write count they were read at. */
  readonly #remembered = new Map<string, { version: bigint; writes: number; rows: unknown[] }>();

  constructor(db: Database.Database, stats: GroupCommitStats, syncWal?: () => Promise<void>) {
    this.#db = db;
    this.#stats = stats;
    this.#syncWal = syncWal;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new Handle(this);
  }

  async releaseConnection(): Promise<void> {}

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const handle = connection as Handle;
    await this.#turn(handle, true);
    // destroy() may have begun between taking the turn and here: it took the turn back, and nothing begins now.
    if (this.#closing) {
      if (this.#owner === handle) this.#owner = undefined;
      refuseWhile(true);
    }
    try {
      this.#openBatch();
      this.#db.exec('savepoint x402_explicit');
      this.#savepointOpen = true;
    } catch (error) {
      this.#releaseOwner();
      throw error;
    }
  }

  async commitTransaction(): Promise<void> {
    this.#db.exec('release x402_explicit');
    this.#savepointOpen = false;
    const durable = this.#join();
    this.#releaseOwner();
    await durable;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // Kysely also rolls back a transaction whose commit threw. It gave up the turn at its commit, and another
    // transaction may hold it now, under the same savepoint name: that one's work is not this rollback's to undo.
    if (this.#owner !== connection) return;
    try {
      // A failed statement can have ended the whole transaction (SQLITE_FULL, an I/O error); #afterFailure has then
      // already told the batch, and there is no savepoint left to roll back to.
      if (this.#db.inTransaction) this.#db.exec('rollback to x402_explicit; release x402_explicit');
    } finally {
      this.#savepointOpen = false;
      this.#releaseOwner();
    }
  }

  async destroy(): Promise<void> {
    // From here nothing new runs: not a late caller's write (it would commit and answer while the file closes), and
    // not the next statement of a transaction rolled back below (it would run outside it, committing half of it).
    this.#closing = true;
    // A transaction still open is not finished: none of its work may be committed with the batch around it. Its own
    // next statement, and everyone waiting for the turn, are refused.
    // Only once its savepoint exists: a transaction that has just taken the turn makes it a moment later.
    if (this.#savepointOpen && this.#db.inTransaction) {
      this.#db.exec('rollback to x402_explicit; release x402_explicit');
    }
    this.#savepointOpen = false;
    this.#owner = undefined;
    this.#commit();
    // Whoever the last commits answer hears back once they are on disk; the file closes after that.
    await this.#durable().catch(() => undefined);
    this.#db.close();
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const go of waiting) go();
  }

  async execute<R>(handle: Handle, query: CompiledQuery): Promise<QueryResult<R>> {
    // Only another handle's open transaction makes a statement wait; a free turn is taken at once.
    if (this.#owner !== undefined && this.#owner !== handle) await this.#turn(handle, false);
    else refuseWhile(this.#closing);
    const owner = this.#owner === handle;
    const statement = this.#db.prepare(query.sql);
    const parameters = query.parameters as unknown[];
    if (statement.readonly) {
      const rows = statement.all(parameters) as R[];
      // What a read sees may include writes not yet durable: it answers once they are (the owner, at its commit).
      if (!owner) {
        if (this.#batch !== undefined) await this.#join();
        else if (!this.#allDurable()) await this.#durable();
      }
      return { rows };
    }
    this.#openBatch();
    this.#writes++;
    let result: QueryResult<R>;
    try {
      if (statement.reader) {
        result = { rows: statement.all(parameters) as R[] };
      } else {
        const { changes, lastInsertRowid } = statement.run(parameters);
        result = { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
      }
    } catch (error) {
      this.#afterFailure(error);
      throw error;
    }
    this.#stats.statements++;
    if (!owner) await this.#join();
    return result;
  }

  async readRemembered<R>(handle: Handle, query: CompiledQuery): Promise<QueryResult<R>> {
    // Only where a plain read would answer at once: no transaction open, nothing committed still waiting for its sync.
    if (
      this.#owner !== undefined ||
      this.#batch !== undefined ||
      !this.#allDurable() ||
      this.#closing
    )
      return this.execute<R>(handle, query);
    this.#dataVersion ??= this.#db.prepare('pragma data_version').pluck().safeIntegers(true);
    const version = this.#dataVersion.get() as bigint;
    const key = rememberedKey(query);
    const known = this.#remembered.get(key);
    if (known !== undefined && known.version === version && known.writes === this.#writes) {
      this.#stats.rememberedReads++;
      // Most recently used last: the bound drops the read unused longest.
      this.#remembered.delete(key);
      this.#remembered.set(key, known);
      return { rows: known.rows as R[] };
    }
    const statement = this.#db.prepare(query.sql);
    if (!statement.readonly) throw new Error('readRemembered runs reads only');
    const rows = statement.all(query.parameters as unknown[]) as R[];
    for (const row of rows) Object.freeze(row);
    Object.freeze(rows);
    this.#remembered.delete(key);
    this.#remembered.set(key, { version, writes: this.#writes, rows });
    if (this.#remembered.size > MAX_REMEMBERED)
      this.#remembered.delete(this.#remembered.keys().next().value!);
    return { rows };
  }

  /**
   * Waits while another handle's explicit transaction is open: its savepoint must hold only its own work. `own`
   * takes the turn for a transaction in the same step that finds it free, so two waiters woken together cannot both
   * take it.
   */
  async #turn(handle: Handle, own: boolean): Promise<void> {
    while (this.#owner !== undefined && this.#owner !== handle) {
      await new Promise<void>((go) => this.#waiting.push(go));
    }
    refuseWhile(this.#closing);
    if (own) this.#owner = handle;
  }

  #openBatch(): void {
    if (this.#batch !== undefined) return;
    this.#db.exec('begin immediate');
    this.#batch = [];
  }

  /** A promise settled by the open batch's commit, which it schedules for the end of this event-loop turn. */
  #join(): Promise<void> {
    const batch = this.#batch;
    if (batch === undefined) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => batch.push({ resolve, reject }));
    if (!this.#commitScheduled) {
      this.#commitScheduled = true;
      setImmediate(() => {
        this.#commitScheduled = false;
        // An explicit transaction still open commits the batch when it ends (#releaseOwner).
        if (this.#owner === undefined) this.#commit();
      });
    }
    return done;
  }

  #commit(): void {
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#batch = undefined;
    try {
      this.#db.exec('commit');
    } catch (error) {
      if (this.#db.inTransaction) this.#db.exec('rollback');
      for (const waiter of batch) waiter.reject(error);
      return;
    }
    this.#stats.commits++;
    this.#committed++;
    if (this.#syncWal === undefined) {
      for (const waiter of batch) waiter.resolve();
      return;
    }
    for (const waiter of batch) this.#unsynced.push({ ...waiter, upTo: this.#committed });
    this.#sync();
  }

  /** Resolves once every commit made so far is on disk (at once when it already is). */
  #durable(): Promise<void> {
    if (this.#syncFailure !== undefined) return Promise.reject(this.#syncFailure);
    if (this.#allDurable()) return Promise.resolve();
    return new Promise<void>((resolve, reject) =>
      this.#unsynced.push({ resolve, reject, upTo: this.#committed }),
    );
  }

  /** Whether every commit made so far is on disk, with no failed sync. */
  #allDurable(): boolean {
    return (
      this.#syncFailure === undefined &&
      (this.#syncWal === undefined || this.#synced >= this.#committed)
    );
  }

  /** Syncs the WAL unless a sync runs already; that one starts the next when it ends, covering what came meanwhile. */
  #sync(): void {
    const syncWal = this.#syncWal;
    if (this.#syncing || syncWal === undefined) return;
    if (this.#syncFailure !== undefined) {
      this.#settleSynced(this.#committed);
      return;
    }
    this.#syncing = true;
    // Everything committed before the fsync starts is covered by it.
    const upTo = this.#committed;
    syncWal().then(
      () => {
        this.#stats.syncs++;
        this.#synced = upTo;
        this.#afterSync(upTo);
      },
      (error: unknown) => {
        this.#syncFailure = error;
        this.#afterSync(this.#committed);
      },
    );
  }

  #afterSync(upTo: number): void {
    this.#syncing = false;
    this.#settleSynced(upTo);
    if (this.#unsynced.length > 0) this.#sync();
  }

  /** Answers the callers whose commits `upTo` covers: they heard nothing before, and now hear the sync's outcome. */
  #settleSynced(upTo: number): void {
    const done = this.#unsynced.filter((waiter) => waiter.upTo <= upTo);
    if (done.length === 0) return;
    this.#unsynced = this.#unsynced.filter((waiter) => waiter.upTo > upTo);
    for (const waiter of done) {
      if (this.#syncFailure === undefined) waiter.resolve();
      else waiter.reject(this.#syncFailure);
    }
  }

  /**
   * A statement failed. Most failures (a constraint) undo only that statement, and the batch goes on; it still
   * needs its commit, since the failed statement may have been the one that opened it. Some (a full disk, an I/O
   * error) make SQLite roll the whole transaction back: every caller in the batch then hears of it, and the next
   * statement opens a new batch instead of running outside one.
   */
  #afterFailure(error: unknown): void {
    if (this.#batch === undefined) return;
    if (this.#db.inTransaction) {
      void this.#join().catch(() => {});
      return;
    }
    const batch = this.#batch;
    this.#batch = undefined;
    // The whole transaction is gone, an explicit one's savepoint with it.
    this.#savepointOpen = false;
    for (const waiter of batch) waiter.reject(error);
  }

  #releaseOwner(): void {
    this.#owner = undefined;
    // What waited on the batch while the transaction ran commits now, unless a commit is already on its way.
    if (!this.#commitScheduled) this.#commit();
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const go of waiting) go();
  }
}
