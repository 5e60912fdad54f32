/**
 * batch-escrow.clar in the Clarinet simnet: every public and read-only function, every error code, and the attacks
 * the README's security section argues about (a hostile token, a replayed or foreign voucher, a relayer, a claim
 * racing a withdrawal). Signatures come from the library's `signStructuredData`.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Simnet } from '@stacks/clarinet-sdk';
import { Cl, cvToString } from '@stacks/transactions';
import { STACKS_NETWORKS } from 'x402-stacks';
import { structuredDataHash } from 'x402-stacks/stacks';
import {
  type ChannelConfig,
  type ClaimRow,
  call,
  channelIdOf,
  channelState,
  claimBatchCV,
  claimRowsCV,
  configCV,
  DEPLOYER,
  DRAINING_TOKEN,
  ESCROW,
  ESCROW_DOMAIN,
  optionalSignature,
  type Party,
  PLAIN_TOKEN,
  party,
  plain,
  readOnly,
  refundCV,
  SBTC,
  saltOf,
  signClaimBatch,
  signRefund,
  signVoucher,
  startEscrowSimnet,
  stxOf,
  tokenArg,
  tokenBalance,
  unsettled,
  voucherCV,
} from './batch-escrow-kit.js';

let simnet: Simnet;

before(async () => {
  simnet = await startEscrowSimnet({ trackCosts: true });
});

const STX = 1_000_000n;

/** The four parties of one channel, funded, and its config; nothing deposited yet. */
type Channel = {
  payer: Party;
  payerAuthorizer: Party;
  receiver: Party;
  receiverAuthorizer: Party;
  config: ChannelConfig;
  id: string;
};

function channel(label: string, overrides: Partial<ChannelConfig> = {}): Channel {
  const [payer, payerAuthorizer, receiver, receiverAuthorizer] = [
    party(`${label} payer`),
    party(`${label} payer-authorizer`),
    party(`${label} receiver`),
    party(`${label} receiver-authorizer`),
  ];
  for (const p of [payer, payerAuthorizer, receiver, receiverAuthorizer]) {
    if (stxOf(simnet, p.address) === 0n) simnet.mintSTX(p.address, 100n * STX);
  }
  const config: ChannelConfig = {
    payer: payer.address,
    payerAuthorizer: payerAuthorizer.address,
    receiver: receiver.address,
    receiverAuthorizer: receiverAuthorizer.address,
    token: null,
    withdrawDelay: 6n,
    salt: saltOf(label),
    ...overrides,
  };
  return { payer, payerAuthorizer, receiver, receiverAuthorizer, config, id: channelIdOf(config) };
}

function deposit(ch: Channel, amount: bigint, sender = ch.payer.address, token = ch.config.token) {
  return call(simnet, 'deposit', [configCV(ch.config), Cl.uint(amount), tokenArg(token)], sender);
}

/** A claim row for `ch` backed by a voucher for `maxClaimable` signed by `signer` (the payer-authorizer). */
function row(
  ch: Channel,
  maxClaimable: bigint,
  claimed = maxClaimable,
  signer = ch.payerAuthorizer,
): ClaimRow {
  return {
    channelId: ch.id,
    maxClaimable,
    voucherSignature: signVoucher(signer, ch.id, maxClaimable),
    claimed,
  };
}

function claim(rows: ClaimRow[], sender: string, signature?: string) {
  return call(simnet, 'claim', [claimRowsCV(rows), optionalSignature(signature)], sender);
}

function settle(receiver: string, token: string | null, sender = DEPLOYER) {
  return call(simnet, 'settle', [Cl.principal(receiver), tokenArg(token)], sender);
}

function refund(
  ch: Channel,
  amount: bigint,
  nonce: bigint,
  sender: string,
  signature?: string,
  token = ch.config.token,
) {
  return call(
    simnet,
    'refund',
    [
      Cl.bufferFromHex(ch.id),
      Cl.uint(amount),
      Cl.uint(nonce),
      optionalSignature(signature),
      tokenArg(token),
    ],
    sender,
  );
}

function startWithdrawal(ch: Channel, amount: bigint, sender = ch.payer.address) {
  return call(simnet, 'start-withdrawal', [Cl.bufferFromHex(ch.id), Cl.uint(amount)], sender);
}

function finishWithdrawal(ch: Channel, sender = ch.payer.address, token = ch.config.token) {
  return call(simnet, 'finish-withdrawal', [Cl.bufferFromHex(ch.id), tokenArg(token)], sender);
}

const relayer = party('relayer');

