/**
 * Settlements that take the direct path (claimed, checked and marked in one ledger step: `Ledger.claimToSend`),
 * against the devnet over HTTP, on the in-memory ledger:
 * - a payer whose balance covers one of two payments never has both sent: a direct payment after a payment waiting
 *   for its nonce, or a second direct payment after a direct one, is refused `insufficient_funds_in_flight`;
 * - a caller that hangs up while its direct claim waits for the ledger gets nothing recorded and nothing sent;
 * - a success whose state write fails is still answered once its answer is recorded (the chain decided it), and the
 *   settlement, left broadcast, is followed until its success is written, through more than one failed write.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { until } from '@x402-stacks/test-kit';
import { createFacilitator, InMemoryLedger, type Ledger, privateKeyToAccount } from 'x402-stacks';
import { createPaymentTransaction } from 'x402-stacks/stacks';

const AMOUNT = 4_500n;
const FEE = 400n;

function requirementsFor(devnet: Devnet) {
  return {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: String(AMOUNT),
    asset: 'STX',
    payTo: devnet.accounts[1]!.address,
    maxTimeoutSeconds: 300,
  };
}

async function pay(
  devnet: Devnet,
  account: Parameters<typeof createPaymentTransaction>[0]['account'],
  nonce: bigint,
) {
  const requirements = requirementsFor(devnet);
  const { transaction } = await createPaymentTransaction({
    account,
    requirements,
    nonce,
    fee: FEE,
  });
  return {
    payload: { x402Version: 2, accepted: requirements, payload: { transaction } },
    requirements,
  };
}

/** The in-memory ledger with one method replaced, every other one its own. */
function replacing<K extends 'claimToSend' | 'update'>(
  ledger: InMemoryLedger,
  method: K,
  replacement: InMemoryLedger[K],
): Ledger {
  return new Proxy(ledger, {
    get(target, property, receiver) {
      if (property === method) return replacement;
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('facilitator engine: the direct settle path', () => {
  for (const first of ['waiting', 'direct'] as const) {
    test(`a balance for one of two payments settles one, whichever claims first (${first} first)`, async () => {
      const devnet = await startDevnet({ port: 0 });
      const ledger = new InMemoryLedger();
      const facilitator = createFacilitator({
        networks: { testnet: { url: devnet.url } },
        ledger,
        pollIntervalMs: 20,
      });
      try {
        const payer = privateKeyToAccount(randomBytes(32).toString('hex'), 'testnet');
        // Enough for one payment and its fee, not for two.
        devnet.chain.fund(payer.address, { stx: AMOUNT + FEE + 1_000n });
        const direct = await pay(devnet, payer, 0n);
        const waiting = await pay(devnet, payer, 1n);
        const inFlight = () => ledger.inFlight('stacks:2147483648', payer.address);
        let answers: Awaited<ReturnType<typeof facilitator.settle>>[];
        if (first === 'waiting') {
          // Nonce 1 is claimed (three steps) and waits for nonce 0 to reach the mempool; then nonce 0 comes, direct.
          // The waiting call hangs up once nonce 0 is answered: it would otherwise wait out its settle timeout.
          const hangUp = new AbortController();
          const later = facilitator.settle(waiting.payload, waiting.requirements, {
            signal: hangUp.signal,
          });
          await until(async () => (await inFlight()).length === 1, 'the waiting claim');
          const directAnswer = await facilitator.settle(direct.payload, direct.requirements);
          hangUp.abort();
          answers = [directAnswer, await later];
        } else {
          // Nonce 0 is claimed and marked in one step while the chain holds it unmined; then nonce 1 comes, direct
          // too (the payer's next nonce counts the mempool).
          devnet.chain.stall(true);
          const sent = facilitator.settle(direct.payload, direct.requirements);
          await until(() => devnet.chain.mempool.length === 1, 'the direct broadcast');
          const later = await facilitator.settle(waiting.payload, waiting.requirements);
          devnet.chain.stall(false);
          devnet.mine();
          answers = [await sent, later];
        }
        const [directAnswer, waitingAnswer] = answers;
        if (first === 'waiting') {
          assert.equal(
            directAnswer?.errorReason,
            'insufficient_funds_in_flight',
            JSON.stringify(directAnswer),
          );
        } else {
          assert.equal(directAnswer?.success, true, JSON.stringify(directAnswer));
          assert.equal(
            waitingAnswer?.errorReason,
            'insufficient_funds_in_flight',
            JSON.stringify(waitingAnswer),
          );
        }
        // Waiting first, nonce 1 then waits for a nonce 0 that never reaches the chain, until its caller hangs up.
        if (first === 'waiting') assert.equal(waitingAnswer?.errorReason, 'settlement_cancelled');
        assert.equal(
          answers.filter((answer) => answer?.success).length,
          first === 'direct' ? 1 : 0,
        );
        assert.equal((await inFlight()).length, 0, 'every refused claim was given back');
      } finally {
        devnet.chain.stall(false);
        await facilitator.idle();
        await devnet.stop();
      }
    });
  }

  test('a caller that hangs up while its direct claim waits for the ledger gets nothing recorded and nothing sent', async () => {
    const devnet = await startDevnet({ port: 0 });
    const memory = new InMemoryLedger();
    const hangUp = new AbortController();
    // The caller hangs up as the claim reaches the ledger (as during a wait for SQLite's write lock or its sync).
    const ledger = replacing(memory, 'claimToSend', (...args) => {
      hangUp.abort();
      return memory.claimToSend(...args);
    });
    const facilitator = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger,
      pollIntervalMs: 20,
    });
    try {
      const { payload, requirements } = await pay(devnet, devnet.accounts[0]!.account, 0n);
      const answer = await facilitator.settle(payload, requirements, { signal: hangUp.signal });
      assert.equal(answer.errorReason, 'settlement_cancelled', JSON.stringify(answer));
      assert.deepEqual(await memory.inFlight('stacks:2147483648', devnet.accounts[0]!.address), []);
      assert.equal(devnet.chain.mempool.length, 0);
      assert.equal(devnet.chain.height, 0, 'nothing was mined');
    } finally {
      await facilitator.idle();
      await devnet.stop();
    }
  });

  test('a success whose state write fails is answered once its answer is recorded, then written by its follower', async () => {
    const devnet = await startDevnet({ port: 0 });
    const memory = new InMemoryLedger();
    let failures = 0;
    // The first two writes of a success fail (the settle call's, then its follower's first); the third goes through.
    const ledger = replacing(memory, 'update', (...args) =>
      args[1].state === 'success' && failures++ < 2
        ? Promise.reject(new Error('the disk is full'))
        : memory.update(...args),
    );
    const facilitator = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger,
      pollIntervalMs: 20,
    });
    try {
      const { payload, requirements } = await pay(devnet, devnet.accounts[0]!.account, 0n);
      const answer = await facilitator.settle(payload, requirements);
      assert.equal(answer.success, true, JSON.stringify(answer));
      const record = await memory.get(answer.transaction);
      assert.ok(record);
      assert.equal(await memory.answerOf(record.paymentTxid), 'success');
      const retry = await facilitator.settle(payload, requirements);
      assert.equal(retry.errorReason, 'duplicate_settlement');
      await until(
        async () => (await memory.get(record.txid))?.state === 'success',
        'the success written',
      );
      assert.equal(failures, 3, 'two failed writes, then the follower’s next look wrote it');
    } finally {
      await facilitator.idle();
      await devnet.stop();
    }
  });
});
