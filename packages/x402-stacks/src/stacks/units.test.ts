import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveAsset, STX_ASSET } from './assets.js';
import { InvalidAmountError } from './errors.js';
import { formatPrice } from './payment/terms.js';
import {
  BTCtoSats,
  formatAmount,
  fromAtomic,
  microSTXtoSTX,
  microUSDCxToUSDCx,
  parseAtomic,
  STXtoMicroSTX,
  satsToBTC,
  toAtomic,
  USDCxToMicroUSDCx,
} from './units.js';

const isInvalidAmount = (error: unknown) =>
  error instanceof InvalidAmountError && error.reason === 'invalid_amount';

describe('toAtomic', () => {
  const exact: [input: string | number | bigint, decimals: number, atomic: bigint][] = [
    // Float traps: each of these is wrong when computed as Math.floor(x * 10 ** decimals).
    [0.29, 6, 290000n],
    ['0.29', 6, 290000n],
    [1.005, 6, 1005000n],
    ['1.005', 6, 1005000n],
    [4.35, 8, 435000000n],
    ['4.35', 8, 435000000n],
    [0.57, 6, 570000n],
    [1.15, 8, 115000000n],
    [0.00001, 6, 10n],
    [1e-6, 6, 1n],
    [1e-8, 8, 1n],
    [123.456789, 6, 123456789n],
    ['0.000001', 6, 1n],
    ['0.00000001', 8, 1n],
    [0, 6, 0n],
    [-0, 6, 0n],
    ['0', 8, 0n],
    ['1', 0, 1n],
    [21_000_000, 8, 2_100_000_000_000_000n],
    ['21000000.00000001', 8, 2_100_000_000_000_001n],
    ['1.500000000', 6, 1_500_000n],
    [5n, 6, 5_000_000n],
    [0n, 8, 0n],
    ['340282366920938463463374607431.768211455', 9, 340282366920938463463374607431768211455n],
  ];
  for (const [input, decimals, atomic] of exact) {
    test(`${typeof input} ${String(input)} with ${decimals} decimals is ${atomic}`, () => {
      assert.equal(toAtomic(input, decimals), atomic);
    });
  }

  const refused: [input: unknown, decimals: number, why: string][] = [
    [Number.NaN, 6, 'NaN'],
    [Number.POSITIVE_INFINITY, 6, 'infinity'],
    [-1, 6, 'negative number'],
    ['-1', 6, 'negative string'],
    [-1n, 6, 'negative bigint'],
    [0.1 + 0.2, 6, 'a float that already lost precision'],
    ['0.0000001', 6, 'excess decimals'],
    [1e-7, 6, 'excess decimals in exponent form'],
    ['0.000000001', 8, 'excess decimals for sBTC'],
    ['', 6, 'empty string'],
    ['.5', 6, 'missing whole part'],
    ['1.', 6, 'missing fraction'],
    ['1e3', 6, 'exponent in a string'],
    ['1,5', 6, 'comma'],
    [' 1', 6, 'whitespace'],
    ['0x10', 6, 'hex'],
    [2 ** 60, 6, 'number beyond 2^53'],
    [null, 6, 'null'],
    [{}, 6, 'object'],
    ['1', -1, 'negative decimals'],
    ['1', 1.5, 'fractional decimals'],
  ];
  for (const [input, decimals, why] of refused) {
    test(`error: ${why}`, () => {
      assert.throws(() => toAtomic(input as string, decimals), isInvalidAmount);
    });
  }
});

describe('fromAtomic', () => {
  const cases: [atomic: bigint | string | number, decimals: number, text: string][] = [
    [290000n, 6, '0.29'],
    [1n, 6, '0.000001'],
    [1n, 8, '0.00000001'],
    [0n, 6, '0'],
    [1_000_000n, 6, '1'],
    ['435000000', 8, '4.35'],
    [1005000, 6, '1.005'],
    [123n, 0, '123'],
    [2_100_000_000_000_001n, 8, '21000000.00000001'],
  ];
  for (const [atomic, decimals, text] of cases) {
    test(`${String(atomic)} with ${decimals} decimals is ${text}`, () => {
      assert.equal(fromAtomic(atomic, decimals), text);
    });
  }

  test('round-trips with toAtomic', () => {
    for (const text of ['0.29', '1.005', '4.35', '0.00000001', '98765.4321', '7']) {
      assert.equal(fromAtomic(toAtomic(text, 8), 8), text);
    }
  });

  test('error: negative or fractional atomic amounts', () => {
    assert.throws(() => fromAtomic(-1n, 6), isInvalidAmount);
    assert.throws(() => fromAtomic(1.5, 6), isInvalidAmount);
    assert.throws(() => fromAtomic('1.5', 6), isInvalidAmount);
    assert.throws(() => fromAtomic('-5', 6), isInvalidAmount);
  });
});

describe('parseAtomic', () => {
  test('reads bigints, digit strings and safe integers', () => {
    assert.equal(parseAtomic(5n), 5n);
    assert.equal(parseAtomic('1000'), 1000n);
    assert.equal(parseAtomic(1000), 1000n);
  });
  test('error: anything that is not a non-negative integer', () => {
    for (const bad of ['1e3', '', ' 1', '1.0', -1, 2 ** 54, Number.NaN]) {
      assert.throws(() => parseAtomic(bad), isInvalidAmount, String(bad));
    }
  });
});

describe('named conversions', () => {
  test('STX and micro-STX', () => {
    assert.equal(STXtoMicroSTX(0.00001), 10n);
    assert.equal(STXtoMicroSTX('1.005'), 1005000n);
    assert.equal(microSTXtoSTX(1005000n), '1.005');
  });
  test('BTC and sats', () => {
    assert.equal(BTCtoSats('4.35'), 435000000n);
    assert.equal(satsToBTC(435000000n), '4.35');
  });
  test('USDCx and its atomic unit', () => {
    assert.equal(USDCxToMicroUSDCx('0.05'), 50000n);
    assert.equal(microUSDCxToUSDCx(50000n), '0.05');
  });
});

describe('formatAmount and formatPrice', () => {
  test('whole units and the symbol, never atomic units shown as whole ones', () => {
    assert.equal(formatAmount(1_000_001n, STX_ASSET), '1.000001 STX');
    assert.equal(formatAmount('1000000', STX_ASSET), '1 STX');
    assert.equal(formatAmount(0n, STX_ASSET), '0 STX');
    assert.equal(formatAmount(120n, resolveAsset('sBTC', 'testnet')), '0.0000012 sBTC');
  });

  test('a token of unknown decimals is shown in atomic units, said so, with its id', () => {
    const token = resolveAsset('ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG.points::pts', 'testnet');
    assert.equal(
      formatAmount(42n, token),
      '42 atomic units of ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG.points::pts',
    );
  });

  test('formatPrice reads requirements and never throws on a broken offer', () => {
    const network = 'stacks:2147483648';
    assert.equal(formatPrice({ amount: '2500', asset: 'STX', network }), '0.0025 STX');
    assert.equal(
      formatPrice({ amount: '2500', asset: 'DOGE', network }),
      '2500 atomic units of DOGE',
    );
    assert.equal(formatPrice({ amount: '-1', asset: 'STX', network }), '-1 atomic units of STX');
  });
});
