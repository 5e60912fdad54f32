/**
 * The Ledger contract as a reusable suite: every Ledger (in memory, SQLite, PostgreSQL) must pass it unchanged.
 * Concurrency cases fire many calls at once, so an implementation whose claim is not atomic fails them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Ledger, NewSettlement, SponsorAccount } from '../src/facilitator/ledger.js';

const NETWORK = 'stacks:2147483648' as const;

/** A settlement with distinct ids per `seed`, overridable per test. */
export function settlement(seed: number, overrides: Partial<NewSettlement> = {}): NewSettlement {
  const txid = seed.toString(16).padStart(64, '0');
  return {
    paymentTxid: txid,
    txid,
    network: NETWORK,
    payer: 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM',
    nonce: BigInt(seed),
    amount: 1000n,
    asset: 'STX',
    payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
    transaction: `80800000000400${txid}`,
    ...overrides,
  };
}

/** Defines the conformance tests for a Ledger; `create` must return an empty ledger each time. */
export function ledgerConformance(name: string, create: () => Promise<Ledger>): void {
  describe(`${name}: claims`, () => {
    test('a new payment is claimed in state claimed; the same txid again is a txid conflict', async () => {
      const ledger = await create();
      const first = await ledger.claim(settlement(1));
      assert.equal(first.claimed, true);
      assert.equal(first.claimed && first.record.state, 'claimed');
      const again = await ledger.claim(settlement(1));
      assert.equal(again.claimed, false);
      assert.equal(!again.claimed && again.conflict, 'txid');
      assert.equal(!again.claimed && again.existing.paymentTxid, settlement(1).paymentTxid);
    });

    test('another transaction spending the same (network, payer, nonce) is a nonce conflict', async () => {
      const ledger = await create();
      await ledger.claim(settlement(1));
      const other = await ledger.claim(settlement(2, { nonce: 1n }));
      assert.equal(!other.claimed && other.conflict, 'nonce');
      const otherNetwork = await ledger.claim(settlement(3, { nonce: 1n, network: 'stacks:1' }));
      assert.equal(otherNetwork.claimed, true, 'nonces are per network');
      const otherPayer = await ledger.claim(
        settlement(4, { nonce: 1n, payer: 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG' }),
      );
      assert.equal(otherPayer.claimed, true, 'nonces are per payer');
    });

    test('50 concurrent claims of one payment: exactly one wins', async () => {
      const ledger = await create();
      const results = await Promise.all(
        Array.from({ length: 50 }, () => ledger.claim(settlement(7))),
      );
      assert.equal(results.filter((r) => r.claimed).length, 1);
    });

    test('50 concurrent different transactions on one nonce: exactly one wins', async () => {
      const ledger = await create();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => ledger.claim(settlement(100 + i, { nonce: 5n }))),
      );
      assert.equal(results.filter((r) => r.claimed).length, 1);
      assert.ok(results.every((r) => r.claimed || r.conflict === 'nonce'));
    });

    test('releaseNonce frees the nonce but keeps the txid claimed', async () => {
      const ledger = await create();
      await ledger.claim(settlement(1));
      await ledger.update(settlement(1).paymentTxid, { state: 'failed' }, ['claimed']);
      await ledger.releaseNonce(settlement(1).paymentTxid);
      const same = await ledger.claim(settlement(1));
      assert.equal(!same.claimed && same.conflict, 'txid');
      assert.equal((await ledger.claim(settlement(2, { nonce: 1n }))).claimed, true);
      await ledger.releaseNonce(settlement(1).paymentTxid);
      const third = await ledger.claim(settlement(3, { nonce: 1n }));
      assert.equal(
        !third.claimed && third.conflict,
        'nonce',
        'a released nonce held by another is not freed again',
      );
    });

    test('release frees both the txid and the nonce', async () => {
      const ledger = await create();
      await ledger.claim(settlement(1));
      await ledger.release(settlement(1).paymentTxid);
      assert.equal(await ledger.get(settlement(1).paymentTxid), undefined);
      assert.equal((await ledger.claim(settlement(2, { nonce: 1n }))).claimed, true);
    });
  });

  describe(`${name}: states`, () => {
    test('guarded updates: only one of two racing transitions applies', async () => {
      const ledger = await create();
      const { paymentTxid } = settlement(1);
      await ledger.claim(settlement(1));
      const [a, b] = await Promise.all([
        ledger.update(paymentTxid, { state: 'broadcast' }, ['claimed']),
        ledger.update(paymentTxid, { state: 'broadcast' }, ['claimed']),
      ]);
      assert.equal([a, b].filter(Boolean).length, 1);
      const done = await ledger.update(paymentTxid, { state: 'success', blockHeight: 9 }, [
        'broadcast',
      ]);
      assert.equal(done?.state, 'success');
      assert.equal(done?.blockHeight, 9);
      assert.equal(
        await ledger.update(paymentTxid, { state: 'failed' }, ['claimed', 'broadcast']),
        undefined,
      );
      assert.equal((await ledger.get(paymentTxid))?.state, 'success');
    });

    test('a sponsored settlement is found by its payment txid and by its on-chain txid, with or without 0x', async () => {
      const ledger = await create();
      const { paymentTxid } = settlement(1);
      const chainTxid = 'ab'.repeat(32);
      await ledger.claim(settlement(1));
      await ledger.update(paymentTxid, { state: 'broadcast', txid: chainTxid, sponsorNonce: 4n }, [
        'claimed',
      ]);
      assert.equal((await ledger.get(chainTxid))?.paymentTxid, paymentTxid);
      assert.equal((await ledger.get(`0x${chainTxid}`))?.sponsorNonce, 4n);
      assert.equal((await ledger.get(paymentTxid))?.txid, chainTxid);
      const done = await ledger.update(chainTxid, { state: 'success' }, ['broadcast']);
      assert.equal(done?.paymentTxid, paymentTxid, 'updated through the on-chain txid');
      await ledger.releaseNonce(`0x${chainTxid}`);
      assert.equal((await ledger.claim(settlement(10, { nonce: 1n }))).claimed, true);
      const replay = await ledger.claim(
        settlement(9, { paymentTxid: 'cd'.repeat(32), txid: chainTxid }),
      );
      assert.equal(!replay.claimed && replay.conflict, 'txid');
    });

    test('unfinished lists claimed and broadcast settlements only', async () => {
      const ledger = await create();
      for (const seed of [1, 2, 3, 4]) await ledger.claim(settlement(seed));
      await ledger.update(settlement(2).paymentTxid, { state: 'broadcast' }, ['claimed']);
      await ledger.update(settlement(3).paymentTxid, { state: 'failed', errorReason: 'x' }, [
        'claimed',
      ]);
      await ledger.update(settlement(4).paymentTxid, { state: 'broadcast' }, ['claimed']);
      await ledger.update(settlement(4).paymentTxid, { state: 'success' }, ['broadcast']);
      const unfinished = (await ledger.unfinished()).map((r) => r.paymentTxid).sort();
      assert.deepEqual(unfinished, [settlement(1).paymentTxid, settlement(2).paymentTxid].sort());
    });
  });

  describe(`${name}: sponsor nonces`, () => {
    const sponsor: SponsorAccount = {
      network: NETWORK,
      sponsor: 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG',
    };

    test('100 concurrent reservations are consecutive, without gaps or duplicates', async () => {
      const ledger = await create();
      const nonces = await Promise.all(
        Array.from({ length: 100 }, () => ledger.reserveSponsorNonce(sponsor, 5n)),
      );
      const sorted = [...nonces].sort((a, b) => (a < b ? -1 : 1));
      assert.deepEqual(
        sorted,
        Array.from({ length: 100 }, (_, i) => 5n + BigInt(i)),
      );
    });

    test('a released nonce is handed out again before new ones', async () => {
      const ledger = await create();
      for (let i = 0; i < 4; i++) await ledger.reserveSponsorNonce(sponsor, 0n); // 0..3
      await ledger.releaseSponsorNonce(sponsor, 1n);
      assert.equal(await ledger.reserveSponsorNonce(sponsor, 0n), 1n);
      await ledger.releaseSponsorNonce(sponsor, 3n);
      assert.equal(await ledger.reserveSponsorNonce(sponsor, 0n), 3n);
      assert.equal(await ledger.reserveSponsorNonce(sponsor, 0n), 4n);
    });

    test('the chain’s next nonce wins when it is ahead; released nonces below it are forgotten', async () => {
      const ledger = await create();
      await ledger.reserveSponsorNonce(sponsor, 0n);
      await ledger.reserveSponsorNonce(sponsor, 0n);
      await ledger.releaseSponsorNonce(sponsor, 0n);
      assert.equal(await ledger.reserveSponsorNonce(sponsor, 10n), 10n);
      assert.equal(await ledger.reserveSponsorNonce(sponsor, 10n), 11n);
    });

    test('sponsors and networks are independent', async () => {
      const ledger = await create();
      assert.equal(await ledger.reserveSponsorNonce(sponsor, 0n), 0n);
      assert.equal(await ledger.reserveSponsorNonce({ ...sponsor, network: 'stacks:1' }, 0n), 0n);
      assert.equal(
        await ledger.reserveSponsorNonce(
          { ...sponsor, sponsor: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5' },
          0n,
        ),
        0n,
      );
    });
  });
}
