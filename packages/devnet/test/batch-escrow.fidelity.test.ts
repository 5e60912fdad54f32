/**
 * Fidelity table for batch-escrow: the same signed calls through the devnet's native execution and through Clarinet's
 * simnet running the real `contracts/batch-escrow.clar`. For every row: the same result (ok value or error code),
 * the same events (asset transfers and print bytes), the same balances and the same channel storage. Every public
 * function, every error code in the contract's order of checks, the read-only functions over the node's `call-read`
 * route, and random sequences (`fuzzRuns`). The bridge is `escrow-twin.ts`; post-conditions, which simnet does not
 * judge, are checked on the devnet alone at the end.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Cl, type ClarityValue, Pc } from '@stacks/transactions';
import { fuzzRuns } from '@x402-stacks/test-kit';
import { addressFromHash160, parseStacksAddress } from 'x402-stacks/stacks';
import { DevnetChain } from '../src/index.js';
import {
  type ChannelConfig,
  type ClaimRow,
  channelIdOf,
  claimRowsCV,
  configCV,
  ESCROW,
  optionalSignature,
  type Party,
  party,
  SBTC,
  saltOf,
  signClaimBatch,
  signRefund,
  signVoucher,
  tokenArg,
} from './batch-escrow-kit.js';
import { assertSame, EscrowTwin } from './escrow-twin.js';

const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

let twin: EscrowTwin;
let payer: Party;
let payerAuthorizer: Party;
let receiver: Party;
let receiverAuthorizer: Party;
let relayer: Party;
let sponsor: Party;
let stranger: Party;

before(async () => {
  twin = await EscrowTwin.start();
  payer = party('fidelity payer');
  payerAuthorizer = party('fidelity payer-authorizer');
  receiver = party('fidelity receiver');
  receiverAuthorizer = party('fidelity receiver-authorizer');
  relayer = party('fidelity relayer');
  sponsor = party('fidelity sponsor');
  stranger = party('fidelity stranger');
  // Enough for every fee of a long X402_FUZZ_RUNS setting (50,000 micro-STX per call).
  twin.fund(payer, { stx: 5_000_000_000n, sBTC: 50_000_000n });
  for (const p of [receiver, receiverAuthorizer, relayer, sponsor, stranger]) {
    twin.fund(p, { stx: 5_000_000_000n });
  }
});

function config(label: string, overrides: Partial<ChannelConfig> = {}): ChannelConfig {
  return {
    payer: payer.address,
    payerAuthorizer: payerAuthorizer.address,
    receiver: receiver.address,
    receiverAuthorizer: receiverAuthorizer.address,
    token: null,
    withdrawDelay: 6n,
    salt: saltOf(`fidelity ${label}`),
    ...overrides,
  };
}

function depositArgs(c: ChannelConfig, amount: bigint, token = c.token): ClarityValue[] {
  return [configCV(c), Cl.uint(amount), tokenArg(token)];
}

function row(c: ChannelConfig, maxClaimable: bigint, claimed = maxClaimable): ClaimRow {
  const channelId = channelIdOf(c);
  return {
    channelId,
    maxClaimable,
    claimed,
    voucherSignature: signVoucher(payerAuthorizer, channelId, maxClaimable),
  };
}

function claimArgs(rows: ClaimRow[], authorization?: string): ClarityValue[] {
  return [claimRowsCV(rows), optionalSignature(authorization)];
}

function refundArgs(
  c: ChannelConfig,
  amount: bigint,
  nonce: bigint,
  authorization?: string,
  token = c.token,
): ClarityValue[] {
  return [
    Cl.bufferFromHex(channelIdOf(c)),
    Cl.uint(amount),
    Cl.uint(nonce),
    optionalSignature(authorization),
    tokenArg(token),
  ];
}

const id = (c: ChannelConfig) => Cl.bufferFromHex(channelIdOf(c));

/** The same signature with S replaced by n - S and the recovery id flipped: it recovers the same key. */
function highS(signature: string): string {
  const s = BigInt(`0x${signature.slice(64, 128)}`);
  const v = Number.parseInt(signature.slice(128), 16) ^ 1;
  return `${signature.slice(0, 64)}${(CURVE_ORDER - s).toString(16).padStart(64, '0')}${v.toString(16).padStart(2, '0')}`;
}

const parties = () => [
  payer.address,
  receiver.address,
  receiverAuthorizer.address,
  relayer.address,
  sponsor.address,
  stranger.address,
  ESCROW,
];

