/**
 * batch-settlement through the facilitator service over HTTP, on a SQLite ledger file: `/supported` advertises the
 * escrow and the receiver-authorizer, a sponsored deposit opens a channel through `/settle`, vouchers are charged, and
 * after a restart on the same file the charged total is still there (a replayed voucher is refused, the next one is
 * charged). The keeper's claim then moves exactly what was charged to the seller.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import {
  BATCH_SETTLEMENT,
  type ChannelConfig,
  channelIdOf,
  createDepositTransaction,
  signVoucher,
} from 'x402-stacks/batch';
import { resolveAsset, STACKS_NETWORKS } from 'x402-stacks/stacks';
import { loadConfig } from '../src/config.js';
import { startFacilitatorService } from '../src/service.js';

const NETWORK = STACKS_NETWORKS.testnet;
const ESCROW = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';
const PRICE = 500n;

let devnet: Devnet;
let dir: string;
before(async () => {
  devnet = await startDevnet({ port: 0, accounts: 8 });
  dir = mkdtempSync(join(tmpdir(), 'batch-service-'));
});
after(async () => {
  await devnet.stop();
  rmSync(dir, { recursive: true, force: true });
});

const start = () =>
  startFacilitatorService(
    loadConfig({
      PORT: '0',
      STACKS_API_URL_TESTNET: devnet.url,
      DATABASE_URL: `sqlite:${join(dir, 'ledger.db')}`,
      SPONSOR_PRIVATE_KEYS: devnet.accounts[5]!.account.privateKey,
      BATCH_ESCROW_TESTNET: ESCROW,
      BATCH_AUTHORIZER_KEY: devnet.accounts[4]!.account.privateKey,
      // Claim on the first keeper round: the test runs the round itself.
      BATCH_CLAIM_MAX_AGE_MS: '0',
      KEEPER_INTERVAL_MS: '600000',
      LOG_LEVEL: 'silent',
    }),
  );

async function post(url: string, path: string, body: unknown) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, `${path} answered ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

test('deposit and vouchers over HTTP survive a restart, and the claim pays the seller what was charged', async () => {
  const payer = devnet.accounts[2]!.account;
  const seller = devnet.accounts[3]!.address;
  let service = await start();
  const supported = (await (await fetch(`${service.url}/supported`)).json()) as {
    kinds: { scheme: string; extra?: Record<string, unknown> }[];
  };
  const kind = supported.kinds.find((k) => k.scheme === BATCH_SETTLEMENT);
  assert.equal(kind?.extra?.escrow, ESCROW);
  const authorizer = String(kind?.extra?.receiverAuthorizer);
  const sponsor = String(supported.kinds.find((k) => k.scheme === 'exact')?.extra?.sponsor);
  const requirements = {
    scheme: BATCH_SETTLEMENT,
    network: NETWORK.caip2,
    amount: PRICE.toString(),
    asset: 'STX',
    payTo: seller,
    maxTimeoutSeconds: 300,
    extra: { escrow: ESCROW, receiverAuthorizer: authorizer, withdrawDelay: 6, sponsor },
  };
  const config: ChannelConfig = {
    payer: payer.address,
    payerAuthorizer: payer.address,
    receiver: seller,
    receiverAuthorizer: authorizer,
    token: null,
    withdrawDelay: 6,
    salt: `0x${'5e'.repeat(32)}`,
  };
  const channelId = channelIdOf(config);
  const voucher = (max: bigint) => ({
    channelId,
    maxClaimableAmount: max.toString(),
    signature: signVoucher(payer.privateKey, NETWORK, ESCROW, channelId, max),
  });
  const body = (payload: unknown) => ({
    x402Version: 2,
    paymentPayload: { x402Version: 2, accepted: requirements, payload },
    paymentRequirements: requirements,
  });
  const sellerBefore = devnet.chain.state.stx(seller);
  const { transaction } = await createDepositTransaction({
    account: payer,
    network: NETWORK,
    escrow: ESCROW,
    config,
    amount: 20n * PRICE,
    asset: resolveAsset('STX', NETWORK),
    nonce: 0n,
    sponsored: true,
  });
  try {
    const deposit = body({
      type: 'deposit',
      channelConfig: config,
      voucher: voucher(PRICE),
      deposit: { amount: (20n * PRICE).toString(), transaction },
    });
    assert.equal((await post(service.url, '/verify', deposit)).isValid, true);
    const opened = await post(service.url, '/settle', deposit);
    assert.equal(opened.success, true, JSON.stringify(opened));
    for (const max of [2n * PRICE, 3n * PRICE]) {
      const charged = await post(
        service.url,
        '/settle',
        body({ type: 'voucher', channelConfig: config, voucher: voucher(max) }),
      );
      assert.equal(charged.success, true, JSON.stringify(charged));
      assert.equal(charged.transaction, '');
    }

    await service.stop();
    service = await start();

    const replay = await post(
      service.url,
      '/settle',
      body({ type: 'voucher', channelConfig: config, voucher: voucher(3n * PRICE) }),
    );
    assert.equal(replay.success, false);
    assert.equal(replay.errorReason, 'invalid_batch_settlement_stacks_cumulative_amount_mismatch');
    const fourth = await post(
      service.url,
      '/settle',
      body({ type: 'voucher', channelConfig: config, voucher: voucher(4n * PRICE) }),
    );
    assert.equal(fourth.success, true, JSON.stringify(fourth));

    await service.facilitator.keeper.runOnce();
    assert.equal(devnet.chain.state.stx(seller), sellerBefore + 4n * PRICE);
  } finally {
    await service.stop();
  }
});
