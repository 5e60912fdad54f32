/**
 * A stop the ledger holds up: the service runs on PostgreSQL, another session locks the settlements table (as a long
 * migration or a stuck transaction would), a settle call's claim waits on that lock holding its pooled connection, and
 * the ledger's close waits for it. Shared by the service's and the CLI's stop tests.
 */
import assert from 'node:assert/strict';
import { startDevnet } from '@x402-stacks/devnet';
import { testPostgresUrl } from '@x402-stacks/test-kit';
import pg from 'pg';
import { stxPaymentBody } from './payment-body.js';
import { startProcess } from './process.js';

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
 * Starts `node <args>` as a facilitator on a PostgreSQL schema of its own, holds its settlements table, sends a settle
 * that waits on it, then SIGTERM.
 * @example
 * ```ts
 * const stop = await stopWithLedgerStuck(['--import', 'tsx', main]);
 * assert.equal(stop.code, 1);
 * ```
 */
export async function stopWithLedgerStuck(args: string[]): Promise<StuckStop> {
  const devnet = await startDevnet({ port: 0 });
  const connectionString = await testPostgresUrl();
  const schema = `x402_stop_${process.pid}_${Date.now()}`;
  const blocker = new pg.Client({ connectionString });
  await blocker.connect();
  const service = await startProcess(args, {
    PORT: '0',
    STACKS_API_URL_TESTNET: devnet.url,
    DATABASE_URL: connectionString,
    DATABASE_SCHEMA: schema,
  });
  let errors = '';
  service.child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  try {
    await blocker.query('begin');
    await blocker.query(`lock table "${schema}".x402_settlements in access exclusive mode`);
    const body = await stxPaymentBody({
      payer: devnet.accounts[0]!.account,
      payTo: devnet.accounts[1]!.address,
      nonce: 0n,
    });
    const settling = fetch(`${service.url}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(
      () => false,
      () => true,
    );
    const by = Date.now() + 10_000;
    for (;;) {
      const { rows } = await blocker.query<{ waiting: number }>(
        `select count(*)::int as waiting from pg_locks where relation = '"${schema}".x402_settlements'::regclass and not granted`,
      );
      if (rows[0]!.waiting > 0) break;
      assert.ok(Date.now() < by, 'the settle call waits on the lock');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const signalledAt = performance.now();
    const code = await service.stop('SIGTERM');
    const tookMs = Math.round(performance.now() - signalledAt);
    return { code, tookMs, errors, settleCut: await settling };
  } finally {
    service.child.kill('SIGKILL');
    await blocker.query('rollback').catch(() => undefined);
    await blocker.query(`drop schema if exists "${schema}" cascade`);
    await blocker.end();
    await devnet.stop();
  }
}
