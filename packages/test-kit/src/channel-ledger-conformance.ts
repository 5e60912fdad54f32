/**
 * The batch-settlement ChannelLedger contract as a reusable suite: the in-memory ledger of `x402-stacks/batch` is the
 * reference, and the facilitator's SQLite and PostgreSQL ledgers must pass it unchanged. Amounts go past 2^64 and
 * cross digit counts (9, 10, 2^100), so a ledger that compares amounts as text or as doubles fails it; the race fires
 * fifty charges from one total at once, so a charge that reads and then writes fails it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChannelLedger, ChannelRecord, EscrowChannelState } from 'x402-stacks/batch';
import { channelIdOf } from '../../x402-stacks/src/batch/channel.js';
import type { ChannelConfig } from '../../x402-stacks/src/batch/wire.js';
import type { StacksNetworkId } from '../../x402-stacks/src/stacks/networks.js';

/** The network and escrow the suite's channels live on unless a test says otherwise. */
export const CHANNEL_NETWORK: StacksNetworkId = 'stacks:2147483648';
export const CHANNEL_ESCROW = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';

const BIG = 2n ** 100n;
const U128_MAX = 2n ** 128n - 1n;

/** A channel with its own config (and so its own id) per `seed`, on the suite's network and escrow by default. */
export function channelOf(
  seed: number,
  where: { network?: StacksNetworkId; escrow?: string } = {},
): Pick<ChannelRecord, 'channelId' | 'network' | 'escrow' | 'config'> {
  const config: ChannelConfig = {
    payer: 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG',
    payerAuthorizer: 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG',
    receiver: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
    receiverAuthorizer: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
    token: null,
    withdrawDelay: 144,
    salt: `0x${seed.toString(16).padStart(64, '0')}`,
  };
  return {
    channelId: channelIdOf(config),
    network: where.network ?? CHANNEL_NETWORK,
    escrow: where.escrow ?? CHANNEL_ESCROW,
    config,
  };
}

/** The escrow's answer for a channel holding `balance` of which `claimed` was claimed. */
export function escrowState(balance: bigint, claimed = 0n): EscrowChannelState {
  return { balance, claimed, refundNonce: 0n, withdrawRequestedAt: 0 };
}

/** A voucher signature stand-in, distinct per `n`: the ledger stores it and never checks it. */
export function signatureOf(n: number | bigint): string {
  return `0x${n.toString(16).padStart(130, '0')}`;
}

/** What a ledger under test offers the suite. */
export type ChannelLedgerSubject = {
  /** An empty ledger. */
  create(): Promise<ChannelLedger>;
  /**
   * Another handle on the storage of the last `create` (another connection or pool), for the race; without it the
   * race runs on one handle.
   */
  another?(): Promise<ChannelLedger>;
  /** Closes the storage of the last `create` and opens it again, as a restart does. For durable ledgers only. */
  reopen?(): Promise<ChannelLedger>;
};

