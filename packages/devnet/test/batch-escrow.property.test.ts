/**
 * Property test of batch-escrow.clar in the Clarinet simnet: random sequences of deposits and top-ups, vouchers,
 * claims (signed or direct, honest or forged), settles, refunds, withdrawals and burn blocks, by random senders and
 * signers, over STX and a SIP-010 token. A small model predicts every answer, and after every step:
 * - each channel's balance, claimed, refund nonce and pending withdrawal, and each unsettled pool, equal the model's;
 * - the escrow holds, per asset, exactly what its channels leave unclaimed plus what is claimed but unsettled;
 * - the parties and the escrow together hold what they held at the start (nothing created, nothing lost);
 * - no sequence pays out more than was deposited, and no receiver is paid more than the highest vouchers signed
 *   for its channels.
 * X402_FUZZ_RUNS chooses the number of sequences (packages/test-kit/src/fuzz.ts); a failure names its seed.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Simnet } from '@stacks/clarinet-sdk';
import { Cl } from '@stacks/transactions';
import { fuzzRuns } from '@x402-stacks/test-kit';
import {
  type ChannelConfig,
  type ClaimRow,
  call,
  channelIdOf,
  channelState,
  claimRowsCV,
  configCV,
  DEPLOYER,
  ESCROW,
  optionalSignature,
  type Party,
  PLAIN_TOKEN,
  party,
  plainTokenOf,
  saltOf,
  signClaimBatch,
  signRefund,
  signVoucher,
  startEscrowSimnet,
  stxOf,
  tokenArg,
  unsettled,
} from './batch-escrow-kit.js';

const SEQUENCES = fuzzRuns(25);
const STEPS = 80;
const FUNDS = 1_000_000n;
const DELAY = 6n;

let simnet: Simnet;
/** How often each answer was seen, so a reader can check the sequences reach every outcome. */
const outcomes = new Map<string, number>();

before(async () => {
  simnet = await startEscrowSimnet();
});

/** mulberry32: a small seeded generator, so a failing sequence can be replayed from its seed. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (below: number) => Math.floor(next() * below);
  return {
    int,
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[int(items.length)]!,
    amount: (below: bigint) => BigInt(int(Number(below) + 1)),
  };
}

function smaller(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

type ModelChannel = {
  config: ChannelConfig;
  id: string;
  payer: Party;
  payerAuthorizer: Party;
  receiverAuthorizer: Party;
  opened: boolean;
  balance: bigint;
  claimed: bigint;
  refundNonce: bigint;
  withdrawal: { amount: bigint; requestedAt: bigint } | null;
  /** Vouchers the payer-authorizer signed, by ceiling. */
  vouchers: Map<bigint, string>;
  highest: bigint;
};

type Asset = 'STX' | typeof PLAIN_TOKEN;
const assetOf = (token: string | null): Asset => (token === null ? 'STX' : PLAIN_TOKEN);

function holdings(principal: string, asset: Asset): bigint {
  return asset === 'STX' ? stxOf(simnet, principal) : plainTokenOf(simnet, principal);
}

