/**
 * The ledger steps of one settlement on the SQLite ledger, against the devnet over HTTP. A payment of the payer's fee
 * at its next nonce, with no id to bind, is claimed, checked and marked broadcast in one transaction
 * (`Ledger.claimToSend`), durable before it is sent; its success and its answer are written in one event-loop turn,
 * so the group commit makes both durable together (sqlite-group-commit.test.ts holds the syncs and watches who waits).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import Database from 'better-sqlite3';
import { createFacilitator, type Ledger } from 'x402-stacks';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { SqlLedger } from '../src/ledger/sql-ledger.js';
import { openGroupCommitFile } from './group-commit-file.js';

const dir = mkdtempSync(join(tmpdir(), 'x402-settle-steps-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function payment(devnet: Devnet, nonce: bigint) {
  const requirements = {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '4500',
    asset: 'STX',
    payTo: devnet.accounts[1]!.address,
    maxTimeoutSeconds: 300,
  };
  const { transaction } = await createPaymentTransaction({
    account: devnet.accounts[0]!.account,
    requirements,
    nonce,
    fee: 400n,
  });
  return {
    payload: { x402Version: 2, accepted: requirements, payload: { transaction } },
    requirements,
  };
}

/** A call the ledger was asked, with the commits the driver had made when it was asked and when it answered. */
type Call = { method: string; state?: string; askedAt: number; answeredAt?: number };

/** The ledger, recording every call with the driver's commit count around it. */
function recording(ledger: Ledger, commits: () => number) {
  const calls: Call[] = [];
  const proxy = new Proxy(ledger, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const call: Call = {
          method: String(property),
          ...(property === 'update' ? { state: (args[1] as { state: string }).state } : {}),
          askedAt: commits(),
        };
        calls.push(call);
        const result = value.apply(target, args);
        return result instanceof Promise
          ? result.then((answer) => {
              call.answeredAt = commits();
              return answer;
            })
          : result;
      };
    },
  });
  return { ledger: proxy, calls };
}

describe('a settlement’s ledger steps', () => {
  test('on SQLite: one transaction claims and marks, and the success and the answer share a commit', async () => {
    const devnet = await startDevnet({ port: 0 });
    const { path, dialect, db } = await openGroupCommitFile(dir);
    const reader = new Database(path, { readonly: true });
    const sql = new SqlLedger(db, { dialect: 'sqlite', run: (query) => dialect.execute(query) });
    const { ledger, calls } = recording(sql, () => dialect.stats.commits);
    const facilitator = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      ledger,
      pollIntervalMs: 20,
    });
    try {
      const { payload, requirements } = await payment(devnet, 0n);
      devnet.chain.stall(true);
      const settled = facilitator.settle(payload, requirements);
      const deadline = Date.now() + 10_000;
      while (devnet.chain.mempool.length === 0) {
        assert.ok(Date.now() < deadline, 'the payment reached the mempool within 10 s');
        await new Promise((r) => setTimeout(r, 5));
      }
      // Marked before it is sent: at the broadcast, another connection already reads it so.
      const stateAtBroadcast = (
        reader.prepare('select state from x402_settlements').get() as { state: string }
      ).state;
      devnet.chain.stall(false);
      devnet.mine();
      const answer = await settled;
      assert.equal(answer.success, true, JSON.stringify(answer));
      assert.equal(stateAtBroadcast, 'broadcast');

      const settlementCalls = calls.filter((call) =>
        ['claim', 'claimToSend', 'inFlight', 'update', 'recordAnswer'].includes(call.method),
      );
      assert.deepEqual(
        settlementCalls.map(({ method, state }) => (state ? `${method}:${state}` : method)),
        ['claimToSend', 'update:success', 'recordAnswer'],
      );
      const [, success, recorded] = settlementCalls as [Call, Call, Call];
      assert.equal(
        recorded.askedAt,
        success.askedAt,
        'the answer was asked before the success was committed',
      );
      assert.equal(recorded.answeredAt, success.answeredAt, 'one commit made both durable');
      // Both on disk by the time the seller heard success.
      assert.deepEqual(
        reader
          .prepare(
            'select s.state, a.answer from x402_settlements s join x402_answers a using (payment_txid)',
          )
          .get(),
        { state: 'success', answer: 'success' },
      );
    } finally {
      devnet.chain.stall(false);
      await facilitator.idle();
      reader.close();
      await db.destroy();
      await devnet.stop();
    }
  });
});
