import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesToHex } from '@stacks/common';
import { Cl, Pc } from '@stacks/transactions';
import { DevnetChain } from '../src/chain.js';
import { GENESIS_BALANCES } from '../src/genesis.js';
import {
  DEPLOYER,
  SBTC,
  SBTC_ASSET,
  sponsor,
  stxTransfer,
  tokenTransfer,
  WALLET_1,
  WALLET_2,
} from './helpers.js';

function rejected(chain: DevnetChain, raw: Uint8Array) {
  const result = chain.broadcast(raw);
  assert.equal(result.accepted, false, 'expected a rejection');
  return result as Extract<typeof result, { accepted: false }>;
}

function accepted(chain: DevnetChain, raw: Uint8Array): string {
  const result = chain.broadcast(raw);
  assert.equal(result.accepted, true, result.accepted ? '' : `rejected: ${result.reason}`);
  return result.txid!;
}

describe('admission: the node’s rejection reasons', () => {
  test('Deserialization on garbage and trailing bytes', async () => {
    const chain = new DevnetChain();
    assert.equal(rejected(chain, new Uint8Array([1, 2, 3])).reason, 'Deserialization');
    const good = await stxTransfer();
    const trailing = new Uint8Array([...good, 0]);
    assert.equal(rejected(chain, trailing).reason, 'Deserialization');
  });

  test('BadTransactionVersion for a mainnet transaction', async () => {
    const chain = new DevnetChain();
    const raw = await stxTransfer({
      network: 'mainnet',
      recipient: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7',
    });
    assert.equal(rejected(chain, raw).reason, 'BadTransactionVersion');
  });

  test('SignatureValidation on a tampered amount, with a message', async () => {
    const chain = new DevnetChain();
    const raw = await stxTransfer({ amount: 1000n });
    const index = raw.length - 35;
    raw[index] = raw[index]! ^ 1;
    const result = rejected(chain, raw);
    assert.equal(result.reason, 'SignatureValidation');
    assert.match(String(result.reason_data?.message), /signature/);
  });

  test('SignatureValidation on an unsigned sponsor slot', async () => {
    const chain = new DevnetChain();
    assert.equal(
      rejected(chain, await stxTransfer({ sponsored: true })).reason,
      'SignatureValidation',
    );
  });

  test('FeeTooLow below 1 micro-STX per byte, with expected and actual', async () => {
    const chain = new DevnetChain();
    const raw = await stxTransfer({ fee: 100n });
    const result = rejected(chain, raw);
    assert.equal(result.reason, 'FeeTooLow');
    assert.deepEqual(result.reason_data, { expected: raw.length, actual: 100 });
    accepted(chain, await stxTransfer({ fee: BigInt(raw.length) }));
  });

  test('BadNonce, TooMuchChaining at +26, chaining up to +25', async () => {
    const chain = new DevnetChain();
    accepted(chain, await stxTransfer({ nonce: 0n }));
    chain.mineBlock();
    const stale = rejected(chain, await stxTransfer({ nonce: 0n, amount: 7n }));
    assert.equal(stale.reason, 'BadNonce');
    assert.deepEqual(stale.reason_data, {
      expected: 1,
      actual: 0,
      principal: DEPLOYER.address,
      is_origin: true,
    });
    accepted(chain, await stxTransfer({ nonce: 26n }));
    const far = rejected(chain, await stxTransfer({ nonce: 27n }));
    assert.equal(far.reason, 'TooMuchChaining');
    assert.equal(far.reason_data?.expected, 26);
    assert.equal(far.reason_data?.actual, 27);
  });

  test('ConflictingNonceInMempool, and replace-by-fee with a higher fee', async () => {
    const chain = new DevnetChain();
    const first = accepted(chain, await stxTransfer({ fee: 300n }));
    assert.equal(
      rejected(chain, await stxTransfer({ fee: 300n, amount: 2n })).reason,
      'ConflictingNonceInMempool',
    );
    const second = accepted(chain, await stxTransfer({ fee: 301n, amount: 3n }));
    assert.equal(chain.transaction(first)?.status, 'dropped_replace_by_fee');
    assert.equal(chain.transaction(first)?.replacedBy, second);
    chain.mineBlock();
    assert.equal(chain.transaction(second)?.status, 'success');
  });

  test('NotEnoughFunds with u128 hex amounts', async () => {
    const chain = new DevnetChain();
    const result = rejected(chain, await stxTransfer({ amount: GENESIS_BALANCES.stx }));
    assert.equal(result.reason, 'NotEnoughFunds');
    assert.equal(
      result.reason_data?.actual,
      `0x${GENESIS_BALANCES.stx.toString(16).padStart(32, '0')}`,
    );
    assert.equal(
      result.reason_data?.expected,
      `0x${(GENESIS_BALANCES.stx + 300n).toString(16).padStart(32, '0')}`,
    );
  });

  test('token-transfer rules: recipient ≠ sender, amount > 0, recipient on this network', async () => {
    const chain = new DevnetChain();
    const self = rejected(chain, await stxTransfer({ recipient: DEPLOYER.address }));
    assert.equal(self.reason, 'TransferRecipientCannotEqualSender');
    assert.deepEqual(self.reason_data, { recipient: DEPLOYER.address });
    assert.equal(
      rejected(chain, await stxTransfer({ amount: 0n })).reason,
      'TransferAmountMustBePositive',
    );
    const mainnetRecipient = await stxTransfer({
      recipient: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7',
    });
    assert.equal(rejected(chain, mainnetRecipient).reason, 'BadAddressVersionByte');
  });

  test('NoSuchContract, NoSuchPublicFunction, BadFunctionArgument', async () => {
    const chain = new DevnetChain();
    const unknown = await tokenTransfer({
      contract: 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG.other',
      postConditions: [],
    });
    assert.equal(rejected(chain, unknown).reason, 'NoSuchContract');
    const fn = await tokenTransfer({ functionName: 'mint', postConditions: [] });
    assert.equal(rejected(chain, fn).reason, 'NoSuchPublicFunction');
    const args = await tokenTransfer({
      args: [Cl.int(5), Cl.principal(DEPLOYER.address)],
      postConditions: [],
    });
    assert.equal(rejected(chain, args).reason, 'BadFunctionArgument');
  });

  test('a duplicate broadcast of a pending transaction is an idempotent success', async () => {
    const chain = new DevnetChain();
    const raw = await stxTransfer();
    const txid = accepted(chain, raw);
    assert.equal(accepted(chain, raw), txid);
    assert.equal(chain.mempool.length, 1);
  });
});