describe('batch-escrow: read-only functions agree with the library', () => {
  test('get-channel-id is sha256 of the config tuple, as channelIdOf computes it', () => {
    const ch = channel('read-only id');
    const id = readOnly(simnet, 'get-channel-id', [configCV(ch.config)]);
    assert.equal(cvToString(id), `0x${ch.id}`);
    // Every field is part of the identity: another salt or delay is another channel.
    assert.notEqual(channelIdOf({ ...ch.config, salt: saltOf('other') }), ch.id);
    assert.notEqual(channelIdOf({ ...ch.config, withdrawDelay: 7n }), ch.id);
  });

  test('voucher-hash, claim-batch-hash and refund-hash are the SIP-018 hashes the library signs', () => {
    const ch = channel('read-only hashes');
    const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString('hex')}`;
    assert.equal(
      cvToString(readOnly(simnet, 'voucher-hash', [Cl.bufferFromHex(ch.id), Cl.uint(1234n)])),
      hex(structuredDataHash(ESCROW_DOMAIN, voucherCV(ch.id, 1234n))),
    );
    const rows = [row(ch, 10n, 7n), row(ch, 20n)];
    const signed = Cl.list(
      rows.map((r) =>
        Cl.tuple({ 'channel-id': Cl.bufferFromHex(r.channelId), claimed: Cl.uint(r.claimed) }),
      ),
    );
    assert.equal(
      cvToString(readOnly(simnet, 'claim-batch-hash', [signed])),
      hex(structuredDataHash(ESCROW_DOMAIN, claimBatchCV(rows))),
    );
    assert.equal(
      cvToString(
        readOnly(simnet, 'refund-hash', [Cl.bufferFromHex(ch.id), Cl.uint(5n), Cl.uint(2n)]),
      ),
      hex(structuredDataHash(ESCROW_DOMAIN, refundCV(ch.id, 5n, 2n))),
    );
  });

  test('get-channel answers the stored config and state, none for an unknown id', () => {
    const ch = channel('read-only get-channel', { token: PLAIN_TOKEN });
    assert.equal(cvToString(readOnly(simnet, 'get-channel', [Cl.bufferFromHex(ch.id)])), 'none');
    simnet.callPublicFn(
      PLAIN_TOKEN,
      'mint',
      [Cl.uint(900n), Cl.principal(ch.payer.address)],
      DEPLOYER,
    );
    deposit(ch, 900n);
    startWithdrawal(ch, 100n);
    const stored = plain(readOnly(simnet, 'get-channel', [Cl.bufferFromHex(ch.id)]));
    assert.deepEqual(stored, {
      config: {
        payer: ch.payer.address,
        'payer-authorizer': ch.payerAuthorizer.address,
        receiver: ch.receiver.address,
        'receiver-authorizer': ch.receiverAuthorizer.address,
        token: PLAIN_TOKEN,
        'withdraw-delay': 6n,
        salt: `0x${ch.config.salt}`,
      },
      balance: 900n,
      claimed: 0n,
      'refund-nonce': 0n,
      withdrawal: { amount: 100n, 'requested-at': BigInt(simnet.burnBlockHeight) },
    });
  });

  test('check-voucher: ok true when claimable, ok false above the balance, errors otherwise', () => {
    const ch = channel('check-voucher');
    const check = (max: bigint, signature: string) =>
      cvToString(
        readOnly(simnet, 'check-voucher', [
          Cl.bufferFromHex(ch.id),
          Cl.uint(max),
          Cl.bufferFromHex(signature),
        ]),
      );
    assert.equal(check(5n, signVoucher(ch.payerAuthorizer, ch.id, 5n)), '(err u107)');
    assert.equal(deposit(ch, 100n).result, `(ok 0x${ch.id})`);
    assert.equal(check(100n, signVoucher(ch.payerAuthorizer, ch.id, 100n)), '(ok true)');
    assert.equal(check(101n, signVoucher(ch.payerAuthorizer, ch.id, 101n)), '(ok false)');
    assert.equal(check(5n, signVoucher(ch.payer, ch.id, 5n)), '(err u110)');
    assert.equal(check(6n, signVoucher(ch.payerAuthorizer, ch.id, 5n)), '(err u110)');
  });
});

describe('batch-escrow: admin and the token allow-list', () => {
  test('only the admin allows tokens (u100); set-admin hands the role over, the old admin loses it', () => {
    const stranger = party('admin stranger');
    simnet.mintSTX(stranger.address, STX);
    const allow = (sender: string) =>
      call(simnet, 'set-token-allowed', [Cl.principal(DRAINING_TOKEN), Cl.bool(false)], sender);
    assert.equal(allow(stranger.address).result, '(err u100)');
    assert.equal(
      call(simnet, 'set-admin', [Cl.principal(stranger.address)], stranger.address).result,
      '(err u100)',
    );
    const handover = call(simnet, 'set-admin', [Cl.principal(stranger.address)], DEPLOYER);
    assert.equal(handover.result, '(ok true)');
    assert.deepEqual(handover.prints, [{ event: 'admin', admin: stranger.address }]);
    assert.equal(cvToString(readOnly(simnet, 'get-admin', [])), stranger.address);
    assert.equal(allow(DEPLOYER).result, '(err u100)');
    const allowed = allow(stranger.address);
    assert.equal(allowed.result, '(ok true)');
    assert.deepEqual(allowed.prints, [
      { event: 'token-allowed', token: DRAINING_TOKEN, allowed: false },
    ]);
    assert.equal(
      call(simnet, 'set-admin', [Cl.principal(DEPLOYER)], stranger.address).result,
      '(ok true)',
    );
    assert.equal(cvToString(readOnly(simnet, 'is-token-allowed', [Cl.principal(SBTC)])), 'true');
    assert.equal(
      cvToString(readOnly(simnet, 'is-token-allowed', [Cl.principal(DRAINING_TOKEN)])),
      'false',
    );
  });
});

describe('batch-escrow: deposit', () => {
  test('opens an STX channel, then tops it up; events open + deposit, then deposit', () => {
    const ch = channel('deposit stx');
    const before = stxOf(simnet, ESCROW);
    const first = deposit(ch, 5n * STX);
    assert.equal(first.result, `(ok 0x${ch.id})`);
    assert.deepEqual(first.prints, [
      {
        event: 'open',
        'channel-id': `0x${ch.id}`,
        config: {
          payer: ch.payer.address,
          'payer-authorizer': ch.payerAuthorizer.address,
          receiver: ch.receiver.address,
          'receiver-authorizer': ch.receiverAuthorizer.address,
          token: null,
          'withdraw-delay': 6n,
          salt: `0x${ch.config.salt}`,
        },
      },
      {
        event: 'deposit',
        'channel-id': `0x${ch.id}`,
        amount: 5n * STX,
        balance: 5n * STX,
        claimed: 0n,
      },
    ]);
    const topUp = deposit(ch, 2n * STX);
    assert.equal(topUp.result, `(ok 0x${ch.id})`);
    assert.deepEqual(topUp.prints, [
      {
        event: 'deposit',
        'channel-id': `0x${ch.id}`,
        amount: 2n * STX,
        balance: 7n * STX,
        claimed: 0n,
      },
    ]);
    assert.equal(stxOf(simnet, ESCROW), before + 7n * STX);
    assert.deepEqual(channelState(simnet, ch.id), {
      balance: 7n * STX,
      claimed: 0n,
      refundNonce: 0n,
      withdrawal: null,
    });
  });

  test('opens an sBTC channel through the real sbtc-token, allow-listed', () => {
    const ch = channel('deposit sbtc', { token: SBTC });
    simnet.mintFT(`${SBTC}.sbtc-token`, ch.payer.address, 50_000n);
    assert.equal(deposit(ch, 30_000n).result, `(ok 0x${ch.id})`);
    assert.equal(tokenBalance(simnet, SBTC, ch.payer.address), 20_000n);
    assert.equal(channelState(simnet, ch.id)?.balance, 30_000n);
  });

  test('u101: only the payer deposits (tx-sender is the payer even when a sponsor pays the fee)', () => {
    const ch = channel('deposit not payer');
    assert.equal(deposit(ch, STX, ch.receiver.address).result, '(err u101)');
    assert.equal(deposit(ch, STX, ch.payerAuthorizer.address).result, '(err u101)');
    assert.equal(channelState(simnet, ch.id), null);
  });

  test('u102: a zero deposit', () => {
    const ch = channel('deposit zero');
    assert.equal(deposit(ch, 0n).result, '(err u102)');
  });

  test('u103: the token passed must be the configured one (STX vs token, token A vs token B)', () => {
    const stxChannel = channel('mismatch stx');
    assert.equal(deposit(stxChannel, STX, undefined, PLAIN_TOKEN).result, '(err u103)');
    const sbtcChannel = channel('mismatch sbtc', { token: SBTC });
    simnet.mintFT(`${SBTC}.sbtc-token`, sbtcChannel.payer.address, 1_000n);
    assert.equal(deposit(sbtcChannel, 100n, undefined, null).result, '(err u103)');
    assert.equal(deposit(sbtcChannel, 100n, undefined, PLAIN_TOKEN).result, '(err u103)');
    assert.equal(deposit(sbtcChannel, 100n, undefined, DRAINING_TOKEN).result, '(err u103)');
  });

  test('u104: a token not on the allow-list, such as a hostile one, never opens a channel', () => {
    const ch = channel('deposit draining', { token: DRAINING_TOKEN });
    const before = stxOf(simnet, ch.payer.address);
    assert.equal(deposit(ch, 100n).result, '(err u104)');
    assert.equal(stxOf(simnet, ch.payer.address), before, 'the hostile transfer never ran');
  });

  test('u105: a withdrawal delay outside 6..4320 burn blocks', () => {
    for (const withdrawDelay of [0n, 5n, 4321n]) {
      const ch = channel(`delay ${withdrawDelay}`, { withdrawDelay });
      assert.equal(deposit(ch, STX).result, '(err u105)', `${withdrawDelay}`);
    }
    for (const withdrawDelay of [6n, 4320n]) {
      const ch = channel(`delay ${withdrawDelay}`, { withdrawDelay });
      assert.equal(deposit(ch, STX).result, `(ok 0x${ch.id})`, `${withdrawDelay}`);
    }
  });

  test('u106: an authorizer that cannot sign (a contract, or an address of another network)', () => {
    const mainnet = 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7';
    for (const [label, overrides] of [
      ['contract payer-authorizer', { payerAuthorizer: PLAIN_TOKEN }],
      ['contract receiver-authorizer', { receiverAuthorizer: ESCROW }],
      ['mainnet payer-authorizer', { payerAuthorizer: mainnet }],
      ['mainnet receiver-authorizer', { receiverAuthorizer: mainnet }],
      [
        'multi-sig payer-authorizer',
        { payerAuthorizer: 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1' },
      ],
    ] as const) {
      const ch = channel(`authorizer ${label}`, overrides);
      assert.equal(deposit(ch, STX).result, '(err u106)', label);
    }
  });

  test('a deposit above the payer balance fails with stx-transfer? own (err u1), nothing changes', () => {
    const ch = channel('deposit poor');
    assert.equal(deposit(ch, 101n * STX).result, '(err u1)');
    assert.equal(channelState(simnet, ch.id), null);
  });
});

describe('batch-escrow: claim', () => {
  test('a signed batch across channels, relayed by a stranger, raises claimed and the unsettled pool', () => {
    const a = channel('claim batch a');
    const b = channel('claim batch b', {
      receiver: party('claim batch a receiver').address,
      receiverAuthorizer: party('claim batch a receiver-authorizer').address,
    });
    deposit(a, 10n * STX);
    deposit(b, 10n * STX);
    // Dynamic price: a voucher's ceiling is 3 STX, the receiver claims only what it charged.
    const rows = [row(a, 3n * STX, 2n * STX), row(b, 4n * STX)];
    const before = stxOf(simnet, ESCROW);
    const outcome = claim(rows, relayer.address, signClaimBatch(a.receiverAuthorizer, rows));
    assert.equal(outcome.result, `(ok u${6n * STX})`);
    assert.deepEqual(outcome.prints, [
      {
        event: 'claim',
        'channel-id': `0x${a.id}`,
        amount: 2n * STX,
        balance: 10n * STX,
        claimed: 2n * STX,
      },
      {
        event: 'claim',
        'channel-id': `0x${b.id}`,
        amount: 4n * STX,
        balance: 10n * STX,
        claimed: 4n * STX,
      },
    ]);
    assert.equal(stxOf(simnet, ESCROW), before, 'a claim moves no funds');
    assert.equal(unsettled(simnet, a.receiver.address, null), 6n * STX);
    assert.equal(
      cvToString(readOnly(simnet, 'get-unsettled', [Cl.principal(a.receiver.address), Cl.none()])),
      `u${6n * STX}`,
    );
    assert.equal(channelState(simnet, a.id)?.claimed, 2n * STX);
  });

  test('the same batch again, or a lower total, changes nothing (retries and two relayers are safe)', () => {
    const ch = channel('claim replay');
    deposit(ch, 10n * STX);
    const rows = [row(ch, 5n * STX)];
    const signature = signClaimBatch(ch.receiverAuthorizer, rows);
    assert.equal(claim(rows, relayer.address, signature).result, `(ok u${5n * STX})`);
    const replay = claim(rows, relayer.address, signature);
    assert.equal(replay.result, '(ok u0)');
    assert.deepEqual(replay.prints, []);
    const lower = [row(ch, 3n * STX)];
    assert.equal(claim(lower, ch.receiverAuthorizer.address).result, '(ok u0)');
    assert.equal(channelState(simnet, ch.id)?.claimed, 5n * STX);
    assert.equal(unsettled(simnet, ch.receiver.address, null), 5n * STX);
  });

  test('without a signature, the receiver or the receiver-authorizer may claim as tx-sender', () => {
    const ch = channel('claim direct');
    deposit(ch, 10n * STX);
    assert.equal(claim([row(ch, STX)], ch.receiver.address).result, `(ok u${STX})`);
    assert.equal(claim([row(ch, 2n * STX)], ch.receiverAuthorizer.address).result, `(ok u${STX})`);
  });

  test('u108: an empty batch', () => {
    assert.equal(claim([], relayer.address).result, '(err u108)');
  });

  test('u107: a voucher for a channel that was never opened', () => {
    const ch = channel('claim unknown');
    assert.equal(claim([row(ch, STX)], ch.receiver.address).result, '(err u107)');
  });

  test("u109: a stranger, the payer, a wrong key, a tampered or reordered batch, or another authorizer's channel", () => {
    const ch = channel('claim unauthorized');
    const other = channel('claim unauthorized other');
    deposit(ch, 10n * STX);
    deposit(other, 10n * STX);
    const rows = [row(ch, STX)];
    assert.equal(claim(rows, relayer.address).result, '(err u109)');
    assert.equal(claim(rows, relayer.address, '00'.repeat(65)).result, '(err u109)');
    assert.equal(claim(rows, ch.payer.address).result, '(err u109)');
    assert.equal(claim(rows, relayer.address, signClaimBatch(ch.payer, rows)).result, '(err u109)');
    assert.equal(
      claim(rows, relayer.address, signClaimBatch(ch.receiver, rows)).result,
      '(err u109)',
      'the receiver itself is not the authorizer when it comes to signatures',
    );
    const signature = signClaimBatch(ch.receiverAuthorizer, rows);
    // The relayer raises the row after the authorizer signed: the batch hash no longer matches.
    const tampered = [row(ch, 2n * STX)];
    assert.equal(claim(tampered, relayer.address, signature).result, '(err u109)');
    // Reordering the rows of a signed batch changes the signed list, so the signature no longer matches.
    const second = channel('claim unauthorized second', {
      receiver: ch.receiver.address,
      receiverAuthorizer: ch.receiverAuthorizer.address,
    });
    deposit(second, 10n * STX);
    const pair = [row(ch, STX), row(second, STX)];
    const pairSignature = signClaimBatch(ch.receiverAuthorizer, pair);
    assert.equal(claim([pair[1]!, pair[0]!], relayer.address, pairSignature).result, '(err u109)');
    assert.equal(claim([pair[0]!], relayer.address, pairSignature).result, '(err u109)');
    // One authorizer cannot claim a channel whose receiver-authorizer is someone else, even inside its own batch.
    const mixed = [row(ch, STX), row(other, STX)];
    assert.equal(
      claim(mixed, relayer.address, signClaimBatch(ch.receiverAuthorizer, mixed)).result,
      '(err u109)',
    );
    assert.equal(claim([row(other, STX)], ch.receiverAuthorizer.address).result, '(err u109)');
    assert.equal(channelState(simnet, ch.id)?.claimed, 0n);
    assert.equal(channelState(simnet, other.id)?.claimed, 0n);
  });

  test('u110: a voucher signed by the payer instead of its authorizer, or for another contract or chain', () => {
    const ch = channel('claim bad voucher');
    deposit(ch, 10n * STX);
    const forged = (voucherSignature: string): ClaimRow => ({
      channelId: ch.id,
      maxClaimable: STX,
      voucherSignature,
      claimed: STX,
    });
    const cases = {
      payer: signVoucher(ch.payer, ch.id, STX),
      receiver: signVoucher(ch.receiver, ch.id, STX),
      'another escrow contract': signVoucher(ch.payerAuthorizer, ch.id, STX, {
        escrow: `${DEPLOYER}.batch-escrow-v2`,
      }),
      'another chain (mainnet chain id)': signVoucher(ch.payerAuthorizer, ch.id, STX, {
        domain: { ...ESCROW_DOMAIN, chainId: STACKS_NETWORKS.mainnet.chainId },
      }),
      'another application name': signVoucher(ch.payerAuthorizer, ch.id, STX, {
        domain: { ...ESCROW_DOMAIN, name: 'x402-stacks' },
      }),
      'another channel': signVoucher(ch.payerAuthorizer, channel('other').id, STX),
      'another amount': signVoucher(ch.payerAuthorizer, ch.id, 2n * STX),
      'not a signature': '00'.repeat(65),
    };
    for (const [label, signature] of Object.entries(cases)) {
      assert.equal(
        claim([forged(signature)], ch.receiverAuthorizer.address).result,
        '(err u110)',
        label,
      );
    }
    assert.equal(channelState(simnet, ch.id)?.claimed, 0n);
  });

  test('u111: claiming above the voucher ceiling', () => {
    const ch = channel('claim above voucher');
    deposit(ch, 10n * STX);
    assert.equal(claim([row(ch, STX, STX + 1n)], ch.receiver.address).result, '(err u111)');
  });

  test('u112: a voucher above the balance, and one bad row aborts the whole batch', () => {
    const good = channel('claim above balance good');
    const poor = channel('claim above balance poor', {
      receiver: good.receiver.address,
      receiverAuthorizer: good.receiverAuthorizer.address,
    });
    deposit(good, 10n * STX);
    deposit(poor, STX);
    const rows = [row(good, 2n * STX), row(poor, STX + 1n)];
    assert.equal(
      claim(rows, relayer.address, signClaimBatch(good.receiverAuthorizer, rows)).result,
      '(err u112)',
    );
    assert.equal(channelState(simnet, good.id)?.claimed, 0n, 'the good row was rolled back');
    assert.equal(unsettled(simnet, good.receiver.address, null), 0n);
  });

  test('a full batch of 100 channels in one claim', () => {
    const receiver = party('full batch receiver');
    const authorizer = party('full batch authorizer');
    const rows: ClaimRow[] = [];
    for (let i = 0; i < 100; i++) {
      const ch = channel(`full batch ${i}`, {
        receiver: receiver.address,
        receiverAuthorizer: authorizer.address,
      });
      deposit(ch, 1_000n);
      rows.push(row(ch, 1_000n, 999n));
    }
    const outcome = claim(rows, relayer.address, signClaimBatch(authorizer, rows));
    assert.equal(outcome.result, `(ok u${100n * 999n})`);
    assert.equal(outcome.prints.length, 100);
    // A full batch stays under 5% of every dimension of a block's budget (reads are the largest, ~3%).
    const costs = outcome.costs;
    assert.ok(costs, 'simnet tracks costs');
    for (const [dimension, used] of Object.entries(costs.total)) {
      const limit = costs.limit[dimension as keyof typeof costs.limit];
      assert.ok(used * 20 <= limit, `${dimension}: ${used} of ${limit}`);
    }
    assert.equal(unsettled(simnet, receiver.address, null), 100n * 999n);
  });
});

describe('batch-escrow: settle', () => {
  test('sweeps every claim of a receiver in one STX transfer; anyone may call; then nothing is left', () => {
    const a = channel('settle a');
    const b = channel('settle b', {
      receiver: a.receiver.address,
      receiverAuthorizer: a.receiverAuthorizer.address,
    });
    deposit(a, 10n * STX);
    deposit(b, 10n * STX);
    claim([row(a, 3n * STX), row(b, 4n * STX)], a.receiverAuthorizer.address);
    const [receiverBefore, escrowBefore] = [
      stxOf(simnet, a.receiver.address),
      stxOf(simnet, ESCROW),
    ];
    const swept = settle(a.receiver.address, null, relayer.address);
    assert.equal(swept.result, `(ok u${7n * STX})`);
    assert.deepEqual(swept.prints, [
      { event: 'settle', receiver: a.receiver.address, token: null, amount: 7n * STX },
    ]);
    assert.equal(stxOf(simnet, a.receiver.address), receiverBefore + 7n * STX);
    assert.equal(stxOf(simnet, ESCROW), escrowBefore - 7n * STX);
    const again = settle(a.receiver.address, null);
    assert.equal(again.result, '(ok u0)');
    assert.deepEqual(again.prints, []);
  });

  test('sBTC: pays through the configured token; another token finds nothing and is never called', () => {
    const ch = channel('settle sbtc', { token: SBTC });
    simnet.mintFT(`${SBTC}.sbtc-token`, ch.payer.address, 10_000n);
    deposit(ch, 10_000n);
    claim([row(ch, 4_000n)], ch.receiver.address);
    const escrowStx = stxOf(simnet, ESCROW);
    const hostile = settle(ch.receiver.address, DRAINING_TOKEN);
    assert.equal(hostile.result, '(ok u0)');
    assert.equal(stxOf(simnet, ESCROW), escrowStx, 'the hostile token was never called');
    assert.equal(settle(ch.receiver.address, null).result, '(ok u0)', 'no STX was claimed');
    assert.equal(settle(ch.receiver.address, SBTC).result, '(ok u4000)');
    assert.equal(tokenBalance(simnet, SBTC, ch.receiver.address), 4_000n);
  });
});

describe('batch-escrow: why payouts need the allow-list', () => {
  test("a hostile token, were the admin to allow it, would spend the escrow's STX inside as-contract", () => {
    // The attack the allow-list exists for: the trait check alone keeps a channel's payouts on its own token, but
    // that token's code runs with the escrow as tx-sender and can move anything the escrow holds.
    const ch = channel('hostile allowed', { token: DRAINING_TOKEN });
    const allow = (allowed: boolean) =>
      call(simnet, 'set-token-allowed', [Cl.principal(DRAINING_TOKEN), Cl.bool(allowed)], DEPLOYER);
    assert.equal(allow(true).result, '(ok true)');
    simnet.callPublicFn(
      DRAINING_TOKEN,
      'mint',
      [Cl.uint(100n), Cl.principal(ch.payer.address)],
      DEPLOYER,
    );
    assert.equal(deposit(ch, 100n).result, `(ok 0x${ch.id})`);
    const escrowBefore = stxOf(simnet, ESCROW);
    assert.equal(refund(ch, 100n, 0n, ch.receiver.address).result, '(ok u100)');
    assert.equal(
      stxOf(simnet, ESCROW),
      escrowBefore - STX,
      'the token took 1 STX of other channels',
    );
    assert.equal(allow(false).result, '(ok true)');
    // Disallowed again: no new channel or top-up in it.
    assert.equal(deposit(ch, 1n).result, '(err u104)');
  });
});

describe('batch-escrow: cooperative refund', () => {
  test('a signed refund relayed by anyone returns unclaimed funds; the nonce advances; replay is u113', () => {
    const ch = channel('refund signed');
    deposit(ch, 10n * STX);
    claim([row(ch, 3n * STX)], ch.receiver.address);
    const payerBefore = stxOf(simnet, ch.payer.address);
    const signature = signRefund(ch.receiverAuthorizer, ch.id, 4n * STX, 0n);
    const outcome = refund(ch, 4n * STX, 0n, relayer.address, signature);
    assert.equal(outcome.result, `(ok u${4n * STX})`);
    assert.deepEqual(outcome.prints, [
      {
        event: 'refund',
        'channel-id': `0x${ch.id}`,
        amount: 4n * STX,
        balance: 6n * STX,
        claimed: 3n * STX,
        'refund-nonce': 1n,
      },
    ]);
    assert.equal(stxOf(simnet, ch.payer.address), payerBefore + 4n * STX);
    assert.equal(refund(ch, 4n * STX, 0n, relayer.address, signature).result, '(err u113)');
    assert.equal(
      refund(ch, 4n * STX, 1n, relayer.address, signature).result,
      '(err u109)',
      'the old signature does not cover the new nonce',
    );
    // A full refund is capped at what is unclaimed: the receiver's 3 STX stay.
    const full = refund(ch, 100n * STX, 1n, ch.receiver.address);
    assert.equal(full.result, `(ok u${3n * STX})`);
    assert.deepEqual(channelState(simnet, ch.id), {
      balance: 3n * STX,
      claimed: 3n * STX,
      refundNonce: 2n,
      withdrawal: null,
    });
    // Nothing left unclaimed: the refund moves nothing but still uses its nonce.
    const empty = refund(ch, STX, 2n, ch.receiverAuthorizer.address);
    assert.equal(empty.result, '(ok u0)');
    assert.equal(channelState(simnet, ch.id)?.refundNonce, 3n);
    assert.equal(settle(ch.receiver.address, null).result, `(ok u${3n * STX})`);
  });

  test('u109: the payer cannot refund itself, nor a signature by the wrong key or for another amount', () => {
    const ch = channel('refund unauthorized');
    deposit(ch, 10n * STX);
    assert.equal(refund(ch, STX, 0n, ch.payer.address).result, '(err u109)');
    assert.equal(refund(ch, STX, 0n, ch.payerAuthorizer.address).result, '(err u109)');
    assert.equal(
      refund(ch, STX, 0n, ch.payer.address, signRefund(ch.payer, ch.id, STX, 0n)).result,
      '(err u109)',
    );
    assert.equal(
      refund(ch, 2n * STX, 0n, relayer.address, signRefund(ch.receiverAuthorizer, ch.id, STX, 0n))
        .result,
      '(err u109)',
    );
    assert.equal(channelState(simnet, ch.id)?.balance, 10n * STX);
  });

  test('u102, u103, u107: zero amount, wrong token, unknown channel', () => {
    const ch = channel('refund misc');
    assert.equal(refund(ch, STX, 0n, ch.receiver.address).result, '(err u107)');
    deposit(ch, 10n * STX);
    assert.equal(refund(ch, 0n, 0n, ch.receiver.address).result, '(err u102)');
    assert.equal(refund(ch, STX, 0n, ch.receiver.address, undefined, SBTC).result, '(err u103)');
  });

  test('a refund shrinks a pending withdrawal, and cancels it when it covers it', () => {
    const ch = channel('refund withdrawal');
    deposit(ch, 10n * STX);
    startWithdrawal(ch, 5n * STX);
    refund(ch, 2n * STX, 0n, ch.receiver.address);
    assert.equal(channelState(simnet, ch.id)?.withdrawal?.amount, 3n * STX);
    refund(ch, 3n * STX, 1n, ch.receiver.address);
    assert.equal(channelState(simnet, ch.id)?.withdrawal, null);
  });
});

describe('batch-escrow: timed withdrawal', () => {
  test('the payer starts, a claim during the delay still lands, after the delay the payer takes the rest', () => {
    const ch = channel('withdrawal race');
    deposit(ch, 10n * STX);
    const started = startWithdrawal(ch, 10n * STX);
    const height = BigInt(simnet.burnBlockHeight);
    assert.equal(started.result, `(ok u${height + 6n})`);
    assert.deepEqual(started.prints, [
      {
        event: 'withdrawal-started',
        'channel-id': `0x${ch.id}`,
        amount: 10n * STX,
        'requested-at': height,
        'unlocks-at': height + 6n,
      },
    ]);
    assert.equal(finishWithdrawal(ch).result, '(err u118)');
    simnet.mineEmptyBurnBlocks(4);
    // The keeper's claim, during the delay.
    assert.equal(
      claim([row(ch, 4n * STX)], ch.receiverAuthorizer.address).result,
      `(ok u${4n * STX})`,
    );
    assert.equal(finishWithdrawal(ch).result, '(err u118)');
    simnet.mineEmptyBurnBlocks(2);
    const payerBefore = stxOf(simnet, ch.payer.address);
    const finished = finishWithdrawal(ch);
    assert.equal(finished.result, `(ok u${6n * STX})`);
    assert.deepEqual(finished.prints, [
      {
        event: 'withdrawal-finished',
        'channel-id': `0x${ch.id}`,
        amount: 6n * STX,
        balance: 4n * STX,
        claimed: 4n * STX,
      },
    ]);
    assert.equal(stxOf(simnet, ch.payer.address), payerBefore + 6n * STX);
    assert.equal(channelState(simnet, ch.id)?.withdrawal, null);
    // Too late to claim more than what was claimed in time: the balance now equals claimed.
    assert.equal(claim([row(ch, 5n * STX)], ch.receiver.address).result, '(err u112)');
    assert.equal(settle(ch.receiver.address, null).result, `(ok u${4n * STX})`);
  });

  test('the payer-authorizer may start and finish it too; the funds still go to the payer', () => {
    const ch = channel('withdrawal by authorizer');
    deposit(ch, 10n * STX);
    assert.equal(
      startWithdrawal(ch, 2n * STX, ch.payerAuthorizer.address).result.startsWith('(ok'),
      true,
    );
    simnet.mineEmptyBurnBlocks(6);
    const [payerBefore, authorizerBefore] = [
      stxOf(simnet, ch.payer.address),
      stxOf(simnet, ch.payerAuthorizer.address),
    ];
    assert.equal(finishWithdrawal(ch, ch.payerAuthorizer.address).result, `(ok u${2n * STX})`);
    assert.equal(stxOf(simnet, ch.payer.address), payerBefore + 2n * STX);
    assert.equal(stxOf(simnet, ch.payerAuthorizer.address), authorizerBefore);
  });

  test('u114, u115, u116, u102, u107: not the payer side, already pending, above available, zero, unknown', () => {
    const ch = channel('withdrawal refusals');
    assert.equal(startWithdrawal(ch, STX).result, '(err u107)');
    deposit(ch, 10n * STX);
    claim([row(ch, 4n * STX)], ch.receiver.address);
    assert.equal(startWithdrawal(ch, STX, ch.receiver.address).result, '(err u114)');
    assert.equal(startWithdrawal(ch, 0n).result, '(err u102)');
    assert.equal(startWithdrawal(ch, 6n * STX + 1n).result, '(err u116)');
    assert.equal(startWithdrawal(ch, 6n * STX).result.startsWith('(ok'), true);
    assert.equal(startWithdrawal(ch, STX).result, '(err u115)');
  });

  test('u117, u114, u103, u107 at finish: none pending, not the payer side, wrong token, unknown', () => {
    const ch = channel('withdrawal finish refusals');
    assert.equal(finishWithdrawal(ch).result, '(err u107)');
    deposit(ch, 10n * STX);
    assert.equal(finishWithdrawal(ch).result, '(err u117)');
    startWithdrawal(ch, STX);
    simnet.mineEmptyBurnBlocks(6);
    assert.equal(finishWithdrawal(ch, ch.receiver.address).result, '(err u114)');
    assert.equal(finishWithdrawal(ch, undefined, PLAIN_TOKEN).result, '(err u103)');
    assert.equal(finishWithdrawal(ch).result, `(ok u${STX})`);
  });

  test('claims that consume the announced amount leave the payer nothing at finish, (ok u0)', () => {
    const ch = channel('withdrawal consumed');
    deposit(ch, 10n * STX);
    startWithdrawal(ch, 10n * STX);
    claim([row(ch, 10n * STX)], ch.receiver.address);
    simnet.mineEmptyBurnBlocks(6);
    const before = stxOf(simnet, ch.payer.address);
    assert.equal(finishWithdrawal(ch).result, '(ok u0)');
    assert.equal(stxOf(simnet, ch.payer.address), before);
  });

  test('a token channel pays the payer back through its token', () => {
    const ch = channel('withdrawal plain token', { token: PLAIN_TOKEN });
    simnet.callPublicFn(
      PLAIN_TOKEN,
      'mint',
      [Cl.uint(500n), Cl.principal(ch.payer.address)],
      DEPLOYER,
    );
    const escrowBefore = tokenBalance(simnet, PLAIN_TOKEN, ESCROW);
    assert.equal(deposit(ch, 500n).result, `(ok 0x${ch.id})`);
    startWithdrawal(ch, 200n);
    simnet.mineEmptyBurnBlocks(6);
    assert.equal(finishWithdrawal(ch).result, '(ok u200)');
    assert.equal(tokenBalance(simnet, PLAIN_TOKEN, ch.payer.address), 200n);
    assert.equal(tokenBalance(simnet, PLAIN_TOKEN, ESCROW), escrowBefore + 300n);
  });
});
