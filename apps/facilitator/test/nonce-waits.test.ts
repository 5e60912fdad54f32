/**
 * `MAX_NONCE_WAITS` over HTTP, on a SQLite ledger against the devnet: a payment ahead of its payer's nonce that finds
 * no room to wait answers `nonce_wait_capacity_exhausted` with nothing sent and its claim given back, so its same
 * bytes settle once the payment before it is in; with room, the same kind of payment waits and settles.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import type { StacksAccount } from 'x402-stacks';
import { transactionIdOf } from 'x402-stacks/stacks';
import { loadConfig } from '../src/config.js';
import { startFacilitatorService } from '../src/service.js';
import { stxPaymentBody } from './payment-body.js';

let devnet: Devnet;
let dir: string;
before(async () => {
  devnet = await startDevnet({ port: 0, accounts: 4 });
  dir = mkdtempSync(join(tmpdir(), 'nonce-waits-'));
});
after(async () => {
  await devnet.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A settle call of `payer`'s payment at `nonce`, signed once and sent each time it is called. */
async function settleOver(url: string, payer: StacksAccount, nonce: bigint) {
  const body = JSON.stringify(
    await stxPaymentBody({ payer, payTo: devnet.accounts[1]!.address, nonce }),
  );
  return async () => {
    const response = await fetch(`${url}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(response.status, 200);
    return (await response.json()) as { success: boolean; errorReason?: string };
  };
}

/** The service on its own SQLite file in this test's folder, against the devnet, with `env` on top. */
function serviceWith(file: string, env: Record<string, string> = {}) {
  return startFacilitatorService(
    loadConfig({
      PORT: '0',
      STACKS_API_URL_TESTNET: devnet.url,
      DATABASE_URL: `sqlite:${join(dir, file)}`,
      POLL_INTERVAL_MS: '50',
      LOG_LEVEL: 'silent',
      ...env,
    }),
  );
}

test('MAX_NONCE_WAITS=0: a chained payment is refused without a wait, and its same bytes settle in order', async () => {
  const service = await serviceWith('no-waits.db', { MAX_NONCE_WAITS: '0' });
  try {
    const payer = devnet.accounts[2]!.account;
    const ahead = await settleOver(service.url, payer, 1n);
    const refused = await ahead();
    assert.equal(refused.success, false);
    assert.equal(refused.errorReason, 'nonce_wait_capacity_exhausted');
    assert.equal((await (await settleOver(service.url, payer, 0n))()).success, true);
    assert.equal((await ahead()).success, true, 'the claim was given back: the same bytes settle');
  } finally {
    await service.stop();
  }
});

test('with room to wait, a chained payment sent first settles once the one before it is in', async () => {
  const service = await serviceWith('waits.db');
  try {
    const payer = devnet.accounts[3]!.account;
    const waiting = (await settleOver(service.url, payer, 1n))();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const first = await (await settleOver(service.url, payer, 0n))();
    assert.equal(first.success, true);
    assert.equal((await waiting).success, true);
  } finally {
    await service.stop();
  }
});

test('a seller that hangs up while its payment waits ends the wait: the claim is given back unsent, and the same bytes settle later', async () => {
  const service = await serviceWith('hang-up.db', { SETTLE_TIMEOUT_MS: '120000' });
  try {
    const payer = devnet.accounts[0]!.account;
    const body = JSON.stringify(
      await stxPaymentBody({ payer, payTo: devnet.accounts[1]!.address, nonce: 1n }),
    );
    const hangUp = new AbortController();
    const call = fetch(`${service.url}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: hangUp.signal,
    }).catch((error: unknown) => error);
    const claimed = async () => (await service.facilitator.status(txidOf(body)))?.state;
    const by = Date.now() + 10_000;
    while ((await claimed()) !== 'claimed') {
      assert.ok(Date.now() < by, 'the payment was claimed and waits');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    hangUp.abort();
    assert.ok((await call) instanceof Error, 'the call was cut by its caller');
    // Given back at once, not at the two-minute deadline.
    const releasedBy = Date.now() + 5_000;
    while ((await claimed()) !== undefined) {
      assert.ok(Date.now() < releasedBy, 'the claim was given back');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(devnet.chain.mempool.length, 0, 'nothing was broadcast');
    assert.equal((await (await settleOver(service.url, payer, 0n))()).success, true);
    const again = await fetch(`${service.url}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(((await again.json()) as { success: boolean }).success, true);
  } finally {
    await service.stop();
  }
});

/** The payment's txid, from the settle body's signed transaction. */
function txidOf(body: string): string {
  const { paymentPayload } = JSON.parse(body) as {
    paymentPayload: { payload: { transaction: string } };
  };
  return transactionIdOf(Buffer.from(paymentPayload.payload.transaction.replace(/^0x/, ''), 'hex'));
}
