/**
 * A budget store in a file, shared by every process that opens the same path: an append-only journal of budget
 * records, each written and fsynced before the call returns, under a lock file created with `O_EXCL`. A reservation
 * reads the journal (what was appended since this process last read it) and appends to it while holding the lock,
 * so two processes never both fit under a cap that holds one. A process killed at any point loses nothing it had reported: a record is on disk before the
 * payment it counts is signed, and a torn last line (a write the killed process never finished, so never returned
 * from) is dropped.
 *
 * Node only, reached through `builtin()`: the library itself stays free of node imports for browsers.
 * @module
 */
import { builtin } from '../stacks/builtin.js';
import type { BudgetStore } from './budget.js';
import {
  applyBudgetRecord,
  type BudgetRecord,
  type BudgetState,
  budgetRefusal,
  budgetUsage,
  emptyBudgetState,
  parseBudgetRecord,
} from './budget-ledger.js';
import { BudgetStoreError } from './errors.js';

type Fs = typeof import('node:fs');

const NEWLINE = 0x0a;
const decoder = new TextDecoder();

/**
 * Options of {@link createFileBudgetStore}.
 * @example
 * ```ts
 * const options: FileBudgetStoreOptions = { lockTimeoutMs: 5_000 };
 * ```
 */
export type FileBudgetStoreOptions = {
  /** How long to wait for another process's lock before refusing with `budget_store_busy`, ms. Default 10,000. */
  lockTimeoutMs?: number;
  /**
   * A lock older than this is taken as left behind by a crashed process even if its pid is alive (pids are reused),
   * ms. A holder keeps it for one read and one append. Default 30,000.
   */
  staleLockMs?: number;
  /**
   * Past this many records, and once the journal has doubled since it was last rewritten, it is rewritten as the
   * records that still count. Default 10,000.
   */
  compactAfter?: number;
  /** The clock, for tests. */
  now?: () => number;
};

/**
 * Opens (creating on first use, mode 0600) the budget journal at `path`, shared with every process using the same
 * path on this machine. Node only.
 * @throws {BudgetStoreError} `budget_store_unavailable` outside node.
 * @example
 * ```ts
 * import { createFileBudgetStore, wrapFetchWithPayment } from 'x402-stacks/client';
 * const fetchWithPayment = wrapFetchWithPayment(fetch, account, {
 *   budget: { STX: 5_000_000n },
 *   windowBudget: { STX: 1_000_000n },
 *   budgetStore: createFileBudgetStore('/var/lib/agent/budget.jsonl'),
 * });
 * ```
 */