describe('batch-escrow fidelity: devnet vs simnet with the real contract', () => {
  test('deposit: open in STX (transfer, open, deposit), top-up (no open), sBTC, sponsored', async () => {
    const stx = config('deposit stx');
    let events = assertSame(
      await twin.call(payer, 'deposit', depositArgs(stx, 1_000_000n)),
      `(ok 0x${channelIdOf(stx)})`,
    );
    assert.deepEqual(
      events.map((e) => e.kind),
      ['stx', 'print', 'print'],
    );
    events = assertSame(
      await twin.call(payer, 'deposit', depositArgs(stx, 250_000n)),
      `(ok 0x${channelIdOf(stx)})`,
    );
    assert.deepEqual(
      events.map((e) => e.kind),
      ['stx', 'print'],
    );
    const sbtc = config('deposit sbtc', { token: SBTC });
    events = assertSame(
      await twin.call(payer, 'deposit', depositArgs(sbtc, 400_000n)),
      `(ok 0x${channelIdOf(sbtc)})`,
    );
    assert.deepEqual(
      events.map((e) => e.kind),
      ['ft', 'print', 'print'],
    );
    const sponsored = config('deposit sponsored');
    assertSame(
      await twin.call(payer, 'deposit', depositArgs(sponsored, 300_000n), { sponsor }),
      `(ok 0x${channelIdOf(sponsored)})`,
    );
    const balances = twin.assertSameBalances(...parties());
    assert.equal(balances.get(ESCROW)?.stx, 1_550_000n);
    assert.equal(balances.get(ESCROW)?.sbtc, 400_000n);
    for (const c of [stx, sbtc, sponsored]) await twin.assertSameChannel(channelIdOf(c));
  });

  test('deposit refusals in order: u101, u102, u103, u104, u105, u106, and the transfer’s (err u1)', async () => {
    const c = config('deposit refusals');
    // Each row breaks its rule and every later one, so the first check in order must answer.
    const cases: [Party, ClarityValue[], string][] = [
      [stranger, depositArgs({ ...c, withdrawDelay: 1n }, 0n, SBTC), '(err u101)'],
      [payer, depositArgs({ ...c, withdrawDelay: 1n }, 0n, SBTC), '(err u102)'],
      [payer, depositArgs({ ...c, withdrawDelay: 1n }, 5n, SBTC), '(err u103)'],
      [payer, depositArgs({ ...c, token: SBTC }, 5n, null), '(err u103)'],
      [payer, depositArgs({ ...c, withdrawDelay: 5n }, 5n), '(err u105)'],
      [payer, depositArgs({ ...c, withdrawDelay: 4321n }, 5n), '(err u105)'],
      [payer, depositArgs({ ...c, payerAuthorizer: ESCROW }, 5n), '(err u106)'],
      // the same key's mainnet address: principal-destruct? refuses another network's version
      [
        payer,
        depositArgs({ ...c, receiverAuthorizer: mainnetTwin(receiverAuthorizer.address) }, 5n),
        '(err u106)',
      ],
      // a testnet multi-sig address cannot produce a recoverable key either
      [
        payer,
        depositArgs(
          {
            ...c,
            payerAuthorizer: addressFromHash160(21, parseStacksAddress(payer.address).hash160),
          },
          5n,
        ),
        '(err u106)',
      ],
      [payer, depositArgs(c, 1_000_000_000_000n), '(err u1)'],
      [payer, depositArgs({ ...c, token: SBTC }, 1_000_000_000_000n), '(err u1)'],
    ];
    for (const [from, args, repr] of cases) {
      assertSame(await twin.call(from, 'deposit', args), repr);
    }
    // u104: the admin stops sBTC, a deposit in it is refused, then the admin allows it again.
    const token = config('deposit not allowed', { token: SBTC });
    const admin = twin.deployer;
    assertSame(
      await twin.call(admin, 'set-token-allowed', [Cl.principal(SBTC), Cl.bool(false)]),
      '(ok true)',
    );
    assert.equal(await twin.assertSameRead('is-token-allowed', [Cl.principal(SBTC)]), 'false');
    assertSame(await twin.call(payer, 'deposit', depositArgs(token, 5n)), '(err u104)');
    assertSame(
      await twin.call(admin, 'set-token-allowed', [Cl.principal(SBTC), Cl.bool(true)]),
      '(ok true)',
    );
    twin.assertSameBalances(...parties());
    assert.equal(await twin.assertSameChannel(channelIdOf(c)), 'none');
  });

  test('claim: direct by the receiver and its authorizer, signed and relayed, many channels, no-op rows', async () => {
    const a = config('claim a');
    const b = config('claim b', { token: SBTC });
    assertSame(
      await twin.call(payer, 'deposit', depositArgs(a, 100_000n)),
      `(ok 0x${channelIdOf(a)})`,
    );
    assertSame(
      await twin.call(payer, 'deposit', depositArgs(b, 100_000n)),
      `(ok 0x${channelIdOf(b)})`,
    );
    assertSame(await twin.call(receiver, 'claim', claimArgs([row(a, 10_000n)])), '(ok u10000)');
    assertSame(
      await twin.call(receiverAuthorizer, 'claim', claimArgs([row(a, 15_000n, 12_000n)])),
      '(ok u2000)',
    );
    const rows = [row(a, 20_000n), row(b, 30_000n), row(a, 5_000n)];
    const events = assertSame(
      await twin.call(relayer, 'claim', claimArgs(rows, signClaimBatch(receiverAuthorizer, rows))),
      '(ok u38000)',
    );
    assert.equal(events.length, 2, 'the row below what is claimed prints nothing');
    // A claim that raises nothing answers (ok u0) and prints nothing.
    assert.deepEqual(
      assertSame(await twin.call(receiver, 'claim', claimArgs([row(a, 20_000n)])), '(ok u0)'),
      [],
    );
    // The contract accepts the high-S twin of a voucher, as secp256k1-recover? does.
    const twinRow = { ...row(a, 21_000n) };
    const malleated = { ...twinRow, voucherSignature: highS(twinRow.voucherSignature) };
    assertSame(await twin.call(receiver, 'claim', claimArgs([malleated])), '(ok u1000)');
    await twin.assertSameChannel(channelIdOf(a));
    await twin.assertSameChannel(channelIdOf(b));
    assert.equal(
      await twin.assertSameRead('get-unsettled', [Cl.principal(receiver.address), Cl.none()]),
      'u21000',
    );
    twin.assertSameBalances(...parties());
  });

  test('claim refusals in order: u108, u109, u107, u109, u110, u111, u112', async () => {
    const c = config('claim refusals');
    const other = config('claim refusals other', { receiverAuthorizer: stranger.address });
    assertSame(
      await twin.call(payer, 'deposit', depositArgs(c, 50_000n)),
      `(ok 0x${channelIdOf(c)})`,
    );
    assertSame(
      await twin.call(payer, 'deposit', depositArgs(other, 50_000n)),
      `(ok 0x${channelIdOf(other)})`,
    );
    const unknown = { ...row(c, 10n), channelId: saltOf('no such channel') };
    const good = row(c, 10_000n);
    const badVoucher = {
      ...good,
      voucherSignature: signVoucher(stranger, good.channelId, 10_000n),
    };
    const unrecoverable = `${'00'.repeat(64)}04`;
    const cases: [Party, ClarityValue[], string][] = [
      [receiver, claimArgs([], signClaimBatch(receiverAuthorizer, [])), '(err u108)'],
      // the batch signature recovers no key: refused before any row is read
      [relayer, claimArgs([unknown], unrecoverable), '(err u109)'],
      [receiver, claimArgs([unknown, good]), '(err u107)'],
      [stranger, claimArgs([good]), '(err u109)'],
      [relayer, claimArgs([good], signClaimBatch(stranger, [good])), '(err u109)'],
      // a batch signed for other rows (reordered) recovers another key
      [
        relayer,
        claimArgs([good, row(c, 20n)], signClaimBatch(receiverAuthorizer, [row(c, 20n), good])),
        '(err u109)',
      ],
      // the second row's channel has another receiver-authorizer
      [receiverAuthorizer, claimArgs([good, row(other, 10n)]), '(err u109)'],
      [receiver, claimArgs([badVoucher]), '(err u110)'],
      [receiver, claimArgs([{ ...good, claimed: 10_001n }]), '(err u111)'],
      [receiver, claimArgs([row(c, 50_001n)]), '(err u112)'],
      // a good row first, then a bad one: the whole claim is refused
      [receiver, claimArgs([good, row(c, 60_000n)]), '(err u112)'],
    ];
    for (const [from, args, repr] of cases) {
      assertSame(await twin.call(from, 'claim', args), repr);
    }
    assert.match(await twin.assertSameChannel(channelIdOf(c)), /claimed u0/);
    twin.assertSameBalances(...parties());
  });

  test('settle: STX and sBTC pools, an empty pool, another token’s pool, a receiver-side relayer', async () => {
    const stxPool = await twin.readOnly('get-unsettled', [
      Cl.principal(receiver.address),
      Cl.none(),
    ]);
    assert.equal(stxPool.devnet, stxPool.simnet);
    const events = assertSame(
      await twin.call(relayer, 'settle', [Cl.principal(receiver.address), Cl.none()]),
      '(ok u21000)',
    );
    assert.deepEqual(
      events.map((e) => e.kind),
      ['stx', 'print'],
    );
    assertSame(
      await twin.call(receiver, 'settle', [Cl.principal(receiver.address), tokenArg(SBTC)]),
      '(ok u30000)',
    );
    assertSame(
      await twin.call(receiver, 'settle', [Cl.principal(receiver.address), tokenArg(SBTC)]),
      '(ok u0)',
    );
    assertSame(
      await twin.call(stranger, 'settle', [Cl.principal(stranger.address), Cl.none()]),
      '(ok u0)',
    );
    const balances = twin.assertSameBalances(...parties());
    assert.equal(balances.get(receiver.address)?.sbtc, 30_000n);
  });

  test('refund: direct, signed and relayed, of nothing left; refusals u107, u102, u103, u109, u113', async () => {
    const c = config('refund');
    assertSame(
      await twin.call(payer, 'deposit', depositArgs(c, 80_000n)),
      `(ok 0x${channelIdOf(c)})`,
    );
    assertSame(await twin.call(receiver, 'claim', claimArgs([row(c, 30_000n)])), '(ok u30000)');
    const missing = config('refund missing');
    const cases: [Party, ClarityValue[], string][] = [
      [receiver, refundArgs(missing, 0n, 9n, undefined, SBTC), '(err u107)'],
      [stranger, refundArgs(c, 0n, 9n, undefined, SBTC), '(err u102)'],
      [stranger, refundArgs(c, 5n, 9n, undefined, SBTC), '(err u103)'],
      [stranger, refundArgs(c, 5n, 9n), '(err u109)'],
      [relayer, refundArgs(c, 5n, 0n, signRefund(stranger, channelIdOf(c), 5n, 0n)), '(err u109)'],
      [receiver, refundArgs(c, 5n, 9n), '(err u113)'],
    ];
    for (const [from, args, repr] of cases) {
      assertSame(await twin.call(from, 'refund', args), repr);
    }
    assertSame(
      await twin.call(receiverAuthorizer, 'refund', refundArgs(c, 10_000n, 0n)),
      '(ok u10000)',
    );
    const signed = signRefund(receiverAuthorizer, channelIdOf(c), 1_000_000n, 1n);
    assertSame(
      await twin.call(relayer, 'refund', refundArgs(c, 1_000_000n, 1n, signed)),
      '(ok u40000)',
    );
    // replaying the signed refund: its nonce is spent
    assertSame(
      await twin.call(relayer, 'refund', refundArgs(c, 1_000_000n, 1n, signed)),
      '(err u113)',
    );
    // nothing left unclaimed: (ok u0), and the nonce still advances
    assertSame(await twin.call(receiver, 'refund', refundArgs(c, 7n, 2n)), '(ok u0)');
    assert.match(await twin.assertSameChannel(channelIdOf(c)), /refund-nonce u3/);
    // In sBTC: the refund pays the payer with the token's own transfer.
    const sbtc = config('refund sbtc', { token: SBTC });
    assertSame(
      await twin.call(payer, 'deposit', depositArgs(sbtc, 9_000n)),
      `(ok 0x${channelIdOf(sbtc)})`,
    );
    const events = assertSame(
      await twin.call(receiver, 'refund', refundArgs(sbtc, 4_000n, 0n)),
      '(ok u4000)',
    );
    assert.deepEqual(
      events.map((e) => e.kind),
      ['ft', 'print'],
    );
    twin.assertSameBalances(...parties());
  });

  test('withdrawal: start refusals u107, u114, u115, u102, u116; finish u107, u117, u114, u103, u118; paid after the delay', async () => {
    const c = config('withdrawal', { withdrawDelay: 8n });
    const missing = Cl.bufferFromHex(saltOf('no such channel'));
    assertSame(
      await twin.call(payer, 'deposit', depositArgs(c, 60_000n)),
      `(ok 0x${channelIdOf(c)})`,
    );
    assertSame(await twin.call(receiver, 'claim', claimArgs([row(c, 10_000n)])), '(ok u10000)');
    assertSame(await twin.call(payer, 'start-withdrawal', [missing, Cl.uint(0n)]), '(err u107)');
    assertSame(await twin.call(stranger, 'start-withdrawal', [id(c), Cl.uint(0n)]), '(err u114)');
    assertSame(await twin.call(payer, 'finish-withdrawal', [id(c), Cl.none()]), '(err u117)');
    assertSame(await twin.call(payer, 'start-withdrawal', [id(c), Cl.uint(0n)]), '(err u102)');
    assertSame(await twin.call(payer, 'start-withdrawal', [id(c), Cl.uint(50_001n)]), '(err u116)');
    const started = await twin.call(payerAuthorizerFunded(), 'start-withdrawal', [
      id(c),
      Cl.uint(45_000n),
    ]);
    assertSame(started, started.simnet.repr);
    assert.match(started.simnet.repr, /^\(ok u\d+\)$/);
    assertSame(await twin.call(payer, 'start-withdrawal', [id(c), Cl.uint(1n)]), '(err u115)');
    assertSame(await twin.call(payer, 'finish-withdrawal', [missing, Cl.none()]), '(err u107)');
    assertSame(
      await twin.call(stranger, 'finish-withdrawal', [id(c), tokenArg(SBTC)]),
      '(err u114)',
    );
    assertSame(await twin.call(payer, 'finish-withdrawal', [id(c), tokenArg(SBTC)]), '(err u103)');
    assertSame(await twin.call(payer, 'finish-withdrawal', [id(c), Cl.none()]), '(err u118)');
    // a claim during the delay still lands, and a refund shrinks the pending withdrawal
    assertSame(await twin.call(receiver, 'claim', claimArgs([row(c, 12_000n)])), '(ok u2000)');
    assertSame(await twin.call(receiver, 'refund', refundArgs(c, 3_000n, 0n)), '(ok u3000)');
    await twin.assertSameChannel(channelIdOf(c));
    twin.mineBurnBlocks(8);
    assertSame(await twin.call(payer, 'finish-withdrawal', [id(c), Cl.none()]), '(ok u42000)');
    assertSame(await twin.call(payer, 'finish-withdrawal', [id(c), Cl.none()]), '(err u117)');
    assert.match(await twin.assertSameChannel(channelIdOf(c)), /withdrawal none/);
    twin.assertSameBalances(...parties());
  });

  test('admin: set-token-allowed and set-admin by the admin only (u100), handed over and back', async () => {
    const admin = twin.deployer;
    assertSame(
      await twin.call(stranger, 'set-token-allowed', [Cl.principal(SBTC), Cl.bool(false)]),
      '(err u100)',
    );
    assertSame(
      await twin.call(stranger, 'set-admin', [Cl.principal(stranger.address)]),
      '(err u100)',
    );
    assertSame(await twin.call(admin, 'set-admin', [Cl.principal(stranger.address)]), '(ok true)');
    assert.equal(await twin.assertSameRead('get-admin', []), stranger.address);
    assertSame(await twin.call(admin, 'set-admin', [Cl.principal(admin.address)]), '(err u100)');
    assertSame(
      await twin.call(stranger, 'set-token-allowed', [Cl.principal(ESCROW), Cl.bool(true)]),
      '(ok true)',
    );
    assertSame(await twin.call(stranger, 'set-admin', [Cl.principal(admin.address)]), '(ok true)');
    assert.equal(await twin.assertSameRead('get-admin', []), admin.address);
    assert.equal(await twin.assertSameRead('is-token-allowed', [Cl.principal(ESCROW)]), 'true');
  });

  test('read-only functions answer the same over call-read: ids, hashes, check-voucher', async () => {
    const c = config('read-only');
    assertSame(
      await twin.call(payer, 'deposit', depositArgs(c, 9_000n)),
      `(ok 0x${channelIdOf(c)})`,
    );
    const channelId = channelIdOf(c);
    assert.equal(await twin.assertSameRead('get-channel-id', [configCV(c)]), `0x${channelId}`);
    await twin.assertSameRead('voucher-hash', [id(c), Cl.uint(77n)]);
    await twin.assertSameRead('refund-hash', [id(c), Cl.uint(5n), Cl.uint(1n)]);
    await twin.assertSameRead('claim-batch-hash', [
      Cl.list([Cl.tuple({ 'channel-id': id(c), claimed: Cl.uint(3n) })]),
    ]);
    const voucher = (max: bigint, signer = payerAuthorizer) =>
      Cl.bufferFromHex(signVoucher(signer, channelId, max));
    assert.equal(
      await twin.assertSameRead('check-voucher', [id(c), Cl.uint(9_000n), voucher(9_000n)]),
      '(ok true)',
    );
    assert.equal(
      await twin.assertSameRead('check-voucher', [id(c), Cl.uint(9_001n), voucher(9_001n)]),
      '(ok false)',
    );
    assert.equal(
      await twin.assertSameRead('check-voucher', [id(c), Cl.uint(5n), voucher(5n, stranger)]),
      '(err u110)',
    );
    assert.equal(
      await twin.assertSameRead('check-voucher', [
        Cl.bufferFromHex(saltOf('none')),
        Cl.uint(5n),
        voucher(5n),
      ]),
      '(err u107)',
    );
    assert.equal(
      await twin.assertSameRead('get-unsettled', [Cl.principal(stranger.address), tokenArg(SBTC)]),
      'u0',
    );
  });

  test(`random sequences (${fuzzRuns(6)} runs): results, events, balances and channels stay equal`, async () => {
    const random = seeded(0x5eed);
    for (let run = 0; run < fuzzRuns(6); run++) {
      const channels = [
        config(`random ${run} stx`),
        config(`random ${run} sbtc`, { token: SBTC, withdrawDelay: 7n }),
      ];
      const nonces = new Map<string, bigint>();
      // Open both channels first, so that most later calls reach the checks past u107.
      for (const c of channels) await same(payer, 'deposit', depositArgs(c, 40_000n));
      for (let step = 0; step < 24; step++) {
        const c = channels[random(2)]!;
        const amount = BigInt(random(8) === 0 ? 0 : random(30_000));
        const ops: (() => Promise<void>)[] = [
          async () => {
            const from = random(6) === 0 ? stranger : payer;
            await same(from, 'deposit', depositArgs(c, amount));
          },
          async () => {
            const max = BigInt(random(45_000));
            const claimed = random(5) === 0 ? max + 1n : BigInt(random(Number(max) + 1));
            const r = row(c, max, claimed);
            const signed = random(2) === 0;
            const from = random(6) === 0 ? stranger : signed ? relayer : receiver;
            await same(
              from,
              'claim',
              claimArgs([r], signed ? signClaimBatch(receiverAuthorizer, [r]) : undefined),
            );
          },
          async () => {
            // a batch over both channels, signed or sent by the receiver
            const rows = channels.map((ch) => row(ch, BigInt(random(45_000))));
            const signed = random(2) === 0;
            await same(
              signed ? relayer : receiver,
              'claim',
              claimArgs(rows, signed ? signClaimBatch(receiverAuthorizer, rows) : undefined),
            );
          },
          async () => {
            await same(relayer, 'settle', [Cl.principal(receiver.address), tokenArg(c.token)]);
          },
          async () => {
            const key = channelIdOf(c);
            const nonce = random(5) === 0 ? 99n : (nonces.get(key) ?? 0n);
            const outcome = await same(receiver, 'refund', refundArgs(c, amount, nonce));
            if (outcome.startsWith('(ok')) nonces.set(key, nonce + 1n);
          },
          async () => {
            await same(random(6) === 0 ? stranger : payer, 'start-withdrawal', [
              id(c),
              Cl.uint(amount),
            ]);
          },
          async () => {
            await same(payer, 'finish-withdrawal', [id(c), tokenArg(c.token)]);
          },
          async () => {
            twin.mineBurnBlocks(random(9));
          },
        ];
        await ops[random(ops.length)]!();
      }
      for (const c of channels) await twin.assertSameChannel(channelIdOf(c));
      twin.assertSameBalances(...parties());
    }
  });
});

