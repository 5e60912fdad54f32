/** The service as a process: started with only environment variables, healthy against the devnet, stopped cleanly. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { type RunningProcess, startProcess, testPostgresUrl } from '@x402-stacks/test-kit';
import Database from 'better-sqlite3';
import { stxPaymentBody } from './payment-body.js';
import { assertEndedAtDeadline, stopWithLedgerStuck } from './stuck-ledger.js';

const POSTGRES_URL = await testPostgresUrl();
/** The service's entry point, run from its sources. */
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** The service on SQLite against a devnet of its own, for `run`; everything is stopped and removed after. */
async function withService(
  run: (service: RunningProcess, devnet: Devnet) => Promise<void>,
): Promise<void> {
  const devnet = await startDevnet({ port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'x402-facilitator-'));
  const service = await startProcess(['--import', 'tsx', main], {
    PORT: '0',
    STACKS_API_URL_TESTNET: devnet.url,
    DATABASE_URL: `sqlite:${join(dir, 'ledger.db')}`,
  });
  try {
    await run(service, devnet);
  } finally {
    service.child.kill('SIGKILL');
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

test(
  'starts from the environment, serves /health, and exits 0 on SIGTERM',
  {
    timeout: 60_000,
  },
  () =>
    withService(async (service) => {
      const health = await fetch(`${service.url}/health`);
      assert.equal(health.status, 200);
      const supported = (await (await fetch(`${service.url}/supported`)).json()) as {
        kinds: { network: string }[];
      };
      assert.equal(supported.kinds[0]?.network, 'stacks:2147483648');
      assert.equal(await service.stop('SIGTERM'), 0);
    }),
);

test(
  'a log reader that goes away costs the lines, not the service: it serves on, and exits 0 on SIGTERM',
  {
    timeout: 60_000,
  },
  () =>
    withService(async (service) => {
      // As a log shipper that died: the service's next writes to standard output fail with EPIPE.
      service.child.stdout.destroy();
      // Fewer lines than the 4 KiB the output holds: nothing is written, so nothing has failed, before the stop.
      for (let i = 0; i < 5; i++)
        assert.equal((await fetch(`${service.url}/supported`)).status, 200);
      assert.equal((await fetch(`${service.url}/health`)).status, 200);
      const started = Date.now();
      // Before, the stop's flush of the held lines retried the failed write forever, deaf to every later signal.
      assert.equal(await service.stop('SIGTERM'), 0);
      assert.ok(Date.now() - started < 5_000, `stopped after ${Date.now() - started} ms`);
    }),
);

test(
  'a settlement through the service: /metrics has the time of each step it took, and lists the others at zero',
  { timeout: 60_000 },
  () =>
    withService(async (service, devnet) => {
      const body = await stxPaymentBody({
        payer: devnet.accounts[0]!.account,
        payTo: devnet.accounts[1]!.address,
        nonce: 0n,
      });
      const settled = (await (
        await fetch(`${service.url}/settle`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as { success: boolean; errorReason?: string };
      assert.equal(settled.success, true, settled.errorReason);
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      const count = (step: string) =>
        Number(
          new RegExp(`x402_facilitator_settle_step_seconds_count\\{step="${step}"\\} (\\d+)`).exec(
            metrics,
          )?.[1],
        );
      for (const step of ['replay_check', 'verify', 'claim', 'broadcast', 'confirm'])
        assert.equal(count(step), 1, step);
      for (const step of [
        'retry',
        'funds_check',
        'nonce_wait',
        'payment_id',
        'sponsor',
        'write_ahead',
      ])
        assert.equal(count(step), 0, step);
      const confirmed = Number(
        /x402_facilitator_settle_step_seconds_sum\{step="confirm"\} ([\d.e-]+)/.exec(metrics)?.[1],
      );
      assert.ok(confirmed > 0, `confirm took ${confirmed} s`);
    }),
);

test('a bad configuration exits 2 and lists the problem', { timeout: 30_000 }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, PORT: 'nope' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 2);
  assert.match(errors, /PORT/);
});

test(
  'at SIGTERM a settle call waiting on a stalled chain answers settlement_pending and the process exits 0 at once, the settlement kept broadcast',
  {
    timeout: 60_000,
  },
  () =>
    onSqlite(async (running) => {
      running.devnet.chain.stall(true);
      const { code, tookMs, answer } = await stopDuringSettle(
        running,
        0n,
        () => running.devnet.chain.mempool.length > 0,
        'the settle call broadcast its payment',
      );
      assert.equal(code, 0);
      assert.ok(tookMs < 5_000, `stopped after ${tookMs} ms`);
      assert.ok(!(answer instanceof Error), `answered, not cut: ${String(answer)}`);
      assert.equal(answer.headers.get('connection'), 'close');
      const settled = (await answer.json()) as { success: boolean; errorReason?: string };
      assert.equal(settled.success, false);
      assert.equal(settled.errorReason, 'settlement_pending');
      assert.deepEqual(ledgerRows(running.path, 'select state from x402_settlements'), [
        { state: 'broadcast' },
      ]);
      // Answered once: a retry of the payment is a duplicate until it is confirmed, then served once (with its id).
      assert.deepEqual(ledgerRows(running.path, 'select answer from x402_answers'), [
        { answer: 'pending' },
      ]);
    }),
);

test(
  "a request still running when the stop grace ends (a payment waiting for its payer's earlier nonce) is cut 10 s after SIGTERM, and gives its claim back unsent",
  {
    timeout: 60_000,
  },
  () =>
    onSqlite(async (running) => {
      // Nonce 1 while the payer never sent nonce 0: the payment waits in the ledger, claimed, for its turn.
      const { code, tookMs, answer } = await stopDuringSettle(
        running,
        1n,
        () => ledgerRows(running.path, 'select state from x402_settlements').length > 0,
        'the settle call claimed its payment',
      );
      assert.equal(code, 0);
      assert.ok(tookMs >= 9_500 && tookMs < 14_000, `stopped after ${tookMs} ms`);
      assert.ok(answer instanceof Error, 'the call in flight was cut, not answered');
      assert.match(
        running.service.output(),
        /connections still open at the end of the stop grace were closed/,
      );
      // The cut ended the nonce wait as a hang-up: the claim was given back before the ledger closed.
      assert.deepEqual(ledgerRows(running.path, 'select state from x402_settlements'), []);
      assert.equal(running.devnet.chain.mempool.length, 0, 'nothing was broadcast');
    }),
);

test('a stop held up by a ledger stuck on a lock ends 15 s after SIGTERM with exit 1, and says so', {
  timeout: 60_000,
}, async () => {
  assertEndedAtDeadline(await stopWithLedgerStuck(['--import', 'tsx', main], POSTGRES_URL));
});

/**
 * Runs `body` against the service started from its sources on a SQLite ledger and a devnet, with settle calls that
 * would wait two minutes (for a confirmation or for the payer's earlier nonce) unless a stop ends them first.
 */
async function onSqlite(body: (running: Running) => Promise<void>): Promise<void> {
  const devnet = await startDevnet({ port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'x402-facilitator-'));
  const path = join(dir, 'ledger.db');
  try {
    const service = await startProcess(['--import', 'tsx', main], {
      PORT: '0',
      STACKS_API_URL_TESTNET: devnet.url,
      DATABASE_URL: `sqlite:${path}`,
      SETTLE_TIMEOUT_MS: '120000',
      CLAIM_LEASE_MS: '150000',
    });
    try {
      await body({ devnet, service, path });
    } finally {
      service.child.kill('SIGKILL');
    }
  } finally {
    devnet.chain.stall(false);
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

type Running = { devnet: Devnet; service: RunningProcess; path: string };

/**
 * Sends a payment of the devnet's first account at `nonce` to `/settle`, waits until `reached` says the call got that
 * far, then sends SIGTERM.
 * @returns the exit code, the time from the signal to the exit, and the call's answer or, when it was cut, its error.
 */
async function stopDuringSettle(
  { devnet, service }: Running,
  nonce: bigint,
  reached: () => boolean,
  what: string,
): Promise<{ code: number | null; tookMs: number; answer: Response | Error }> {
  const body = await stxPaymentBody({
    payer: devnet.accounts[0]!.account,
    payTo: devnet.accounts[1]!.address,
    nonce,
  });
  const settling = fetch(`${service.url}/settle`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  await until(reached, what);
  const signalledAt = performance.now();
  const code = await service.stop('SIGTERM');
  return { code, tookMs: Math.round(performance.now() - signalledAt), answer: await settling };
}

/** Rows of the service's SQLite ledger, read beside it. */
function ledgerRows(path: string, query: string): unknown[] {
  const ledger = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return ledger.prepare(query).all();
  } finally {
    ledger.close();
  }
}

/** Waits for `done`, at most 10 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  const by = Date.now() + 10_000;
  while (!done()) {
    assert.ok(Date.now() < by, what);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
