/**
 * What the keeper and the tracker repair, against the devnet over HTTP: bytes the node lost are sent again (the same
 * bytes, so the same txid: never a second payment), and a claim whose holder died is dropped after its lease.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { openSqliteLedger } from '@x402-stacks/facilitator';
import { until } from '@x402-stacks/test-kit';
import { createFacilitator, InMemoryLedger } from 'x402-stacks';
import { type ChainClient, ChainRequestError, createChainClient } from 'x402-stacks/chain';
import { PAYMENT_IDENTIFIER } from 'x402-stacks/extensions';
import type { Ledger } from 'x402-stacks/facilitator';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { signedPayment } from './devnet-payments.js';
import { writesDrop } from './other-processes.js';

const requirementsFor = (payTo: string) => ({
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '4000',
  asset: 'STX',
  payTo,
  maxTimeoutSeconds: 300,
});

/** One ledger as two facilitator processes see it. */
type SharedLedger = { readonly mine: Ledger; readonly theirs: Ledger; close(): Promise<void> };

/**
 * Two processes' views of one ledger: one in-memory ledger both hold, or one SQLite ledger file (the service's own
 * statements, grouped commits and remembered reads). Both processes use the one connection: two connections to one
 * file in one process can deadlock, since a connection holds the file's write lock until its event-loop turn ends and
 * the other would wait out its busy timeout with the loop held. Separate processes on one file are
 * `apps/facilitator/test/cross-process.test.ts`'s.
 */
const SHARED_LEDGERS: readonly (readonly [string, () => Promise<SharedLedger>])[] = [
  [
    'one ledger in memory',
    async () => {
      const ledger = new InMemoryLedger();
      return { mine: ledger, theirs: ledger, close: async () => {} };
    },
  ],
  [
    'one SQLite ledger',
    async () => {
      const folder = mkdtempSync(join(tmpdir(), 'x402-keeper-'));
      const opened = await openSqliteLedger({ path: join(folder, 'ledger.db') });
      return {
        mine: opened.ledger,
        theirs: opened.ledger,
        async close() {
          await opened.close();
          rmSync(folder, { recursive: true, force: true });
        },
      };
    },
  ],
];

/** Runs `work` against a devnet of its own and a shared ledger, and closes both after it. */
async function onDevnetAndLedger(
  share: () => Promise<SharedLedger>,
  work: (setup: {
    devnet: Devnet;
    ledger: Ledger;
    theirs: Ledger;
    real: ChainClient;
  }) => Promise<void>,
): Promise<void> {
  const devnet = await startDevnet({ port: 0 });
  const { mine, theirs, close } = await share();
  try {
    const real = createChainClient({ network: 'testnet', url: devnet.url, notFoundGraceMs: 0 });
    await work({ devnet, ledger: mine, theirs, real });
  } finally {
    await close();
    await devnet.stop();
  }
}

/** Two facilitator processes on one ledger, each reading the chain through a client (or a node) of its own. */
function onSharedLedger(
  shared: Pick<SharedLedger, 'mine' | 'theirs'>,
  settleTimeoutMs: number,
  mine: { chain: ChainClient } | { url: string },
  theirs: { chain: ChainClient } | { url: string },
) {
  const options = { settleTimeoutMs, pollIntervalMs: 20 };
  return [
    createFacilitator({ ...options, ledger: shared.mine, networks: { testnet: mine } }),
    createFacilitator({ ...options, ledger: shared.theirs, networks: { testnet: theirs } }),
  ] as const;
}

/**
 * A node whose block holds the payment, read by another process: its read of a transaction starts (`reading` resolves
 * then), and comes back only once `ledger` holds the payment failed, and the devnet has mined it.
 */
function minedAfterTheDrop(real: ChainClient, ledger: Ledger) {
  let started = () => {};
  const reading = new Promise<void>((resolve) => {
    started = resolve;
  });
  const chain: ChainClient = Object.assign(Object.create(real) as ChainClient, {
    async getTransaction(txid: string) {
      started();
      await until(async () => (await ledger.get(txid))?.state === 'failed', 'the drop written', {
        everyMs: 1,
      });
      await until(
        async () => (await real.getTransaction(txid))?.status === 'success',
        'the payment mined',
      );
      return real.getTransaction(txid);
    },
  });
  return { chain, reading };
}

/**
 * An API node that let the payment go from its mempool: every read of a transaction reports `status`, once `first`
 * (when given) has settled. Its block may hold the payment all the same, as another node's read shows.
 */
function reportsDropped(real: ChainClient, status: string, first?: Promise<unknown>): ChainClient {
  const dropped = (txid: string) => ({ txid, indexed: true, status });
  return Object.assign(Object.create(real) as ChainClient, {
    async getTransaction(txid: string) {
      await first;
      return dropped(txid);
    },
    async getTransactions(txids: readonly string[]) {
      await first;
      return new Map(txids.map((txid) => [txid.replace(/^0x/, ''), dropped(txid)]));
    },
  });
}

/** A chain client whose first broadcast is lost after it left: the node never got it, the caller cannot know. */
function losingFirstBroadcast(real: ChainClient) {
  const sent: string[] = [];
  const chain: ChainClient = Object.assign(Object.create(real) as ChainClient, {
    async broadcast(transaction: string | Uint8Array) {
      sent.push(String(transaction));
      if (sent.length === 1) {
        throw new ChainRequestError(
          'chain_unreachable',
          'the connection dropped after the request was sent',
          {
            method: 'POST',
            url: 'http://127.0.0.1/v2/transactions',
            attempts: 1,
            txid: 'lost',
          },
        );
      }
      return real.broadcast(transaction);
    },
  });
  return { chain, sent };
}

/** Payments of the first genesis account at nonce 0, each fee a transaction of its own (the same nonce, another txid). */
function paysAtNonceZero(devnet: Devnet, requirements: ReturnType<typeof requirementsFor>) {
  return (fee: bigint) => signedPayment(devnet, requirements, { nonce: 0n, fee });
}

/** A sponsored payment of `payer` (the first genesis account) at `nonce` (0); the sponsor sets the fee. */
async function paysSponsored(
  devnet: Devnet,
  requirements: ReturnType<typeof requirementsFor> & { extra: { sponsor: string } },
  payer = devnet.accounts[0]!,
  nonce = 0n,
) {
  const { transaction, txid } = await createPaymentTransaction({
    account: payer.account,
    requirements,
    nonce,
  });
  return { txid, payment: { x402Version: 2, accepted: requirements, payload: { transaction } } };
}

/** `account` spends `nonce` in a transaction of its own: returns that transaction's txid. */
async function spendNonce(
  devnet: Devnet,
  account: Devnet['accounts'][number],
  chain: ChainClient,
  nonce: bigint,
  fee: bigint,
) {
  const own = await createPaymentTransaction({
    account: account.account,
    requirements: requirementsFor(devnet.accounts[2]!.address),
    nonce,
    fee,
  });
  assert.equal((await chain.broadcast(own.transaction)).accepted, true);
  return own.txid;
}