describe('execution', () => {
  test('an STX transfer moves amount, charges the fee, bumps the nonce', async () => {
    const chain = new DevnetChain();
    const txid = accepted(chain, await stxTransfer({ amount: 1234n, fee: 300n }));
    const block = chain.mineBlock();
    const record = chain.transaction(txid)!;
    assert.equal(record.status, 'success');
    assert.equal(record.block?.height, block?.height);
    assert.equal(record.execution?.result.repr, '(ok true)');
    assert.equal(chain.state.stx(DEPLOYER.address), GENESIS_BALANCES.stx - 1234n - 300n);
    assert.equal(chain.state.stx(WALLET_1.address), GENESIS_BALANCES.stx + 1234n);
    assert.equal(chain.state.nonce(DEPLOYER.address), 1n);
    assert.equal(record.execution?.events[0]?.event_type, 'stx_asset');
  });

  test('an sBTC transfer moves tokens and prints the memo', async () => {
    const chain = new DevnetChain();
    const memo = Cl.some(Cl.bufferFromUtf8('x402:abc'));
    const txid = accepted(chain, await tokenTransfer({ amount: 5000n, memo }));
    chain.mineBlock();
    const record = chain.transaction(txid)!;
    assert.equal(record.status, 'success');
    assert.equal(chain.state.token(SBTC_ASSET, DEPLOYER.address), GENESIS_BALANCES.sBTC - 5000n);
    assert.equal(chain.state.token(SBTC_ASSET, WALLET_1.address), GENESIS_BALANCES.sBTC + 5000n);
    const [transfer, print] = record.execution!.events;
    assert.equal(transfer?.event_type, 'fungible_token_asset');
    assert.equal(print?.event_type, 'smart_contract_log');
    assert.equal(
      print?.event_type === 'smart_contract_log' && print.contract_log.value.repr,
      `0x${bytesToHex(new TextEncoder().encode('x402:abc'))}`,
    );
  });

  const aborts: [string, Parameters<typeof tokenTransfer>[0], string][] = [
    ['insufficient balance (err u1)', { amount: GENESIS_BALANCES.sBTC + 1n }, '(err u1)'],
    ['sender = recipient (err u2)', { recipient: DEPLOYER.address }, '(err u2)'],
    ['zero amount (err u3)', { amount: 0n }, '(err u3)'],
    ['tx-sender is not the sender (err u4)', { sender: WALLET_2.address }, '(err u4)'],
  ];
  for (const [name, options, repr] of aborts) {
    test(`sbtc-token semantics: ${name}; fee and nonce consumed`, async () => {
      const chain = new DevnetChain();
      const txid = accepted(
        chain,
        await tokenTransfer({ ...options, mode: 'allow', postConditions: [] }),
      );
      chain.mineBlock();
      const record = chain.transaction(txid)!;
      assert.equal(record.status, 'abort_by_response');
      assert.equal(record.execution?.result.repr, repr);
      assert.equal(chain.state.token(SBTC_ASSET, DEPLOYER.address), GENESIS_BALANCES.sBTC);
      assert.equal(chain.state.stx(DEPLOYER.address), GENESIS_BALANCES.stx - 3000n);
      assert.equal(chain.state.nonce(DEPLOYER.address), 1n);
    });
  }

  const postConditionCases: [
    string,
    'allow' | 'deny',
    NonNullable<Parameters<typeof tokenTransfer>[0]>['postConditions'],
    boolean,
  ][] = [
    [
      'deny, eq exact',
      'deny',
      [Pc.principal(DEPLOYER.address).willSendEq(5000n).ft(SBTC, 'sbtc-token')],
      true,
    ],
    [
      'deny, eq wrong amount',
      'deny',
      [Pc.principal(DEPLOYER.address).willSendEq(4999n).ft(SBTC, 'sbtc-token')],
      false,
    ],
    [
      'deny, gt below',
      'deny',
      [Pc.principal(DEPLOYER.address).willSendGt(4999n).ft(SBTC, 'sbtc-token')],
      true,
    ],
    [
      'deny, gt equal',
      'deny',
      [Pc.principal(DEPLOYER.address).willSendGt(5000n).ft(SBTC, 'sbtc-token')],
      false,
    ],
    [
      'deny, gte',
      'deny',
      [Pc.principal(DEPLOYER.address).willSendGte(5000n).ft(SBTC, 'sbtc-token')],
      true,
    ],
    [
      'deny, lt',
      'deny',
      [Pc.principal(DEPLOYER.address).willSendLt(5000n).ft(SBTC, 'sbtc-token')],
      false,
    ],
    [
      'deny, lte',
      'deny',
      [Pc.principal(DEPLOYER.address).willSendLte(5000n).ft(SBTC, 'sbtc-token')],
      true,
    ],
    ['deny, no condition', 'deny', [], false],
    [
      'deny, condition on another principal',
      'deny',
      [Pc.principal(WALLET_2.address).willSendLte(0n).ft(SBTC, 'sbtc-token')],
      false,
    ],
    ['allow, no condition', 'allow', [], true],
    [
      'allow, failing condition',
      'allow',
      [Pc.principal(DEPLOYER.address).willSendLt(10n).ft(SBTC, 'sbtc-token')],
      false,
    ],
    [
      'deny, STX condition that holds',
      'deny',
      [
        Pc.principal(DEPLOYER.address).willSendEq(5000n).ft(SBTC, 'sbtc-token'),
        Pc.principal(DEPLOYER.address).willSendEq(0n).ustx(),
      ],
      true,
    ],
  ];
  for (const [name, mode, postConditions, passes] of postConditionCases) {
    test(`post-conditions: ${name}`, async () => {
      const chain = new DevnetChain();
      const txid = accepted(chain, await tokenTransfer({ mode, postConditions }));
      chain.mineBlock();
      const record = chain.transaction(txid)!;
      assert.equal(record.status, passes ? 'success' : 'abort_by_post_condition');
      assert.equal(
        chain.state.token(SBTC_ASSET, WALLET_1.address),
        GENESIS_BALANCES.sBTC + (passes ? 5000n : 0n),
      );
      assert.equal(chain.state.nonce(DEPLOYER.address), 1n, 'the nonce is consumed either way');
    });
  }

  test('an STX transfer carrying a post-condition is dropped by the miner, unmined', async () => {
    const chain = new DevnetChain();
    const raw = await stxTransfer({
      postConditions: [Pc.principal(DEPLOYER.address).willSendEq(1000n).ustx()],
    });
    const txid = accepted(chain, raw);
    chain.mineBlock();
    assert.equal(chain.transaction(txid)?.status, 'dropped_problematic');
    assert.equal(chain.state.nonce(DEPLOYER.address), 0n);
  });

  test('a sponsored transfer: the sponsor pays the fee and spends its nonce', async () => {
    const chain = new DevnetChain();
    const raw = await sponsor(
      await stxTransfer({ sponsored: true, amount: 42n }),
      WALLET_2.privateKey,
      500n,
      0n,
    );
    const txid = accepted(chain, raw);
    chain.mineBlock();
    assert.equal(chain.transaction(txid)?.status, 'success');
    assert.equal(chain.state.stx(DEPLOYER.address), GENESIS_BALANCES.stx - 42n);
    assert.equal(chain.state.stx(WALLET_2.address), GENESIS_BALANCES.stx - 500n);
    assert.equal(chain.state.nonce(WALLET_2.address), 1n);
    const sameSponsorNonce = await sponsor(
      await stxTransfer({ sponsored: true, key: WALLET_1.privateKey, recipient: DEPLOYER.address }),
      WALLET_2.privateKey,
      500n,
      0n,
    );
    assert.equal(rejected(chain, sameSponsorNonce).reason, 'BadNonce');
  });

  test('a chain of nonces mines in one block', async () => {
    const chain = new DevnetChain();
    for (const nonce of [2n, 0n, 1n])
      accepted(chain, await stxTransfer({ nonce, amount: 10n + nonce }));
    const block = chain.mineBlock();
    assert.equal(block?.txids.length, 3);
    assert.equal(chain.state.nonce(DEPLOYER.address), 3n);
  });

  test('a gap waits: nonce 1 without nonce 0 stays pending', async () => {
    const chain = new DevnetChain();
    const txid = accepted(chain, await stxTransfer({ nonce: 1n }));
    chain.mineBlock();
    assert.equal(chain.transaction(txid)?.status, 'pending');
    assert.deepEqual(chain.nonces(DEPLOYER.address).missing, [0n]);
    assert.equal(chain.nonces(DEPLOYER.address).possibleNext, 2n);
  });
});