export function createFileBudgetStore(
  path: string,
  options: FileBudgetStoreOptions = {},
): BudgetStore {
  const fs = builtin<Fs>('node:fs');
  const proc = (globalThis as { process?: { pid: number; kill(pid: number, signal: 0): void } })
    .process;
  if (!fs || !proc) {
    throw new BudgetStoreError(
      'budget_store_unavailable',
      'a file budget store needs node (node:fs); use createMemoryBudgetStore in a browser',
    );
  }
  if (typeof path !== 'string' || path === '') {
    throw new BudgetStoreError('budget_store_unavailable', 'the budget file path is empty');
  }
  const {
    lockTimeoutMs = 10_000,
    staleLockMs = 30_000,
    compactAfter = 10_000,
    now = Date.now,
  } = options;
  const lockPath = `${path}.lock`;
  let counter = 0;
  const newId = () =>
    `${proc.pid.toString(36)}-${now().toString(36)}-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

  const unavailable = (what: string, cause: unknown) =>
    new BudgetStoreError(
      'budget_store_unavailable',
      `the budget file ${path} cannot be ${what}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`,
      { cause },
    );

  const alive = (pid: number) => {
    try {
      proc.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  };

  /** Removes a lock whose holder is gone, under a second lock so that two removers never remove a fresh one. */
  const breakIfStale = () => {
    let content: string;
    let age: number;
    try {
      content = fs.readFileSync(lockPath, 'utf8');
      age = now() - fs.statSync(lockPath).mtimeMs;
    } catch {
      return; // gone already
    }
    const pid = Number.parseInt(content.split(':')[0] ?? '', 10);
    const dead = Number.isSafeInteger(pid) && pid > 0 && pid !== proc.pid && !alive(pid);
    // An empty lock is one whose holder died between creating it and writing its pid (the next statement).
    if (!dead && age < (content === '' ? Math.min(1_000, staleLockMs) : staleLockMs)) return;
    const breaker = `${lockPath}.break`;
    try {
      fs.closeSync(fs.openSync(breaker, 'wx', 0o600));
    } catch {
      try {
        // A breaker that died while breaking (a few microseconds of work) leaves this behind.
        if (now() - fs.statSync(breaker).mtimeMs > staleLockMs) fs.unlinkSync(breaker);
      } catch {}
      return;
    }
    try {
      if (fs.readFileSync(lockPath, 'utf8') === content) fs.unlinkSync(lockPath);
    } catch {
    } finally {
      fs.rmSync(breaker, { force: true });
    }
  };

  const withLock = async <T>(work: () => T): Promise<T> => {
    const token = `${proc.pid}:${newId()}`;
    const deadline = now() + lockTimeoutMs;
    let delay = 1;
    for (;;) {
      try {
        const fd = fs.openSync(lockPath, 'wx', 0o600);
        try {
          fs.writeSync(fd, token);
        } finally {
          fs.closeSync(fd);
        }
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw unavailable('locked', error);
      }
      breakIfStale();
      if (now() > deadline) {
        throw new BudgetStoreError(
          'budget_store_busy',
          `the budget file ${path} stayed locked for ${lockTimeoutMs} ms (its lock file is ${lockPath})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 25);
    }
    try {
      return work();
    } finally {
      try {
        if (fs.readFileSync(lockPath, 'utf8') === token) fs.unlinkSync(lockPath);
      } catch {}
    }
  };

  /**
   * The journal as this process last replayed it. While the file only grew (this or another process appended), the
   * next load replays just the new lines: an agent making thousands of payments must not read and parse the whole
   * journal before each. A rewrite (a compaction renames a new file in) or a cut shows as another inode or a smaller
   * size, and the journal is replayed from the start.
   */
  let replayed:
    | {
        state: BudgetState;
        dev: number;
        ino: number;
        size: number;
        lines: number;
        baseline: number;
      }
    | undefined;

  /** Replays the journal; runs under the lock. */
  const load = (): BudgetState => {
    let stat: { dev: number; ino: number; size: number };
    try {
      stat = fs.statSync(path);
    } catch (error) {
      replayed = undefined;
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyBudgetState();
      throw unavailable('read', error);
    }
    const known =
      replayed?.dev === stat.dev && replayed.ino === stat.ino && stat.size >= replayed.size
        ? replayed
        : undefined;
    if (known && stat.size === known.size) return known.state;
    const from = known?.size ?? 0;
    let bytes: Uint8Array;
    try {
      bytes = readFrom(from, stat.size - from);
    } catch (error) {
      throw unavailable('read', error);
    }
    // A write cut short by a kill: that call never returned, so nothing was signed against it.
    const complete = bytes.lastIndexOf(NEWLINE) + 1;
    if (complete < bytes.length) fs.truncateSync(path, from + complete);
    const text = decoder.decode(bytes.subarray(0, complete));
    const state = known?.state ?? emptyBudgetState();
    const lines = text === '' ? [] : text.slice(0, -1).split('\n');
    const before = known?.lines ?? 0;
    replayed = undefined;
    lines.forEach((line, index) => {
      const record = parseBudgetRecord(line);
      if (!record) {
        throw new BudgetStoreError(
          'budget_store_corrupt',
          `line ${before + index + 1} of the budget file ${path} is not a budget record`,
        );
      }
      applyBudgetRecord(state, record);
    });
    const total = before + lines.length;
    const baseline = known?.baseline ?? total;
    replayed = {
      state,
      dev: stat.dev,
      ino: stat.ino,
      size: from + complete,
      lines: total,
      baseline,
    };
    // Rewritten once it holds twice what it held after the last rewrite: each rewrite is paid for by as many appends.
    if (total > compactAfter && total > 2 * baseline) compact(state);
    return state;
  };

  /** `length` bytes of the journal from `offset`. */
  const readFrom = (offset: number, length: number): Uint8Array => {
    const bytes = new Uint8Array(length);
    const fd = fs.openSync(path, 'r');
    try {
      let read = 0;
      while (read < length) {
        const got = fs.readSync(fd, bytes, read, length - read, offset + read);
        if (got <= 0) break;
        read += got;
      }
      return bytes.subarray(0, read);
    } finally {
      fs.closeSync(fd);
    }
  };

  const append = (records: readonly BudgetRecord[]) => {
    let fd: number;
    try {
      fd = fs.openSync(path, 'a', 0o600);
    } catch (error) {
      throw unavailable('opened', error);
    }
    try {
      const bytes = Buffer.from(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
      const before = fs.fstatSync(fd).size;
      // A short write (a full disk, a file-size limit) must fail the call: reported as written, its torn record would
      // be dropped at the next load as a kill's leftover, and the amount it reserved would count nowhere.
      let written = 0;
      try {
        while (written < bytes.length) {
          const wrote = fs.writeSync(fd, bytes, written, bytes.length - written);
          if (wrote <= 0) throw new Error(`wrote ${written} of ${bytes.length} bytes`);
          written += wrote;
        }
      } catch (error) {
        fs.ftruncateSync(fd, before);
        throw error;
      }
      fs.fsyncSync(fd);
    } catch (error) {
      throw unavailable('written', error);
    } finally {
      fs.closeSync(fd);
    }
  };

  /** Rewrites the journal as the records that still count, atomically (a new file renamed over the old one). */
  const compact = (state: BudgetState) => {
    const records: BudgetRecord[] = [];
    for (const [id, entry] of state.entries) {
      records.push({
        t: 'reserve',
        id,
        asset: entry.asset,
        amount: entry.amount.toString(),
        at: entry.at,
      });
      if (entry.state === 'consumed') records.push({ t: 'consume', id, at: entry.at });
    }
    for (const [asset, at] of state.resets) records.push({ t: 'reset', asset, at });
    const temporary = `${path}.compact`;
    fs.writeFileSync(temporary, records.map((record) => `${JSON.stringify(record)}\n`).join(''), {
      mode: 0o600,
    });
    const fd = fs.openSync(temporary, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(temporary, path);
    const stat = fs.statSync(path);
    replayed = {
      state,
      dev: stat.dev,
      ino: stat.ino,
      size: stat.size,
      lines: records.length,
      baseline: records.length,
    };
  };

  return {
    reserve: ({ asset, amount, limits }) =>
      withLock(() => {
        const state = load();
        const refusal = budgetRefusal(
          budgetUsage(state, asset, limits.windowMs, now()),
          amount,
          limits,
        );
        if (refusal) return refusal;
        const id = newId();
        append([{ t: 'reserve', id, asset, amount: amount.toString(), at: now() }]);
        return { ok: true as const, id };
      }),
    consume: (id) => withLock(() => append([{ t: 'consume', id, at: now() }])),
    release: (id) => withLock(() => append([{ t: 'release', id, at: now() }])),
    usage: (asset, windowMs) => withLock(() => budgetUsage(load(), asset, windowMs, now())),
    assets: () =>
      withLock(() => [...new Set([...load().entries.values()].map((entry) => entry.asset))].sort()),
    resetWindow: (asset) => withLock(() => append([{ t: 'reset', asset, at: now() }])),
  };
}