/**
 * A chain client whose first broadcast finds the next nonce of `holder` (the sponsor's key, used by another service
 * too, or the payer; nonce 0 on a fresh devnet) held in the mempool by another transaction with a higher fee: the node
 * refuses the payment with ConflictingNonceInMempool, which does not say whose nonce conflicts. The sponsor-nonce read
 * that judges it waits until `judged()` is called; `reading` tells it began. Every sponsor-nonce read is counted.
 * `alsoHeld` are further nonces `holder` spends at the same time, counted from that next one.
 */
function conflictingNonce(
  devnet: Devnet,
  holder: Devnet['accounts'][number],
  sponsor: Devnet['accounts'][number],
  alsoHeld: readonly bigint[] = [],
) {
  const real = createChainClient({ network: 'testnet', url: devnet.url });
  const state = {
    conflict: undefined as string | undefined,
    judging: false,
    reading: false,
    sponsorReads: 0,
    /** Set by a test: what the judgement's sponsor read answers once let go, as if it had read before then. */
    viewBefore: undefined as Awaited<ReturnType<ChainClient['getNonces']>> | undefined,
  };
  let judged!: () => void;
  const held = new Promise<void>((resolve) => {
    judged = resolve;
  });
  const chain: ChainClient = Object.assign(Object.create(real) as ChainClient, {
    async broadcast(transaction: string | Uint8Array) {
      if (state.conflict !== undefined) return real.broadcast(transaction);
      const base = (await real.getNonces(holder.address)).possibleNext;
      state.conflict = await spendNonce(devnet, holder, real, base, 90_000n);
      for (const nonce of alsoHeld) await spendNonce(devnet, holder, real, base + nonce, 1_000n);
      const result = await real.broadcast(transaction);
      assert.equal(!result.accepted && result.reason, 'ConflictingNonceInMempool');
      state.judging = true;
      return result;
    },
    async getNonces(address: string) {
      if (address === sponsor.address) state.sponsorReads++;
      if (state.judging && address === sponsor.address) {
        state.judging = false;
        state.reading = true;
        await held;
        if (state.viewBefore) return state.viewBefore;
      }
      return real.getNonces(address);
    },
  });
  return { chain, state, judged };
}

/**
 * A sponsored payment, settled by a first engine until the node refuses it on a conflict over the sponsor's next nonce
 * (or the payer's, when `payersOwn`; see `conflictingNonce`) and the refusal's judgement is reading the chain.
 */
async function refusedOnConflict(
  devnet: Devnet,
  extra: { keeper?: { rebroadcastAfterMs: number }; settleTimeoutMs?: number },
  payersOwn = false,
  alsoHeld: readonly bigint[] = [],
) {
  const sponsor = devnet.accounts[9]!;
  const seller = devnet.accounts[1]!.address;
  const requirements = { ...requirementsFor(seller), extra: { sponsor: sponsor.address } };
  const conflict = conflictingNonce(
    devnet,
    payersOwn ? devnet.accounts[0]! : sponsor,
    sponsor,
    alsoHeld,
  );
  const ledger = new InMemoryLedger();
  // Moved on by a test to when the first call is past its time.
  const clock = { skewMs: 0 };
  const options = {
    settleTimeoutMs: 5_000,
    pollIntervalMs: 20,
    now: () => Date.now() + clock.skewMs,
    sponsor: { privateKeys: sponsor.privateKey },
    ...extra,
  };
  const first = createFacilitator({
    ...options,
    networks: { testnet: { chain: conflict.chain } },
    ledger,
  });
  const { payment, txid } = await paysSponsored(devnet, requirements);
  const before = devnet.chain.state.stx(seller);
  const answer = first.settle(payment, requirements);
  while (!conflict.state.reading) await new Promise((r) => setTimeout(r, 5));
  return {
    conflict,
    ledger,
    clock,
    options,
    first,
    payment,
    requirements,
    txid,
    seller,
    before,
    answer,
  };
}

/**
 * Runs `run` on a sponsored payment refused on a conflict (see {@link refusedOnConflict}) on a devnet that mines when
 * told; the judgement's read is let go and the devnet stopped however `run` ends.
 */
async function onRefusal(
  options: {
    extra?: Parameters<typeof refusedOnConflict>[1];
    payersOwn?: boolean;
    alsoHeld?: readonly bigint[];
    /** Runs on the devnet before the payment. */
    prepare?: (devnet: Devnet) => Promise<void>;
  },
  run: (refusal: Awaited<ReturnType<typeof refusedOnConflict>>, devnet: Devnet) => Promise<void>,
) {
  const devnet = await startDevnet({ port: 0, mining: { mode: 'manual' } });
  await options.prepare?.(devnet);
  const refusal = await refusedOnConflict(
    devnet,
    options.extra ?? {},
    options.payersOwn,
    options.alsoHeld,
  );
  try {
    await run(refusal, devnet);
  } finally {
    refusal.conflict.judged();
    await devnet.stop();
  }
}

/** Runs `work` while the devnet mines a block every 20 ms. */
async function mining<T>(devnet: Devnet, work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => devnet.mine(), 20);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Lets a refusal's judgement go on (see {@link refusedOnConflict}), mines until the first call answers, and checks that
 * the payment settled, once, sponsored on `sponsorNonce`.
 */
async function settlesOnceAfterJudgement(
  devnet: Devnet,
  refusal: Awaited<ReturnType<typeof refusedOnConflict>>,
  sponsorNonce: bigint,
  why: string,
) {
  refusal.conflict.judged();
  const settled = await mining(devnet, () => refusal.answer);
  assert.equal(settled.success, true, JSON.stringify(settled));
  assert.equal(
    devnet.chain.transaction(settled.transaction)?.admitted.sponsorNonce,
    sponsorNonce,
    why,
  );
  assert.equal(devnet.chain.state.stx(refusal.seller), refusal.before + 4000n, 'paid once');
  assert.equal((await refusal.ledger.get(refusal.txid))?.state, 'success');
  await refusal.first.idle();
}

/**
 * A process's view of `ledger` that dies at the first call `dies` answers true for: that call and every call after it
 * never answer, as in a process killed there.
 */
function killable(
  ledger: InMemoryLedger,
  dies: (name: string, args: unknown[]) => boolean,
): InMemoryLedger {
  let dead = false;
  return new Proxy(ledger, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        dead ||= dies(String(name), args);
        return dead ? new Promise(() => undefined) : value.apply(target, args);
      };
    },
  });
}