describe('blocks and faults', () => {
  test('heights, burn heights and times advance', async () => {
    let now = 1_700_000_000_000;
    const chain = new DevnetChain({ burnBlockEvery: 2, clock: () => now });
    const blocks = chain.mine(4);
    now += 5000;
    const fifth = chain.mineBlock()!;
    assert.deepEqual(
      blocks.map((b) => b.height),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      blocks.map((b) => b.burnBlockHeight),
      [0, 1, 1, 2],
    );
    assert.equal(fifth.time - blocks[3]!.time, 5);
    assert.equal(fifth.parentHash, blocks[3]!.hash);
  });

  test('stall: no blocks until resumed', async () => {
    const chain = new DevnetChain();
    const txid = accepted(chain, await stxTransfer());
    chain.stall(true);
    assert.equal(chain.mineBlock(), undefined);
    assert.equal(chain.transaction(txid)?.status, 'pending');
    chain.stall(false);
    chain.mineBlock();
    assert.equal(chain.transaction(txid)?.status, 'success');
  });

  test('delay: mined only after the given number of blocks', async () => {
    const chain = new DevnetChain();
    const txid = accepted(chain, await stxTransfer());
    assert.equal(chain.injectFault(txid, { kind: 'delay', blocks: 2 }), true);
    chain.mine(2);
    assert.equal(chain.transaction(txid)?.status, 'pending');
    chain.mineBlock();
    assert.equal(chain.transaction(txid)?.status, 'success');
  });

  test('drop: leaves the mempool with the chosen dropped status; next-transaction faults', async () => {
    const chain = new DevnetChain();
    const txid = accepted(chain, await stxTransfer());
    chain.injectFault(txid, { kind: 'drop', status: 'dropped_too_expensive' });
    assert.equal(chain.transaction(txid)?.status, 'dropped_too_expensive');
    chain.injectFault('next', { kind: 'drop' });
    const next = accepted(chain, await stxTransfer({ amount: 5n }));
    assert.equal(chain.transaction(next)?.status, 'dropped_stale_garbage_collect');
    assert.equal(chain.injectFault(next, { kind: 'delay', blocks: 1 }), false, 'no longer pending');
  });

  test('abort: mined as abort_by_response or abort_by_post_condition, fee and nonce consumed', async () => {
    for (const status of ['abort_by_response', 'abort_by_post_condition'] as const) {
      const chain = new DevnetChain();
      const txid = accepted(chain, await tokenTransfer());
      chain.injectFault(txid, { kind: 'abort', status });
      chain.mineBlock();
      assert.equal(chain.transaction(txid)?.status, status);
      assert.equal(chain.state.token(SBTC_ASSET, WALLET_1.address), GENESIS_BALANCES.sBTC);
      assert.equal(chain.state.stx(DEPLOYER.address), GENESIS_BALANCES.stx - 3000n);
    }
  });
});

