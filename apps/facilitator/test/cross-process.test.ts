/**
 * Claims and sponsor nonces stay atomic across processes: three processes race on one PostgreSQL schema, then on one
 * SQLite file. Exactly one claim wins overall, the sponsor nonces handed out are distinct and consecutive, and claims
 * to send of one payer, admitted while at most ten are broadcast, keep exactly ten across processes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { testPostgresUrl } from '@x402-stacks/test-kit';
import { sql } from 'kysely';
import { openPostgresLedger } from '../src/ledger/postgres.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./cross-process.worker.ts', import.meta.url));
const PROCESSES = 3;
const POSTGRES_URL = await testPostgresUrl();

type Raced = { won: number; nonces: string[]; sent: number };

/** Runs the racing processes; they meet in a folder of their own before their claims to send. */
async function race(args: string[]): Promise<Raced[]> {
  const meeting = mkdtempSync(join(tmpdir(), 'x402-meet-'));
  try {
    const outputs = await Promise.all(
      Array.from({ length: PROCESSES }, () =>
        run(process.execPath, ['--import', 'tsx', worker, ...args, meeting, String(PROCESSES)], {
          timeout: 60_000,
        }),
      ),
    );
    return outputs.map(({ stdout }) => JSON.parse(stdout.trim().split('\n').at(-1)!));
  } finally {
    rmSync(meeting, { recursive: true, force: true });
  }
}

function assertRace(results: Raced[]): void {
  assert.equal(
    results.reduce((total, r) => total + r.won, 0),
    1,
    'exactly one claim wins across processes',
  );
  const nonces = results.flatMap((r) => r.nonces.map(BigInt)).sort((a, b) => (a < b ? -1 : 1));
  assert.deepEqual(
    nonces,
    Array.from({ length: PROCESSES * 25 }, (_, i) => BigInt(i)),
  );
  assert.equal(
    results.reduce((total, r) => total + r.sent, 0),
    10,
    'claims to send of one payer each saw the ones kept before them, in every process',
  );
}

describe('ledger across processes', { timeout: 120_000 }, () => {
  test('PostgreSQL', async () => {
    const connectionString = POSTGRES_URL;
    const schema = `x402_cross_${process.pid}_${Date.now()}`;
    // Created up front, so the racing processes do not all create it at once.
    const setup = await openPostgresLedger({ connectionString, schema });
    try {
      assertRace(await race(['postgres', connectionString, schema]));
    } finally {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(setup.db);
      await setup.close();
    }
  });

  test('SQLite, one file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x402-cross-'));
    try {
      assertRace(await race(['sqlite', join(dir, 'ledger.db'), '']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