describe('facilitator engine: lost broadcasts and abandoned claims', () => {
  test('a broadcast the node never got is sent again as identical bytes and settles once', async () => {
    const devnet = await startDevnet({ port: 0 });
    try {
      const { chain, sent } = losingFirstBroadcast(
        createChainClient({ network: 'testnet', url: devnet.url }),
      );
      const facilitator = createFacilitator({
        networks: { testnet: { chain } },
        settleTimeoutMs: 5_000,
        pollIntervalMs: 20,
        keeper: { rebroadcastAfterMs: 200 },
      });
      const seller = devnet.accounts[1]!.address;
      const requirements = requirementsFor(seller);
      const { transaction } = await createPaymentTransaction({
        account: devnet.accounts[0]!.account,
        requirements,
        nonce: 0n,
        fee: 400n,
      });
      const before = devnet.chain.state.stx(seller);
      const settled = await facilitator.settle(
        { x402Version: 2, accepted: requirements, payload: { transaction } },
        requirements,
      );
      assert.equal(settled.success, true, settled.errorReason);
      assert.equal(sent.length, 2, 'sent again once');
      assert.equal(sent[0], sent[1], 'the identical bytes');
      assert.equal(devnet.chain.state.stx(seller), before + 4000n, 'the money moved once');
      await facilitator.idle();
    } finally {
      await devnet.stop();
    }
  });

  test('an API that lags behind its node: the bytes sent again are refused as a used nonce, and nothing is marked failed', async () => {
    const devnet = await startDevnet({ port: 0 });
    try {
      const real = createChainClient({ network: 'testnet', url: devnet.url, notFoundGraceMs: 0 });
      let lagging = true;
      const refusals: string[] = [];
      const chain: ChainClient = Object.assign(Object.create(real) as ChainClient, {
        getTransaction: async (txid: string) => (lagging ? null : real.getTransaction(txid)),
        async broadcast(transaction: string | Uint8Array) {
          const result = await real.broadcast(transaction);
          if (!result.accepted) refusals.push(result.reason);
          return result;
        },
      });
      const facilitator = createFacilitator({
        networks: { testnet: { chain } },
        settleTimeoutMs: 600,
        pollIntervalMs: 20,
        keeper: { rebroadcastAfterMs: 100 },
      });
      const requirements = requirementsFor(devnet.accounts[1]!.address);
      const { transaction, txid } = await createPaymentTransaction({
        account: devnet.accounts[0]!.account,
        requirements,
        nonce: 0n,
        fee: 400n,
      });
      const settled = await facilitator.settle(
        { x402Version: 2, accepted: requirements, payload: { transaction } },
        requirements,
      );
      assert.equal(
        settled.errorReason,
        'settlement_pending',
        'mined, but the API does not know it yet',
      );
      assert.ok(refusals.includes('BadNonce'), 'the bytes sent again were refused as a used nonce');
      assert.equal((await facilitator.status(txid))?.state, 'broadcast', 'not marked failed');
      lagging = false;
      await facilitator.idle();
      assert.equal((await facilitator.status(txid))?.state, 'success');
    } finally {
      await devnet.stop();
    }
  });

  for (const [stale, answer] of [
    ['does not find the payment', () => null],
    [
      'finds it dropped',
      (txid: string) => ({ txid, indexed: true, status: 'dropped_stale_garbage_collect' }),
    ],
    [
      'still finds it pending',
      (txid: string) => ({ txid, indexed: false, status: 'pending', broadcastAt: 0 }),
    ],
    // The call's deadline comes first: it answers from the ledger, not `settlement_pending`.
    ['is not back by the deadline', 'never'],
  ] as const) {
    for (const [where, share] of SHARED_LEDGERS) {
      test(`a read that ${stale}, after another process's keeper wrote its success: the settle call answers success (${where})`, () =>
        onDevnetAndLedger(share, async ({ devnet, ledger, theirs, real }) => {
          // This process reads an API node behind the other's: its answer, older than the block, comes back after the
          // other process wrote the success.
          let written = () => {};
          const successWritten = new Promise<void>((resolve) => {
            written = resolve;
          });
          let lagged = 0;
          const behindChain: ChainClient = Object.assign(Object.create(real) as ChainClient, {
            async getTransaction(txid: string) {
              await successWritten;
              lagged++;
              return answer === 'never' ? null : answer(txid);
            },
            async getTransactions(txids: readonly string[]) {
              await successWritten;
              lagged++;
              return new Map(
                txids.map((txid) => [
                  txid.replace(/^0x/, ''),
                  answer === 'never' ? null : answer(txid),
                ]),
              );
            },
          });
          const [behind, current] = onSharedLedger(
            { mine: ledger, theirs },
            3_000,
            { chain: behindChain },
            { url: devnet.url },
          );
          const requirements = requirementsFor(devnet.accounts[1]!.address);
          const { txid, payment } = await paysAtNonceZero(devnet, requirements)(400n);
          const settling = behind.settle(payment, requirements);
          await until(
            async () => (await ledger.get(txid))?.state === 'broadcast',
            'the broadcast',
            {
              everyMs: 1,
            },
          );
          // The other process's keeper follows the settlement no call of its own waits on, and writes its success.
          assert.equal((await current.keeper.runOnce()).followed, 1);
          await until(async () => (await ledger.get(txid))?.state === 'success', 'the success', {
            everyMs: 1,
          });
          if (answer !== 'never') written();
          const settled = await settling;
          assert.equal(
            lagged > 0,
            answer !== 'never',
            'the stale read was taken, or none came back',
          );
          assert.equal(settled.success, true, settled.errorReason);
          assert.equal(settled.transaction, txid);
          assert.equal((await ledger.get(txid))?.state, 'success', 'the success stands');
          await Promise.all([behind.idle(), current.idle()]);
        }));
    }
  }

  // An abort is the chain's own word: a read of another block saying otherwise (a stale fork) moves nothing.
  for (const [failure, moves] of [
    ['dropped_stale_garbage_collect', true],
    ['abort_by_response', false],
  ] as const)
    for (const [where, share] of SHARED_LEDGERS) {
      test(`a ${failure} one process read before another process read the payment mined: ${moves ? "the success replaces the failure, and the buyer's retry under its payment id is served once" : 'the failure stands'} (${where})`, () =>
        onDevnetAndLedger(share, async ({ devnet, ledger, theirs, real }) => {
          // This process's API node lets the transaction go from its mempool; its report comes back once the other
          // process's keeper has started its own read, which then comes back only after the drop was written.
          const { chain: mined, reading: otherReading } = minedAfterTheDrop(real, theirs);
          const dropping = reportsDropped(real, failure, otherReading);
          // A settle timeout long enough that the call answers on its read even on a slow machine, not at its deadline.
          const [dropper, other] = onSharedLedger(
            { mine: ledger, theirs },
            20_000,
            { chain: dropping },
            { chain: mined },
          );
          const requirements = requirementsFor(devnet.accounts[1]!.address);
          const paid = await paysAtNonceZero(devnet, requirements)(400n);
          const { txid } = paid;
          // The buyer names a payment id; anyone reading the mined bytes can send them, for the same route, without it.
          const id = 'pay_mined_after_drop_00000001';
          const bytesOnly = { ...paid.payment, resource: { url: 'https://seller.example/paid' } };
          const payment = {
            ...bytesOnly,
            extensions: { [PAYMENT_IDENTIFIER]: { info: { required: false, id } } },
          };
          const settling = dropper.settle(payment, requirements);
          await until(
            async () => (await ledger.get(txid))?.state === 'broadcast',
            'the broadcast',
            {
              everyMs: 1,
            },
          );
          await other.keeper.runOnce();
          const settled = await settling;
          assert.equal(
            settled.errorReason,
            'transaction_failed',
            'the call answered on its own read',
          );
          if (!moves) {
            const record = await theirs.get(txid);
            assert.equal(record?.state, 'failed');
            assert.equal(record?.errorMessage, failure);
            assert.equal(await theirs.answerOf(txid), undefined);
            await Promise.all([dropper.idle(), other.idle()]);
            return;
          }
          for (const view of [ledger, theirs]) {
            const record = await view.get(txid);
            assert.equal(record?.state, 'success', 'the mined payment is a success in the ledger');
            assert.equal(record?.errorReason, undefined, 'the failure is gone');
            assert.equal(record?.errorMessage, failure, 'the drop it was is kept');
            assert.ok(record?.blockHeight !== undefined, 'with its block');
            assert.equal(await view.answerOf(txid), undefined, 'served nobody yet');
          }

          // Its bytes, replayed without the id, serve nobody; the buyer's retry under its id is served, once.
          const replayed = await other.settle(bytesOnly, requirements);
          assert.equal(replayed.errorReason, 'duplicate_settlement');
          const retried = await other.settle(payment, requirements);
          assert.equal(retried.success, true, retried.errorReason);
          assert.equal(retried.transaction, txid);
          assert.equal(await theirs.answerOf(txid), 'success');
          const replayedAgain = await dropper.settle(bytesOnly, requirements);
          assert.equal(replayedAgain.errorReason, 'duplicate_settlement');
          await Promise.all([dropper.idle(), other.idle()]);
        }));
    }

  for (const [where, share] of SHARED_LEDGERS) {
    test(`a settle call still waiting when another process finds its dropped payment mined: the call serves it (${where})`, () =>
      onDevnetAndLedger(share, async ({ devnet, ledger, theirs, real }) => {
        // The waiting call's node still holds the transaction in its mempool until the other process wrote the block.
        const stillPending = (txid: string) => ({
          txid,
          indexed: false,
          status: 'pending' as const,
          broadcastAt: 0,
        });
        const successWritten = async (txid: string) =>
          until(async () => (await ledger.get(txid))?.state === 'success', 'the success', {
            everyMs: 1,
          });
        const pendingNode: ChainClient = Object.assign(Object.create(real) as ChainClient, {
          async getTransaction(txid: string) {
            await successWritten(txid);
            return stillPending(txid);
          },
          async getTransactions(txids: readonly string[]) {
            await successWritten(txids[0]!);
            return new Map(txids.map((txid) => [txid.replace(/^0x/, ''), stillPending(txid)]));
          },
        });
        const { chain: minedNode, reading } = minedAfterTheDrop(real, theirs);
        const [waiting, other] = onSharedLedger(
          { mine: ledger, theirs },
          20_000,
          { chain: pendingNode },
          { chain: minedNode },
        );
        const requirements = requirementsFor(devnet.accounts[1]!.address);
        const { txid, payment } = await paysAtNonceZero(devnet, requirements)(400n);
        const settling = waiting.settle(payment, requirements);
        await until(async () => (await ledger.get(txid))?.state === 'broadcast', 'the broadcast', {
          everyMs: 1,
        });
        const keeping = other.keeper.runOnce();
        await reading;
        // A third process, reading a node that let the transaction go, writes the drop as its tracker does.
        await writesDrop(theirs, txid);
        await keeping;
        const settled = await settling;
        assert.equal(settled.success, true, settled.errorReason);
        assert.equal(settled.transaction, txid);
        assert.equal(await theirs.answerOf(txid), 'success', 'the call gave the one answer');
        assert.equal((await theirs.get(txid))?.state, 'success');
        await Promise.all([waiting.idle(), other.idle()]);
      }));
  }

  test('a drop another call answered success (its read was ahead): a retry of the bytes is a duplicate, never settled afresh', async () => {
    const devnet = await startDevnet({ port: 0 });
    try {
      const ledger = new InMemoryLedger();
      const real = createChainClient({ network: 'testnet', url: devnet.url, notFoundGraceMs: 0 });
      const dropping = reportsDropped(real, 'dropped_stale_garbage_collect');
      const facilitator = createFacilitator({
        ledger,
        settleTimeoutMs: 20_000,
        pollIntervalMs: 20,
        networks: { testnet: { chain: dropping } },
      });
      const requirements = requirementsFor(devnet.accounts[1]!.address);
      const { txid, payment } = await paysAtNonceZero(devnet, requirements)(400n);
      const settled = await facilitator.settle(payment, requirements);
      assert.equal(settled.errorReason, 'transaction_failed');
      const failed = await ledger.get(txid);
      assert.equal(failed?.state, 'failed');
      // Another process's call, reading a node ahead of this one's, found the payment mined and served it.
      assert.equal(await ledger.recordAnswer(txid, 'success', failed.createdAt), undefined);
      await until(
        async () => (await real.getTransaction(txid))?.status === 'success',
        'the payment mined',
      );
      const retried = await facilitator.settle(payment, requirements);
      assert.equal(retried.errorReason, 'duplicate_settlement', 'not a failure: money moved');
      const kept = await ledger.get(txid);
      assert.equal(kept?.createdAt, failed.createdAt, 'the settlement was not forgotten');
      assert.equal(await ledger.answerOf(txid), 'success');
      await facilitator.idle();
    } finally {
      await devnet.stop();
    }
  });

  for (const [where, share] of SHARED_LEDGERS) {
    test(`a drop found mined just as a retry forgets it: the forget leaves it, the buyer under its payment id is served once, the bytes alone nobody (${where})`, () =>
      onDevnetAndLedger(share, async ({ devnet, ledger, theirs, real }) => {
        const dropper = createFacilitator({
          ledger,
          settleTimeoutMs: 20_000,
          pollIntervalMs: 20,
          networks: { testnet: { chain: reportsDropped(real, 'dropped_stale_garbage_collect') } },
        });
        // Another process's read of the block lands between this retry's read of the drop and its forget, and moves
        // the drop to success as the tracker does.
        let flips = 0;
        const racing = new Proxy(theirs, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver);
            if (property === 'forgetDropped' && typeof value === 'function') {
              return async (paymentTxid: string, createdAt: number) => {
                const mined = { state: 'success', clearErrorReason: true } as const;
                if (await target.update(paymentTxid, mined, ['failed'], createdAt)) flips++;
                return value.call(target, paymentTxid, createdAt);
              };
            }
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
        const retrier = createFacilitator({
          ledger: racing,
          settleTimeoutMs: 20_000,
          pollIntervalMs: 20,
          networks: { testnet: { url: devnet.url } },
        });
        const requirements = requirementsFor(devnet.accounts[1]!.address);
        const { txid, payment: paid } = await paysAtNonceZero(devnet, requirements)(400n);
        const bytesOnly = { ...paid, resource: { url: 'https://seller.example/paid' } };
        const payment = {
          ...bytesOnly,
          extensions: {
            [PAYMENT_IDENTIFIER]: { info: { required: false, id: 'pay_forget_races_mined_001' } },
          },
        };
        const settled = await dropper.settle(payment, requirements);
        assert.equal(settled.errorReason, 'transaction_failed');
        await until(
          async () => (await real.getTransaction(txid))?.status === 'success',
          'the payment mined',
        );
        const retried = await retrier.settle(payment, requirements);
        assert.equal(flips, 1, 'the success landed inside the retry');
        assert.equal(retried.success, true, retried.errorReason);
        assert.equal(retried.transaction, txid);
        assert.equal(await theirs.answerOf(txid), 'success');
        const record = await theirs.get(txid);
        assert.equal(record?.state, 'success', 'not forgotten');
        assert.equal(record?.errorMessage, 'dropped_stale_garbage_collect');
        const replayed = await retrier.settle(bytesOnly, requirements);
        assert.equal(replayed.errorReason, 'duplicate_settlement');
        await Promise.all([dropper.idle(), retrier.idle()]);
      }));
  }

  test('the keeper drops a claim abandoned past its lease, with its sponsor nonce; a retry then settles', async () => {
    const devnet = await startDevnet({ port: 0 });
    try {
      let clock = Date.now();
      const ledger = new InMemoryLedger({ now: () => clock });
      const sponsor = devnet.accounts[9]!;
      const options = {
        networks: { testnet: { url: devnet.url } },
        ledger,
        now: () => clock,
        claimLeaseMs: 10_000,
        settleTimeoutMs: 5_000,
        pollIntervalMs: 20,
        sponsor: { privateKeys: sponsor.privateKey },
      };
      const facilitator = createFacilitator(options);
      const requirements = {
        ...requirementsFor(devnet.accounts[1]!.address),
        extra: { sponsor: sponsor.address },
      };
      const { transaction, txid } = await createPaymentTransaction({
        account: devnet.accounts[0]!.account,
        requirements,
        nonce: 0n,
      });
      const payment = { x402Version: 2, accepted: requirements, payload: { transaction } };
      // What a process killed between claiming and broadcasting leaves: a claim holding a sponsor nonce.
      const claim = await ledger.claim({
        paymentTxid: txid,
        txid,
        network: 'stacks:2147483648',
        payer: devnet.accounts[0]!.address,
        nonce: 0n,
        amount: 4000n,
        asset: 'STX',
        payTo: requirements.payTo,
        transaction,
      });
      assert.ok(claim.claimed);
      const granted = await ledger.reserveSponsorship(
        {
          paymentTxid: txid,
          claimedAt: claim.record.createdAt,
          network: 'stacks:2147483648',
          payer: devnet.accounts[0]!.address,
          fee: 200n,
          candidates: [{ sponsor: sponsor.address, confirmedNext: 0n, possibleNext: 0n }],
          capacity: 25n,
          limits: {
            maxInFlightPerPayer: 10,
            maxFeesPerPayer: 10n ** 9n,
            maxFeesTotal: 10n ** 9n,
            maxFailedPerPayer: 1,
            windowMs: 60_000,
          },
        },
        clock,
      );
      assert.equal(granted.granted && granted.nonce, 0n);
      assert.equal(
        (await facilitator.settle(payment, requirements)).errorReason,
        'duplicate_settlement',
        'within the lease',
      );
      assert.deepEqual(await facilitator.keeper.runOnce(), {
        expired: 0,
        followed: 0,
        gapsFilled: 0,
        strandedReplaced: 0,
      });
      clock += 10_000;
      const report = await facilitator.keeper.runOnce();
      assert.equal(report.expired, 1);
      assert.equal(await ledger.get(txid), undefined);
      const settled = await facilitator.settle(payment, requirements);
      assert.equal(settled.success, true, settled.errorReason);
      const onChain = devnet.chain.transaction(settled.transaction);
      assert.equal(
        onChain?.admitted.sponsorNonce,
        0n,
        'the abandoned sponsor nonce was used, leaving no gap',
      );
      await facilitator.idle();
    } finally {
      await devnet.stop();
    }
  });

  test('a process killed at any step of recording a dropped payment: the next one ends it failed, and the payer pays again on its nonce', async () => {
    // The ledger calls that record a drop, in order. A process killed before call `cut` made the ones before it only.
    const steps = ['update', 'releaseSponsorship'];
    for (let cut = 0; cut <= steps.length; cut++) {
      const devnet = await startDevnet({ port: 0 });
      try {
        const ledger = new InMemoryLedger();
        const made: string[] = [];
        // The first process's view of the ledger: from the drop's first call on, it dies at call `cut` (the last cut:
        // not at all).
        let dying = false;
        const dies = killable(ledger, (name, args) => {
          if (name === 'update' && (args[1] as { state?: string }).state === 'failed') dying = true;
          if (dying && made.length === cut && cut < steps.length) return true;
          if (dying && made.length < steps.length) made.push(name);
          return false;
        });
        const options = {
          networks: { testnet: { url: devnet.url } },
          settleTimeoutMs: 300,
          pollIntervalMs: 10,
        };
        const first = createFacilitator({ ...options, ledger: dies });
        const requirements = requirementsFor(devnet.accounts[1]!.address);
        const pay = paysAtNonceZero(devnet, requirements);
        const dropped = await pay(400n);
        devnet.chain.injectFault('next', { kind: 'drop' });
        // The first process settles until the kill: its settle call never answers then, as a killed process's.
        const answered = first.settle(dropped.payment, requirements);
        if (cut === steps.length) {
          assert.equal((await answered).errorReason, 'transaction_failed');
        } else {
          while (!(dying && made.length === cut)) await new Promise((r) => setTimeout(r, 5));
        }
        assert.deepEqual(made, steps.slice(0, cut), `cut ${cut}: the calls made before the kill`);

        const next = createFacilitator({ ...options, ledger });
        await next.resume();
        await next.idle();
        assert.equal((await next.status(dropped.txid))?.state, 'failed', `cut ${cut}`);
        const again = await pay(500n);
        const settled = await next.settle(again.payment, requirements);
        assert.equal(settled.success, true, `cut ${cut}: ${JSON.stringify(settled)}`);
        assert.equal(devnet.chain.state.nonce(devnet.accounts[0]!.address), 1n);
        await next.idle();
      } finally {
        await devnet.stop();
      }
    }
  });

  test("a process killed at any step of recording the node's refusal of the sponsor's nonce: the identical bytes are sponsored afresh and settle once", async () => {
    // The ledger calls a process makes between the node's refusal and claiming the payment afresh. A process killed at
    // call `cut` made the ones before it only; once `cut` passes them all, the process is not killed.
    for (let cut = 0; ; cut++) {
      const devnet = await startDevnet({ port: 0 });
      try {
        const sponsor = devnet.accounts[9]!;
        const seller = devnet.accounts[1]!.address;
        const requirements = {
          ...requirementsFor(seller),
          extra: { sponsor: sponsor.address },
        };
        const real = createChainClient({ network: 'testnet', url: devnet.url });
        // The sponsor's key spends the nonce the pool just gave the payment (another service sharing the key): the
        // node refuses the payment for the sponsor's nonce, not the payer's.
        const refusals: string[] = [];
        // From the refusal on, the ledger calls are counted (until the payment is claimed afresh).
        let counting = false;
        const chain: ChainClient = Object.assign(Object.create(real) as ChainClient, {
          async broadcast(transaction: string | Uint8Array) {
            if (refusals.length === 0) {
              await spendNonce(devnet, sponsor, real, 0n, 400n);
              while (devnet.chain.state.nonce(sponsor.address) === 0n) {
                await new Promise((r) => setTimeout(r, 5));
              }
            }
            const result = await real.broadcast(transaction);
            if (!result.accepted) {
              refusals.push(result.reason);
              counting = true;
            }
            return result;
          },
        });
        const ledger = new InMemoryLedger();
        const made: string[] = [];
        let killed = false;
        const dies = killable(ledger, (name) => {
          if (name === 'claim') counting = false;
          if (counting && made.length === cut) {
            killed = true;
            return true;
          }
          if (counting) made.push(name);
          return false;
        });
        // Killed before the refusal is recorded, the settlement stays broadcast: the next process ends it once its
        // bytes have been unknown to the node for `trackForMs`, and the payment's retry then settles it afresh.
        const options = {
          settleTimeoutMs: 5_000,
          pollIntervalMs: 20,
          trackForMs: 1_000,
          keeper: { rebroadcastAfterMs: 100 },
          sponsor: { privateKeys: sponsor.privateKey },
        };
        const first = createFacilitator({
          ...options,
          networks: { testnet: { chain } },
          ledger: dies,
        });
        const { payment, txid } = await paysSponsored(devnet, requirements);
        const before = devnet.chain.state.stx(seller);
        let outcome: Awaited<ReturnType<typeof first.settle>> | undefined;
        void first.settle(payment, requirements).then((answer) => {
          outcome = answer;
        });
        while (!killed && !outcome) await new Promise((r) => setTimeout(r, 5));
        assert.deepEqual(
          refusals,
          ['BadNonce'],
          `cut ${cut}: the node refused the sponsor's nonce`,
        );
        if (!killed) {
          // Past the last step: the same process sponsored the payment afresh.
          assert.equal(outcome?.success, true, `not killed: ${JSON.stringify(outcome)}`);
          assert.ok(cut > 0, 'the refusal is recorded in at least one ledger call');
          assert.equal(devnet.chain.state.stx(seller), before + 4000n);
          await first.idle();
          break;
        }

        const next = createFacilitator({
          ...options,
          networks: { testnet: { url: devnet.url } },
          ledger,
        });
        await next.resume();
        await next.idle();
        const settled = await next.settle(payment, requirements);
        assert.equal(
          settled.success,
          true,
          `cut ${cut} (${made.join(', ')}): ${JSON.stringify(settled)}`,
        );
        assert.equal(
          devnet.chain.transaction(settled.transaction)?.admitted.sponsorNonce,
          1n,
          `cut ${cut}: sponsored afresh on the next free nonce`,
        );
        assert.equal(
          (await next.settle(payment, requirements)).errorReason,
          'duplicate_settlement',
          `cut ${cut}: a further replay`,
        );
        assert.equal(devnet.chain.state.stx(seller), before + 4000n, `cut ${cut}: paid once`);
        assert.equal((await next.status(txid))?.state, 'success', `cut ${cut}`);
        await next.idle();
      } finally {
        await devnet.stop();
      }
    }
  });

  test('a refusal judged on a slow read: the settlement is failed first, so no keeper sends it again meanwhile, and the payment is sponsored afresh once the conflict is gone', async () => {
    const devnet = await startDevnet({ port: 0, mining: { mode: 'manual' } });
    const refusal = await refusedOnConflict(devnet, { keeper: { rebroadcastAfterMs: 50 } });
    try {
      const { conflict, ledger, txid } = refusal;
      const real = createChainClient({ network: 'testnet', url: devnet.url });
      const sentByOther: string[] = [];
      const other = createFacilitator({
        ...refusal.options,
        networks: {
          testnet: {
            chain: Object.assign(Object.create(real) as ChainClient, {
              async broadcast(transaction: string | Uint8Array) {
                sentByOther.push(String(transaction));
                return real.broadcast(transaction);
              },
            }),
          },
        },
        ledger,
      });
      // While the judgement reads: the conflict leaves the mempool unmined, and another process's keeper runs.
      assert.equal((await ledger.get(txid))?.state, 'failed', 'failed before the read');
      assert.equal(devnet.chain.injectFault(conflict.state.conflict!, { kind: 'drop' }), true);
      await new Promise((r) => setTimeout(r, 100));
      await other.keeper.runOnce();
      assert.deepEqual(sentByOther, [], 'nothing sent again while the refusal was judged');
      await settlesOnceAfterJudgement(
        devnet,
        refusal,
        0n,
        'the conflict gone, its nonce was free: sponsored on it again, no gap',
      );
      await other.idle();
    } finally {
      refusal.conflict.judged();
      await devnet.stop();
    }
  });

  test('a gap filled by another keeper while a refusal is judged on a read taken before the filler: the judgement hands the nonce to no one', async () => {
    // The sponsor has nonce 0 mined, so the API lists its gaps. The payment is sponsored on nonce 1; the conflict on
    // it is dropped and nonce 2 stays pending: 1 is a gap that the judgement reads as free, and that another process's
    // keeper fills before the judgement ends.
    const minedFirst = async (devnet: Devnet) => {
      const real = createChainClient({ network: 'testnet', url: devnet.url });
      await spendNonce(devnet, devnet.accounts[9]!, real, 0n, 1_000n);
      devnet.mine();
    };
    await onRefusal({ alsoHeld: [1n], prepare: minedFirst }, async (refusal, devnet) => {
      const { conflict, ledger, txid } = refusal;
      assert.equal(devnet.chain.injectFault(conflict.state.conflict!, { kind: 'drop' }), true);
      const sponsor = devnet.accounts[9]!.address;
      const real = createChainClient({ network: 'testnet', url: devnet.url });
      conflict.state.viewBefore = await real.getNonces(sponsor);
      assert.deepEqual(conflict.state.viewBefore.missing, [1n], 'nonce 1 is a gap');
      assert.equal((await ledger.get(txid))?.sponsorNonce, 1n);
      const other = createFacilitator({
        ...refusal.options,
        sponsor: { ...refusal.options.sponsor, gapFillDelayMs: 0 },
        networks: { testnet: { url: devnet.url } },
        ledger,
      });
      await other.keeper.runOnce();
      const filler = devnet.chain.mempool.find(
        (tx) => tx.admitted.origin === sponsor && tx.admitted.originNonce === 1n,
      );
      assert.ok(filler, 'the other keeper filled nonce 1 during the judgement');
      // Past the first engine's nonce cache (250 ms): its next sponsorship reads nonce 2 held too.
      await new Promise((r) => setTimeout(r, 300));
      await settlesOnceAfterJudgement(
        devnet,
        refusal,
        3n,
        'sponsored afresh past the filler’s nonce, not on it',
      );
      assert.equal(
        devnet.chain.transaction(filler.admitted.txid)?.status,
        'success',
        'the filler mined',
      );
      await other.idle();
    });
  });

  test('a process killed while a refusal is judged on a read: the retry of the identical bytes judges it again and is sponsored afresh', async () => {
    const devnet = await startDevnet({ port: 0, mining: { mode: 'manual' } });
    // The first process dies during the judgement's read: it never answers, and never writes again.
    const refusal = await refusedOnConflict(devnet, {});
    try {
      const { ledger, payment, requirements } = refusal;
      const left = await ledger.get(refusal.txid);
      assert.equal(left?.state, 'failed');
      assert.match(left?.errorMessage ?? '', /^ConflictingNonceInMempool: .* being judged$/);

      const next = createFacilitator({
        ...refusal.options,
        networks: { testnet: { url: devnet.url } },
        ledger,
      });
      await next.resume();
      const early = await next.settle(payment, requirements);
      assert.equal(
        early.errorReason,
        'duplicate_settlement',
        'within the first call’s time, it may still be judging: nothing judged again',
      );
      refusal.clock.skewMs = 10 * 60_000;
      const settled = await mining(devnet, () => next.settle(payment, requirements));
      assert.equal(settled.success, true, JSON.stringify(settled));
      assert.equal(
        devnet.chain.transaction(settled.transaction)?.admitted.sponsorNonce,
        1n,
        "nonce 0 is the other transaction's: sponsored on the next",
      );
      assert.equal(
        (await next.settle(payment, requirements)).errorReason,
        'duplicate_settlement',
        'a further replay',
      );
      assert.equal(devnet.chain.state.stx(refusal.seller), refusal.before + 4000n, 'paid once');
      await next.idle();
    } finally {
      // The first process stays dead: its read never answers.
      await devnet.stop();
    }
  });

  test("a refusal judged the payer's doing is final: a retry of its bytes judges nothing again and is a duplicate", () =>
    onRefusal({ payersOwn: true }, async (refusal) => {
      const { conflict, ledger, payment, requirements } = refusal;
      conflict.judged();
      const answered = await refusal.answer;
      assert.equal(answered.errorReason, 'broadcast_failed', JSON.stringify(answered));
      const judged = await ledger.get(refusal.txid);
      assert.equal(judged?.state, 'failed');
      assert.equal(judged?.errorMessage, 'ConflictingNonceInMempool', 'marked judged');
      const reads = conflict.state.sponsorReads;
      const retried = await refusal.first.settle(payment, requirements);
      assert.notEqual(retried.success, true, JSON.stringify(retried));
      assert.equal(conflict.state.sponsorReads, reads, 'nothing judged again');
      assert.equal((await ledger.get(refusal.txid))?.createdAt, judged?.createdAt, 'kept');
      await refusal.first.idle();
    }));

  test('a payment sponsored again after a refusal answers within the one settle timeout of its call, not a second one', () => {
    const settleTimeoutMs = 2_000;
    const started = Date.now();
    // The payer's own transactions hold its nonces 0 and 1, and it has nothing mined: the API cannot say whether its
    // nonce 0 is held or a gap, so the payer is not blamed, the payment is sponsored again, and then waits for nonce 0
    // to be its next.
    return onRefusal(
      { extra: { settleTimeoutMs }, payersOwn: true, alsoHeld: [1n] },
      async (refusal) => {
        // A slow judgement read takes part of the call's time.
        await new Promise((r) => setTimeout(r, Math.max(0, 600 - (Date.now() - started))));
        const judgedAt = Date.now();
        refusal.conflict.judged();
        const answered = await refusal.answer;
        const afterJudgement = Date.now() - judgedAt;
        assert.equal(
          answered.errorReason,
          'invalid_exact_stacks_payload_nonce',
          JSON.stringify(answered),
        );
        // A deadline of its own would have the second attempt wait the whole settleTimeoutMs from here.
        assert.ok(
          afterJudgement < settleTimeoutMs - 300,
          `answered ${afterJudgement} ms after the judgement: the second attempt kept the call's deadline`,
        );
        assert.equal(await refusal.ledger.get(refusal.txid), undefined, 'its claim given back');
        await refusal.first.idle();
      },
    );
  });

  test("a refusal of the sponsor's nonce judged after the call's time: no second attempt, and the payment may be retried", () => {
    const settleTimeoutMs = 1_000;
    return onRefusal({ extra: { settleTimeoutMs } }, async (refusal) => {
      await new Promise((r) => setTimeout(r, settleTimeoutMs + 200)); // the judgement read outlasts the call's time
      refusal.conflict.judged();
      const answered = await refusal.answer;
      assert.equal(answered.errorReason, 'broadcast_failed', JSON.stringify(answered));
      assert.match(String(answered.errorMessage), /time ran out; retry/);
      assert.equal(
        await refusal.ledger.get(refusal.txid),
        undefined,
        'nothing held: the same bytes may be retried',
      );
      await refusal.first.idle();
    });
  });

  test('a process killed while recording a refused broadcast: a later payment on the nonce is never replaced by the refused bytes', async () => {
    // cut 0: killed at the update that fails the refused payment and frees its nonce; cut 1: not killed.
    for (const cut of [0, 1]) {
      const devnet = await startDevnet({ port: 0, mining: { mode: 'manual' } });
      try {
        const real = createChainClient({ network: 'testnet', url: devnet.url });
        // The node refuses the first payment's broadcast, as it would while the payer's own transaction held the nonce.
        let refusing = true;
        const chain: ChainClient = Object.assign(Object.create(real) as ChainClient, {
          async broadcast(transaction: string | Uint8Array) {
            if (!refusing) return real.broadcast(transaction);
            refusing = false;
            return { accepted: false as const, reason: 'ConflictingNonceInMempool' };
          },
        });
        const ledger = new InMemoryLedger();
        let dying = false;
        const dies = new Proxy(ledger, {
          get(target, name, receiver) {
            const value = Reflect.get(target, name, receiver);
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              if (name === 'update' && (args[1] as { state?: string }).state === 'failed')
                dying = cut === 0;
              if (dying) return new Promise(() => undefined);
              return value.apply(target, args);
            };
          },
        });
        const options = {
          settleTimeoutMs: 300,
          pollIntervalMs: 10,
          keeper: { rebroadcastAfterMs: 50 },
        };
        const requirements = requirementsFor(devnet.accounts[1]!.address);
        const pay = paysAtNonceZero(devnet, requirements);
        const first = createFacilitator({
          ...options,
          networks: { testnet: { chain } },
          ledger: dies,
        });
        const refused = await pay(500n);
        const answered = first.settle(refused.payment, requirements);
        if (cut === 0) {
          while (!dying) await new Promise((r) => setTimeout(r, 5));
        } else {
          assert.equal((await answered).errorReason, 'broadcast_failed');
        }

        const next = createFacilitator({
          ...options,
          networks: { testnet: { url: devnet.url } },
          ledger,
        });
        const later = await pay(300n);
        const laterAnswer = await next.settle(later.payment, requirements);
        await next.resume();
        // Long enough for the next tracker to send the refused bytes again, were it to.
        await new Promise((r) => setTimeout(r, 300));
        devnet.mine();
        await next.idle();
        const mined = [refused.txid, later.txid].filter(
          (txid) => devnet.chain.transaction(txid)?.status === 'success',
        );
        assert.equal(mined.length, 1, `cut ${cut}: one transaction spent nonce 0`);
        if (laterAnswer.success || laterAnswer.errorReason === 'settlement_pending') {
          assert.deepEqual(
            mined,
            [later.txid],
            `cut ${cut}: the later payment, once taken, is the one mined`,
          );
        }
        for (const { txid } of [refused, later]) {
          const state = (await next.status(txid))?.state;
          if (state === undefined) continue;
          assert.equal(state, mined.includes(txid) ? 'success' : 'failed', `cut ${cut}: ${txid}`);
        }
      } finally {
        await devnet.stop();
      }
    }
  });
});

