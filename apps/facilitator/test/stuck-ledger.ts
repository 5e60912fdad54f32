/**
 * A stop the ledger holds up: the service runs on PostgreSQL, another session locks the settlements table (as a long
 * migration or a stuck transaction would), a settle call's read of its payment waits on that lock holding its pooled
 * connection, and the ledger's close waits for it. Shared by the service's and the CLI's stop tests.
 */
import assert from 'node:assert/strict';
import { startDevnet } from '@x402-stacks/devnet';
import { type RunningProcess, startProcess } from '@x402-stacks/test-kit';
import pg from 'pg';
import { stxPaymentBody } from './payment-body.js';

/** What the stop came to. */
export type StuckStop = {
  readonly code: number | null;
  /** From SIGTERM to the exit, in whole milliseconds. */
  readonly tookMs: number;
  readonly errors: string;
  /** Whether the settle call in flight was cut rather than answered. */
  readonly settleCut: boolean;
};

/**
 * Starts `node <args>` as a facilitator on a schema of its own in the PostgreSQL at `connectionString` (the test file's
 * `testPostgresUrl()`), holds its settlements table, sends a settle that waits on it, then SIGTERM.
 * @example
 * ```ts
 * const stop = await stopWithLedgerStuck(['--import', 'tsx', main], await testPostgresUrl());
 * assert.equal(stop.code, 1);
 * ```
 */
export async function stopWithLedgerStuck(
  args: string[],
  connectionString: string,
): Promise<StuckStop> {
  const schema = `x402_stop_${process.pid}_${Date.now()}`;
  const devnet = await startDevnet({ port: 0 });
  const blocker = new pg.Client({ connectionString });
  // A server that ends the session must fail the test, not the process.
  blocker.on('error', () => undefined);
  let service: RunningProcess | undefined;
  try {
    await blocker.connect();
    const body = await stxPaymentBody({
      payer: devnet.accounts[0]!.account,
      payTo: devnet.accounts[1]!.address,
      nonce: 0n,
    });
    service = await startProcess(args, {
      PORT: '0',
      STACKS_API_URL_TESTNET: devnet.url,
      DATABASE_URL: connectionString,
      DATABASE_SCHEMA: schema,
      // No keeper round during the test but the one at start.
      KEEPER_INTERVAL_MS: '600000',
    });
    let errors = '';
    service.child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    await blocker.query('begin');
    await blocker.query(`lock table "${schema}".x402_settlements in access exclusive mode`);
    /** The sessions waiting on this session's lock. */
    const waiting = async () => {
      const { rows } = await blocker.query<{ pid: number }>(
        `select pid from pg_locks where relation = '"${schema}".x402_settlements'::regclass and not granted`,
      );
      return new Set(rows.map((row) => row.pid));
    };
    // The keeper's start-up round may be waiting already, on a connection of its own: the settle call's read is the
    // one that comes after. (The text pg_stat_activity shows for a waiting named statement is its previous one.)
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = await waiting();
    const settling = fetch(`${service.url}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(
      () => false,
      () => true,
    );
    const by = Date.now() + 10_000;
    while (![...(await waiting())].some((pid) => !before.has(pid))) {
      assert.ok(Date.now() < by, 'the settle call waits on the lock');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const signalledAt = performance.now();
    const code = await service.stop('SIGTERM');
    const tookMs = Math.round(performance.now() - signalledAt);
    return { code, tookMs, errors, settleCut: await settling };
  } finally {
    service?.child.kill('SIGKILL');
    await blocker
      .query('rollback')
      .then(() => blocker.query(`drop schema if exists "${schema}" cascade`))
      .catch(() => undefined);
    await blocker.end().catch(() => undefined);
    await devnet.stop();
  }
}

/**
 * What both entry points promise of a stop held up this way: exit 1 at the 15 s deadline, a line on stderr that says
 * so, and the settle call in flight cut rather than answered.
 * @example
 * ```ts
 * assertEndedAtDeadline(await stopWithLedgerStuck(args, connectionString));
 * ```
 */
export function assertEndedAtDeadline(stop: StuckStop): void {
  assert.equal(stop.code, 1);
  assert.ok(stop.tookMs >= 14_500 && stop.tookMs < 25_000, `stopped after ${stop.tookMs} ms`);
  assert.match(stop.errors, /SIGTERM: still stopping after 15 s; exiting/);
  assert.ok(stop.settleCut, 'the call in flight was cut');
}
