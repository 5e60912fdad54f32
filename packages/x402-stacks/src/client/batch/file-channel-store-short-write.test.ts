/**
 * The file channel store under a short write: a record the disk takes only in part (a full disk, a file size limit)
 * must fail the update and leave the old record whole, or a buyer would lose track of a signed deposit and sign
 * another. The file size limit of a child process (`ulimit -f`) makes the short write happen for real: the record with
 * a large pending deposit straddles the limit, a small one after it fits.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { channelIdOf } from '../../batch/channel.js';
import type { ChannelConfig } from '../../batch/wire.js';
import type { BuyerChannelRecord } from './channel-store.js';
import { createFileChannelStore } from './file-channel-store.js';

const LIMIT_KIB = 16;

const config: ChannelConfig = {
  payer: 'ST2ST2H80NP5C9SPR4ENJ1Z9CDM9PKAJVPYWPQZ50',
  payerAuthorizer: 'ST2ST2H80NP5C9SPR4ENJ1Z9CDM9PKAJVPYWPQZ50',
  receiver: 'ST2Y2SFNVZBT8SSZ00XXKH930MCN0RFREB2GQG7CJ',
  receiverAuthorizer: 'STPJ2HPED2TMR1HAFBFA5VQF986CRD4ZWHH36F6X',
  token: null,
  withdrawDelay: 144,
  salt: `0x${'cd'.repeat(32)}`,
};
const record: BuyerChannelRecord = {
  network: 'stacks:2147483648',
  escrow: 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow',
  channelId: channelIdOf(config),
  config,
  deposited: 30_000n,
  charged: 1_000n,
  signedMax: 2_000n,
  updatedAt: 1_700_000_000_000,
};

describe('createFileChannelStore under a short write', () => {
  test('a record written only in part fails the update and leaves the old record whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x402-channels-short-'));
    const store = createFileChannelStore(dir);
    await store.update(record, () => record);
    const module = join(dirname(fileURLToPath(import.meta.url)), 'file-channel-store.ts');
    const script = join(tmpdir(), `x402-channels-short-${process.pid}-${Date.now()}.mts`);
    // The large update: a pending deposit whose transaction alone is twice the limit. Then a small one, which fits.
    writeFileSync(
      script,
      `import { createFileChannelStore } from ${JSON.stringify(module)};
const store = createFileChannelStore(${JSON.stringify(dir)});
const key = ${JSON.stringify({ network: record.network, escrow: record.escrow, channelId: record.channelId })};
const outcome = {};
try {
  await store.update(key, (current) => ({
    ...current,
    signedMax: 3000n,
    pendingDeposit: {
      txid: 'ef'.repeat(32),
      payload: {
        type: 'deposit',
        channelConfig: current.config,
        voucher: { channelId: key.channelId, maxClaimableAmount: '3000', signature: '0x' + '01'.repeat(65) },
        deposit: { amount: '30000', transaction: '80'.repeat(${LIMIT_KIB * 1024}) },
      },
    },
  }));
  outcome.large = 'written';
} catch (error) {
  outcome.large = { reason: error.reason ?? String(error), message: String(error.message) };
}
try {
  await store.update(key, (current) => ({ ...current, charged: 2000n, updatedAt: 1700000000001 }));
  outcome.small = 'written';
} catch (error) {
  outcome.small = { reason: error.reason ?? String(error) };
}
console.log(JSON.stringify(outcome));
`,
    );
    const child = spawnSync(
      'bash',
      ['-c', `ulimit -f ${LIMIT_KIB}; exec "$0" --import tsx "$1"`, process.execPath, script],
      { cwd: dirname(fileURLToPath(import.meta.url)), encoding: 'utf8' },
    );
    const told = JSON.parse(child.stdout.trim().split('\n').pop() || '{}') as {
      large?: 'written' | { reason: string; message: string };
      small?: 'written' | { reason: string };
    };
    assert.ok(told.large !== undefined, `child: ${child.stderr}`);
    assert.notEqual(
      told.large,
      'written',
      'a record larger than the file size limit was reported as written',
    );
    const refusal = told.large as { reason: string; message: string };
    assert.equal(refusal.reason, 'channel_store_unavailable');
    // The limit was hit for real: the kernel's refusal, or the short count the store checked.
    assert.match(refusal.message, /EFBIG|wrote \d+ of \d+ bytes/);
    assert.equal(told.small, 'written', 'the store keeps working after a short write');

    // The old record stayed whole (no pending deposit the buyer never stored), then took the small update; the torn
    // temporary file is gone.
    assert.deepEqual(await createFileChannelStore(dir).get(record), {
      ...record,
      charged: 2_000n,
      updatedAt: 1_700_000_000_001,
    });
    assert.deepEqual(
      readdirSync(dir).filter((name) => !/^[0-9a-f]{64}\.json$/.test(name)),
      [],
    );
  });
});