describe('facilitator engine: the gaps of a new sponsor key', () => {
  /**
   * A sponsor key with nothing mined and three sponsored payments pending on its nonces 0, 1 and 2, on a devnet that
   * mines only when told. Every `takeSponsorGap` the keeper makes is recorded with its answer.
   */
  async function newKeyWithThreePending(
    gapFillDelayMs: number,
    keeper?: { rebroadcastAfterMs: number },
  ) {
    const devnet = await startDevnet({ port: 0, mining: { mode: 'manual' } });
    const sponsor = devnet.accounts[9]!;
    const ledger = new InMemoryLedger();
    const asked: [nonce: bigint, taken: boolean][] = [];
    const takeSponsorGap = ledger.takeSponsorGap.bind(ledger);
    ledger.takeSponsorGap = async (account, nonce) => {
      const taken = await takeSponsorGap(account, nonce);
      asked.push([nonce, taken]);
      return taken;
    };
    const engine = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger,
      settleTimeoutMs: 300,
      pollIntervalMs: 20,
      sponsor: { privateKeys: sponsor.privateKey, gapFillDelayMs },
      ...(keeper ? { keeper } : {}),
    });
    // Its settlements are followed in the background until mined: stopped whatever a test found.
    const stop = async () => {
      await engine.keeper.stop();
      await devnet.stop();
    };
    try {
      const requirements = {
        ...requirementsFor(devnet.accounts[7]!.address),
        extra: { sponsor: sponsor.address },
      };
      for (const payer of devnet.accounts.slice(0, 3)) {
        const { payment } = await paysSponsored(devnet, requirements, payer);
        assert.equal(
          (await engine.settle(payment, requirements)).errorReason,
          'settlement_pending',
        );
      }
      assert.equal(devnet.chain.mempool.length, 3);
    } catch (error) {
      await stop();
      throw error;
    }
    return { devnet, sponsor, ledger, engine, asked, stop };
  }

  test('a nonce a payment holds that the round read as free (a stale read) is refused under the sponsorship lock: no filler, asked again a delay later', async () => {
    const gapFillDelayMs = 500;
    const { devnet, ledger, engine, asked, stop } = await newKeyWithThreePending(gapFillDelayMs);
    try {
      // The round's read of unfinished settlements comes back empty, as one taken just before the payments were
      // claimed would: nonces 0 and 1 look free.
      ledger.unfinished = async () => [];
      assert.equal((await engine.keeper.runOnce()).gapsFilled, 0);
      assert.deepEqual([...asked], [], 'first seen: the delay');
      await new Promise((r) => setTimeout(r, gapFillDelayMs + 50));
      assert.equal((await engine.keeper.runOnce()).gapsFilled, 0);
      assert.deepEqual(
        [...asked],
        [
          [0n, false],
          [1n, false],
        ],
      );
      assert.equal(devnet.chain.mempool.length, 3, 'no filler sent');
      assert.equal((await engine.keeper.runOnce()).gapsFilled, 0);
      assert.equal(asked.length, 2, 'not asked again within the delay');
      await new Promise((r) => setTimeout(r, gapFillDelayMs + 50));
      assert.equal((await engine.keeper.runOnce()).gapsFilled, 0);
      assert.equal(asked.length, 4, 'asked again a delay later, and refused again');
      assert.equal(devnet.chain.mempool.length, 3, 'still no filler');
    } finally {
      await stop();
    }
  });

  test('a key with nothing mined lists no gaps: the keeper passes over the nonces payments hold, and fills a dropped one a delay after it is free', async () => {
    const gapFillDelayMs = 1_000;
    // How soon the keeper sends its filler again while no block takes it, here as short as the delay.
    const { devnet, sponsor, ledger, engine, asked, stop } = await newKeyWithThreePending(
      gapFillDelayMs,
      {
        rebroadcastAfterMs: gapFillDelayMs,
      },
    );
    try {
      // Three sponsored payments pending on sponsor nonces 0, 1 and 2; nothing mined.
      const nonces = (await (
        await fetch(`${devnet.url}/extended/v1/address/${sponsor.address}/nonces`)
      ).json()) as { detected_missing_nonces: number[]; possible_next_nonce: number };
      assert.deepEqual(
        nonces.detected_missing_nonces,
        [],
        'nonces 0 and 1 may be gaps, for all the API says',
      );

      const rounds = async (count: number) => {
        for (let k = 0; k < count; k++) assert.equal((await engine.keeper.runOnce()).gapsFilled, 0);
      };
      await rounds(1);
      await new Promise((r) => setTimeout(r, gapFillDelayMs + 50));
      await rounds(5);
      assert.deepEqual(
        [...asked],
        [],
        'nonces 0 and 1 held by payments in flight, as the round read them: passed over, the lock never taken',
      );
      assert.equal(devnet.chain.mempool.length, 3, 'no filler sent');

      // Nonce 0's payment is dropped: its nonce is free for the next sponsored payment, and with none coming, the
      // keeper spends it a delay after it first found it free.
      const first = devnet.chain.mempool.find((record) => record.admitted.sponsorNonce === 0n)!;
      devnet.chain.injectFault(first.admitted.txid, { kind: 'drop' });
      const deadline = Date.now() + 5_000;
      while ((await ledger.get(first.admitted.txid))?.state !== 'failed') {
        assert.ok(Date.now() < deadline, 'the drop is recorded');
        await new Promise((r) => setTimeout(r, 20));
      }
      await rounds(1);
      assert.deepEqual([...asked], [], 'within the delay');
      await new Promise((r) => setTimeout(r, gapFillDelayMs + 50));
      assert.equal((await engine.keeper.runOnce()).gapsFilled, 1);
      assert.deepEqual(
        [...asked],
        [[0n, true]],
        'nonce 0 taken for the filler, nonce 1 still held',
      );
      const filler = devnet.chain.mempool.find(
        (record) => record.admitted.origin === sponsor.address,
      );
      assert.equal(
        filler?.admitted.originNonce,
        0n,
        'the gap at nonce 0 is filled by the key itself',
      );
      // No block comes. Past rebroadcastAfterMs and another delay, the keeper sends its filler again: the same bytes,
      // a re-send, not another gap filled (each round asserts none).
      await new Promise((r) => setTimeout(r, gapFillDelayMs + 50));
      await rounds(1);
      await new Promise((r) => setTimeout(r, gapFillDelayMs + 50));
      const before = asked.length;
      await rounds(1);
      assert.ok(
        asked.slice(before).some(([nonce]) => nonce === 0n),
        'nonce 0 taken again, for the same filler',
      );
      assert.equal(
        devnet.chain.mempool.filter((record) => record.admitted.origin === sponsor.address).length,
        1,
        'one filler pending',
      );

      devnet.mine();
      await engine.idle();
      assert.equal(devnet.chain.mempool.length, 0, 'the held-up payments and the filler are mined');
      const settled = asked.length;
      await rounds(1);
      assert.equal(asked.length, settled, 'mined: nothing may be a gap any more');
    } finally {
      await stop();
    }
  });
});
