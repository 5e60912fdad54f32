/**
 * A channel charge is a compare-and-set across processes: two processes, released together, fire 25 charges each from
 * the same expected total on one PostgreSQL schema, then on one SQLite file. Exactly one of the fifty wins, and the
 * stored total is the winner's.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { testPostgresUrl } from '@x402-stacks/test-kit';
import {
  channelOf,
  escrowState,
  signatureOf,
} from '@x402-stacks/test-kit/channel-ledger-conformance';
import { sql } from 'kysely';
import { openPostgresLedger } from '../src/ledger/postgres.js';
import type { SqlChannelLedger } from '../src/ledger/sql-channel-ledger.js';
import { openSqliteLedger } from '../src/ledger/sqlite.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./channel-cross-process.worker.ts', import.meta.url));
const PROCESSES = 2;
const POSTGRES_URL = await testPostgresUrl();
/** Past 2^64, so the race runs on amounts that only exact storage keeps apart. */
const EXPECTED = 2n ** 100n;

/** Mirrors the channel and charges it to {@link EXPECTED}, the total every racing charge expects. */
async function prepare(channels: SqlChannelLedger): Promise<void> {
  await channels.mirrorChannel(channelOf(1), escrowState(EXPECTED * 2n), 1_000);
  const start = await channels.chargeChannel(
    channelOf(1).channelId,
    { expectedCharged: 0n, charged: EXPECTED, signedMax: EXPECTED, signature: signatureOf(0) },
    2_000,
  );
  assert.equal(start?.charged, EXPECTED);
}

async function race(target: string, schema: string, dir: string): Promise<string[]> {
  const barrier = join(dir, 'barrier');
  mkdirSync(barrier);
  const outputs = await Promise.all(
    Array.from({ length: PROCESSES }, (_, index) =>
      run(
        process.execPath,
        [
          '--import',
          'tsx',
          worker,
          schema ? 'postgres' : 'sqlite',
          target,
          schema,
          barrier,
          String(PROCESSES),
          String(index),
          String(EXPECTED),
        ],
        { timeout: 60_000 },
      ),
    ),
  );
  return outputs.flatMap(
    ({ stdout }) => (JSON.parse(stdout.trim().split('\n').at(-1)!) as { won: string[] }).won,
  );
}

async function assertOneWinner(channels: SqlChannelLedger, won: string[]): Promise<void> {
  assert.equal(won.length, 1, 'exactly one of the fifty charges wins across processes');
  const stored = await channels.getChannel(channelOf(1).channelId);
  assert.equal(String(stored?.charged), won[0]);
  assert.equal(stored?.signature, signatureOf(BigInt(won[0]!)));
}

describe('channel charges across processes', { timeout: 120_000 }, () => {
  test('PostgreSQL', async () => {
    const schema = `x402_channels_cross_${process.pid}_${Date.now()}`;
    const dir = mkdtempSync(join(tmpdir(), 'x402-channels-cross-'));
    // Created up front, so the racing processes do not all create it at once.
    const setup = await openPostgresLedger({ connectionString: POSTGRES_URL, schema });
    try {
      await prepare(setup.channels);
      await assertOneWinner(setup.channels, await race(POSTGRES_URL, schema, dir));
    } finally {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(setup.db);
      await setup.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('SQLite, one file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x402-channels-cross-'));
    const path = join(dir, 'ledger.db');
    const setup = await openSqliteLedger({ path });
    try {
      await prepare(setup.channels);
      await assertOneWinner(setup.channels, await race(path, '', dir));
    } finally {
      await setup.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
