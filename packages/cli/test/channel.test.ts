/**
 * `x402-stacks channel` against the devnet over HTTP, the facilitator service (batch escrow, authorizer key, a SQLite
 * ledger) and our Express seller with `batch: true`: a deposit read from a 402, vouchers paid by the library's
 * wrapper from the same channel store, list and status, a whole refund through the seller's route, a withdrawal
 * started, refused while locked and finished after the delay; usage errors. The key never appears in any output.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import {
  type FacilitatorService,
  loadConfig,
  startFacilitatorService,
} from '@x402-stacks/facilitator';
import { createFileChannelStore } from 'x402-stacks/batch';
import { wrapFetchWithPayment } from 'x402-stacks/client';
import {
  type BatchSeller,
  facilitatorEnv,
  PRICE,
  ROLES,
  startBatchSeller,
  stxBalance,
  WITHDRAW_DELAY,
} from '../../../e2e/batch/seller-stack.js';
import { runChannel } from '../src/channel.js';
import { capture } from './capture.js';

describe('x402-stacks channel', { timeout: 180_000 }, () => {
  let devnet: Devnet;
  let service: FacilitatorService;
  let seller: BatchSeller;
  const dir = mkdtempSync(join(tmpdir(), 'x402-channel-'));
  const storeDir = join(dir, 'channels');
  let keyFile: string;
  let payerKey: string;
  let payerAddress: string;
  let channelId: string;

  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 8 });
    // Burn height above 0: a withdrawal requested at burn block 0 reads as none.
    devnet.mine(10);
    service = await startFacilitatorService(
      loadConfig(facilitatorEnv(devnet, `sqlite:${join(dir, 'ledger.db')}`)),
    );
    seller = await startBatchSeller({
      facilitatorUrl: service.url,
      payTo: devnet.accounts[ROLES.seller]!.address,
    });
    const payer = devnet.accounts[2]!.account;
    payerKey = payer.privateKey;
    payerAddress = payer.address;
    keyFile = join(dir, 'payer.key');
    writeFileSync(keyFile, `${payerKey}\n`, { mode: 0o600 });
  });
  after(async () => {
    await seller?.stop();
    await service?.stop();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the command with the store, the devnet and --json; checks the key never shows. */
  async function channel(args: string[], env: Record<string, string> = {}) {
    const out = capture();
    const code = await runChannel([...args, '--json'], out.io, {
      X402_CHANNEL_STORE: storeDir,
      STACKS_API_URL_TESTNET: devnet.url,
      ...env,
    });
    const all = `${out.stdout()}${out.stderr()}`;
    assert.ok(!all.includes(payerKey), 'the key is never printed');
    const lines = out.stdout().split('\n').filter(Boolean);
    return { code, result: JSON.parse(lines.at(-1) ?? '{}'), stderr: out.stderr() };
  }

  test('deposit reads the 402 and opens a channel on chain, paying its own fee', async () => {
    const before = await stxBalance(devnet.url, payerAddress);
    const { code, result, stderr } = await channel([
      'deposit',
      `${seller.url}/paid`,
      '--escrow',
      'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow',
      '--amount',
      '0.02STX',
      '--key-file',
      keyFile,
    ]);
    assert.equal(code, 0, stderr);
    assert.equal(result.action, 'open');
    assert.equal(result.amount, '20000');
    channelId = result.channelId;
    assert.match(channelId, /^0x[0-9a-f]{64}$/);
    assert.equal(result.channel.deposited, '20000');
    assert.equal(result.channel.withdrawDelay, WITHDRAW_DELAY);
    const fee = BigInt(result.fee);
    assert.equal(await stxBalance(devnet.url, payerAddress), before - 20_000n - fee);
  });

  test('a deposit into an escrow the buyer did not name is refused by name, signing nothing', async () => {
    const before = await stxBalance(devnet.url, payerAddress);
    const { code, result } = await channel([
      'deposit',
      `${seller.url}/paid`,
      '--escrow',
      'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.other-escrow',
      '--key-file',
      keyFile,
    ]);
    assert.equal(code, 1);
    assert.equal(result.reason, 'untrusted_escrow');
    // The same escrow named by X402_BATCH_ESCROW in the environment the command is given.
    const named = await channel(['deposit', `${seller.url}/paid`, '--key-file', keyFile], {
      X402_BATCH_ESCROW: 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.other-escrow',
    });
    assert.equal(named.code, 1, named.stderr);
    assert.equal(named.result.reason, 'untrusted_escrow');
    assert.equal(await stxBalance(devnet.url, payerAddress), before);
  });

  test('a deposit above --max-deposit is refused by name, signing nothing', async () => {
    const { code, result } = await channel([
      'deposit',
      `${seller.url}/paid`,
      '--escrow',
      'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow',
      '--amount',
      '2STX',
      '--key-file',
      keyFile,
    ]);
    assert.equal(code, 1);
    assert.equal(result.reason, 'deposit_above_cap');
  });

  test("the library's wrapper pays vouchers from the CLI's channel; list and status show it", async () => {
    const pay = wrapFetchWithPayment(fetch, devnet.accounts[2]!.account, {
      apiUrl: devnet.url,
      batch: {
        depositCap: { STX: 0n },
        escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
        store: createFileChannelStore(storeDir),
      },
    });
    for (let i = 0; i < 3; i++) {
      const response = await pay(`${seller.url}/paid`);
      assert.equal(response.status, 200, await response.text());
    }
    const listed = await channel(['list', '--chain']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.result.channels.length, 1);
    const [row] = listed.result.channels;
    assert.equal(row.channelId, channelId);
    assert.equal(row.charged, (3n * PRICE).toString());
    assert.equal(row.chain.balance, '20000');
    const status = await channel(['status', channelId]);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(status.result.chain.balance, '20000');
    assert.equal(status.result.channel.charged, (3n * PRICE).toString());
    assert.equal(status.result.chain.withdrawRequestedAt, 0);
  });

  test('refund returns everything not charged through the seller route', async () => {
    const before = await stxBalance(devnet.url, payerAddress);
    const { code, result, stderr } = await channel([
      'refund',
      `${seller.url}/paid`,
      '--key-file',
      keyFile,
    ]);
    assert.equal(code, 0, stderr);
    assert.equal(result.returned, (20_000n - 3n * PRICE).toString());
    assert.equal(result.channel.deposited, (3n * PRICE).toString());
    assert.equal(await stxBalance(devnet.url, payerAddress), before + 20_000n - 3n * PRICE);
    const status = await channel(['status', channelId]);
    assert.equal(status.result.chain.balance, (3n * PRICE).toString());
    assert.equal(status.result.chain.claimed, (3n * PRICE).toString());
  });

  test('withdraw: start, a locked finish refused with the unlock height, finish after the delay', async () => {
    // A top-up, so there is something unclaimed to withdraw.
    const topUp = await channel([
      'deposit',
      `${seller.url}/paid`,
      '--escrow',
      'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow',
      '--amount',
      '0.005STX',
      '--key-file',
      keyFile,
    ]);
    assert.equal(topUp.code, 0, topUp.stderr);
    assert.equal(topUp.result.action, 'top_up');
    assert.equal(topUp.result.channelId, channelId);
    const start = await channel(['withdraw', 'start', channelId, '--key-file', keyFile]);
    assert.equal(start.code, 0, start.stderr);
    assert.equal(start.result.amount, '5000');
    assert.ok(start.result.unlocksAt > 0);
    const locked = await channel(['withdraw', 'finish', channelId, '--key-file', keyFile]);
    assert.equal(locked.code, 1);
    assert.equal(locked.result.reason, 'withdrawal_locked');
    assert.match(
      locked.result.message,
      new RegExp(`unlocks at burn block ${start.result.unlocksAt}`),
    );
    devnet.mine(5 * WITHDRAW_DELAY + 1);
    const before = await stxBalance(devnet.url, payerAddress);
    const finish = await channel(['withdraw', 'finish', channelId, '--key-file', keyFile]);
    assert.equal(finish.code, 0, finish.stderr);
    assert.equal(finish.result.returned, '5000');
    assert.equal(
      await stxBalance(devnet.url, payerAddress),
      before + 5000n - BigInt(finish.result.fee),
    );
  });

  test('usage errors exit 2 with a reason; unknown channels fail by name', async () => {
    for (const args of [
      [],
      ['nope'],
      ['status'],
      ['status', 'not-an-id'],
      ['withdraw', 'later', `0x${'00'.repeat(32)}`],
      [
        'deposit',
        'ftp://example.com',
        '--escrow',
        'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow',
      ],
      ['deposit', `${seller.url}/paid`, '--key-file', keyFile],
      ['list', '--amount', '1STX'],
      [
        'deposit',
        `${seller.url}/paid`,
        '--escrow',
        'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow',
        '--fee',
        'lots',
      ],
    ]) {
      const { code, result } = await channel(args);
      assert.equal(code, 2, args.join(' '));
      assert.equal(result.ok, false);
      assert.equal(result.reason, 'usage_error');
    }
    const noKey = await channel(['refund', `${seller.url}/paid`]);
    assert.equal(noKey.code, 2);
    assert.equal(noKey.result.reason, 'no_key');
    const unknown = await channel(['status', `0x${'00'.repeat(32)}`]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.result.reason, 'channel_not_found');
  });
});