function runSequence(seed: number): void {
  const random = generator(seed);
  const label = (what: string) => `property ${seed} ${what}`;
  const receivers = [0, 1].map((i) => ({
    receiver: party(label(`receiver ${i}`)),
    authorizer: party(label(`receiver-authorizer ${i}`)),
  }));
  const payers = [0, 1].map((i) => ({
    payer: party(label(`payer ${i}`)),
    authorizer: party(label(`payer-authorizer ${i}`)),
  }));
  const stranger = party(label('stranger'));
  const everyone = [
    ...receivers.flatMap((r) => [r.receiver, r.authorizer]),
    ...payers.flatMap((p) => [p.payer, p.authorizer]),
    stranger,
  ];
  for (const p of everyone) {
    simnet.mintSTX(p.address, FUNDS);
    simnet.callPublicFn(PLAIN_TOKEN, 'mint', [Cl.uint(FUNDS), Cl.principal(p.address)], DEPLOYER);
  }
  const channels: ModelChannel[] = [];
  for (let i = 0; i < 4; i++) {
    const { payer, authorizer: payerAuthorizer } = random.pick(payers);
    const { receiver, authorizer: receiverAuthorizer } = random.pick(receivers);
    const config: ChannelConfig = {
      payer: payer.address,
      payerAuthorizer: payerAuthorizer.address,
      receiver: receiver.address,
      receiverAuthorizer: receiverAuthorizer.address,
      token: random.chance(0.5) ? null : PLAIN_TOKEN,
      withdrawDelay: DELAY,
      salt: saltOf(label(`channel ${i}`)),
    };
    channels.push({
      config,
      id: channelIdOf(config),
      payer,
      payerAuthorizer,
      receiverAuthorizer,
      opened: false,
      balance: 0n,
      claimed: 0n,
      refundNonce: 0n,
      withdrawal: null,
      vouchers: new Map(),
      highest: 0n,
    });
  }
  const pools = new Map<string, bigint>();
  const poolKey = (receiver: string, asset: Asset) => `${receiver} ${asset}`;
  const assets: Asset[] = ['STX', PLAIN_TOKEN];
  const start = new Map<Asset, { escrow: bigint; parties: bigint }>();
  for (const asset of assets) {
    start.set(asset, {
      escrow: holdings(ESCROW, asset),
      parties: everyone.reduce((sum, p) => sum + holdings(p.address, asset), 0n),
    });
  }
  const deposited = new Map<Asset, bigint>(assets.map((a) => [a, 0n]));

  // Most channels open before the random steps, so they act on live channels; one stays unopened for a while.
  for (const c of channels.slice(0, 3)) {
    const amount = 1n + random.amount(100_000n);
    const opened = call(
      simnet,
      'deposit',
      [configCV(c.config), Cl.uint(amount), tokenArg(c.config.token)],
      c.payer.address,
    );
    assert.equal(opened.result, `(ok 0x${c.id})`);
    c.opened = true;
    c.balance = amount;
    deposited.set(assetOf(c.config.token), deposited.get(assetOf(c.config.token))! + amount);
  }
  const steps: string[] = [];
  const expect = (what: string, actual: string, expected: string) => {
    const tally = `${what} ${expected.startsWith('(ok') ? '(ok …)' : expected}`;
    outcomes.set(tally, (outcomes.get(tally) ?? 0) + 1);
    assert.equal(
      actual,
      expected,
      `seed ${seed}, step ${steps.length}: ${what}\n${steps.join('\n')}`,
    );
  };

  for (let step = 0; step < STEPS; step++) {
    const ch = random.pick(channels);
    const asset = assetOf(ch.config.token);
    // Weighted: vouchers and claims are what a channel mostly sees.
    const action = random.pick([0, 1, 1, 2, 2, 2, 3, 4, 5, 6, 6, 7]);
    const available = ch.balance - ch.claimed;
    if (action === 0) {
      // deposit or top-up, now and then by someone other than the payer, or of nothing
      const sender = random.chance(0.15) ? random.pick(everyone) : ch.payer;
      const amount = random.chance(0.1) ? 0n : random.amount(50_000n);
      steps.push(`deposit ${ch.id.slice(0, 8)} ${amount} by ${sender.address}`);
      const outcome = call(
        simnet,
        'deposit',
        [configCV(ch.config), Cl.uint(amount), tokenArg(ch.config.token)],
        sender.address,
      );
      if (sender.address !== ch.config.payer) expect('deposit', outcome.result, '(err u101)');
      else if (amount === 0n) expect('deposit', outcome.result, '(err u102)');
      else {
        expect('deposit', outcome.result, `(ok 0x${ch.id})`);
        ch.opened = true;
        ch.balance += amount;
        deposited.set(asset, deposited.get(asset)! + amount);
      }
    } else if (action === 1) {
      // the payer-authorizer signs a higher cumulative voucher, sometimes above the balance
      const ceiling = ch.highest + random.amount(30_000n);
      ch.vouchers.set(ceiling, signVoucher(ch.payerAuthorizer, ch.id, ceiling));
      if (ceiling > ch.highest) ch.highest = ceiling;
      steps.push(`voucher ${ch.id.slice(0, 8)} ${ceiling}`);
    } else if (action === 2) {
      // a claim batch over random channels with genuine or forged vouchers, signed, direct or unauthorized
      const rows: ClaimRow[] = [];
      // Mostly channels of one receiver-authorizer, as a real batch is; now and then anyone's.
      const mates = channels.filter((c) => c.receiverAuthorizer === ch.receiverAuthorizer);
      for (let i = 1 + random.int(3); i > 0; i--) {
        const target = random.pick(random.chance(0.85) ? mates : channels);
        const ceilings = [...target.vouchers.keys()];
        const forged = ceilings.length === 0 || random.chance(0.1);
        const maxClaimable = forged ? random.amount(30_000n) : random.pick(ceilings);
        // A forgery is signed by anyone but the payer-authorizer (whose signature would be a genuine voucher).
        const forger = random.pick(everyone.filter((p) => p !== target.payerAuthorizer));
        const signature = forged
          ? signVoucher(forger, target.id, maxClaimable)
          : target.vouchers.get(maxClaimable)!;
        // Usually the full ceiling or a dynamic price below it; now and then above it.
        const claimed = random.chance(0.1)
          ? maxClaimable + 1n
          : random.chance(0.5)
            ? maxClaimable
            : random.amount(maxClaimable);
        rows.push({ channelId: target.id, maxClaimable, voucherSignature: signature, claimed });
      }
      const mode = random.pick([0, 0, 1, 1, 2]);
      const signer = random.chance(0.8) ? ch.receiverAuthorizer : random.pick(everyone);
      const sender =
        mode === 1
          ? random.pick([
              ...everyone.filter(
                (p) => p.address === ch.config.receiver || p === ch.receiverAuthorizer,
              ),
              random.pick(everyone),
            ])
          : stranger;
      const signature = mode === 0 ? signClaimBatch(signer, rows) : undefined;
      steps.push(
        `claim ${rows.map((r) => `${r.channelId.slice(0, 8)}:${r.claimed}/${r.maxClaimable}`).join(',')} ${mode === 0 ? `signed by ${signer.address}` : `sent by ${sender.address}`}`,
      );
      const outcome = call(
        simnet,
        'claim',
        [claimRowsCV(rows), optionalSignature(signature)],
        sender.address,
      );
      // The model: rows in order, on copies; the first refusal discards them all.
      const next = new Map(channels.map((c) => [c.id, { ...c }]));
      const nextPools = new Map(pools);
      let verdict: string | null = null;
      let total = 0n;
      for (const r of rows) {
        const c = next.get(r.channelId)!;
        const authorized =
          signature === undefined
            ? sender.address === c.config.receiver || sender.address === c.config.receiverAuthorizer
            : signer.address === c.config.receiverAuthorizer;
        const genuine = c.vouchers.get(r.maxClaimable) === r.voucherSignature;
        if (!c.opened) verdict = '(err u107)';
        else if (!authorized) verdict = '(err u109)';
        else if (!genuine) verdict = '(err u110)';
        else if (r.claimed > r.maxClaimable) verdict = '(err u111)';
        else if (r.claimed > c.claimed && r.claimed > c.balance) verdict = '(err u112)';
        if (verdict) break;
        if (r.claimed > c.claimed) {
          const key = poolKey(c.config.receiver, assetOf(c.config.token));
          nextPools.set(key, (nextPools.get(key) ?? 0n) + r.claimed - c.claimed);
          total += r.claimed - c.claimed;
          c.claimed = r.claimed;
        }
      }
      expect('claim', outcome.result, verdict ?? `(ok u${total})`);
      if (!verdict) {
        for (const c of channels) c.claimed = next.get(c.id)!.claimed;
        for (const [key, value] of nextPools) pools.set(key, value);
      }
    } else if (action === 3) {
      const receiver = random.pick(receivers).receiver.address;
      const token = random.chance(0.5) ? null : PLAIN_TOKEN;
      const key = poolKey(receiver, assetOf(token));
      steps.push(`settle ${receiver} ${assetOf(token)}`);
      const outcome = call(
        simnet,
        'settle',
        [Cl.principal(receiver), tokenArg(token)],
        random.pick(everyone).address,
      );
      expect('settle', outcome.result, `(ok u${pools.get(key) ?? 0n})`);
      pools.delete(key);
    } else if (action === 4) {
      // a cooperative refund: signed or direct, honest or not, with the right nonce or a stale one
      const amount = random.chance(0.1) ? 0n : random.amount(available + 10_000n);
      const nonce =
        random.chance(0.15) && ch.refundNonce > 0n ? ch.refundNonce - 1n : ch.refundNonce;
      const signed = random.chance(0.5);
      const signer = random.chance(0.8) ? ch.receiverAuthorizer : random.pick(everyone);
      const sender = signed
        ? stranger
        : random.pick([ch.receiverAuthorizer, random.pick(everyone), random.pick(everyone)]);
      steps.push(
        `refund ${ch.id.slice(0, 8)} ${amount} nonce ${nonce} ${signed ? `signed by ${signer.address}` : `by ${sender.address}`}`,
      );
      const outcome = call(
        simnet,
        'refund',
        [
          Cl.bufferFromHex(ch.id),
          Cl.uint(amount),
          Cl.uint(nonce),
          optionalSignature(signed ? signRefund(signer, ch.id, amount, nonce) : undefined),
          tokenArg(ch.config.token),
        ],
        sender.address,
      );
      const authorized = signed
        ? signer.address === ch.config.receiverAuthorizer
        : sender.address === ch.config.receiver || sender.address === ch.config.receiverAuthorizer;
      if (!ch.opened) expect('refund', outcome.result, '(err u107)');
      else if (amount === 0n) expect('refund', outcome.result, '(err u102)');
      else if (!authorized) expect('refund', outcome.result, '(err u109)');
      else if (nonce !== ch.refundNonce) expect('refund', outcome.result, '(err u113)');
      else {
        const refunded = smaller(amount, available);
        expect('refund', outcome.result, `(ok u${refunded})`);
        ch.balance -= refunded;
        ch.refundNonce += 1n;
        if (ch.withdrawal) {
          ch.withdrawal =
            ch.withdrawal.amount > refunded
              ? { ...ch.withdrawal, amount: ch.withdrawal.amount - refunded }
              : null;
        }
      }
    } else if (action === 5) {
      const sender = random.pick([ch.payer, ch.payerAuthorizer, ch.payer, random.pick(everyone)]);
      const amount = random.chance(0.1) ? 0n : random.amount(available + 5_000n);
      steps.push(`start-withdrawal ${ch.id.slice(0, 8)} ${amount} by ${sender.address}`);
      const outcome = call(
        simnet,
        'start-withdrawal',
        [Cl.bufferFromHex(ch.id), Cl.uint(amount)],
        sender.address,
      );
      const payerSide =
        sender.address === ch.config.payer || sender.address === ch.config.payerAuthorizer;
      const height = BigInt(simnet.burnBlockHeight);
      if (!ch.opened) expect('start', outcome.result, '(err u107)');
      else if (!payerSide) expect('start', outcome.result, '(err u114)');
      else if (ch.withdrawal) expect('start', outcome.result, '(err u115)');
      else if (amount === 0n) expect('start', outcome.result, '(err u102)');
      else if (amount > available) expect('start', outcome.result, '(err u116)');
      else {
        expect('start', outcome.result, `(ok u${height + DELAY})`);
        ch.withdrawal = { amount, requestedAt: height };
      }
    } else if (action === 6) {
      const sender = random.pick([ch.payer, ch.payer, ch.payerAuthorizer, random.pick(everyone)]);
      steps.push(`finish-withdrawal ${ch.id.slice(0, 8)} by ${sender.address}`);
      const outcome = call(
        simnet,
        'finish-withdrawal',
        [Cl.bufferFromHex(ch.id), tokenArg(ch.config.token)],
        sender.address,
      );
      const payerSide =
        sender.address === ch.config.payer || sender.address === ch.config.payerAuthorizer;
      const height = BigInt(simnet.burnBlockHeight);
      if (!ch.opened) expect('finish', outcome.result, '(err u107)');
      else if (!ch.withdrawal) expect('finish', outcome.result, '(err u117)');
      else if (!payerSide) expect('finish', outcome.result, '(err u114)');
      else if (height < ch.withdrawal.requestedAt + DELAY)
        expect('finish', outcome.result, '(err u118)');
      else {
        const paid = smaller(ch.withdrawal.amount, available);
        expect('finish', outcome.result, `(ok u${paid})`);
        ch.balance -= paid;
        ch.withdrawal = null;
      }
    } else {
      const blocks = 1 + random.int(4);
      steps.push(`mine ${blocks} burn blocks`);
      simnet.mineEmptyBurnBlocks(blocks);
    }

    // The chain agrees with the model.
    for (const c of channels) {
      const state = channelState(simnet, c.id);
      if (!c.opened) {
        assert.equal(state, null, `seed ${seed}: ${c.id} unopened`);
        continue;
      }
      assert.deepEqual(
        state,
        {
          balance: c.balance,
          claimed: c.claimed,
          refundNonce: c.refundNonce,
          withdrawal: c.withdrawal,
        },
        `seed ${seed}, channel ${c.id}\n${steps.join('\n')}`,
      );
      assert.ok(c.claimed <= c.balance, 'claimed never exceeds the balance');
      assert.ok(c.claimed <= c.highest, 'claimed never exceeds the highest voucher signed');
    }
    for (const { receiver } of receivers) {
      for (const a of assets) {
        const chainPool = unsettled(simnet, receiver.address, a === 'STX' ? null : PLAIN_TOKEN);
        assert.equal(chainPool, pools.get(poolKey(receiver.address, a)) ?? 0n, `seed ${seed} pool`);
      }
    }
    for (const a of assets) {
      const mine = channels.filter((c) => assetOf(c.config.token) === a);
      const unclaimed = mine.reduce((sum, c) => sum + c.balance - c.claimed, 0n);
      const pooled = receivers.reduce(
        (sum, r) => sum + (pools.get(poolKey(r.receiver.address, a)) ?? 0n),
        0n,
      );
      const escrowDelta = holdings(ESCROW, a) - start.get(a)!.escrow;
      assert.equal(escrowDelta, unclaimed + pooled, `seed ${seed}: the escrow holds what it owes`);
      const parties = everyone.reduce((sum, p) => sum + holdings(p.address, a), 0n);
      assert.equal(parties + escrowDelta, start.get(a)!.parties, `seed ${seed}: ${a} is conserved`);
      // Paid out of the escrow so far (to receivers and back to payers): deposits minus what it still holds.
      const paidOut = deposited.get(a)! - escrowDelta;
      assert.ok(paidOut >= 0n && paidOut <= deposited.get(a)!, `seed ${seed}: paid out ${paidOut}`);
      for (const { receiver } of receivers) {
        const received = holdings(receiver.address, a) - FUNDS;
        const ceilings = mine
          .filter((c) => c.config.receiver === receiver.address)
          .reduce((sum, c) => sum + c.highest, 0n);
        // A receiver's gain is its settled claims, never above the highest vouchers signed for its channels.
        assert.ok(
          received <= ceilings,
          `seed ${seed}: ${receiver.address} got ${received} > ${ceilings}`,
        );
      }
    }
  }
}

test(`batch-escrow: ${SEQUENCES} random sequences of ${STEPS} steps agree with the model and keep every invariant`, (t) => {
  for (let run = 0; run < SEQUENCES; run++) runSequence(0x5eed + run);
  t.diagnostic(
    [...outcomes]
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(', '),
  );
});
