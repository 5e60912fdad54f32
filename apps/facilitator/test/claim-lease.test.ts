/**
 * A facilitator killed between claiming a payment and broadcasting it: the claim it leaves is not settleable by its
 * holder any more, so after the lease the buyer's retry completes the payment (instead of `duplicate_settlement` for
 * good) and the payer is not locked out of that nonce.
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

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

test('SIGKILL while a payment is claimed: after the lease, the retry settles it and the money moves once', {
  timeout: 90_000,
}, async () => {
  const devnet = await startDevnet({ port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'x402-lease-'));
  const env = {
    PORT: '0',
    STACKS_API_URL_TESTNET: devnet.url,
    DATABASE_URL: `sqlite:${join(dir, 'ledger.db')}`,
    SETTLE_TIMEOUT_MS: '5000',
    CLAIM_LEASE_MS: '5000',
    LOG_LEVEL: 'silent',
  };
  const seller = devnet.accounts[1]!.address;
  const requirements = {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '6000',
    asset: 'STX',
    payTo: seller,
    maxTimeoutSeconds: 300,
  };
  const pay = async (nonce: bigint) => {
    const signed = await createPaymentTransaction({
      account: devnet.accounts[0]!.account,
      requirements,
      nonce,
      fee: 400n,
    });
    return {
      txid: signed.txid,
      body: JSON.stringify({
        x402Version: 2,
        paymentPayload: {
          x402Version: 2,
          accepted: requirements,
          payload: { transaction: signed.transaction },
        },
        paymentRequirements: requirements,
      }),
    };
  };
  const settle = async (url: string, body: string) =>
    (await (
      await fetch(`${url}/settle`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
    ).json()) as { success: boolean; errorReason?: string };
  const stateOf = async (url: string, txid: string) => {
    const response = await fetch(`${url}/settlements/${txid}`);
    return response.status === 404
      ? undefined
      : ((await response.json()) as { state: string }).state;
  };

  const [first, second] = [await pay(0n), await pay(1n)];
  const before = devnet.chain.state.stx(seller);
  const dying = await startProcess(['--import', 'tsx', main], env);
  let restarted: Awaited<ReturnType<typeof startProcess>> | undefined;
  try {
    // Nonce 1 ahead of a chain at 0: the settle claims it, then waits for nonce 0 to reach the mempool.
    const held = settle(dying.url, second.body).catch((error: unknown) => error);
    const deadline = Date.now() + 20_000;
    while ((await stateOf(dying.url, second.txid)) !== 'claimed') {
      assert.ok(Date.now() < deadline, 'the payment was claimed');
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(await dying.stop('SIGKILL'), null);
    assert.ok((await held) instanceof Error, 'the killed process never answered');

    restarted = await startProcess(['--import', 'tsx', main], env);
    assert.equal((await settle(restarted.url, first.body)).success, true);
    await new Promise((r) => setTimeout(r, 5_100));
    const retried = await settle(restarted.url, second.body);
    assert.equal(retried.success, true, `the retry settles: ${retried.errorReason}`);
    assert.equal(devnet.chain.state.stx(seller), before + 12_000n, 'both paid, each once');
    assert.equal((await settle(restarted.url, second.body)).errorReason, 'duplicate_settlement');
    assert.equal(await restarted.stop('SIGTERM'), 0);
  } finally {
    dying.child.kill('SIGKILL');
    restarted?.child.kill('SIGKILL');
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
