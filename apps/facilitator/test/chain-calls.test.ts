/**
 * What one payment costs the chain through the service: every request the facilitator process sends to the devnet
 * goes through a counting proxy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDevnet } from '@x402-stacks/devnet';
import { startProcess } from '@x402-stacks/test-kit';
import { startCountingProxy } from './counting-proxy.js';
import { stxPaymentBody } from './payment-body.js';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

test('/verify then /settle of a payment: one read of the payer, one broadcast, and status reads only after it', {
  timeout: 60_000,
}, async () => {
  const devnet = await startDevnet({ port: 0 });
  const proxy = await startCountingProxy(devnet.url);
  const dir = mkdtempSync(join(tmpdir(), 'x402-chain-calls-'));
  const service = await startProcess(['--import', 'tsx', main], {
    PORT: '0',
    STACKS_API_URL_TESTNET: proxy.url,
    DATABASE_URL: `sqlite:${join(dir, 'ledger.db')}`,
    POLL_INTERVAL_MS: '20',
    // No keeper round during the payment: it may look at a settlement between its write-ahead mark and its broadcast.
    KEEPER_INTERVAL_MS: '600000',
    LOG_LEVEL: 'silent',
  });
  try {
    const body = JSON.stringify(
      await stxPaymentBody({
        payer: devnet.accounts[0]!.account,
        payTo: devnet.accounts[1]!.address,
        nonce: 0n,
        amount: '3000',
      }),
    );
    const call = async (path: string) =>
      (await (
        await fetch(`${service.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
      ).json()) as { isValid?: boolean; success?: boolean };
    // The service's own start-up reads (its health probe of /v2/info) are not the payment's.
    const before = proxy.requests.length;
    assert.equal((await call('/verify')).isValid, true);
    assert.equal((await call('/settle')).success, true);
    const made = proxy.requests.slice(before).filter((line) => !line.startsWith('GET /v2/info'));
    const count = (pattern: RegExp) => made.filter((line) => pattern.test(line)).length;
    assert.equal(count(/^GET \/extended\/v1\/address\/[^/]+\/nonces/), 1, made.join('\n'));
    assert.equal(count(/^GET \/v2\/accounts\//), 1, made.join('\n'));
    assert.equal(count(/^POST \/v2\/transactions$/), 1, made.join('\n'));
    const broadcastAt = made.indexOf('POST /v2/transactions');
    const statusReads = made.filter((line) => line.startsWith('GET /extended/v1/tx/'));
    assert.ok(statusReads.length >= 1, 'the outcome was read from the chain');
    assert.ok(
      made.slice(0, broadcastAt).every((line) => !line.startsWith('GET /extended/v1/tx/')),
      'no status read before the broadcast',
    );
    assert.equal(
      made.length,
      3 + statusReads.length,
      `nothing else was asked of the chain:\n${made.join('\n')}`,
    );
    assert.equal(await service.stop('SIGTERM'), 0);
  } finally {
    service.child.kill('SIGKILL');
    await proxy.close();
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
