/** The hand-written checks accept exactly what the zod schemas accept, and give the same values. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { z } from 'zod';
import { ACCOUNT, BALANCES, INFO, NONCES, SBTC_ASSET } from './client.fixtures.js';
import {
  AccountSchema,
  BalancesSchema,
  FeeRateSchema,
  InfoSchema,
  NoncesSchema,
} from './schemas.js';
import {
  checkAccount,
  checkBalances,
  checkFeeRate,
  checkInfo,
  checkNonces,
  Mismatch,
  type ShapeCheck,
} from './shape-checks.js';

const NOT_COUNTS = [-1, 1.5, 2 ** 53, '4', null, true, {}, []];

function agree(name: string, schema: z.ZodType, check: ShapeCheck<unknown>, samples: unknown[]) {
  test(`${name}: ${samples.length} samples judged as by the schema`, () => {
    for (const sample of samples) {
      const parsed = schema.safeParse(sample);
      const checked = check(sample);
      const label = JSON.stringify(sample);
      assert.equal(!(checked instanceof Mismatch), parsed.success, label);
      if (parsed.success) assert.deepEqual(checked, parsed.data, label);
    }
  });
}

/** The valid answer, then each field replaced by each wrong value, or removed. */
function variants(valid: Record<string, unknown>, wrong: Record<string, unknown[]>): unknown[] {
  const samples: unknown[] = [valid, { ...valid, extra_field: 1 }, null, [], 'x', 7];
  for (const [field, values] of Object.entries(wrong)) {
    const { [field]: _removed, ...without } = valid;
    samples.push(without);
    for (const value of values) samples.push({ ...valid, [field]: value });
  }
  return samples;
}

describe('shape checks', () => {
  agree(
    'account',
    AccountSchema,
    checkAccount,
    variants(ACCOUNT, {
      balance: ['0x', `0x${'f'.repeat(33)}`, '1000', 1000, '0xzz', '0x00ff'],
      nonce: [...NOT_COUNTS, 0, 2 ** 53 - 1],
    }),
  );

  agree(
    'nonces',
    NoncesSchema,
    checkNonces,
    variants(NONCES, {
      possible_next_nonce: NOT_COUNTS,
      last_executed_tx_nonce: [...NOT_COUNTS.filter((v) => v !== null), null, undefined, 0],
      detected_missing_nonces: [[], [1, 2], [1, -1], ['1'], {}, null, 3],
    }),
  );

  agree(
    'balances',
    BalancesSchema,
    checkBalances,
    variants(BALANCES, {
      fungible_tokens: [
        {},
        { [SBTC_ASSET]: { balance: '0' } },
        { [SBTC_ASSET]: { balance: 5 } },
        { [SBTC_ASSET]: { balance: '-5' } },
        { [SBTC_ASSET]: { balance: '5', total_sent: '1' } },
        { [SBTC_ASSET]: null },
        { [SBTC_ASSET]: [] },
        { a: { balance: '1' }, b: { balance: 'x' } },
        [],
        null,
        'x',
      ],
    }),
  );

  agree('fee rate', FeeRateSchema, checkFeeRate, [0, 1, 7, 2 ** 53 - 1, ...NOT_COUNTS, undefined]);

  agree(
    'info',
    InfoSchema,
    checkInfo,
    variants(INFO, {
      network_id: NOT_COUNTS,
      stacks_tip_height: NOT_COUNTS,
      burn_block_height: NOT_COUNTS,
      server_version: [1, null, ''],
    }),
  );

  test('a mismatch names the field, as zod would', () => {
    const mismatch = checkAccount({ ...ACCOUNT, balance: 1000 });
    assert.ok(mismatch instanceof Mismatch);
    assert.equal(mismatch.describe(), '✖ expected 0x-prefixed u128 hex\n  → at balance');
  });
});