describe('batch-escrow on the devnet: what simnet cannot judge', () => {
  test('post-conditions: a deposit or settle in deny mode needs the payer’s and the contract’s conditions', async () => {
    const c = config('post-conditions');
    // Deny mode without a condition on the payer's STX: abort_by_post_condition, nothing moves but the fee.
    const escrowBefore = twin.chain.state.stx(ESCROW);
    const denied = twin.runOnDevnet(
      await twin.sign(payer, 'deposit', depositArgs(c, 5_000n), { postConditions: [] }),
    );
    assert.ok('status' in denied);
    assert.equal(denied.status, 'abort_by_post_condition');
    assert.deepEqual(denied.events, []);
    assert.equal(twin.chain.state.stx(ESCROW), escrowBefore);
    // With the condition, the same deposit lands on both sides.
    assertSame(
      await twin.call(payer, 'deposit', depositArgs(c, 5_000n), {
        postConditions: [Pc.principal(payer.address).willSendEq(5_000n).ustx()],
      }),
      `(ok 0x${channelIdOf(c)})`,
    );
    // Sweep what earlier tests left in the receiver's STX pool, so that it holds exactly this claim.
    await same(relayer, 'settle', [Cl.principal(receiver.address), Cl.none()]);
    assertSame(await twin.call(receiver, 'claim', claimArgs([row(c, 2_000n)])), '(ok u2000)');
    // A settle in deny mode must name what the contract sends.
    const unsettled = twin.runOnDevnet(
      await twin.sign(relayer, 'settle', [Cl.principal(receiver.address), Cl.none()], {
        postConditions: [],
      }),
    );
    assert.ok('status' in unsettled);
    assert.equal(unsettled.status, 'abort_by_post_condition');
    assertSame(
      await twin.call(relayer, 'settle', [Cl.principal(receiver.address), Cl.none()], {
        postConditions: [Pc.principal(ESCROW).willSendEq(2_000n).ustx()],
      }),
      '(ok u2000)',
    );
  });

  test('admission: an unknown function, arguments of the wrong types, a token the devnet does not run', async () => {
    const reasons = [];
    for (const [fn, args] of [
      ['steal', []],
      ['deposit', [Cl.uint(1n)]],
      [
        'settle',
        [Cl.principal(receiver.address), Cl.some(Cl.principal(`${payer.address}.fake-token`))],
      ],
    ] as [string, ClarityValue[]][]) {
      const answer = twin.chain.broadcast(await twin.sign(payer, fn, args));
      assert.equal(answer.accepted, false);
      if (!answer.accepted) reasons.push(answer.reason);
    }
    assert.deepEqual(reasons, [
      'NoSuchPublicFunction',
      'BadFunctionArgument',
      'BadFunctionArgument',
    ]);
  });

  test('a saved and restored devnet keeps the escrow’s storage and its transactions’ events', async () => {
    const restored = DevnetChain.fromJSON(JSON.parse(JSON.stringify(twin.chain.toJSON())), {
      accounts: 1,
      burnBlockEvery: 1,
    });
    const original = twin.chain.escrows.get(ESCROW)!;
    assert.deepEqual(restored.escrows.get(ESCROW)!.toJSON(), original.toJSON());
    let compared = 0;
    for (let height = 1; height <= twin.chain.height; height++) {
      for (const txid of twin.chain.block(height)?.txids ?? []) {
        const events = twin.chain.transaction(txid)?.execution?.events;
        assert.deepEqual(restored.transaction(txid)?.execution?.events, events);
        if (events?.some((e) => e.event_type === 'smart_contract_log')) compared++;
      }
    }
    assert.ok(compared > 0, 'escrow prints were saved and restored');
  });
});

/** Both sides run the call; they must agree whatever the answer. Returns the answer. */
async function same(from: Party, fn: string, args: ClarityValue[]): Promise<string> {
  const outcome = await twin.call(from, fn, args);
  assertSame(outcome, outcome.simnet.repr);
  return outcome.simnet.repr;
}

/** The payer-authorizer, funded once so it can send a transaction itself. */
let authorizerFunded = false;
function payerAuthorizerFunded(): Party {
  if (!authorizerFunded) twin.fund(payerAuthorizer, { stx: 1_000_000n });
  authorizerFunded = true;
  return payerAuthorizer;
}

/** The address of the same key on mainnet (single-sig version 22). */
function mainnetTwin(address: string): string {
  return addressFromHash160(22, parseStacksAddress(address).hash160);
}

/** A small deterministic generator (mulberry32): `random(n)` is an integer in [0, n). */
function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}
