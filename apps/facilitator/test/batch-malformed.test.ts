/**
 * Malformed batch-settlement payloads over HTTP, on a SQLite ledger: every field broken in turn (wrong types, bad
 * hex, amounts above u128, a foreign receiver-authorizer) answers 200 with a named snake_case reason from both
 * `/verify` and `/settle`, never a 500, and nothing is written to the channel ledger for a channel that was never
 * opened.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { BATCH_SETTLEMENT, type ChannelConfig, channelIdOf, signVoucher } from 'x402-stacks/batch';
import { STACKS_NETWORKS } from 'x402-stacks/stacks';
import { loadConfig } from '../src/config.js';
import { startFacilitatorService } from '../src/service.js';

const NETWORK = STACKS_NETWORKS.testnet;
const ESCROW = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';
const HUGE = (1n << 128n).toString();

let devnet: Devnet;
let dir: string;
before(async () => {
  devnet = await startDevnet({ port: 0, accounts: 6 });
  dir = mkdtempSync(join(tmpdir(), 'batch-malformed-'));
});
after(async () => {
  await devnet.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function post(url: string, path: string, body: unknown) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

test('every malformed field answers a named reason, never a 500', async () => {
  const service = await startFacilitatorService(
    loadConfig({
      PORT: '0',
      STACKS_API_URL_TESTNET: devnet.url,
      DATABASE_URL: `sqlite:${join(dir, 'ledger.db')}`,
      SPONSOR_PRIVATE_KEYS: devnet.accounts[5]!.account.privateKey,
      BATCH_ESCROW_TESTNET: ESCROW,
      BATCH_AUTHORIZER_KEY: devnet.accounts[4]!.account.privateKey,
      KEEPER_INTERVAL_MS: '600000',
      LOG_LEVEL: 'silent',
    }),
  );
  try {
    const payer = devnet.accounts[2]!.account;
    const seller = devnet.accounts[3]!.address;
    const authorizer = devnet.accounts[4]!.address;
    const requirements = {
      scheme: BATCH_SETTLEMENT,
      network: NETWORK.caip2,
      amount: '1000',
      asset: 'STX',
      payTo: seller,
      maxTimeoutSeconds: 300,
      extra: { escrow: ESCROW, receiverAuthorizer: authorizer, withdrawDelay: 6 },
    };
    const config: ChannelConfig = {
      payer: payer.address,
      payerAuthorizer: payer.address,
      receiver: seller,
      receiverAuthorizer: authorizer,
      token: null,
      withdrawDelay: 6,
      salt: `0x${'00'.repeat(32)}`,
    };
    const channelId = channelIdOf(config);
    const voucher = {
      channelId,
      maxClaimableAmount: '1000',
      signature: signVoucher(payer.privateKey, NETWORK, ESCROW, channelId, 1000n),
    };
    const good = { type: 'voucher', channelConfig: config, voucher };
    const foreign = { ...config, receiverAuthorizer: payer.address };
    const foreignId = channelIdOf(foreign);
    const cases: [string, unknown, { amount?: string; receiverAuthorizer?: string }?][] = [
      ['no type', { ...good, type: undefined }],
      ['unknown type', { ...good, type: 'claim' }],
      ['extra key', { ...good, sneaky: 1 }],
      ['config null', { ...good, channelConfig: null }],
      ['payer not a principal', { ...good, channelConfig: { ...config, payer: 'alice' } }],
      ['token not a contract', { ...good, channelConfig: { ...config, token: payer.address } }],
      ['delay too short', { ...good, channelConfig: { ...config, withdrawDelay: 5 } }],
      ['delay huge', { ...good, channelConfig: { ...config, withdrawDelay: 1e300 } }],
      ['delay a string', { ...good, channelConfig: { ...config, withdrawDelay: '6' } }],
      ['salt uppercase', { ...good, channelConfig: { ...config, salt: `0x${'AA'.repeat(32)}` } }],
      ['channel id short', { ...good, voucher: { ...voucher, channelId: '0x00' } }],
      ['ceiling negative', { ...good, voucher: { ...voucher, maxClaimableAmount: '-1' } }],
      ['ceiling a number', { ...good, voucher: { ...voucher, maxClaimableAmount: 1000 } }],
      ['ceiling above u128', { ...good, voucher: { ...voucher, maxClaimableAmount: HUGE } }],
      ['ceiling leading zero', { ...good, voucher: { ...voucher, maxClaimableAmount: '01000' } }],
      ['signature short', { ...good, voucher: { ...voucher, signature: '0x00' } }],
      [
        'signature of zeros',
        { ...good, voucher: { ...voucher, signature: `0x${'00'.repeat(65)}` } },
      ],
      ['refund amount above u128', { ...good, type: 'refund', amount: HUGE }],
      [
        'deposit amount above u128',
        { ...good, type: 'deposit', deposit: { amount: HUGE, transaction: '0x00' } },
      ],
      [
        'deposit transaction garbage',
        { ...good, type: 'deposit', deposit: { amount: '5000', transaction: 'zz' } },
      ],
      [
        'a receiver-authorizer that is not this facilitator’s',
        {
          type: 'voucher',
          channelConfig: foreign,
          voucher: {
            channelId: foreignId,
            maxClaimableAmount: '1000',
            signature: signVoucher(payer.privateKey, NETWORK, ESCROW, foreignId, 1000n),
          },
        },
        { receiverAuthorizer: payer.address },
      ],
      ['price above u128', good, { amount: HUGE }],
    ];
    for (const [name, payload, override] of cases) {
      const offer = {
        ...requirements,
        amount: override?.amount ?? requirements.amount,
        extra: {
          ...requirements.extra,
          receiverAuthorizer: override?.receiverAuthorizer ?? authorizer,
        },
      };
      const body = {
        x402Version: 2,
        paymentPayload: { x402Version: 2, accepted: offer, payload },
        paymentRequirements: offer,
      };
      const verified = await post(service.url, '/verify', body);
      assert.equal(verified.isValid, false, name);
      assert.match(String(verified.invalidReason), /^[a-z0-9_]+$/, name);
      const settled = await post(service.url, '/settle', body);
      assert.equal(settled.success, false, name);
      assert.match(String(settled.errorReason), /^[a-z0-9_]+$/, name);
    }
  } finally {
    await service.stop();
  }
});