/** Defines the conformance tests for a ChannelLedger. */
export function channelLedgerConformance(name: string, subject: ChannelLedgerSubject): void {
  describe(`${name}: mirror`, () => {
    test('a new channel is created charged with what was claimed, without a voucher', async () => {
      const ledger = await subject.create();
      const channel = channelOf(1);
      assert.equal(await ledger.getChannel(channel.channelId), undefined);
      const state = { balance: 5_000n, claimed: 1_200n, refundNonce: 3n, withdrawRequestedAt: 77 };
      const created = await ledger.mirrorChannel(channel, state, 1_000);
      const expected: ChannelRecord = {
        ...channel,
        ...state,
        charged: 1_200n,
        signedMax: 0n,
        signature: '',
        updatedAt: 1_000,
      };
      assert.deepEqual(created, expected);
      assert.deepEqual(await ledger.getChannel(channel.channelId), expected);
    });

    test('a refresh replaces the mirrored fields, keeps the voucher, and never lowers the charged total', async () => {
      const ledger = await subject.create();
      const channel = channelOf(2);
      await ledger.mirrorChannel(channel, escrowState(10_000n), 1_000);
      const charged = await ledger.chargeChannel(
        channel.channelId,
        { expectedCharged: 0n, charged: 4_000n, signedMax: 5_000n, signature: signatureOf(1) },
        2_000,
      );
      assert.equal(charged?.charged, 4_000n);
      // The chain is behind the off-chain total: charged stays.
      const behind = await ledger.mirrorChannel(
        channel,
        { balance: 9_000n, claimed: 1_000n, refundNonce: 1n, withdrawRequestedAt: 500 },
        3_000,
      );
      assert.deepEqual(behind, {
        ...channel,
        balance: 9_000n,
        claimed: 1_000n,
        refundNonce: 1n,
        withdrawRequestedAt: 500,
        charged: 4_000n,
        signedMax: 5_000n,
        signature: signatureOf(1),
        updatedAt: 3_000,
      });
      // The chain is ahead (a claim elsewhere): charged is raised to it.
      const ahead = await ledger.mirrorChannel(channel, escrowState(9_000n, 4_500n), 4_000);
      assert.equal(ahead.charged, 4_500n);
      assert.equal(ahead.claimed, 4_500n);
      assert.equal(ahead.signedMax, 5_000n);
      assert.deepEqual(await ledger.getChannel(channel.channelId), ahead);
    });

    test('charged is never lowered across digit counts and past 2^64 (9 < 10 < 2^100)', async () => {
      const ledger = await subject.create();
      const channel = channelOf(3);
      await ledger.mirrorChannel(channel, escrowState(BIG, 10n), 1_000);
      await ledger.chargeChannel(
        channel.channelId,
        { expectedCharged: 10n, charged: BIG, signedMax: BIG, signature: signatureOf(1) },
        2_000,
      );
      // As text, '9' sorts above '1267…' and '10': a textual max would lower the total to 9 or 10.
      assert.equal((await ledger.mirrorChannel(channel, escrowState(BIG, 9n), 3_000)).charged, BIG);
      assert.equal(
        (await ledger.mirrorChannel(channel, escrowState(BIG, 10n), 4_000)).charged,
        BIG,
      );
      const raised = await ledger.mirrorChannel(channel, escrowState(U128_MAX, U128_MAX), 5_000);
      assert.equal(raised.charged, U128_MAX);
      assert.equal(raised.balance, U128_MAX);
      assert.deepEqual(await ledger.getChannel(channel.channelId), raised);
    });
  });

  describe(`${name}: charge`, () => {
    test('a charge from the current total succeeds once; the same expected total again is stale', async () => {
      const ledger = await subject.create();
      const channel = channelOf(10);
      await ledger.mirrorChannel(channel, escrowState(1_000n), 1_000);
      const first = await ledger.chargeChannel(
        channel.channelId,
        { expectedCharged: 0n, charged: 100n, signedMax: 100n, signature: signatureOf(1) },
        2_000,
      );
      assert.deepEqual(first, {
        ...channel,
        ...escrowState(1_000n),
        charged: 100n,
        signedMax: 100n,
        signature: signatureOf(1),
        updatedAt: 2_000,
      });
      const stale = await ledger.chargeChannel(
        channel.channelId,
        { expectedCharged: 0n, charged: 200n, signedMax: 200n, signature: signatureOf(2) },
        3_000,
      );
      assert.equal(stale, undefined);
      assert.deepEqual(await ledger.getChannel(channel.channelId), first, 'nothing was written');
      const next = await ledger.chargeChannel(
        channel.channelId,
        { expectedCharged: 100n, charged: 200n, signedMax: 300n, signature: signatureOf(2) },
        4_000,
      );
      assert.equal(next?.charged, 200n);
      assert.equal(next?.signedMax, 300n);
      assert.equal(next?.signature, signatureOf(2));
    });

    test('refused: above the voucher, a voucher above the balance, a lower total, an unknown channel', async () => {
      const ledger = await subject.create();
      const channel = channelOf(11);
      await ledger.mirrorChannel(channel, escrowState(1_000n), 1_000);
      const base = { expectedCharged: 0n, signature: signatureOf(1) };
      assert.equal(
        await ledger.chargeChannel(
          channel.channelId,
          { ...base, charged: 501n, signedMax: 500n },
          2_000,
        ),
        undefined,
        'a charge above signedMax',
      );
      assert.equal(
        await ledger.chargeChannel(
          channel.channelId,
          { ...base, charged: 100n, signedMax: 1_001n },
          2_000,
        ),
        undefined,
        'a signedMax above the balance',
      );
      assert.equal(
        await ledger.chargeChannel(
          channelOf(99).channelId,
          { ...base, charged: 1n, signedMax: 1n },
          2_000,
        ),
        undefined,
        'a channel never mirrored',
      );
      assert.deepEqual(
        (await ledger.getChannel(channel.channelId))?.charged,
        0n,
        'no refusal wrote anything',
      );
      const full = await ledger.chargeChannel(
        channel.channelId,
        { ...base, charged: 1_000n, signedMax: 1_000n },
        3_000,
      );
      assert.equal(full?.charged, 1_000n, 'a voucher for the whole balance is within it');
      assert.equal(
        await ledger.chargeChannel(
          channel.channelId,
          { expectedCharged: 1_000n, charged: 999n, signedMax: 1_000n, signature: signatureOf(2) },
          4_000,
        ),
        undefined,
        'a total below the current one',
      );
      const same = await ledger.chargeChannel(
        channel.channelId,
        { expectedCharged: 1_000n, charged: 1_000n, signedMax: 1_000n, signature: signatureOf(3) },
        5_000,
      );
      assert.equal(same?.signature, signatureOf(3), 'a charge of nothing replaces the voucher');
    });

    test('amounts compare as numbers across digit counts and past 2^64 (9 < 10 < 2^100)', async () => {
      const ledger = await subject.create();
      const channel = channelOf(12);
      await ledger.mirrorChannel(channel, escrowState(9n), 1_000);
      // As text '9' >= '10': a textual check would let a voucher for 10 through against a balance of 9.
      assert.equal(
        await ledger.chargeChannel(
          channel.channelId,
          { expectedCharged: 0n, charged: 1n, signedMax: 10n, signature: signatureOf(1) },
          2_000,
        ),
        undefined,
      );
      await ledger.mirrorChannel(channel, escrowState(10n), 3_000);
      // And '10' < '9': it would refuse a voucher for 9 against a balance of 10.
      const nine = await ledger.chargeChannel(
        channel.channelId,
        { expectedCharged: 0n, charged: 9n, signedMax: 9n, signature: signatureOf(2) },
        3_000,
      );
      assert.equal(nine?.charged, 9n);
      await ledger.mirrorChannel(channel, escrowState(BIG), 4_000);
      const big = await ledger.chargeChannel(
        channel.channelId,
        { expectedCharged: 9n, charged: BIG - 1n, signedMax: BIG, signature: signatureOf(3) },
        5_000,
      );
      assert.equal(big?.charged, BIG - 1n);
      assert.equal(big?.signedMax, BIG);
      assert.equal(
        await ledger.chargeChannel(
          channel.channelId,
          {
            expectedCharged: BIG - 1n,
            charged: BIG,
            signedMax: BIG + 1n,
            signature: signatureOf(4),
          },
          6_000,
        ),
        undefined,
        'one above a 2^100 balance',
      );
      assert.equal(
        await ledger.chargeChannel(
          channel.channelId,
          { expectedCharged: BIG - 2n, charged: BIG, signedMax: BIG, signature: signatureOf(5) },
          6_000,
        ),
        undefined,
        'a stale total one below a 2^100 total',
      );
      const exact = await ledger.chargeChannel(
        channel.channelId,
        { expectedCharged: BIG - 1n, charged: BIG, signedMax: BIG, signature: signatureOf(6) },
        7_000,
      );
      assert.equal(exact?.charged, BIG);
      await ledger.mirrorChannel(channel, escrowState(U128_MAX), 8_000);
      const max = await ledger.chargeChannel(
        channel.channelId,
        { expectedCharged: BIG, charged: U128_MAX, signedMax: U128_MAX, signature: signatureOf(7) },
        9_000,
      );
      assert.equal(max?.charged, U128_MAX, 'the largest u128 round-trips exactly');
      assert.deepEqual(await ledger.getChannel(channel.channelId), max);
    });

    test('50 charges racing from the same expected total: exactly one wins', async () => {
      const first = await subject.create();
      const second = subject.another ? await subject.another() : first;
      const channel = channelOf(13);
      await first.mirrorChannel(channel, escrowState(BIG), 1_000);
      const start = await first.chargeChannel(
        channel.channelId,
        { expectedCharged: 0n, charged: BIG / 2n, signedMax: BIG / 2n, signature: signatureOf(0) },
        2_000,
      );
      assert.equal(start?.charged, BIG / 2n);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 === 0 ? first : second).chargeChannel(
            channel.channelId,
            {
              expectedCharged: BIG / 2n,
              charged: BIG / 2n + BigInt(i + 1),
              signedMax: BIG / 2n + 100n,
              signature: signatureOf(i + 1),
            },
            3_000 + i,
          ),
        ),
      );
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1);
      assert.deepEqual(await first.getChannel(channel.channelId), winners[0]);
      assert.deepEqual(await second.getChannel(channel.channelId), winners[0]);
    });
  });

  describe(`${name}: refund hold`, () => {
    const voucher = (expectedCharged: bigint, charged: bigint) => ({
      expectedCharged,
      charged,
      signedMax: charged,
      signature: signatureOf(charged),
    });

    test('a held channel takes no charge, and a mirror written meanwhile keeps the hold', async () => {
      const ledger = await subject.create();
      const channel = channelOf(40);
      await ledger.mirrorChannel(channel, escrowState(10_000n), 1_000);
      assert.equal(
        (await ledger.chargeChannel(channel.channelId, voucher(0n, 1_000n), 1_100))?.charged,
        1_000n,
      );
      const held = await ledger.freezeChannel(
        channel.channelId,
        { until: 9_000, refundNonce: BIG },
        1_200,
      );
      assert.equal(held?.charged, 1_000n);
      assert.equal(held?.frozenUntil, 9_000);
      assert.equal(held?.frozenRefundNonce, BIG);
      // The chain read again (a keeper round, another refund's examination): the hold outlives it.
      const mirrored = await ledger.mirrorChannel(channel, escrowState(10_000n), 1_300);
      assert.equal(mirrored.frozenUntil, 9_000);
      assert.equal(mirrored.frozenRefundNonce, BIG);
      assert.equal(
        await ledger.chargeChannel(channel.channelId, voucher(1_000n, 2_000n), 1_400),
        undefined,
      );
      assert.equal((await ledger.getChannel(channel.channelId))?.charged, 1_000n);
    });

    test('one hold at a time: a second refund is refused until the first thaws or lapses', async () => {
      const ledger = await subject.create();
      const channel = channelOf(41);
      assert.equal(
        await ledger.freezeChannel(channel.channelId, { until: 9_000, refundNonce: 0n }, 1_000),
        undefined,
        'unknown',
      );
      await ledger.mirrorChannel(channel, escrowState(10_000n), 1_000);
      assert.ok(
        await ledger.freezeChannel(channel.channelId, { until: 9_000, refundNonce: 0n }, 1_100),
      );
      assert.equal(
        await ledger.freezeChannel(channel.channelId, { until: 12_000, refundNonce: 0n }, 1_200),
        undefined,
      );
      // Thawing another hold's time leaves this one.
      await ledger.thawChannel(channel.channelId, 12_000);
      assert.equal((await ledger.getChannel(channel.channelId))?.frozenUntil, 9_000);
      await ledger.thawChannel(channel.channelId, 9_000);
      const thawed = await ledger.getChannel(channel.channelId);
      assert.equal(thawed?.frozenUntil, undefined);
      assert.equal(thawed?.frozenRefundNonce, undefined);
      assert.equal(
        (await ledger.chargeChannel(channel.channelId, voucher(0n, 500n), 1_300))?.charged,
        500n,
      );
      // A hold whose refund died lapses at its time: charges and a new hold are taken again.
      assert.ok(
        await ledger.freezeChannel(channel.channelId, { until: 2_000, refundNonce: 0n }, 1_400),
      );
      assert.equal(
        await ledger.chargeChannel(channel.channelId, voucher(500n, 600n), 1_999),
        undefined,
      );
      assert.equal(
        (await ledger.chargeChannel(channel.channelId, voucher(500n, 600n), 2_000))?.charged,
        600n,
      );
      assert.equal(
        (await ledger.freezeChannel(channel.channelId, { until: 5_000, refundNonce: 0n }, 2_000))
          ?.frozenUntil,
        5_000,
      );
      // The lapsed refund's late thaw leaves the new hold.
      await ledger.thawChannel(channel.channelId, 2_000);
      assert.equal((await ledger.getChannel(channel.channelId))?.frozenUntil, 5_000);
    });

    test('of refunds holding one channel at once, exactly one gets the hold', async () => {
      const ledger = await subject.create();
      const channel = channelOf(42);
      await ledger.mirrorChannel(channel, escrowState(10_000n), 1_000);
      const handles = [ledger, ...(subject.another ? [await subject.another()] : [])];
      const holds = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          handles[i % handles.length]!.freezeChannel(
            channel.channelId,
            { until: 9_000 + i, refundNonce: 0n },
            1_100,
          ),
        ),
      );
      assert.equal(holds.filter(Boolean).length, 1);
    });
  });

  describe(`${name}: claim age`, () => {
    test('a channel that owes keeps the age of its oldest unclaimed charge; one claimed in full starts again', async () => {
      const ledger = await subject.create();
      const channel = channelOf(30);
      await ledger.mirrorChannel(channel, escrowState(BIG), 100);
      const charge = (from: bigint, to: bigint, at: number) =>
        ledger.chargeChannel(
          channel.channelId,
          { expectedCharged: from, charged: to, signedMax: to, signature: signatureOf(to) },
          at,
        );
      assert.equal((await charge(0n, 10n, 1_000))?.updatedAt, 1_000);
      // Each later charge while it owes: the debt is as old as its first charge, however often the payer pays.
      assert.equal((await charge(10n, 20n, 2_000))?.updatedAt, 1_000);
      assert.equal((await charge(20n, 9n ** 30n, 3_000))?.updatedAt, 1_000);
      assert.equal((await ledger.getChannel(channel.channelId))?.updatedAt, 1_000);
      // Claimed in full on chain (the keeper mirrors after its claim): nothing owed, and the next charge starts a debt.
      await ledger.mirrorChannel(channel, escrowState(BIG, 9n ** 30n), 4_000);
      assert.equal((await charge(9n ** 30n, 9n ** 30n + 1n, 5_000))?.updatedAt, 5_000);
      assert.equal((await charge(9n ** 30n + 1n, 9n ** 30n + 2n, 6_000))?.updatedAt, 5_000);
      const [oldest] = await ledger.unclaimedChannels(CHANNEL_NETWORK, CHANNEL_ESCROW, 1);
      assert.equal(oldest?.updatedAt, 5_000);
    });
  });

  describe(`${name}: unclaimed channels`, () => {
    test('one escrow on one network, charged above claimed, oldest age first, up to the limit', async () => {
      const ledger = await subject.create();
      const charge = (seed: number, where: Parameters<typeof channelOf>[1], at: number) =>
        chargeNew(ledger, channelOf(seed, where), at);
      await charge(20, {}, 3_000);
      await charge(21, {}, 1_000);
      await charge(22, {}, 2_000);
      await charge(23, { network: 'stacks:1' }, 500);
      await charge(24, { escrow: `${CHANNEL_ESCROW}-v2` }, 500);
      // Mirrored but never charged: nothing to claim.
      await ledger.mirrorChannel(channelOf(25), escrowState(1_000n), 100);
      // Charged 2^100, then claimed in full on chain: nothing left to claim.
      await charge(26, {}, 200);
      await ledger.mirrorChannel(channelOf(26), escrowState(BIG, BIG), 300);
      // Charged 10 over a claim of 9: as text '10' < '9', yet it is owed.
      await ledger.mirrorChannel(channelOf(27), escrowState(100n, 9n), 400);
      await ledger.chargeChannel(
        channelOf(27).channelId,
        { expectedCharged: 9n, charged: 10n, signedMax: 10n, signature: signatureOf(27) },
        4_000,
      );
      const ids = async (limit: number) =>
        (await ledger.unclaimedChannels(CHANNEL_NETWORK, CHANNEL_ESCROW, limit)).map(
          (c) => c.channelId,
        );
      assert.deepEqual(
        await ids(10),
        [21, 22, 20, 27].map((s) => channelOf(s).channelId),
      );
      assert.deepEqual(
        await ids(2),
        [21, 22].map((s) => channelOf(s).channelId),
      );
      const [oldest] = await ledger.unclaimedChannels(CHANNEL_NETWORK, CHANNEL_ESCROW, 1);
      assert.deepEqual(oldest, await ledger.getChannel(channelOf(21).channelId));
      assert.deepEqual(
        (await ledger.unclaimedChannels('stacks:1', CHANNEL_ESCROW, 10)).map((c) => c.channelId),
        [channelOf(23).channelId],
      );
      assert.deepEqual(await ledger.unclaimedChannels('stacks:1', `${CHANNEL_ESCROW}-v2`, 10), []);
    });
  });

  const reopen = subject.reopen;
  if (reopen) {
    describe(`${name}: restart`, () => {
      test('a reopened ledger keeps every channel, and its charges stay compare-and-set', async () => {
        const ledger = await subject.create();
        const channel = channelOf(30);
        await ledger.mirrorChannel(
          channel,
          { balance: BIG, claimed: 7n, refundNonce: 2n, withdrawRequestedAt: 900 },
          1_000,
        );
        const charged = await ledger.chargeChannel(
          channel.channelId,
          { expectedCharged: 7n, charged: BIG - 5n, signedMax: BIG, signature: signatureOf(30) },
          2_000,
        );
        const idle = await ledger.mirrorChannel(channelOf(31), escrowState(50n), 3_000);
        const reopened = await reopen();
        assert.deepEqual(await reopened.getChannel(channel.channelId), charged);
        assert.deepEqual(await reopened.getChannel(channelOf(31).channelId), idle);
        assert.deepEqual(await reopened.unclaimedChannels(CHANNEL_NETWORK, CHANNEL_ESCROW, 10), [
          charged,
        ]);
        assert.equal(
          await reopened.chargeChannel(
            channel.channelId,
            { expectedCharged: 7n, charged: BIG, signedMax: BIG, signature: signatureOf(31) },
            4_000,
          ),
          undefined,
          'the total before the restart is stale',
        );
        const after = await reopened.chargeChannel(
          channel.channelId,
          { expectedCharged: BIG - 5n, charged: BIG, signedMax: BIG, signature: signatureOf(32) },
          5_000,
        );
        assert.equal(after?.charged, BIG);
      });
    });
  }
}

/** Mirrors a fresh channel holding 2^100 and charges it 2^100 at `at`: an unclaimed channel changed last at `at`. */
async function chargeNew(
  ledger: ChannelLedger,
  channel: ReturnType<typeof channelOf>,
  at: number,
): Promise<void> {
  await ledger.mirrorChannel(channel, escrowState(BIG), at - 1);
  const charged = await ledger.chargeChannel(
    channel.channelId,
    { expectedCharged: 0n, charged: BIG, signedMax: BIG, signature: signatureOf(1) },
    at,
  );
  assert.equal(charged?.charged, BIG);
}
