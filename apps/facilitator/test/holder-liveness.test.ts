/**
 * Two facilitator processes on one SQLite ledger. A retry of a payment whose settle call is still running in the other
 * process must not take the answer from it (a replay read from the mempool looks the same); a retry of one whose
 * process was killed takes its place as soon as that process's lease lapses, long before the claim lease and the
 * settle timeout would have freed it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDevnet } from '@x402-stacks/devnet';
import { startProcess } from '@x402-stacks/test-kit';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { startCountingProxy } from './counting-proxy.js';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

type SettleAnswer = { success: boolean; errorReason?: string };

test('a retry waits for a live holder and is a duplicate; after a kill it takes over once the holder lease lapses', {
  timeout: 120_000,
}, async () => {
  const devnet = await startDevnet({ port: 0 });
  const proxy = await startCountingProxy(devnet.url);
  const dir = mkdtempSync(join(tmpdir(), 'x402-liveness-'));
  const env = {
    PORT: '0',
    STACKS_API_URL_TESTNET: proxy.url,
    DATABASE_URL: `sqlite:${join(dir, 'ledger.db')}`,
    SETTLE_TIMEOUT_MS: '3000',
    // Long, so that only the holder's lease (5 s at this keeper interval) can explain a takeover within the test.
    CLAIM_LEASE_MS: '30000',
    KEEPER_INTERVAL_MS: '500',
    LOG_LEVEL: 'silent',
  };
  const seller = devnet.accounts[1]!.address;
  const requirements = {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '5000',
    asset: 'STX',
    payTo: seller,
    maxTimeoutSeconds: 300,
  };
  const bodyFor = async (nonce: bigint, resource = 'https://seller.test/a') => {
    const { transaction } = await createPaymentTransaction({
      account: devnet.accounts[0]!.account,
      requirements,
      nonce,
      fee: 400n,
    });
    return JSON.stringify({
      x402Version: 2,
      paymentPayload: {
        x402Version: 2,
        resource: { url: resource },
        accepted: requirements,
        payload: { transaction },
      },
      paymentRequirements: requirements,
    });
  };
  const settle = async (url: string, body: string): Promise<SettleAnswer> =>
    (await (
      await fetch(`${url}/settle`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
    ).json()) as SettleAnswer;
  const before = devnet.chain.state.stx(seller);
  const holder = await startProcess(['--import', 'tsx', main], env);
  const other = await startProcess(['--import', 'tsx', main], env);
  let restarted: Awaited<ReturnType<typeof startProcess>> | undefined;
  try {
    // 1. The chain mines nothing: the holder's call tracks until its settle timeout and answers pending.
    devnet.chain.stall(true);
    const first = await bodyFor(0n);
    const original = settle(holder.url, first);
    while (proxy.broadcasts < 1) await new Promise((r) => setTimeout(r, 20));
    const replay = await settle(other.url, first);
    assert.equal(
      (await original).errorReason,
      'settlement_pending',
      'the original call keeps its answer',
    );
    assert.equal(replay.errorReason, 'duplicate_settlement', 'the replay never gets one');

    // 2. A second payment; its holder is killed while it tracks, before it answered.
    const second = await bodyFor(1n);
    const dying = settle(holder.url, second).catch((error: unknown) => error);
    while (proxy.broadcasts < 2) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await holder.stop('SIGKILL'), null);
    assert.ok((await dying) instanceof Error, 'the killed process never answered');
    devnet.chain.stall(false);
    devnet.mine();
    // The same bytes for another route at the same price: the dead call's answer is not that route's to take.
    const elsewhere = await settle(other.url, await bodyFor(1n, 'https://seller.test/b'));
    assert.equal(elsewhere.errorReason, 'duplicate_settlement');
    const started = Date.now();
    const retry = await settle(other.url, second);
    const waited = Date.now() - started;
    assert.equal(
      retry.success,
      true,
      `the buyer's retry takes the dead call's place: ${retry.errorReason}`,
    );
    assert.ok(
      waited < 15_000,
      `within the holder's lease, not the 33 s claim window (${waited} ms)`,
    );
    assert.equal((await settle(other.url, second)).errorReason, 'duplicate_settlement');
    assert.equal(proxy.broadcasts, 2, 'taking over never broadcast again');
    assert.equal(devnet.chain.state.stx(seller), before + 10_000n, 'each payment moved money once');
    assert.equal(await other.stop('SIGTERM'), 0);
  } finally {
    holder.child.kill('SIGKILL');
    other.child.kill('SIGKILL');
    restarted?.child.kill('SIGKILL');
    await proxy.close();
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
