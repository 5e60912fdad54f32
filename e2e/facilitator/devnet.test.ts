/**
 * The facilitator engine end to end: real signed payments, the devnet over HTTP through the ChainClient, and the
 * in-memory Ledger.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { MULTISIG_MODES, multisigPayer, multisigPayment } from '@x402-stacks/test-kit/fixtures';
import { createFacilitator, type Facilitator, InMemoryLedger } from 'x402-stacks';
import { ChainRequestError, createChainClient } from 'x402-stacks/chain';
import { createPaymentTransaction, transactionIdOf } from 'x402-stacks/stacks';

const requirementsFor = (payTo: string, asset = 'STX', amount = '5000') => ({
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount,
  asset,
  payTo,
  maxTimeoutSeconds: 300,
});

const transactionIdOfPayment = (payment: { payload: { transaction: string } }) =>
  transactionIdOf(Buffer.from(payment.payload.transaction.replace(/^0x/, ''), 'hex'));

describe('facilitator engine against the devnet', () => {
  let devnet: Devnet;
  let facilitator: Facilitator;
  let nonce = 0n;
  before(async () => {
    devnet = await startDevnet({ port: 0 });
    facilitator = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      settleTimeoutMs: 2_000,
      pollIntervalMs: 10,
    });
  });
  after(async () => {
    await facilitator.idle();
    await devnet.stop();
  });

  const payer = () => devnet.accounts[0]!.account;
  const seller = () => devnet.accounts[1]!.address;
  async function payment(
    requirements: ReturnType<typeof requirementsFor>,
    overrides: { nonce?: bigint; fee?: bigint } = {},
  ) {
    const { transaction } = await createPaymentTransaction({
      account: payer(),
      requirements,
      nonce: overrides.nonce ?? nonce,
      fee: overrides.fee ?? 400n,
    });
    return { x402Version: 2, accepted: requirements, payload: { transaction } };
  }

  test('verify accepts a valid STX payment and names the payer; nothing moves', async () => {
    const requirements = requirementsFor(seller());
    const before = devnet.chain.state.stx(seller());
    const verdict = await facilitator.verify(await payment(requirements), requirements);
    assert.deepEqual(verdict, { isValid: true, payer: payer().address });
    assert.equal(devnet.chain.state.stx(seller()), before);
  });

  test('verify refuses with reason codes as values', async () => {
    const requirements = requirementsFor(seller());
    const cases: [string, unknown, unknown, string][] = [
      ['garbage payload', { nope: 1 }, requirements, 'invalid_payload'],
      [
        'garbage requirements',
        await payment(requirements),
        { scheme: 'exact' },
        'invalid_payment_requirements',
      ],
      [
        'another scheme',
        await payment(requirements),
        { ...requirements, scheme: 'upto' },
        'unsupported_scheme',
      ],
      [
        'mainnet, not served',
        await payment(requirements),
        {
          ...requirements,
          network: 'stacks:1',
          payTo: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7',
        },
        'invalid_network',
      ],
      [
        'accepted disagrees with the requirements',
        { ...(await payment(requirements)), accepted: { ...requirements, amount: '1' } },
        requirements,
        'invalid_payment_requirements',
      ],
      [
        'no transaction',
        { x402Version: 2, accepted: requirements, payload: {} },
        requirements,
        'invalid_exact_stacks_payload_transaction',
      ],
      [
        'one micro-STX short, though accepted claims the full price',
        { ...(await payment(requirementsFor(seller(), 'STX', '4999'))), accepted: requirements },
        requirements,
        'invalid_exact_stacks_payload_amount_mismatch',
      ],
      [
        'nonce past the chaining window (26 ahead of the chain)',
        await payment(requirements, { nonce: nonce + 26n }),
        requirements,
        'invalid_exact_stacks_payload_nonce',
      ],
      [
        'more than the payer holds',
        await payment(requirementsFor(seller(), 'STX', (10n ** 15n).toString())),
        requirementsFor(seller(), 'STX', (10n ** 15n).toString()),
        'insufficient_funds',
      ],
    ];
    for (const [name, payload, reqs, reason] of cases) {
      const verdict = await facilitator.verify(payload, reqs);
      assert.equal(verdict.isValid, false, name);
      assert.equal(verdict.invalidReason, reason, name);
    }
  });

  test('settle moves the money once; a replay gets duplicate_settlement with the txid', async () => {
    const requirements = requirementsFor(seller(), 'sBTC', '2500');
    const paid = await payment(requirements);
    const sbtc = 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token::sbtc-token';
    const before = devnet.chain.state.token(sbtc, seller());
    const settled = await facilitator.settle(paid, requirements);
    assert.equal(settled.success, true, settled.errorReason);
    assert.match(settled.transaction, /^[0-9a-f]{64}$/);
    assert.equal(settled.payer, payer().address);
    assert.equal(devnet.chain.state.token(sbtc, seller()), before + 2500n);
    nonce++;
    const replay = await facilitator.settle(paid, requirements);
    assert.equal(replay.success, false);
    assert.equal(replay.errorReason, 'duplicate_settlement');
    assert.equal(replay.transaction, settled.transaction);
    assert.equal((await facilitator.status(settled.transaction))?.state, 'success');
  });

  test('50 concurrent settles of one payment: one broadcast, the balance moves once', async () => {
    const requirements = requirementsFor(seller());
    const paid = await payment(requirements);
    const heightBefore = devnet.chain.height;
    const before = devnet.chain.state.stx(seller());
    const results = await Promise.all(
      Array.from({ length: 50 }, () => facilitator.settle(paid, requirements)),
    );
    nonce++;
    assert.equal(results.filter((r) => r.success).length, 1);
    assert.ok(
      results.filter((r) => !r.success).every((r) => r.errorReason === 'duplicate_settlement'),
    );
    assert.equal(devnet.chain.state.stx(seller()), before + 5000n);
    assert.equal(devnet.chain.height, heightBefore + 1, 'one accepted broadcast, one block');
  });

  test('two different transactions on one nonce: one success', async () => {
    const requirements = requirementsFor(seller());
    const a = await payment(requirements, { fee: 400n });
    const b = await payment(requirements, { fee: 401n });
    const results = await Promise.all([
      facilitator.settle(a, requirements),
      facilitator.settle(b, requirements),
    ]);
    nonce++;
    assert.equal(results.filter((r) => r.success).length, 1);
    const loser = results.find((r) => !r.success)!;
    assert.ok(
      ['invalid_exact_stacks_payload_nonce_reused', 'invalid_exact_stacks_payload_nonce'].includes(
        loser.errorReason!,
      ),
      loser.errorReason,
    );
  });

  test('verify refuses a transaction on a nonce another settlement in flight holds', async () => {
    const requirements = requirementsFor(seller());
    // Ahead of the chain, the first settle claims nonce + 1 and waits for nonce to reach the mempool.
    const held = await payment(requirements, { nonce: nonce + 1n, fee: 400n });
    const other = await payment(requirements, { nonce: nonce + 1n, fee: 500n });
    const settling = facilitator.settle(held, requirements);
    await new Promise((r) => setTimeout(r, 200));
    const verdict = await facilitator.verify(other, requirements);
    assert.equal(verdict.invalidReason, 'invalid_exact_stacks_payload_nonce_reused');
    assert.equal((await settling).errorReason, 'invalid_exact_stacks_payload_nonce');
  });

  test('chained payments settled out of order all succeed; the later nonce waits for the earlier one', async () => {
    const requirements = requirementsFor(seller());
    const before = devnet.chain.state.stx(seller());
    const payments = await Promise.all(
      [0n, 1n, 2n].map((k) => payment(requirements, { nonce: nonce + k })),
    );
    assert.equal((await facilitator.verify(payments[2], requirements)).isValid, true);
    const [late, middle] = [
      facilitator.settle(payments[2], requirements),
      facilitator.settle(payments[1], requirements),
    ];
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(
      devnet.chain.state.stx(seller()),
      before,
      `nothing broadcast while nonce ${nonce} is missing`,
    );
    const first = await facilitator.settle(payments[0], requirements);
    const results = [first, await middle, await late];
    nonce += 3n;
    assert.deepEqual(
      results.map((r) => r.success),
      [true, true, true],
      JSON.stringify(results),
    );
    assert.equal(devnet.chain.state.stx(seller()), before + 15_000n);
  });

  test('a payment ahead of a gap that never fills is refused and never broadcast', async () => {
    const requirements = requirementsFor(seller());
    const gapped = await payment(requirements, { nonce: nonce + 1n });
    const result = await facilitator.settle(gapped, requirements);
    assert.equal(result.success, false);
    assert.equal(result.errorReason, 'invalid_exact_stacks_payload_nonce');
    const chain = createChainClient({ network: 'testnet', url: devnet.url });
    assert.equal(await chain.getNextNonce(payer().address), nonce, 'the payer spent nothing');
    assert.equal(
      await facilitator.status(transactionIdOfPayment(gapped)),
      undefined,
      'the claim is released',
    );
    // Once the gap fills, the very same payment settles.
    assert.equal(
      (await facilitator.settle(await payment(requirements), requirements)).success,
      true,
    );
    assert.equal((await facilitator.settle(gapped, requirements)).success, true);
    nonce += 2n;
  });

  test('a dropped transaction fails; the retry of its identical bytes settles it, once', async () => {
    const requirements = requirementsFor(seller());
    devnet.chain.injectFault('next', { kind: 'drop' });
    const dropped = await payment(requirements);
    const result = await facilitator.settle(dropped, requirements);
    assert.equal(result.success, false);
    assert.equal(result.errorReason, 'transaction_failed');
    assert.equal((await facilitator.status(result.transaction))?.state, 'failed');
    const paidBefore = devnet.chain.state.stx(seller());
    // The buyer signs the same nonce and amount again: Stacks signatures are deterministic, so these are the same bytes.
    const again = await payment(requirements);
    assert.equal(again.payload.transaction, dropped.payload.transaction);
    const retry = await facilitator.settle(again, requirements);
    assert.equal(retry.success, true, retry.errorReason);
    assert.equal(retry.transaction, result.transaction);
    assert.equal(devnet.chain.state.stx(seller()), paidBefore + 5000n);
    const replay = await facilitator.settle(again, requirements);
    assert.equal(replay.errorReason, 'duplicate_settlement');
    assert.equal(devnet.chain.state.stx(seller()), paidBefore + 5000n, 'the money moved once');
    nonce++;
  });

  test('an aborted transaction spent its nonce: a retry of it hears the failure again', async () => {
    const requirements = requirementsFor(seller());
    devnet.chain.injectFault('next', { kind: 'abort' });
    const aborted = await payment(requirements);
    const result = await facilitator.settle(aborted, requirements);
    assert.equal(result.errorReason, 'transaction_failed');
    nonce++;
    const paidBefore = devnet.chain.state.stx(seller());
    // Not duplicate_settlement: no money moved, so the buyer should sign a new payment rather than give up.
    const retry = await facilitator.settle(aborted, requirements);
    assert.equal(retry.errorReason, 'transaction_failed');
    assert.equal(retry.transaction, result.transaction);
    assert.equal(devnet.chain.state.stx(seller()), paidBefore);
  });

  test('a stalled chain: settlement_pending, then the outcome through status; a replay is still a duplicate', async () => {
    const requirements = requirementsFor(seller());
    const paid = await payment(requirements);
    devnet.chain.stall(true);
    const pending = await facilitator.settle(paid, requirements);
    assert.equal(pending.success, false);
    assert.equal(pending.errorReason, 'settlement_pending');
    assert.match(pending.transaction, /^[0-9a-f]{64}$/);
    assert.equal((await facilitator.status(pending.transaction))?.state, 'broadcast');
    const replay = await facilitator.settle(paid, requirements);
    assert.equal(replay.errorReason, 'duplicate_settlement');
    devnet.chain.stall(false);
    devnet.mine();
    nonce++;
    await facilitator.idle();
    assert.equal((await facilitator.status(pending.transaction))?.state, 'success');
  });

  test('a settle call whose caller hung up before the broadcast sends nothing and gives its claim back; the same bytes settle after', async () => {
    const requirements = requirementsFor(seller());
    const paid = await payment(requirements);
    const txid = transactionIdOfPayment(paid);
    const gone = await facilitator.settle(paid, requirements, { signal: AbortSignal.abort() });
    assert.equal(gone.success, false);
    assert.equal(gone.errorReason, 'settlement_cancelled');
    assert.equal(devnet.chain.transaction(txid), undefined, 'never broadcast');
    assert.equal(await facilitator.status(txid), undefined, 'the claim was given back');
    const settled = await facilitator.settle(paid, requirements);
    assert.equal(settled.success, true);
    assert.equal(settled.transaction, txid);
    nonce++;
  });

  test('a status round further off than the settle timeout does not hold the call past it: settlement_pending at the deadline', async () => {
    const slow = createFacilitator({
      networks: { testnet: { url: devnet.url, blockEvents: false } },
      settleTimeoutMs: 3_000,
      pollIntervalMs: 60_000,
      // The status rounds' sleep must not hold this test's process for the minute after the drain.
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
    });
    try {
      const requirements = requirementsFor(seller());
      const paid = await payment(requirements);
      const startedAt = performance.now();
      const answer = await slow.settle(paid, requirements);
      nonce++;
      const tookMs = performance.now() - startedAt;
      assert.equal(answer.errorReason, 'settlement_pending', JSON.stringify(answer));
      assert.ok(
        tookMs < 20_000,
        `answered at the deadline, not at the round a minute away (${tookMs} ms)`,
      );
      // Mined already (the devnet mines on broadcast), but no round has read it: the drain ends the wait for one.
      assert.equal((await slow.status(answer.transaction))?.state, 'broadcast');
    } finally {
      slow.drain();
      await slow.idle();
    }
  });

  test('drain: a settle call waiting on a stalled chain answers settlement_pending at once, the settlement still broadcast; the keeper keeps the process lease until it stops', async () => {
    const ledger = new InMemoryLedger();
    const draining = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger,
      settleTimeoutMs: 120_000,
      pollIntervalMs: 10,
      keeper: { intervalMs: 100 },
    });
    const requirements = requirementsFor(seller());
    const paid = await payment(requirements);
    const txid = transactionIdOfPayment(paid);
    devnet.chain.stall(true);
    try {
      draining.keeper.start();
      const settling = draining.settle(paid, requirements);
      while ((await ledger.get(txid))?.state !== 'broadcast')
        await new Promise((resolve) => setTimeout(resolve, 5));
      const drainedAt = performance.now();
      draining.drain();
      const answer = await settling;
      assert.ok(performance.now() - drainedAt < 1_000, 'answered at once, not after two minutes');
      assert.equal(answer.errorReason, 'settlement_pending');
      assert.equal(answer.transaction, txid);
      assert.equal((await ledger.get(txid))?.state, 'broadcast');
      assert.equal(await ledger.answerOf(txid), 'pending');
      await draining.idle();
      // A keeper round now starts nothing the stop would cut: the settlement, broadcast and unfollowed, is not read.
      assert.deepEqual(await draining.keeper.runOnce(), {
        expired: 0,
        followed: 0,
        gapsFilled: 0,
        strandedReplaced: 0,
      });
      // It still renews this process's lease: calls still running here are not taken over elsewhere.
      const holder = (await ledger.get(txid))?.holder;
      assert.ok(holder);
      const lease = async () => (await ledger.readLease(`process:${holder}`))?.expiresAt ?? 0;
      const renewedBefore = await lease();
      const by = Date.now() + 3_000;
      while ((await lease()) <= renewedBefore) {
        assert.ok(Date.now() < by, 'renewed after the drain');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await draining.keeper.stop();
      devnet.chain.stall(false);
      devnet.mine();
      nonce++;
    }
  });

  test("a facilitator hears the chain's blocks from its creation, and drain() closes the channel", async () => {
    const subscribers = () => devnet.blockEvents.subscribers;
    const until = async (condition: () => boolean, what: string) => {
      const by = Date.now() + 5_000;
      while (!condition()) {
        assert.ok(Date.now() < by, what);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const before = subscribers();
    const hearing = createFacilitator({ networks: { testnet: { url: devnet.url } } });
    await until(() => subscribers() === before + 1, 'subscribed before any settlement');
    hearing.drain();
    await until(() => subscribers() === before, 'the channel closed by the drain');
  });

  test('supported lists the served networks and the bazaar and payment-identifier extensions', () => {
    assert.deepEqual(facilitator.supported(), {
      // maxNonceAhead: buyers may chain this many payments past their next nonce (parallel nonces).
      kinds: [
        {
          x402Version: 2,
          scheme: 'exact',
          network: 'stacks:2147483648',
          extra: { maxNonceAhead: 25 },
        },
      ],
      extensions: ['bazaar', 'payment-identifier'],
      signers: {},
    });
  });

  test('an unreachable chain is an error, not a verdict', async () => {
    const offline = createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:9' } } });
    const requirements = requirementsFor(seller());
    await assert.rejects(
      offline.verify(await payment(requirements), requirements),
      (error: unknown) => error instanceof ChainRequestError,
    );
  });
});

describe('facilitator engine: sponsorship', () => {
  let devnet: Devnet;
  let facilitator: Facilitator;
  before(async () => {
    devnet = await startDevnet({ port: 0 });
    facilitator = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      sponsor: { privateKeys: [devnet.accounts[9]!.privateKey, devnet.accounts[8]!.privateKey] },
      settleTimeoutMs: 2_000,
      pollIntervalMs: 10,
    });
  });
  after(async () => {
    await facilitator.idle();
    await devnet.stop();
  });

  const sponsorAddress = () => devnet.accounts[9]!.address;
  const sponsoredRequirements = (asset = 'STX') => ({
    ...requirementsFor(devnet.accounts[1]!.address, asset, '3000'),
    extra: { sponsor: sponsorAddress() },
  });

  test('supported advertises the first sponsor', () => {
    assert.deepEqual(facilitator.supported().kinds, [
      {
        x402Version: 2,
        scheme: 'exact',
        network: 'stacks:2147483648',
        // No maxNonceAhead beside a sponsor: its sponsored payments go out a block apart.
        extra: { sponsor: sponsorAddress(), feePayer: sponsorAddress() },
      },
    ]);
  });

  test('sponsored STX and sBTC payments settle; the sponsors pay the fees; the on-chain txid is the sponsored one', async () => {
    for (const [index, asset] of [
      [2, 'STX'],
      [3, 'sBTC'],
    ] as const) {
      const payer = devnet.accounts[index]!;
      const requirements = sponsoredRequirements(asset);
      const payment = await createPaymentTransaction({
        account: payer.account,
        requirements,
        nonce: 0n,
      });
      assert.equal(payment.sponsored, true);
      const stxBefore = devnet.chain.state.stx(payer.address);
      const result = await facilitator.settle(
        { x402Version: 2, accepted: requirements, payload: { transaction: payment.transaction } },
        requirements,
      );
      assert.equal(result.success, true, result.errorReason);
      assert.notEqual(result.transaction, payment.txid, 'sponsoring changes the txid');
      assert.equal(devnet.chain.transaction(result.transaction)?.status, 'success');
      const spentByPayer = stxBefore - devnet.chain.state.stx(payer.address);
      assert.equal(spentByPayer, asset === 'STX' ? 3000n : 0n, 'the payer pays no fee');
      const status = await facilitator.status(payment.txid);
      assert.equal(status?.transaction, result.transaction, 'found by the payment txid too');
    }
    const sponsorsSpent =
      2n * 100_000_000_000n -
      devnet.chain.state.stx(devnet.accounts[9]!.address) -
      devnet.chain.state.stx(devnet.accounts[8]!.address);
    assert.ok(sponsorsSpent > 0n, 'the sponsors paid the fees');
  });

  test('concurrent sponsored settles get distinct sponsor nonces and all succeed', async () => {
    const requirements = sponsoredRequirements();
    const payments = await Promise.all(
      [4, 5, 6, 7].map(async (index) => {
        const { transaction } = await createPaymentTransaction({
          account: devnet.accounts[index]!.account,
          requirements,
          nonce: 0n,
        });
        return { x402Version: 2, accepted: requirements, payload: { transaction } };
      }),
    );
    const results = await Promise.all(payments.map((p) => facilitator.settle(p, requirements)));
    assert.deepEqual(
      results.map((r) => r.success),
      [true, true, true, true],
      results.map((r) => r.errorReason).join(','),
    );
  });

  test('a sponsored payment naming another sponsor, or sent to a facilitator without sponsors, is refused', async () => {
    const requirements = {
      ...sponsoredRequirements(),
      extra: { sponsor: devnet.accounts[1]!.address },
    };
    const { transaction } = await createPaymentTransaction({
      account: devnet.accounts[2]!.account,
      requirements,
      nonce: 1n,
    });
    const payload = { x402Version: 2, accepted: requirements, payload: { transaction } };
    const verdict = await facilitator.verify(payload, requirements);
    assert.equal(verdict.invalidReason, 'invalid_exact_stacks_payload_sponsor');
    const plain = createFacilitator({ networks: { testnet: { url: devnet.url } } });
    const refused = await plain.verify(
      { ...payload, accepted: sponsoredRequirements() },
      sponsoredRequirements(),
    );
    assert.equal(refused.invalidReason, 'invalid_exact_stacks_payload_sponsor');
  });

  test('the sponsor fee cap refuses an expensive sponsorship and frees the claim', async () => {
    const capped = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      sponsor: { privateKeys: devnet.accounts[9]!.privateKey, maxFee: 10n },
      pollIntervalMs: 10,
    });
    const requirements = sponsoredRequirements();
    const { transaction, txid } = await createPaymentTransaction({
      account: devnet.accounts[2]!.account,
      requirements,
      nonce: 1n,
    });
    const result = await capped.settle(
      { x402Version: 2, accepted: requirements, payload: { transaction } },
      requirements,
    );
    assert.equal(result.errorReason, 'invalid_exact_stacks_payload_fee');
    assert.equal(await capped.status(txid), undefined, 'nothing was sent, so nothing is claimed');
  });

  test('sponsored multisig STX and sBTC payments settle: the sponsor pays the fee, the seller is paid once', async () => {
    // @stacks/transactions' sponsorTransaction threw on these ("more signatures than are expected"): settle was a 500.
    const sbtc = 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token::sbtc-token';
    const seller = devnet.accounts[1]!.address;
    const members = [devnet.accounts[5]!, devnet.accounts[6]!, devnet.accounts[7]!].map(
      (a) => a.privateKey,
    );
    for (const [asset, mode] of [
      ['STX', MULTISIG_MODES.p2sh],
      ['sBTC', MULTISIG_MODES['p2wsh-order-independent']],
    ] as const) {
      const payer = multisigPayer(members, 2, mode);
      devnet.chain.fund(payer.address, asset === 'STX' ? { stx: 10_000n } : { sBTC: 10_000n });
      const requirements = sponsoredRequirements(asset);
      const payment = await multisigPayment(payer, { requirements, nonce: 0n });
      const paid = { x402Version: 2, accepted: requirements, payload: payment };
      const balanceOf = (who: string) =>
        asset === 'STX' ? devnet.chain.state.stx(who) : devnet.chain.state.token(sbtc, who);
      const [sellerBefore, payerStxBefore] = [
        balanceOf(seller),
        devnet.chain.state.stx(payer.address),
      ];
      // Any key of the pool may sponsor: the one with the most room does.
      const sponsorsStx = () =>
        devnet.chain.state.stx(devnet.accounts[9]!.address) +
        devnet.chain.state.stx(devnet.accounts[8]!.address);
      const sponsorBefore = sponsorsStx();
      assert.deepEqual(await facilitator.verify(paid, requirements), {
        isValid: true,
        payer: payer.address,
      });
      const result = await facilitator.settle(paid, requirements);
      assert.equal(result.success, true, `${asset}: ${result.errorReason} ${result.errorMessage}`);
      assert.equal(devnet.chain.transaction(result.transaction)?.status, 'success');
      assert.equal(balanceOf(seller), sellerBefore + 3000n, `${asset}: the seller is paid`);
      const payerSpentStx = payerStxBefore - devnet.chain.state.stx(payer.address);
      assert.equal(payerSpentStx, asset === 'STX' ? 3000n : 0n, `${asset}: the payer pays no fee`);
      assert.ok(sponsorsStx() < sponsorBefore, 'a sponsor of the pool paid');
      const replay = await facilitator.settle(paid, requirements);
      assert.equal(replay.errorReason, 'duplicate_settlement');
      assert.equal(balanceOf(seller), sellerBefore + 3000n, `${asset}: paid once`);
    }
  });
});

describe('facilitator engine: a restart over the same ledger', () => {
  test('a broadcast settlement is tracked to its end by the next process, never sent twice', async () => {
    const devnet = await startDevnet({ port: 0 });
    const ledger = new InMemoryLedger();
    const options = {
      networks: { testnet: { url: devnet.url } },
      ledger,
      settleTimeoutMs: 200,
      pollIntervalMs: 10,
      trackForMs: 300,
    };
    const first = createFacilitator(options);
    const requirements = requirementsFor(devnet.accounts[1]!.address);
    const { transaction, txid } = await createPaymentTransaction({
      account: devnet.accounts[0]!.account,
      requirements,
      nonce: 0n,
      fee: 400n,
    });
    devnet.chain.stall(true);
    const pending = await first.settle(
      { x402Version: 2, accepted: requirements, payload: { transaction } },
      requirements,
    );
    assert.equal(pending.errorReason, 'settlement_pending');
    await first.idle(); // the first process's tracking gives up, as if it had died
    assert.equal((await ledger.get(txid))?.state, 'broadcast');
    // The restarted process gets a chain client that counts broadcasts: resuming must send nothing.
    const chain = createChainClient({ network: 'testnet', url: devnet.url });
    let broadcasts = 0;
    const counting = {
      ...chain,
      broadcast: (tx: string | Uint8Array) => {
        broadcasts++;
        return chain.broadcast(tx);
      },
    };
    const second = createFacilitator({
      ...options,
      networks: { testnet: { chain: counting } },
      trackForMs: 5_000,
    });
    assert.deepEqual(await second.resume(), { tracked: 1, released: 0 });
    devnet.chain.stall(false);
    devnet.mine();
    await second.idle();
    assert.equal((await second.status(txid))?.state, 'success');
    assert.equal(broadcasts, 0, 'the restarted process never broadcast');
    assert.equal(devnet.chain.tip?.txids.length, 1);
    await devnet.stop();
  });

  test('a stale claim that never reached the node is released on resume; a fresh one is left alone', async () => {
    let clock = 0;
    const ledger = new InMemoryLedger({ now: () => clock });
    await ledger.claim({
      paymentTxid: 'ab'.repeat(32),
      txid: 'ab'.repeat(32),
      network: 'stacks:2147483648',
      payer: 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM',
      nonce: 0n,
      amount: 1n,
      asset: 'STX',
      payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
      transaction: '00',
    });
    const facilitator = createFacilitator({
      networks: { testnet: { url: 'http://127.0.0.1:9' } },
      ledger,
      now: () => clock,
      claimLeaseMs: 1_000,
      settleTimeoutMs: 1_000,
    });
    clock = 999;
    assert.deepEqual(await facilitator.resume(), { tracked: 0, released: 0 }, 'within the lease');
    clock = 1_000;
    assert.deepEqual(await facilitator.resume(), { tracked: 0, released: 1 });
    assert.equal(await ledger.get('ab'.repeat(32)), undefined);
  });
});

describe('facilitator engine: what the chain says', () => {
  test('a success from a non-canonical block is not final', async () => {
    const devnet = await startDevnet({ port: 0 });
    const chain = createChainClient({ network: 'testnet', url: devnet.url });
    const forked = {
      ...chain,
      getTransaction: async (txid: string) => {
        const tx = await chain.getTransaction(txid);
        return tx?.indexed ? { ...tx, canonical: false } : tx;
      },
    };
    const facilitator = createFacilitator({
      networks: { testnet: { chain: forked } },
      settleTimeoutMs: 100,
      pollIntervalMs: 10,
      trackForMs: 100,
    });
    const requirements = requirementsFor(devnet.accounts[1]!.address);
    const { transaction } = await createPaymentTransaction({
      account: devnet.accounts[0]!.account,
      requirements,
      nonce: 0n,
      fee: 400n,
    });
    const result = await facilitator.settle(
      { x402Version: 2, accepted: requirements, payload: { transaction } },
      requirements,
    );
    assert.equal(result.success, false);
    assert.equal(result.errorReason, 'settlement_pending');
    await facilitator.idle();
    assert.equal((await facilitator.status(result.transaction))?.state, 'broadcast');
    await devnet.stop();
  });

  test('a dropped sponsored transaction returns the sponsor nonce: the next sponsored payment confirms', async () => {
    const devnet = await startDevnet({ port: 0 });
    const facilitator = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      sponsor: { privateKeys: devnet.accounts[9]!.privateKey },
      settleTimeoutMs: 2_000,
      pollIntervalMs: 10,
    });
    const requirements = {
      ...requirementsFor(devnet.accounts[1]!.address),
      extra: { sponsor: devnet.accounts[9]!.address },
    };
    const pay = async (index: number) => {
      const { transaction } = await createPaymentTransaction({
        account: devnet.accounts[index]!.account,
        requirements,
        nonce: 0n,
      });
      return facilitator.settle(
        { x402Version: 2, accepted: requirements, payload: { transaction } },
        requirements,
      );
    };
    devnet.chain.injectFault('next', { kind: 'drop' });
    const dropped = await pay(2);
    assert.equal(dropped.errorReason, 'transaction_failed');
    const next = await pay(3);
    assert.equal(next.success, true, next.errorReason);
    await facilitator.idle();
    await devnet.stop();
  });

  test('a dropped sponsored payment, retried with its identical bytes, is sponsored again and settles once', async () => {
    const devnet = await startDevnet({ port: 0 });
    const ledger = new InMemoryLedger();
    const facilitator = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      sponsor: { privateKeys: devnet.accounts[9]!.privateKey },
      ledger,
      settleTimeoutMs: 2_000,
      pollIntervalMs: 10,
    });
    const seller = devnet.accounts[1]!.address;
    const requirements = {
      ...requirementsFor(seller),
      extra: { sponsor: devnet.accounts[9]!.address },
    };
    const { transaction } = await createPaymentTransaction({
      account: devnet.accounts[2]!.account,
      requirements,
      nonce: 0n,
    });
    const payment = { x402Version: 2, accepted: requirements, payload: { transaction } };
    devnet.chain.injectFault('next', { kind: 'drop' });
    const dropped = await facilitator.settle(payment, requirements);
    assert.equal(dropped.errorReason, 'transaction_failed');
    const paidBefore = devnet.chain.state.stx(seller);
    const retry = await facilitator.settle(payment, requirements);
    assert.equal(retry.success, true, retry.errorReason);
    const settled = await ledger.get(transactionIdOfPayment(payment));
    assert.equal(settled?.state, 'success');
    assert.equal(settled?.sponsorNonce, 0n, 'the sponsor nonce the drop gave back');
    assert.equal(settled?.txid, retry.transaction);
    const chain = createChainClient({ network: 'testnet', url: devnet.url });
    assert.equal(await chain.getNextNonce(devnet.accounts[9]!.address), 1n);
    assert.equal(devnet.chain.state.stx(seller), paidBefore + 5000n);
    assert.equal(
      (await facilitator.settle(payment, requirements)).errorReason,
      'duplicate_settlement',
    );
    await facilitator.idle();
    await devnet.stop();
  });

  test('concurrent retries of dropped bytes: one settles them, the others are duplicates, the money moves once', async () => {
    const devnet = await startDevnet({ port: 0 });
    const facilitator = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      settleTimeoutMs: 2_000,
      pollIntervalMs: 10,
    });
    const seller = devnet.accounts[1]!.address;
    const requirements = requirementsFor(seller);
    const { transaction } = await createPaymentTransaction({
      account: devnet.accounts[4]!.account,
      requirements,
      nonce: 0n,
      fee: 400n,
    });
    const payment = { x402Version: 2, accepted: requirements, payload: { transaction } };
    devnet.chain.injectFault('next', { kind: 'drop' });
    assert.equal(
      (await facilitator.settle(payment, requirements)).errorReason,
      'transaction_failed',
    );
    const paidBefore = devnet.chain.state.stx(seller);
    const retries = await Promise.all(
      Array.from({ length: 6 }, () => facilitator.settle(payment, requirements)),
    );
    assert.equal(retries.filter((retry) => retry.success).length, 1);
    assert.deepEqual(
      retries.filter((retry) => !retry.success).map((retry) => retry.errorReason),
      Array(5).fill('duplicate_settlement'),
    );
    assert.equal(devnet.chain.state.stx(seller), paidBefore + 5000n);
    await facilitator.idle();
    await devnet.stop();
  });

  test('dropped bytes sent to the node again by someone else: a retry while they are pending tracks them to their outcome, once mined it is refused on the spent nonce, and the money moves once', async () => {
    const devnet = await startDevnet({ port: 0 });
    const facilitator = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      settleTimeoutMs: 200,
      pollIntervalMs: 10,
    });
    const chain = createChainClient({ network: 'testnet', url: devnet.url });
    const seller = devnet.accounts[1]!.address;
    const requirements = requirementsFor(seller);
    const dropThenResend = async (index: number) => {
      const { transaction } = await createPaymentTransaction({
        account: devnet.accounts[index]!.account,
        requirements,
        nonce: 0n,
        fee: 400n,
      });
      const payment = { x402Version: 2, accepted: requirements, payload: { transaction } };
      devnet.chain.injectFault('next', { kind: 'drop' });
      assert.equal(
        (await facilitator.settle(payment, requirements)).errorReason,
        'transaction_failed',
      );
      // Anyone who saw the bytes in the mempool may send them again.
      assert.equal((await chain.broadcast(transaction)).accepted, true);
      return payment;
    };

    // Pending again: the payment takes the payer's confirmed nonce, so settle reads no mempool and sends the bytes; the
    // node holds them already and answers with their txid, and the facilitator tracks them to their outcome.
    devnet.chain.stall(true);
    const pendingAgain = await dropThenResend(2);
    const paidBefore = devnet.chain.state.stx(seller);
    const whilePending = await facilitator.settle(pendingAgain, requirements);
    assert.equal(whilePending.errorReason, 'settlement_pending');
    devnet.chain.stall(false);
    devnet.mine();
    assert.equal(devnet.chain.state.stx(seller), paidBefore + 5000n, 'the resent bytes paid');
    await facilitator.idle();
    assert.equal((await facilitator.status(whilePending.transaction))?.state, 'success');
    const onceMined = await facilitator.settle(pendingAgain, requirements);
    assert.equal(onceMined.errorReason, 'duplicate_settlement');
    // Mined before the retry (the devnet mines on broadcast): the nonce is spent, refused the same way.
    const minedAgain = await dropThenResend(3);
    assert.equal(devnet.chain.state.stx(seller), paidBefore + 10_000n);
    const afterMined = await facilitator.settle(minedAgain, requirements);
    assert.equal(afterMined.errorReason, 'invalid_exact_stacks_payload_nonce');
    assert.equal(devnet.chain.state.stx(seller), paidBefore + 10_000n, 'never moved twice');
    await facilitator.idle();
    await devnet.stop();
  });

  test('a failed settle names the network as CAIP-2, whatever spelling came in', async () => {
    const devnet = await startDevnet({ port: 0 });
    const facilitator = createFacilitator({ networks: { testnet: { url: devnet.url } } });
    const requirements = { ...requirementsFor(devnet.accounts[1]!.address), network: 'testnet' };
    const result = await facilitator.settle(
      { x402Version: 2, accepted: requirements, payload: {} },
      requirements,
    );
    assert.equal(result.success, false);
    assert.equal(result.network, 'stacks:2147483648');
    await devnet.stop();
  });
});

describe('facilitator engine: the verify cache', () => {
  test("verify reuses a payer read within verifyCacheMs; settle reuses it for the payer's next nonce with nothing pending", async () => {
    const devnet = await startDevnet({ port: 0 });
    const chain = createChainClient({ network: 'testnet', url: devnet.url });
    let nonceReads = 0;
    let accountReads = 0;
    const counting = {
      ...chain,
      getNextNonce: (address: string) => {
        nonceReads++;
        return chain.getNextNonce(address);
      },
      getAccount: (address: string) => {
        accountReads++;
        return chain.getAccount(address);
      },
    };
    let clock = 1_000_000;
    const facilitator = createFacilitator({
      networks: { testnet: { chain: counting } },
      verifyCacheMs: 2_000,
      pollIntervalMs: 10,
      now: () => clock,
    });
    const requirements = requirementsFor(devnet.accounts[1]!.address);
    const { transaction } = await createPaymentTransaction({
      account: devnet.accounts[0]!.account,
      requirements,
      nonce: 0n,
      fee: 400n,
    });
    const payload = { x402Version: 2, accepted: requirements, payload: { transaction } };
    try {
      await Promise.all([
        facilitator.verify(payload, requirements),
        facilitator.verify(payload, requirements),
      ]);
      assert.equal((await facilitator.verify(payload, requirements)).isValid, true);
      assert.equal(nonceReads, 1, 'three verifies, concurrent ones included, one read');
      clock += 2_001;
      await facilitator.verify(payload, requirements);
      assert.equal(nonceReads, 2, 'past the window the payer is read again');
      const reads = nonceReads;
      const accounts = accountReads;
      assert.equal((await facilitator.settle(payload, requirements)).success, true);
      // The read saw nothing of the payer pending and the payment takes its next nonce: safe to share (settleMayShare;
      // chain-calls.test.ts covers a chained payment, which is read afresh).
      assert.equal(nonceReads, reads, 'settle shared the verify read');
      assert.equal(accountReads, accounts, 'settle shared the verify read');
      clock += 2_001;
      const { transaction: next } = await createPaymentTransaction({
        account: devnet.accounts[0]!.account,
        requirements,
        nonce: 1n,
        fee: 400n,
      });
      const nextPayload = {
        x402Version: 2,
        accepted: requirements,
        payload: { transaction: next },
      };
      assert.equal((await facilitator.settle(nextPayload, requirements)).success, true);
      // Its own read: the account, whose confirmed nonce is the payment's, so the mempool is not asked.
      assert.equal(accountReads, accounts + 1, 'past the window settle reads the chain itself');
      assert.equal(nonceReads, reads, 'at the confirmed nonce settle reads no mempool');
    } finally {
      await facilitator.idle();
      await devnet.stop();
    }
  });
});
