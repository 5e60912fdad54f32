/**
 * The facilitator process killed with SIGKILL right after it broadcast a payment: the next process over the same
 * SQLite file resumes the settlement, tracks it to success and never broadcasts it again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDevnet } from '@x402-stacks/devnet';
import { startProcess, until } from '@x402-stacks/test-kit';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { startCountingProxy } from './counting-proxy.js';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

test('SIGKILL after broadcast: the restarted process resumes the settlement, with no second broadcast', {
  timeout: 90_000,
}, async () => {
  const devnet = await startDevnet({ port: 0 });
  const proxy = await startCountingProxy(devnet.url);
  const dir = mkdtempSync(join(tmpdir(), 'x402-crash-'));
  const env = {
    PORT: '0',
    STACKS_API_URL_TESTNET: proxy.url,
    DATABASE_URL: `sqlite:${join(dir, 'ledger.db')}`,
    SETTLE_TIMEOUT_MS: '2000',
    CLAIM_LEASE_MS: '2000',
    LOG_LEVEL: 'silent',
  };
  const seller = devnet.accounts[1]!.address;
  const requirements = {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '7000',
    asset: 'STX',
    payTo: seller,
    maxTimeoutSeconds: 300,
  };
  const { transaction, txid } = await createPaymentTransaction({
    account: devnet.accounts[0]!.account,
    requirements,
    nonce: 0n,
    fee: 400n,
  });
  const body = JSON.stringify({
    x402Version: 2,
    paymentPayload: { x402Version: 2, accepted: requirements, payload: { transaction } },
    paymentRequirements: requirements,
  });
  const settle = (url: string) =>
    fetch(`${url}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
  const balanceBefore = devnet.chain.state.stx(seller);
  let second: Awaited<ReturnType<typeof startProcess>> | undefined;
  const first = await startProcess(['--import', 'tsx', main], env);
  try {
    // The chain takes the transaction into its mempool but mines nothing: the settle is left tracking.
    devnet.chain.stall(true);
    const inFlight = settle(first.url).catch((error: unknown) => error);
    await until(async () => (proxy.broadcasts === 1 ? true : undefined), 'the broadcast');
    assert.equal(await first.stop('SIGKILL'), null, 'killed, not exited');
    assert.ok((await inFlight) instanceof Error, 'the killed process never answered');
    assert.equal(devnet.chain.mempool.length, 1);

    second = await startProcess(['--import', 'tsx', main], env);
    const pending = (await (await fetch(`${second.url}/settlements/${txid}`)).json()) as {
      state: string;
    };
    assert.equal(pending.state, 'broadcast', 'the write-ahead record survived the kill');
    devnet.chain.stall(false);
    devnet.mine();
    const final = await until(async () => {
      const status = (await (await fetch(`${second!.url}/settlements/${txid}`)).json()) as {
        state: string;
      };
      return status.state === 'broadcast' ? undefined : status;
    }, 'the resumed settlement to finish');
    assert.equal(final.state, 'success');
    // The killed process never answered: once its lease lapses, the buyer's retry takes its place and is served, once.
    const retry = (await (await settle(second.url)).json()) as { success: boolean };
    assert.equal(retry.success, true, 'the retry is answered with the settlement');
    const replay = (await (await settle(second.url)).json()) as { errorReason?: string };
    assert.equal(replay.errorReason, 'duplicate_settlement');
    assert.equal(proxy.broadcasts, 1, 'resuming never broadcast again');
    assert.equal(devnet.chain.state.stx(seller), balanceBefore + 7000n, 'the money moved once');
    assert.equal(await second.stop('SIGTERM'), 0);
  } finally {
    first.child.kill('SIGKILL');
    second?.child.kill('SIGKILL');
    await proxy.close();
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
