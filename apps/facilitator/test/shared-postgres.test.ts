/**
 * Two facilitator processes sharing one PostgreSQL schema, end to end over HTTP against the devnet: a payment sent
 * to both 50 times, with or without a payment-identifier id, is broadcast once and moves the money once; two transactions on one nonce give one success; and
 * sponsored payments settled through both get distinct sponsor nonces and all confirm.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { type RunningProcess, startProcess, testPostgresUrl } from '@x402-stacks/test-kit';
import pg from 'pg';
import type { StacksAccount } from 'x402-stacks';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { type CountingProxy, startCountingProxy } from './counting-proxy.js';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const DATABASE_URL = await testPostgresUrl();

type Settled = { success: boolean; errorReason?: string; transaction: string };

describe('two facilitator processes on one PostgreSQL', { timeout: 120_000 }, () => {
  const schema = `facilitator_e2e_${randomBytes(4).toString('hex')}`;
  let devnet: Devnet;
  let proxy: CountingProxy;
  let processes: RunningProcess[] = [];

  before(async () => {
    devnet = await startDevnet({ port: 0 });
    proxy = await startCountingProxy(devnet.url);
    const env = {
      PORT: '0',
      STACKS_API_URL_TESTNET: proxy.url,
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      SPONSOR_PRIVATE_KEYS: devnet.accounts[9]!.privateKey,
      LOG_LEVEL: 'silent',
      RATE_LIMIT_PER_MINUTE: '0',
    };
    processes = await Promise.all([
      startProcess(['--import', 'tsx', main], env),
      startProcess(['--import', 'tsx', main], env),
    ]);
  });
  after(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGTERM')));
    await proxy.close();
    await devnet.stop();
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  });

  const requirementsFor = (extra?: Record<string, unknown>) => ({
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '3000',
    asset: 'STX',
    payTo: devnet.accounts[1]!.address,
    maxTimeoutSeconds: 300,
    ...(extra ? { extra } : {}),
  });
  async function payment(
    account: StacksAccount,
    requirements: ReturnType<typeof requirementsFor>,
    options: { nonce: bigint; fee?: bigint; paymentId?: string },
  ) {
    const { transaction } = await createPaymentTransaction({
      account,
      requirements,
      nonce: options.nonce,
      ...(requirements.extra ? {} : { fee: options.fee ?? 400n }),
    });
    return JSON.stringify({
      x402Version: 2,
      paymentPayload: {
        x402Version: 2,
        accepted: requirements,
        payload: { transaction },
        ...(options.paymentId
          ? {
              extensions: {
                'payment-identifier': { info: { required: false, id: options.paymentId } },
              },
            }
          : {}),
      },
      paymentRequirements: requirements,
    });
  }
  const settleAt = async (index: number, body: string): Promise<Settled> => {
    const response = await fetch(`${processes[index % 2]!.url}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return (await response.json()) as Settled;
  };

  test('one payment settled 50 times across both: one broadcast, the balance moves once', async () => {
    const seller = devnet.accounts[1]!.address;
    const before = devnet.chain.state.stx(seller);
    const broadcastsBefore = proxy.broadcasts;
    const body = await payment(devnet.accounts[0]!.account, requirementsFor(), { nonce: 0n });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => settleAt(i, body)));
    assert.equal(results.filter((r) => r.success).length, 1);
    assert.deepEqual(
      [...new Set(results.filter((r) => !r.success).map((r) => r.errorReason))],
      ['duplicate_settlement'],
    );
    assert.equal(new Set(results.map((r) => r.transaction)).size, 1, 'every answer names the txid');
    assert.equal(proxy.broadcasts - broadcastsBefore, 1);
    assert.equal(devnet.chain.state.stx(seller), before + 3000n);
  });

  test('one payment under a payment-identifier id retried 50 times across both: one broadcast, at most 1 + 3 successes, counted in the ledger', async () => {
    const seller = devnet.accounts[1]!.address;
    const before = devnet.chain.state.stx(seller);
    const broadcastsBefore = proxy.broadcasts;
    const paymentId = 'pay_two_processes_0000000001';
    const body = await payment(devnet.accounts[8]!.account, requirementsFor(), {
      nonce: 0n,
      paymentId,
    });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => settleAt(i, body)));
    const successes = results.filter((r) => r.success).length;
    // The claiming call answers; the retries that see its answer get it again while the id's 3 replays last (the
    // default), and every other one is a duplicate, as without the extension.
    assert.ok(successes >= 1 && successes <= 4, `${successes} successes`);
    assert.deepEqual(
      [...new Set(results.filter((r) => !r.success).map((r) => r.errorReason))],
      successes === 50 ? [] : ['duplicate_settlement'],
    );
    assert.equal(new Set(results.map((r) => r.transaction)).size, 1, 'every answer names the txid');
    assert.equal(proxy.broadcasts - broadcastsBefore, 1, 'one broadcast');
    assert.equal(devnet.chain.state.stx(seller), before + 3000n, 'the money moved once');
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query(
        `select replays from ${schema}.x402_payment_ids where id = $1`,
        [paymentId],
      );
      assert.equal(rows.length, 1);
      assert.equal(
        Number(rows[0].replays),
        successes - 1,
        'each success after the first is a counted replay',
      );
    } finally {
      await client.end();
    }
    // Past its replays, the id answers as any retry does.
    const late = await settleAt(0, body);
    if (successes === 4) assert.equal(late.errorReason, 'duplicate_settlement');
  });

  test('two transactions on one nonce, one to each process: one success', async () => {
    const seller = devnet.accounts[1]!.address;
    const before = devnet.chain.state.stx(seller);
    const payer = devnet.accounts[0]!.account;
    const [a, b] = await Promise.all([
      payment(payer, requirementsFor(), { nonce: 1n, fee: 400n }),
      payment(payer, requirementsFor(), { nonce: 1n, fee: 401n }),
    ]);
    const results = await Promise.all([settleAt(0, a), settleAt(1, b)]);
    assert.equal(results.filter((r) => r.success).length, 1, JSON.stringify(results));
    const loser = results.find((r) => !r.success)!;
    assert.ok(
      ['invalid_exact_stacks_payload_nonce_reused', 'invalid_exact_stacks_payload_nonce'].includes(
        loser.errorReason!,
      ),
      loser.errorReason,
    );
    assert.equal(devnet.chain.state.stx(seller), before + 3000n);
  });

  test('sponsored payments through both processes get distinct sponsor nonces and all confirm', async () => {
    const sponsor = devnet.accounts[9]!.address;
    const sponsorNonceBefore = devnet.chain.state.nonce(sponsor);
    const requirements = requirementsFor({ sponsor });
    const payers = devnet.accounts.slice(2, 8);
    const bodies = await Promise.all(
      payers.map((p) => payment(p.account, requirements, { nonce: 0n })),
    );
    const results = await Promise.all(bodies.map((body, i) => settleAt(i, body)));
    assert.deepEqual(
      results.map((r) => r.success),
      payers.map(() => true),
      JSON.stringify(results.filter((r) => !r.success)),
    );
    assert.equal(
      devnet.chain.state.nonce(sponsor),
      sponsorNonceBefore + BigInt(payers.length),
      'one sponsor nonce per payment, none skipped, none reused',
    );
  });
});
