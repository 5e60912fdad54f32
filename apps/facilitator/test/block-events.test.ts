/**
 * Pushed blocks through the service: with status rounds a minute apart, a settlement is still answered as soon as
 * the block that holds it is pushed over the devnet's WebSocket channel.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDevnet } from '@x402-stacks/devnet';
import { startProcess } from '@x402-stacks/test-kit';
import { stxPaymentBody } from './payment-body.js';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

test('with status rounds a minute apart, each settlement succeeds once its pushed block is heard, not at the round', {
  timeout: 50_000,
}, async () => {
  const devnet = await startDevnet({ port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'x402-block-events-'));
  const service = await startProcess(['--import', 'tsx', main], {
    PORT: '0',
    STACKS_API_URL_TESTNET: devnet.url,
    DATABASE_URL: `sqlite:${join(dir, 'ledger.db')}`,
    POLL_INTERVAL_MS: '60000',
    SETTLE_TIMEOUT_MS: '30000',
    KEEPER_INTERVAL_MS: '600000',
    LOG_LEVEL: 'silent',
  });
  try {
    // The service hears blocks from its start, before any settlement.
    const end = Date.now() + 10_000;
    while (devnet.blockEvents.subscribers === 0 && Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(devnet.blockEvents.subscribers, 1);
    for (const nonce of [0n, 1n, 2n]) {
      const body = await stxPaymentBody({
        payer: devnet.accounts[0]!.account,
        payTo: devnet.accounts[1]!.address,
        nonce,
        amount: '3000',
      });
      const answer = (await (
        await fetch(`${service.url}/settle`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as { success?: boolean; transaction?: string; errorReason?: string };
      // Without the push, the first look would come at the round a minute away: the call would outlast this test.
      assert.equal(answer.success, true, JSON.stringify(answer));
      assert.equal(
        devnet.chain.transaction(answer.transaction!.replace(/^0x/, ''))?.status,
        'success',
      );
    }
    assert.equal(await service.stop('SIGTERM'), 0);
  } finally {
    service.child.kill('SIGKILL');
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
