/**
 * The buyer's channel stores and payment plan: records round-trip through memory and a real directory (amounts exact,
 * a pending deposit kept), another store opened on the same directory sees them, a corrupt record is named, and the
 * plan pays vouchers while there is room, deposits `max(minDeposit, price)` cut to the cap, and refuses above it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { channelIdOf } from '../../batch/channel.js';
import type { ChannelConfig } from '../../batch/wire.js';
import type { BuyerChannelRecord, ChannelStore } from './channel-store.js';
import { BatchClientError } from './errors.js';
import { createFileChannelStore } from './file-channel-store.js';
import { createMemoryChannelStore } from './memory-channel-store.js';
import { planPayment } from './plan.js';

const config: ChannelConfig = {
  payer: 'ST2ST2H80NP5C9SPR4ENJ1Z9CDM9PKAJVPYWPQZ50',
  payerAuthorizer: 'ST2ST2H80NP5C9SPR4ENJ1Z9CDM9PKAJVPYWPQZ50',
  receiver: 'ST2Y2SFNVZBT8SSZ00XXKH930MCN0RFREB2GQG7CJ',
  receiverAuthorizer: 'STPJ2HPED2TMR1HAFBFA5VQF986CRD4ZWHH36F6X',
  token: null,
  withdrawDelay: 144,
  salt: `0x${'ab'.repeat(32)}`,
};
const record: BuyerChannelRecord = {
  network: 'stacks:2147483648',
  escrow: 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow',
  channelId: channelIdOf(config),
  config,
  deposited: 2n ** 100n,
  charged: 12_345n,
  signedMax: 13_345n,
  pendingDeposit: {
    txid: 'ab'.repeat(32),
    payload: {
      type: 'deposit',
      channelConfig: config,
      voucher: {
        channelId: channelIdOf(config),
        maxClaimableAmount: '13345',
        signature: `0x${'01'.repeat(65)}`,
      },
      deposit: { amount: '100000', transaction: '8080' },
    },
  },
  updatedAt: 1_700_000_000_000,
};

for (const [name, open] of [
  ['memory', () => createMemoryChannelStore()],
  ['file', () => createFileChannelStore(mkdtempSync(join(tmpdir(), 'x402-channels-')))],
] as const) {
  describe(`${name} channel store`, () => {
    test('keeps a record exactly, updates it in place, and lists it', async () => {
      const store: ChannelStore = open();
      assert.equal(await store.get(record), undefined);
      await store.update(record, () => record);
      assert.deepEqual(await store.get(record), record);
      const next = await store.update(
        record,
        (current) =>
          current && { ...current, charged: current.charged + 1n, pendingDeposit: undefined },
      );
      assert.equal(next?.charged, 12_346n);
      assert.equal((await store.get(record))?.pendingDeposit, undefined);
      assert.equal((await store.list()).length, 1);
      // A change that returns nothing writes nothing.
      assert.equal((await store.update(record, () => undefined))?.charged, 12_346n);
    });
  });
}

describe('file channel store', () => {
  test('another store on the same directory sees the records; a corrupt one is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x402-channels-'));
    await createFileChannelStore(dir).update(record, () => record);
    assert.deepEqual(await createFileChannelStore(dir).get(record), record);
    const [file] = readdirSync(dir);
    writeFileSync(join(dir, file!), '{"network":1}');
    await assert.rejects(createFileChannelStore(dir).get(record), (error: unknown) => {
      assert.ok(error instanceof BatchClientError);
      assert.equal(error.reason, 'channel_store_corrupt');
      return true;
    });
  });
});

describe('planPayment', () => {
  const base = { price: 1000n, minDeposit: 30_000n, cap: 100_000n };
  test('a voucher while the channel holds the price beyond what was charged', () => {
    assert.deepEqual(planPayment({ ...base, balance: 30_000n, charged: 29_000n }), {
      type: 'voucher',
      ceiling: 30_000n,
    });
  });
  test('a deposit of max(minDeposit, price), cut to the cap', () => {
    assert.deepEqual(planPayment({ ...base, balance: 30_000n, charged: 29_500n }), {
      type: 'deposit',
      amount: 30_000n,
      ceiling: 30_500n,
    });
    assert.deepEqual(planPayment({ ...base, balance: 0n, charged: 0n, cap: 5_000n }), {
      type: 'deposit',
      amount: 5_000n,
      ceiling: 1000n,
    });
    assert.deepEqual(planPayment({ ...base, balance: 0n, charged: 0n, minDeposit: undefined }), {
      type: 'deposit',
      amount: 1000n,
      ceiling: 1000n,
    });
  });
  test('above the cap when even what the voucher needs does not fit', () => {
    assert.deepEqual(planPayment({ ...base, balance: 0n, charged: 0n, cap: 999n }), {
      type: 'above_cap',
      needed: 1000n,
      cap: 999n,
    });
  });
});