describe('state', () => {
  test('toJSON / fromJSON keeps balances, nonces, blocks, mempool and outcomes', async () => {
    const chain = new DevnetChain();
    const mined = accepted(chain, await tokenTransfer());
    chain.mineBlock();
    const pending = accepted(chain, await stxTransfer({ nonce: 1n, amount: 77n }));
    chain.fund('ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG', { stx: 123n, sBTC: 4n });
    const restored = DevnetChain.fromJSON(JSON.parse(JSON.stringify(chain.toJSON())));
    assert.equal(restored.height, 1);
    assert.equal(restored.transaction(mined)?.status, 'success');
    assert.equal(restored.transaction(pending)?.status, 'pending');
    assert.equal(restored.state.stx('ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG'), 123n);
    assert.equal(restored.state.token(SBTC_ASSET, 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG'), 4n);
    assert.equal(restored.state.nonce(DEPLOYER.address), 1n);
    restored.mineBlock();
    assert.equal(restored.transaction(pending)?.status, 'success');
    assert.equal(restored.state.stx(WALLET_1.address), GENESIS_BALANCES.stx + 77n);
  });

  test('error: an unknown state version', () => {
    assert.throws(() => DevnetChain.fromJSON({ version: 2 } as never), /version/);
  });
});

describe('post-conditions on a failing call', () => {
  test('a condition that something was sent fails against the rolled-back transfer', async () => {
    const chain = new DevnetChain();
    const amount = GENESIS_BALANCES.sBTC + 1n;
    const strict = accepted(
      chain,
      await tokenTransfer({
        amount,
        postConditions: [Pc.principal(DEPLOYER.address).willSendEq(amount).ft(SBTC, 'sbtc-token')],
      }),
    );
    chain.mineBlock();
    assert.equal(chain.transaction(strict)?.status, 'abort_by_post_condition');
    assert.equal(chain.transaction(strict)?.execution?.result.repr, '(err u1)');
    const loose = accepted(
      chain,
      await tokenTransfer({
        amount,
        nonce: 1n,
        postConditions: [Pc.principal(DEPLOYER.address).willSendLte(amount).ft(SBTC, 'sbtc-token')],
      }),
    );
    chain.mineBlock();
    assert.equal(chain.transaction(loose)?.status, 'abort_by_response');
  });
});

describe('self-sponsorship and fund checks', () => {
  test('an account sponsoring itself spends one nonce', async () => {
    const chain = new DevnetChain();
    const raw = await sponsor(
      await stxTransfer({ sponsored: true, amount: 5n }),
      DEPLOYER.privateKey,
      500n,
      0n,
    );
    const txid = accepted(chain, raw);
    chain.mineBlock();
    assert.equal(chain.transaction(txid)?.status, 'success');
    assert.equal(chain.state.nonce(DEPLOYER.address), 1n);
    accepted(chain, await stxTransfer({ nonce: 1n }));
  });

  test('NotEnoughFunds for an STX transfer reports amount plus fee', async () => {
    const chain = new DevnetChain();
    const result = rejected(chain, await stxTransfer({ amount: GENESIS_BALANCES.stx, fee: 300n }));
    assert.equal(
      result.reason_data?.expected,
      `0x${(GENESIS_BALANCES.stx + 300n).toString(16).padStart(32, '0')}`,
    );
  });
});
