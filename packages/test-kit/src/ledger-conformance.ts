/**
 * The Ledger contract as a reusable suite: every Ledger (in memory, SQLite, PostgreSQL) must pass it unchanged.
 * Concurrency cases fire many calls at once, so an implementation whose claim is not atomic fails them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type {
  Ledger,
  NewSettlement,
  SettlementUpdate,
  SponsorLimits,
  SponsorshipResult,
} from '../../x402-stacks/src/facilitator/ledger.js';

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

/**
 * Defines the conformance tests for a Ledger; `create` must return an empty ledger each time. `claimToSend` says
 * whether the ledger offers `Ledger.claimToSend`, and `claimReadsInFlight` whether its claims answer with the payer's
 * settlements in flight (`ClaimResult.inFlight`): their tests run then, otherwise their absence is asserted.
 */
export function ledgerConformance(
  name: string,
  create: () => Promise<Ledger>,
  {
    claimToSend,
    claimReadsInFlight = false,
  }: { claimToSend: boolean; claimReadsInFlight?: boolean },
): void {
  describe(`${name}: claims to send`, () => {
    if (!claimToSend) {
      test('claimToSend is not offered, so the facilitator claims, reads and marks in three steps', async () => {
        assert.equal((await create()).claimToSend, undefined);
      });
      return;
    }
    /** The ledger's claimToSend, asserted present. */
    const claimToSendOf = (ledger: Ledger) => {
      const method = ledger.claimToSend?.bind(ledger);
      assert.ok(method, 'the ledger offers claimToSend');
      return method;
    };

    test('claims a payment already broadcast, after admit saw the payer’s settlements in flight with it', async () => {
      const ledger = await create();
      const claimToSend = claimToSendOf(ledger);
      await ledger.claim(settlement(1));
      await ledger.claim(settlement(2, { payer: 'ST3NBRSFKX28FQ2ZJ1MAKX58HKHSDGNV5N7R21XCP' }));
      await ledger.claim(settlement(3));
      await ledger.update(settlement(3).paymentTxid, { state: 'broadcast' }, ['claimed']);
      await ledger.update(settlement(3).paymentTxid, { state: 'success' }, ['broadcast']);
      let seen: string[] = [];
      const claim = await claimToSend(
        settlement(4, { resource: 'https://api.example/x' }),
        (inFlight) => {
          seen = inFlight.map((record) => `${record.paymentTxid}:${record.state}`);
          return undefined;
        },
      );
      assert.equal(claim.claimed, true);
      const record = claim.claimed ? claim.record : undefined;
      assert.equal(record?.state, 'broadcast');
      assert.equal(record?.nonce, 4n);
      assert.equal(record?.amount, 1000n);
      assert.equal(record?.resource, 'https://api.example/x');
      assert.equal(record?.createdAt, record?.updatedAt);
      assert.deepEqual(
        seen.sort(),
        [`${settlement(1).paymentTxid}:claimed`, `${settlement(4).paymentTxid}:broadcast`].sort(),
      );
      assert.equal((await ledger.get(settlement(4).txid))?.state, 'broadcast');
      const unfinished = await ledger.unfinished();
      assert.ok(
        unfinished.some(
          (r) => r.paymentTxid === settlement(4).paymentTxid && r.state === 'broadcast',
        ),
      );
      assert.ok(
        await ledger.update(
          settlement(4).paymentTxid,
          { state: 'success' },
          ['broadcast'],
          record?.createdAt,
        ),
      );
    });

    test('a refusal by admit records nothing and is returned', async () => {
      const ledger = await create();
      const claimToSend = claimToSendOf(ledger);
      await ledger.claim(settlement(1));
      const claim = await claimToSend(settlement(2), (inFlight) => ({ short: inFlight.length }));
      assert.deepEqual(claim, { claimed: false, refused: { short: 2 } });
      assert.equal(await ledger.get(settlement(2).paymentTxid), undefined);
      assert.deepEqual(
        (await ledger.inFlight(NETWORK, settlement(1).payer)).map((r) => r.paymentTxid),
        [settlement(1).paymentTxid],
      );
      assert.equal(
        (await ledger.claim(settlement(2))).claimed,
        true,
        'its txid and nonce are free',
      );
    });

    test('an admit that throws records nothing, and its error is thrown', async () => {
      const ledger = await create();
      const claimToSend = claimToSendOf(ledger);
      await assert.rejects(
        claimToSend(settlement(1), () => {
          throw new Error('admit failed');
        }),
        /admit failed/,
      );
      assert.equal(await ledger.get(settlement(1).paymentTxid), undefined);
      assert.deepEqual(await ledger.unfinished(), []);
    });

    test('a taken txid or (payer, nonce) is a conflict, whether admit would keep the claim or refuse it', async () => {
      const ledger = await create();
      const claimToSend = claimToSendOf(ledger);
      await ledger.claim(settlement(1));
      // A ledger may ask admit before it finds the conflict (about the claim alone, say): a conflict still wins.
      const admit = () => 'refused';
      const sameTxid = await claimToSend(settlement(1), admit);
      assert.equal(!sameTxid.claimed && 'conflict' in sameTxid && sameTxid.conflict, 'txid');
      const sameNonce = await claimToSend(settlement(2, { nonce: 1n }), admit);
      assert.equal(!sameNonce.claimed && 'conflict' in sameNonce && sameNonce.conflict, 'nonce');
      assert.equal(
        !sameNonce.claimed && 'existing' in sameNonce && sameNonce.existing.paymentTxid,
        settlement(1).paymentTxid,
      );
      const keeping = await claimToSend(settlement(2, { nonce: 1n }), () => undefined);
      assert.equal(!keeping.claimed && 'conflict' in keeping && keeping.conflict, 'nonce');
      assert.deepEqual(
        (await ledger.inFlight(NETWORK, settlement(1).payer)).map((r) => r.paymentTxid),
        [settlement(1).paymentTxid],
        'nothing else is recorded',
      );
    });

    test('claims of one payer fired at once each see the ones kept before them', async () => {
      const ledger = await create();
      const claimToSend = claimToSendOf(ledger);
      // Admits a claim while at most five are broadcast, itself included; plain claims come in between. Atomic claims
      // keep exactly five: one that read before others claimed would keep more, one that read after every claim none.
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 4 === 3
            ? ledger.claim(settlement(100 + i))
            : claimToSend(settlement(100 + i), (inFlight) =>
                inFlight.filter((r) => r.state === 'broadcast').length > 5 ? 'full' : undefined,
              ),
        ),
      );
      const inFlight = await ledger.inFlight(NETWORK, settlement(1).payer);
      assert.equal(inFlight.filter((r) => r.state === 'broadcast').length, 5);
      assert.equal(
        inFlight.filter((r) => r.state === 'claimed').length,
        5,
        'every plain claim is kept',
      );
      assert.equal(claims.filter((c) => !c.claimed && 'refused' in c).length, 10);
    });

    test('beside claims checked in three steps, as a facilitator makes them, never more than the bound are kept', async () => {
      const ledger = await create();
      const claimToSend = claimToSendOf(ledger);
      const full = (inFlight: readonly { paymentTxid: string }[]) => inFlight.length > 5;
      // The three steps of a payment that waits: claim, read what is in flight, give the claim back when too much is.
      const threeSteps = async (one: NewSettlement) => {
        const claim = await ledger.claim(one);
        if (!claim.claimed) return;
        if (full(await ledger.inFlight(NETWORK, one.payer)))
          await ledger.release(one.paymentTxid, claim.record.createdAt);
      };
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2 === 1
            ? threeSteps(settlement(200 + i))
            : claimToSend(settlement(200 + i), (inFlight) => (full(inFlight) ? 'full' : undefined)),
        ),
      );
      const kept = (await ledger.inFlight(NETWORK, settlement(1).payer)).length;
      // Racing claims may all see each other and all give way (the three steps alone do too): never too many kept.
      assert.ok(kept <= 5, `${kept} kept: each was kept only while at most five were in flight`);
    });
  });

  describe(`${name}: claims`, () => {
    test(
      claimReadsInFlight
        ? "a claim answers with its payer's settlements in flight on its network, itself among them, as a read right after it"
        : "a claim answers without the payer's settlements in flight: the facilitator reads them",
      async () => {
        const ledger = await create();
        const other = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
        await ledger.claim(settlement(1));
        await ledger.claim(settlement(2, { payer: other }));
        await ledger.claim(settlement(3));
        await ledger.update(settlement(3).paymentTxid, { state: 'broadcast' }, ['claimed']);
        await ledger.update(settlement(3).paymentTxid, { state: 'success' }, ['broadcast']);
        await ledger.claim(settlement(4, { network: 'stacks:1' }));
        const claim = await ledger.claim(settlement(5));
        assert.ok(claim.claimed);
        if (!claimReadsInFlight) {
          assert.equal(claim.inFlight, undefined);
          return;
        }
        const ids = (records: readonly { paymentTxid: string; state: string }[] | undefined) =>
          records?.map((r) => `${r.paymentTxid}:${r.state}`).sort();
        assert.deepEqual(
          ids(claim.inFlight),
          [`${settlement(1).paymentTxid}:claimed`, `${settlement(5).paymentTxid}:claimed`].sort(),
        );
        assert.deepEqual(
          ids(claim.inFlight),
          ids(await ledger.inFlight(NETWORK, settlement(1).payer)),
        );
      },
    );

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

    test('claims at once of many payments, some racing for one payment or one nonce: each key is claimed once', async () => {
      const ledger = await create();
      await ledger.claim(settlement(40));
      const results = await Promise.all([
        ...Array.from({ length: 20 }, (_, k) => ledger.claim(settlement(k + 1))),
        // Racing the first five: the same payments again, and other transactions on their nonces.
        ...Array.from({ length: 5 }, (_, k) => ledger.claim(settlement(k + 1))),
        ...Array.from({ length: 5 }, (_, k) =>
          ledger.claim(settlement(200 + k, { nonce: BigInt(k + 1) })),
        ),
        // Already claimed before the turn.
        ledger.claim(settlement(40)),
      ]);
      for (let k = 1; k <= 20; k++) {
        const mine = results.filter((r) => r.claimed && r.record.nonce === BigInt(k));
        assert.equal(mine.length, 1, `nonce ${k} claimed once`);
      }
      assert.equal(results.filter((r) => r.claimed).length, 20);
      const lost = results.filter((r) => !r.claimed);
      assert.equal(lost.length, 11);
      assert.ok(lost.every((r) => !r.claimed && (r.conflict === 'txid' || r.conflict === 'nonce')));
      const last = results.at(-1)!;
      assert.ok(
        !last.claimed &&
          last.conflict === 'txid' &&
          last.existing.paymentTxid === settlement(40).paymentTxid,
      );
      const held = await ledger.inFlight(NETWORK, settlement(1).payer);
      assert.equal(
        held.length,
        21,
        'the 20 nonces and the earlier claim, each held by one settlement',
      );
    });

    test('an update that releases the nonce frees it in the same step and keeps the txid claimed', async () => {
      const ledger = await create();
      await ledger.claim(settlement(1));
      await ledger.update(settlement(1).paymentTxid, { state: 'broadcast' }, ['claimed']);
      const unguarded = await ledger.update(
        settlement(1).paymentTxid,
        { state: 'failed', releaseNonce: true },
        ['claimed'],
      );
      assert.equal(unguarded, undefined, 'the state guard failed: nothing moved, nothing freed');
      const held = await ledger.claim(settlement(2, { nonce: 1n }));
      assert.equal(!held.claimed && held.conflict, 'nonce');
      const failed = await ledger.update(
        settlement(1).paymentTxid,
        { state: 'failed', errorReason: 'broadcast_failed', releaseNonce: true },
        ['broadcast'],
      );
      assert.equal(failed?.state, 'failed');
      const same = await ledger.claim(settlement(1));
      assert.equal(!same.claimed && same.conflict, 'txid');
      assert.deepEqual(await ledger.inFlight(settlement(1).network, settlement(1).payer), []);
      assert.equal((await ledger.claim(settlement(2, { nonce: 1n }))).claimed, true);
      await ledger.update(settlement(1).paymentTxid, { state: 'failed', releaseNonce: true }, [
        'failed',
      ]);
      const third = await ledger.claim(settlement(3, { nonce: 1n }));
      assert.equal(
        !third.claimed && third.conflict,
        'nonce',
        'a released nonce held by another is not freed again',
      );
    });

    test('an update that clears the error reason drops it in the same step, keeps the message, and wins over a reason given with it', async () => {
      const ledger = await create();
      await ledger.claim(settlement(1));
      await ledger.update(settlement(1).paymentTxid, { state: 'broadcast' }, ['claimed']);
      const dropped = await ledger.update(
        settlement(1).paymentTxid,
        {
          state: 'failed',
          errorReason: 'transaction_failed',
          errorMessage: 'dropped_stale_garbage_collect',
          releaseNonce: true,
        },
        ['broadcast'],
      );
      assert.equal(dropped?.errorMessage, 'dropped_stale_garbage_collect');
      const kept = await ledger.update(settlement(1).txid, { state: 'failed' }, ['failed']);
      assert.equal(kept?.errorReason, 'transaction_failed', 'an update without the flag keeps it');
      const mined = await ledger.update(
        settlement(1).txid,
        { state: 'success', blockHeight: 9, clearErrorReason: true, errorReason: 'ignored' },
        ['failed'],
      );
      assert.equal(mined?.state, 'success');
      assert.equal(mined?.blockHeight, 9);
      assert.equal(mined?.errorReason, undefined);
      assert.equal(mined?.errorMessage, 'dropped_stale_garbage_collect');
      const read = await ledger.get(settlement(1).paymentTxid);
      assert.equal(read?.state, 'success');
      assert.equal(read?.errorReason, undefined);
      assert.equal(read?.errorMessage, 'dropped_stale_garbage_collect');
      assert.deepEqual(await ledger.inFlight(NETWORK, settlement(1).payer), []);
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

    test('reads of one turn across two networks and two payers: each gets its own settlement and its own pair in flight', async () => {
      const ledger = await create();
      const [a, b] = [
        'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM',
        'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG',
      ];
      const mainnet = 'stacks:1' as const;
      // In flight: a on the testnet, b on mainnet, b on the testnet. Settled (not in flight): a on mainnet.
      const held = [
        settlement(31, { payer: a }),
        settlement(32, { payer: b, network: mainnet }),
        settlement(34, { payer: b }),
      ];
      for (const record of held) await ledger.claim(record);
      await ledger.update(held[0]!.paymentTxid, { state: 'broadcast' }, ['claimed']);
      const done = settlement(33, { payer: a, network: mainnet });
      await ledger.claim(done);
      await ledger.update(done.paymentTxid, { state: 'success' }, ['claimed']);
      const ids = (records: readonly { paymentTxid: string }[]) =>
        records.map((record) => record.paymentTxid).sort();
      const [aTestnet, bMainnet, bTestnet, aMainnet, gotDone, gotNone, looked] = await Promise.all([
        ledger.inFlight(NETWORK, a),
        ledger.inFlight(mainnet, b),
        ledger.inFlight(NETWORK, b),
        ledger.inFlight(mainnet, a),
        ledger.get(done.txid),
        ledger.get(settlement(35).txid),
        ledger.lookup(held[2]!.txid, mainnet, a),
      ]);
      assert.deepEqual(ids(aTestnet), [held[0]!.paymentTxid]);
      assert.deepEqual(ids(bMainnet), [held[1]!.paymentTxid]);
      assert.deepEqual(ids(bTestnet), [held[2]!.paymentTxid]);
      assert.deepEqual(aMainnet, []);
      assert.equal(gotDone?.state, 'success');
      assert.equal(gotNone, undefined);
      assert.equal(looked.settled?.paymentTxid, held[2]!.paymentTxid);
      assert.deepEqual(looked.inFlight, []);
    });

    test('a status round at once: 20 settlements each read, finalized and answered on its own, racing calls once', async () => {
      const ledger = await create();
      const seeds = Array.from({ length: 20 }, (_, k) => k + 1);
      const payerOf = (seed: number) => (seed % 2 ? settlement(1).payer : `ST${seed}PAYER`);
      for (const seed of seeds) {
        await ledger.claim(settlement(seed, { payer: payerOf(seed) }));
        await ledger.update(settlement(seed).paymentTxid, { state: 'broadcast' }, ['claimed']);
      }
      // Reads of one turn: each sees its own settlement and only its own payer's in flight.
      const looked = await Promise.all(
        seeds.map((seed) => ledger.lookup(settlement(seed).paymentTxid, NETWORK, payerOf(seed))),
      );
      for (const [index, seed] of seeds.entries()) {
        assert.equal(looked[index]!.settled?.paymentTxid, settlement(seed).paymentTxid);
        assert.equal(looked[index]!.inFlight.length, seed % 2 ? 10 : 1);
      }
      // Odd seeds succeed (twice each, racing), even ones fail: every call answers for its own row.
      const moved = await Promise.all(
        seeds.flatMap((seed) =>
          seed % 2
            ? [0, 1].map(() =>
                ledger.update(
                  settlement(seed).paymentTxid,
                  { state: 'success', blockHeight: seed },
                  ['broadcast'],
                ),
              )
            : [
                ledger.update(settlement(seed).paymentTxid, { state: 'failed', errorReason: 'x' }, [
                  'broadcast',
                ]),
              ],
        ),
      );
      for (const seed of seeds) {
        const mine = moved.filter((record) => record?.paymentTxid === settlement(seed).paymentTxid);
        assert.equal(mine.length, 1, `seed ${seed} moved once`);
        assert.equal(mine[0]!.state, seed % 2 ? 'success' : 'failed');
        if (seed % 2) assert.equal(mine[0]!.blockHeight, seed);
      }
      assert.equal(moved.filter((record) => record === undefined).length, 10);
      const answered = await Promise.all(
        seeds.map((seed) =>
          ledger.recordAnswer(settlement(seed).paymentTxid, seed % 2 ? 'success' : 'pending'),
        ),
      );
      assert.deepEqual(
        answered,
        seeds.map(() => undefined),
      );
      for (const seed of seeds)
        assert.equal(
          await ledger.answerOf(settlement(seed).paymentTxid),
          seed % 2 ? 'success' : 'pending',
        );
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
      const done = await ledger.update(`0x${chainTxid}`, { state: 'failed', releaseNonce: true }, [
        'broadcast',
      ]);
      assert.equal(done?.paymentTxid, paymentTxid, 'updated through the on-chain txid');
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

  describe(`${name}: sponsorship`, () => {
    const key = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
    const otherKey = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
    const generous: SponsorLimits = {
      maxInFlightPerPayer: 1_000,
      maxFeesPerPayer: 10n ** 12n,
      maxFeesTotal: 10n ** 12n,
      maxFailedPerPayer: 1_000,
      windowMs: 60_000,
    };
    const at = (confirmedNext: bigint, possibleNext = confirmedNext, sponsor = key) => ({
      sponsor,
      confirmedNext,
      possibleNext,
    });
    /** Claims settlement `seed` and sponsors it. */
    async function sponsored(
      ledger: Ledger,
      seed: number,
      candidates = [at(0n)],
      options: { limits?: Partial<SponsorLimits>; payer?: string; now?: number; fee?: bigint } = {},
    ) {
      const claim = await ledger.claim(
        settlement(seed, options.payer ? { payer: options.payer } : {}),
      );
      assert.ok(claim.claimed);
      return ledger.reserveSponsorship(
        {
          paymentTxid: settlement(seed).paymentTxid,
          claimedAt: claim.record.createdAt,
          network: NETWORK,
          payer: options.payer ?? settlement(seed).payer,
          fee: options.fee ?? 300n,
          candidates,
          capacity: 1_000n,
          limits: { ...generous, ...options.limits },
        },
        options.now ?? 1_000_000,
      );
    }
    const nonceOf = (result: SponsorshipResult) => {
      assert.equal(result.granted, true, result.granted ? '' : result.message);
      return result.granted ? result.nonce : -1n;
    };

    test('100 concurrent sponsorships get consecutive nonces, without gaps or duplicates', async () => {
      const ledger = await create();
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => sponsored(ledger, 100 + i, [at(5n)])),
      );
      const sorted = results.map(nonceOf).sort((a, b) => (a < b ? -1 : 1));
      assert.deepEqual(
        sorted,
        Array.from({ length: 100 }, (_, i) => 5n + BigInt(i)),
      );
    });

    test('the sponsor and its nonce are recorded on the claim; an unclaimed payment is refused', async () => {
      const ledger = await create();
      assert.equal(nonceOf(await sponsored(ledger, 1)), 0n);
      const record = await ledger.get(settlement(1).paymentTxid);
      assert.equal(record?.sponsor, key);
      assert.equal(record?.sponsorNonce, 0n);
      const lost = await ledger.reserveSponsorship(
        {
          paymentTxid: settlement(2).paymentTxid,
          claimedAt: 0,
          network: NETWORK,
          payer: settlement(2).payer,
          fee: 1n,
          candidates: [at(0n)],
          capacity: 25n,
          limits: generous,
        },
        0,
      );
      assert.equal(lost.granted ? 'granted' : lost.reason, 'claim_lost');
    });

    test('a nonce handed back is reused before new ones; one forgotten is not', async () => {
      const ledger = await create();
      for (let i = 1; i <= 4; i++) nonceOf(await sponsored(ledger, i)); // nonces 0..3
      await ledger.releaseSponsorship(settlement(2).paymentTxid, true); // nonce 1
      await ledger.releaseSponsorship(settlement(2).paymentTxid, true); // idempotent
      assert.equal(nonceOf(await sponsored(ledger, 5)), 1n);
      await ledger.releaseSponsorship(settlement(4).paymentTxid, true); // nonce 3, the top
      assert.equal(nonceOf(await sponsored(ledger, 6)), 3n);
      assert.equal(nonceOf(await sponsored(ledger, 7)), 4n);
      await ledger.releaseSponsorship(settlement(3).paymentTxid, false); // nonce 2: something else holds it
      assert.equal(nonceOf(await sponsored(ledger, 8)), 5n);
    });

    test("a release charging the payer hands the nonce back once, and counts as the payer's failure at no fee", async () => {
      const ledger = await create();
      for (let i = 1; i <= 2; i++) nonceOf(await sponsored(ledger, i)); // nonces 0, 1
      const charged = settlement(1).paymentTxid;
      await ledger.releaseSponsorship(charged, true, undefined, { chargePayerAt: 1_000_000 }); // nonce 0
      await ledger.releaseSponsorship(charged, true, undefined, { chargePayerAt: 1_000_000 }); // idempotent
      // A plain release after it neither hands the nonce out again nor drops the charge.
      await ledger.releaseSponsorship(charged, true);
      assert.equal(nonceOf(await sponsored(ledger, 3)), 0n);
      assert.equal(nonceOf(await sponsored(ledger, 4)), 2n);
      const refused = await sponsored(ledger, 5, [at(0n)], { limits: { maxFailedPerPayer: 1 } });
      assert.equal(refused.granted ? 'granted' : refused.reason, 'sponsor_limit_exceeded');
      // No fee counted for it: three sponsorships of 300 in the window, and a fourth fits 1,200.
      nonceOf(await sponsored(ledger, 6, [at(0n)], { limits: { maxFeesPerPayer: 1_200n } }));
      // Past the window from the charge it no longer counts.
      nonceOf(
        await sponsored(ledger, 7, [at(0n)], {
          limits: { maxFailedPerPayer: 1 },
          now: 1_000_000 + 60_001,
        }),
      );
    });

    test('a gap is reused even when the chain counts the mempool past it (possible_next_nonce)', async () => {
      const ledger = await create();
      for (let i = 1; i <= 3; i++) nonceOf(await sponsored(ledger, i)); // 0..2
      await ledger.release(settlement(2).paymentTxid); // nonce 1 was never broadcast
      // The node: 0 and 2 pending, confirmed 0, possible next 3, 1 missing.
      assert.equal(nonceOf(await sponsored(ledger, 4, [at(0n, 3n)])), 1n);
    });

    test('the chain wins when it is ahead; nonces handed back below its confirmed nonce are forgotten', async () => {
      const ledger = await create();
      nonceOf(await sponsored(ledger, 1));
      nonceOf(await sponsored(ledger, 2));
      await ledger.releaseSponsorship(settlement(1).paymentTxid, true);
      assert.equal(nonceOf(await sponsored(ledger, 3, [at(10n)])), 10n);
      assert.equal(nonceOf(await sponsored(ledger, 4, [at(10n)])), 11n);
      assert.equal(nonceOf(await sponsored(ledger, 5, [at(10n, 14n)])), 14n);
    });

    test('the key with the most room sponsors; when every key is full the pool says so', async () => {
      const ledger = await create();
      const request = (seed: number, candidates: ReturnType<typeof at>[]) =>
        ledger.claim(settlement(seed)).then((claim) =>
          ledger.reserveSponsorship(
            {
              paymentTxid: settlement(seed).paymentTxid,
              claimedAt: claim.claimed ? claim.record.createdAt : -1,
              network: NETWORK,
              payer: settlement(seed).payer,
              fee: 1n,
              candidates,
              capacity: 3n,
              limits: generous,
            },
            0,
          ),
        );
      const keys = () => [at(0n), at(0n, 0n, otherKey)];
      const granted: SponsorshipResult[] = [];
      for (let seed = 1; seed <= 6; seed++) granted.push(await request(seed, keys()));
      const bySponsor = (sponsor: string) =>
        granted.filter((g) => g.granted && g.sponsor === sponsor).length;
      assert.equal(bySponsor(key), 3);
      assert.equal(bySponsor(otherKey), 3);
      const full = await request(7, keys());
      assert.equal(full.granted ? 'granted' : full.reason, 'sponsor_capacity_exhausted');
      // A block confirms the first key's three: it has room again.
      assert.equal(nonceOf(await request(8, [at(3n), at(0n, 3n, otherKey)])), 3n);
    });

    test('limits: payments in flight, fees and failures per payer, and fees in total, within the window', async () => {
      const ledger = await create();
      const refusedFor = async (result: Promise<SponsorshipResult>) => {
        const r = await result;
        return r.granted ? 'granted' : r.reason;
      };
      nonceOf(await sponsored(ledger, 1, [at(0n)], { limits: { maxInFlightPerPayer: 1 } }));
      assert.equal(
        await refusedFor(sponsored(ledger, 2, [at(0n)], { limits: { maxInFlightPerPayer: 1 } })),
        'sponsor_limit_exceeded',
      );
      assert.equal(
        await refusedFor(sponsored(ledger, 3, [at(0n)], { limits: { maxFeesPerPayer: 500n } })),
        'sponsor_limit_exceeded',
        '300 committed + 300 > 500',
      );
      const other = 'ST3NBRSFKX28FQ2ZJ1MAKX58HKHSDGNV5N7R21XCP';
      assert.equal(
        await refusedFor(
          sponsored(ledger, 4, [at(0n)], { payer: other, limits: { maxFeesTotal: 500n } }),
        ),
        'sponsor_limit_exceeded',
      );
      await ledger.recordSponsorFailure(settlement(1).paymentTxid);
      assert.equal(
        await refusedFor(sponsored(ledger, 5, [at(0n)], { limits: { maxFailedPerPayer: 1 } })),
        'sponsor_limit_exceeded',
      );
      // Past the window, the failure and the fees no longer count.
      nonceOf(
        await sponsored(ledger, 6, [at(0n)], {
          limits: { maxFailedPerPayer: 1, maxFeesPerPayer: 500n },
          now: 1_000_000 + 60_001,
        }),
      );
    });

    test('release and an expired claim hand the sponsor nonce back; a fresh claim does not expire', async () => {
      const ledger = await create();
      nonceOf(await sponsored(ledger, 1)); // 0
      nonceOf(await sponsored(ledger, 2)); // 1
      nonceOf(await sponsored(ledger, 3)); // 2
      await ledger.release(settlement(1).paymentTxid);
      const record = await ledger.get(settlement(2).paymentTxid);
      assert.equal(
        await ledger.expireClaim(settlement(2).paymentTxid, record!.updatedAt),
        undefined,
      );
      const expired = await ledger.expireClaim(settlement(2).paymentTxid, record!.updatedAt + 1);
      assert.equal(expired?.sponsorNonce, 1n);
      assert.equal(await ledger.get(settlement(2).paymentTxid), undefined);
      assert.equal(nonceOf(await sponsored(ledger, 4)), 0n);
      assert.equal(nonceOf(await sponsored(ledger, 5)), 1n);
      assert.equal(nonceOf(await sponsored(ledger, 6)), 3n);
    });

    test('a release of a claim whose sponsor nonce something else spent drops it and never hands that nonce out again', async () => {
      const ledger = await create();
      nonceOf(await sponsored(ledger, 1)); // 0
      nonceOf(await sponsored(ledger, 2)); // 1
      const claimedAt = (await ledger.get(settlement(1).paymentTxid))!.createdAt;
      await ledger.release(settlement(1).paymentTxid, claimedAt + 1, { reuseSponsorNonce: false });
      assert.ok(await ledger.get(settlement(1).paymentTxid), 'another claim: kept');
      await ledger.release(settlement(1).paymentTxid, claimedAt, { reuseSponsorNonce: false });
      assert.equal(await ledger.get(settlement(1).paymentTxid), undefined, 'dropped');
      assert.equal(nonceOf(await sponsored(ledger, 3)), 2n, 'nonce 0 is spent: not reused');
      // The same payment is claimed and sponsored afresh, on the next nonce.
      assert.equal(nonceOf(await sponsored(ledger, 1)), 3n);
      await ledger.release(settlement(2).paymentTxid, undefined, { reuseSponsorNonce: true });
      assert.equal(nonceOf(await sponsored(ledger, 4)), 1n, 'reused when told to');
    });

    test("a sponsorship released for a claim made before leaves the payment's new claim its hold", async () => {
      const ledger = await create();
      nonceOf(await sponsored(ledger, 1)); // 0
      const claimedAt = (await ledger.get(settlement(1).paymentTxid))!.createdAt;
      await ledger.releaseSponsorship(settlement(1).paymentTxid, true, claimedAt + 1);
      assert.equal(nonceOf(await sponsored(ledger, 2)), 1n, 'another claim: the hold is kept');
      await ledger.releaseSponsorship(settlement(1).paymentTxid, true, claimedAt);
      assert.equal(nonceOf(await sponsored(ledger, 3)), 0n, 'this claim: handed back');
    });

    test('a gap can be taken for a filler only when no settlement in flight holds it', async () => {
      const ledger = await create();
      const account = { network: NETWORK, sponsor: key };
      nonceOf(await sponsored(ledger, 1)); // 0
      nonceOf(await sponsored(ledger, 2)); // 1
      assert.equal(await ledger.takeSponsorGap(account, 0n), false);
      await ledger.releaseSponsorship(settlement(1).paymentTxid, true);
      assert.equal(await ledger.takeSponsorGap(account, 0n), true);
      // Taken by the filler: no sponsorship gets it again.
      assert.equal(nonceOf(await sponsored(ledger, 3)), 2n);
    });

    test('a nonce held for a stranded transaction’s filler is never handed back, however the settlement ends', async () => {
      const ledger = await create();
      assert.ok(ledger.holdStrandedNonce, 'the ledger can hold a stranded nonce');
      const hold = (seed: number, claimedAt: number) =>
        ledger.holdStrandedNonce!(settlement(seed).paymentTxid, claimedAt);
      const broadcast = async (seed: number) => {
        const { createdAt } = (await ledger.get(settlement(seed).paymentTxid))!;
        assert.ok(
          await ledger.update(
            settlement(seed).paymentTxid,
            { state: 'broadcast' },
            ['claimed'],
            createdAt,
          ),
        );
        return createdAt;
      };
      for (let i = 1; i <= 3; i++) nonceOf(await sponsored(ledger, i)); // nonces 0..2
      const first = (await ledger.get(settlement(1).paymentTxid))!.createdAt;
      assert.equal(await hold(1, first), false, 'only a broadcast settlement');
      await broadcast(1);
      assert.equal(await hold(1, first + 1), false, 'only the claim named');
      assert.equal(await hold(1, first), true);
      assert.equal(await hold(1, first), true, 'idempotent');
      // Failed as a drop, then released for reuse: the nonce stays out of the pool.
      assert.ok(
        await ledger.update(
          settlement(1).paymentTxid,
          { state: 'failed', errorReason: 'transaction_failed', releaseNonce: true },
          ['broadcast'],
          first,
        ),
      );
      assert.equal(await hold(1, first), false, 'a failed settlement: no filler');
      await ledger.releaseSponsorship(settlement(1).paymentTxid, true, first);
      // Dropped with its claim, told to reuse the nonce: still not handed back.
      const second = await broadcast(2);
      assert.equal(await hold(2, second), true);
      await ledger.release(settlement(2).paymentTxid, second, {
        from: ['broadcast'],
        reuseSponsorNonce: true,
      });
      // Charged to its payer: the record kept holds no nonce, and none is handed back.
      const third = await broadcast(3);
      assert.equal(await hold(3, third), true);
      await ledger.releaseSponsorship(settlement(3).paymentTxid, true, third, { chargePayerAt: 1 });
      assert.equal(
        nonceOf(await sponsored(ledger, 4)),
        3n,
        'nonces 0, 1 and 2 were held for fillers',
      );
      // A plain settlement's nonce goes back as before.
      await ledger.releaseSponsorship(settlement(4).paymentTxid, true);
      assert.equal(nonceOf(await sponsored(ledger, 5)), 3n);
      // So does one of a payment claimed and sponsored afresh: the hold was its earlier sponsorship's.
      await ledger.release(settlement(3).paymentTxid, third);
      await new Promise((resolve) => setTimeout(resolve, 2));
      assert.equal(nonceOf(await sponsored(ledger, 3)), 4n);
      await ledger.releaseSponsorship(settlement(3).paymentTxid, true);
      assert.equal(nonceOf(await sponsored(ledger, 6)), 4n);
    });

    test('a sponsorship or release by a holder whose claim was expired and taken over touches nothing', async () => {
      const ledger = await create();
      const stale = await ledger.claim(settlement(1));
      assert.ok(stale.claimed);
      await ledger.expireClaim(settlement(1).paymentTxid, stale.record.updatedAt + 1);
      await new Promise((r) => setTimeout(r, 2));
      const taker = await ledger.claim(settlement(1));
      assert.ok(taker.claimed);
      assert.notEqual(taker.record.createdAt, stale.record.createdAt);
      const request = (claimedAt: number) =>
        ledger.reserveSponsorship(
          {
            paymentTxid: settlement(1).paymentTxid,
            claimedAt,
            network: NETWORK,
            payer: settlement(1).payer,
            fee: 1n,
            candidates: [at(0n)],
            capacity: 25n,
            limits: generous,
          },
          0,
        );
      const late = await request(stale.record.createdAt);
      assert.equal(late.granted ? 'granted' : late.reason, 'claim_lost');
      assert.equal(nonceOf(await request(taker.record.createdAt)), 0n);
      await ledger.release(settlement(1).paymentTxid, stale.record.createdAt);
      const kept = await ledger.get(settlement(1).paymentTxid);
      assert.equal(kept?.sponsorNonce, 0n, 'the taker’s claim and its sponsor nonce stay');
    });

    test('the highest nonce handed back stays reusable even when the chain still counts it pending', async () => {
      const ledger = await create();
      nonceOf(await sponsored(ledger, 1)); // 0
      nonceOf(await sponsored(ledger, 2)); // 1
      await ledger.releaseSponsorship(settlement(2).paymentTxid, true);
      // The node's view lags: nonce 1 still counted in possible_next_nonce.
      assert.equal(nonceOf(await sponsored(ledger, 3, [at(0n, 2n)])), 1n);
    });

    test('sponsors and networks are independent', async () => {
      const ledger = await create();
      assert.equal(nonceOf(await sponsored(ledger, 1)), 0n);
      assert.equal(nonceOf(await sponsored(ledger, 2, [at(0n, 0n, otherKey)])), 0n);
    });
  });

  describe(`${name}: in flight, leases and guarded claims`, () => {
    test('inFlight lists one payer’s claimed and broadcast settlements on one network', async () => {
      const ledger = await create();
      await ledger.claim(settlement(1));
      await ledger.claim(settlement(2));
      await ledger.claim(settlement(3, { payer: 'ST3NBRSFKX28FQ2ZJ1MAKX58HKHSDGNV5N7R21XCP' }));
      await ledger.update(settlement(2).paymentTxid, { state: 'broadcast' }, ['claimed']);
      await ledger.claim(settlement(4));
      await ledger.update(settlement(4).paymentTxid, { state: 'broadcast' }, ['claimed']);
      await ledger.update(settlement(4).paymentTxid, { state: 'success' }, ['broadcast']);
      const inFlight = await ledger.inFlight(NETWORK, settlement(1).payer);
      assert.deepEqual(
        inFlight.map((r) => r.paymentTxid).sort(),
        [settlement(1).paymentTxid, settlement(2).paymentTxid].sort(),
      );
      assert.deepEqual(await ledger.inFlight('stacks:1', settlement(1).payer), []);
    });

    test('lookup reads a settlement by either txid and the payer’s settlements in flight at once', async () => {
      const ledger = await create();
      await ledger.claim(settlement(1));
      await ledger.claim(settlement(2));
      await ledger.update(
        settlement(2).paymentTxid,
        { state: 'broadcast', txid: 'ee'.repeat(32) },
        ['claimed'],
      );
      await ledger.claim(settlement(3));
      await ledger.update(settlement(3).paymentTxid, { state: 'broadcast' }, ['claimed']);
      await ledger.update(settlement(3).paymentTxid, { state: 'success' }, ['broadcast']);
      const { payer } = settlement(1);
      const bySponsoredTxid = await ledger.lookup(`0x${'EE'.repeat(32)}`, NETWORK, payer);
      assert.equal(bySponsoredTxid.settled?.paymentTxid, settlement(2).paymentTxid);
      assert.deepEqual(
        bySponsoredTxid.inFlight.map((r) => r.paymentTxid).sort(),
        [settlement(1).paymentTxid, settlement(2).paymentTxid].sort(),
      );
      const finished = await ledger.lookup(settlement(3).paymentTxid, NETWORK, payer);
      assert.equal(finished.settled?.state, 'success');
      assert.equal(finished.inFlight.length, 2);
      const unknown = await ledger.lookup(
        'aa'.repeat(32),
        NETWORK,
        'ST3NBRSFKX28FQ2ZJ1MAKX58HKHSDGNV5N7R21XCP',
      );
      assert.deepEqual(unknown, { settled: undefined, inFlight: [] });
    });

    test('an update guarded by the claim time applies only to that claim', async () => {
      const ledger = await create();
      const first = await ledger.claim(settlement(1));
      assert.ok(first.claimed);
      assert.equal(
        await ledger.update(
          settlement(1).paymentTxid,
          { state: 'broadcast' },
          ['claimed'],
          first.record.createdAt + 1,
        ),
        undefined,
      );
      const moved = await ledger.update(
        settlement(1).paymentTxid,
        { state: 'broadcast' },
        ['claimed'],
        first.record.createdAt,
      );
      assert.equal(moved?.state, 'broadcast');
    });

    test('one answer per payment: the first recorded wins, with or without 0x, and 50 racing calls record one', async () => {
      const ledger = await create();
      const txid = settlement(1).paymentTxid;
      assert.equal(await ledger.answerOf(txid), undefined);
      assert.equal(await ledger.recordAnswer(txid, 'pending'), undefined);
      assert.equal(await ledger.recordAnswer(`0x${txid.toUpperCase()}`, 'success'), 'pending');
      assert.equal(await ledger.answerOf(txid), 'pending');
      const other = settlement(2).paymentTxid;
      const raced = await Promise.all(
        Array.from({ length: 50 }, () => ledger.recordAnswer(other, 'success')),
      );
      assert.equal(raced.filter((given) => given === undefined).length, 1);
    });

    test('a pending answer turns into success once: 50 racing calls, with or without 0x, turn it one time', async () => {
      const ledger = await create();
      const promote = ledger.promoteAnswer?.bind(ledger);
      assert.ok(promote, 'a ledger shared by processes implements promoteAnswer');
      const txid = settlement(1).paymentTxid;
      assert.equal(await promote(txid), false, 'never answered: nothing to turn');
      await ledger.recordAnswer(txid, 'pending');
      const raced = await Promise.all(
        Array.from({ length: 50 }, (_, i) => promote(i % 2 ? `0x${txid.toUpperCase()}` : txid)),
      );
      assert.equal(raced.filter(Boolean).length, 1);
      assert.equal(await ledger.answerOf(txid), 'success');
      assert.equal(await ledger.recordAnswer(txid, 'pending'), 'success');
      const served = settlement(2).paymentTxid;
      await ledger.recordAnswer(served, 'success');
      assert.equal(await promote(served), false, 'a success already given is never given again');
    });

    test('a pending answer about a claim released since gives way to the new claim’s answer; a success, or an answer naming no claim, stands', async () => {
      const ledger = await create();
      const { paymentTxid } = settlement(1);
      const first = await claimOnce(ledger, 1);
      assert.equal(await ledger.recordAnswer(paymentTxid, 'pending', first), undefined);
      const second = await claimAfresh(ledger, 1, first);
      assert.equal(await ledger.answerOf(paymentTxid, second), undefined, 'served nobody');
      assert.equal(await ledger.answerOf(paymentTxid), 'pending', 'without a claim, any answer');
      assert.equal(await ledger.promoteAnswer?.(paymentTxid, second), false, 'not this claim’s');
      assert.equal(await ledger.recordAnswer(`0x${paymentTxid}`, 'success', second), undefined);
      assert.equal(await ledger.answerOf(paymentTxid, second), 'success');
      assert.equal(await ledger.recordAnswer(paymentTxid, 'pending', second), 'success');

      const served = settlement(2).paymentTxid;
      const servedFirst = await claimOnce(ledger, 2);
      assert.equal(await ledger.recordAnswer(served, 'success', servedFirst), undefined);
      const servedSecond = await claimAfresh(ledger, 2, servedFirst);
      assert.equal(await ledger.answerOf(served, servedSecond), 'success', 'it was served');
      assert.equal(await ledger.recordAnswer(served, 'success', servedSecond), 'success');

      const unnamed = settlement(3).paymentTxid;
      const unnamedFirst = await claimOnce(ledger, 3);
      assert.equal(await ledger.recordAnswer(unnamed, 'pending'), undefined);
      const unnamedSecond = await claimAfresh(ledger, 3, unnamedFirst);
      assert.equal(await ledger.answerOf(unnamed, unnamedSecond), 'pending');
      assert.equal(await ledger.recordAnswer(unnamed, 'success', unnamedSecond), 'pending');
    });

    test('an answer about a claim no longer held never displaces a stored answer about the claim held now', async () => {
      const ledger = await create();
      const { paymentTxid } = settlement(1);
      const first = await claimOnce(ledger, 1);
      const second = await claimAfresh(ledger, 1, first);
      assert.equal(await ledger.recordAnswer(paymentTxid, 'pending', second), undefined);
      assert.equal(await ledger.recordAnswer(paymentTxid, 'pending', first), 'pending');
      assert.equal(await ledger.recordAnswer(paymentTxid, 'success', first), 'pending');
      assert.equal(await ledger.answerOf(paymentTxid, second), 'pending');
      assert.equal(await ledger.promoteAnswer?.(paymentTxid, first), false, 'not that claim’s');
      assert.equal(await ledger.promoteAnswer?.(paymentTxid, second), true);

      // A pending answer about the claim held now is that claim's: the same claim answers once.
      const other = settlement(2).paymentTxid;
      const held = await claimOnce(ledger, 2);
      assert.equal(await ledger.recordAnswer(other, 'pending', held), undefined);
      assert.equal(await ledger.recordAnswer(other, 'success', held), 'pending');
      assert.equal(
        await ledger.recordAnswer(other, 'success', held + 1),
        'pending',
        'no such claim',
      );
    });

    test('a pending answer about a released claim stands against an answer about a claim released too, or when none is held', async () => {
      const ledger = await create();
      const { paymentTxid, held: second } = await pendingAboutReleasedClaim(ledger, 1);
      const third = await claimAfresh(ledger, 1, second);
      assert.equal(
        await ledger.recordAnswer(paymentTxid, 'success', second),
        'pending',
        'the claim held is a third one',
      );
      await ledger.release(paymentTxid, third);
      assert.equal(
        await ledger.recordAnswer(paymentTxid, 'success', third),
        'pending',
        'no claim is held',
      );
    });

    test('answers about two claims of one payment in one turn: the second meets what the first left, in either order', async () => {
      const ledger = await create();
      for (const [seed, heldFirst] of [
        [1, false],
        [2, true],
      ] as const) {
        const { paymentTxid, gone, held } = await pendingAboutReleasedClaim(ledger, seed);
        const order = heldFirst ? [held, gone] : [gone, held];
        const given = await Promise.all(
          order.map((claimedAt) => ledger.recordAnswer(paymentTxid, 'success', claimedAt)),
        );
        assert.deepEqual(
          given.map((answer) => answer === undefined),
          heldFirst ? [true, false] : [false, true],
          `only the held claim's answer is recorded (${heldFirst ? 'first' : 'second'} in the turn)`,
        );
        assert.equal(await ledger.answerOf(paymentTxid, held), 'success');
      }
    });

    test('racing turns of a released claim’s pending answer and answers about the claim held now: one of them, never both', async () => {
      const ledger = await create();
      const promote = ledger.promoteAnswer?.bind(ledger);
      assert.ok(promote);
      for (let seed = 1; seed <= 5; seed++) {
        const { paymentTxid, gone, held } = await pendingAboutReleasedClaim(ledger, seed);
        const raced = await Promise.all(
          Array.from(
            { length: 20 },
            (_, i): Promise<boolean | string | undefined> =>
              i % 2
                ? promote(paymentTxid, gone)
                : ledger.recordAnswer(paymentTxid, 'success', held),
          ),
        );
        const turned = raced.filter((result) => result === true).length;
        const recorded = raced.filter((result) => result === undefined).length;
        assert.equal(
          turned + recorded,
          1,
          `one serve of payment ${seed}: ${JSON.stringify(raced)}`,
        );
      }
    });

    test('50 racing answers about a new claim over a pending one about a claim released since: one is recorded', async () => {
      const ledger = await create();
      const { paymentTxid, held: second } = await pendingAboutReleasedClaim(ledger, 1);
      const raced = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          ledger.recordAnswer(paymentTxid, i % 2 ? 'success' : 'pending', second),
        ),
      );
      assert.equal(raced.filter((given) => given === undefined).length, 1);
      assert.ok(await ledger.answerOf(paymentTxid, second));
    });

    test('a claim keeps the resource it was settled for; one made without is read back without', async () => {
      const ledger = await create();
      const resource = 'https://api.example.com/weather?city=Paris';
      const bound = await ledger.claim(settlement(1, { resource }));
      assert.equal(bound.claimed && bound.record.resource, resource);
      assert.equal((await ledger.get(settlement(1).txid))?.resource, resource);
      await ledger.claim(settlement(2));
      const unbound = await ledger.get(settlement(2).txid);
      assert.equal(unbound && 'resource' in unbound, false);
    });

    test('a lease is held by one holder until it expires, and renewed by its holder', async () => {
      const ledger = await create();
      assert.equal(await ledger.acquireLease('keeper:x', 'a', 1_000, 10_000), true);
      assert.equal(await ledger.acquireLease('keeper:x', 'b', 1_000, 10_500), false);
      assert.equal(await ledger.acquireLease('keeper:x', 'a', 1_000, 10_900), true);
      assert.equal(await ledger.acquireLease('keeper:x', 'b', 1_000, 11_500), false);
      assert.equal(await ledger.acquireLease('keeper:x', 'b', 1_000, 11_900), true);
      assert.equal(await ledger.acquireLease('keeper:y', 'a', 1_000, 11_900), true);
    });

    test('readLease shows the last holder and its expiry, held or lapsed; an unknown lease is undefined', async () => {
      const ledger = await create();
      // Leases outlive the tables a suite empties between tests: a name of its own each run.
      const name = `process:${randomUUID()}`;
      const readLease = ledger.readLease?.bind(ledger);
      assert.ok(readLease, 'a ledger shared by processes implements readLease');
      assert.equal(await readLease(name), undefined);
      await ledger.acquireLease(name, 'a', 1_000, 10_000);
      assert.deepEqual(await readLease(name), { holder: 'a', expiresAt: 11_000 });
      await ledger.acquireLease(name, 'b', 1_000, 12_000);
      assert.deepEqual(await readLease(name), { holder: 'b', expiresAt: 13_000 });
    });

    test('a claim keeps the process that made it; one made without is read back without', async () => {
      const ledger = await create();
      const held = await ledger.claim(settlement(1, { holder: 'process-a' }));
      assert.equal(held.claimed && held.record.holder, 'process-a');
      assert.equal((await ledger.get(settlement(1).txid))?.holder, 'process-a');
      await ledger.claim(settlement(2));
      assert.equal((await ledger.get(settlement(2).txid))?.holder, undefined);
    });
  });

  describe(`${name}: payment identifiers`, () => {
    const PAYER = settlement(1).payer;
    const key = (id: string, payer = PAYER) => ({ network: NETWORK, payer, id });
    const WINDOW = 10_000;
    /** The ledger's payment-identifier methods: every ledger shared by processes implements them. */
    const methods = (ledger: Ledger) => {
      const { bindPaymentId, paymentIdBinding, replayPaymentId, prunePaymentIds } = ledger;
      assert.ok(
        bindPaymentId && paymentIdBinding && replayPaymentId && prunePaymentIds,
        'the payment-identifier methods',
      );
      return {
        bind: bindPaymentId.bind(ledger),
        binding: paymentIdBinding.bind(ledger),
        replay: replayPaymentId.bind(ledger),
        prune: prunePaymentIds.bind(ledger),
      };
    };
    const txidOf = (seed: number) => settlement(seed).paymentTxid;

    test('an id binds to the first payment named with it; another payment of that payer sees that binding', async () => {
      const ids = methods(await create());
      const id = `pay_${randomUUID().replaceAll('-', '')}`;
      assert.equal(await ids.binding(key(id)), undefined);
      const first = await ids.bind(key(id), txidOf(1), 1_000, WINDOW);
      assert.deepEqual(first, { paymentTxid: txidOf(1), boundAt: 1_000, replays: 0 });
      assert.equal(
        (await ids.bind(key(id), `0x${txidOf(1).toUpperCase()}`, 2_000, WINDOW)).boundAt,
        1_000,
      );
      assert.equal((await ids.bind(key(id), txidOf(2), 2_000, WINDOW)).paymentTxid, txidOf(1));
      assert.deepEqual(await ids.binding(key(id)), first);
    });

    test('ids are scoped to (network, payer): another payer binds the same id to its own payment', async () => {
      const ids = methods(await create());
      const id = 'pay_0123456789abcdef';
      await ids.bind(key(id), txidOf(1), 1_000, WINDOW);
      const other = await ids.bind(key(id, settlement(1).payTo), txidOf(2), 1_000, WINDOW);
      assert.equal(other.paymentTxid, txidOf(2));
      const mainnet = await ids.bind({ ...key(id), network: 'stacks:1' }, txidOf(3), 1_000, WINDOW);
      assert.equal(mainnet.paymentTxid, txidOf(3));
      assert.equal((await ids.binding(key(id)))?.paymentTxid, txidOf(1));
    });

    test('a lapsed id binds afresh; replays count within the window and up to the limit only', async () => {
      const ids = methods(await create());
      const id = 'pay_0123456789abcdef';
      assert.equal(await ids.replay(key(id), txidOf(1), 1_000, WINDOW, 2), 'unbound');
      await ids.bind(key(id), txidOf(1), 1_000, WINDOW);
      assert.equal(await ids.replay(key(id), txidOf(2), 1_500, WINDOW, 2), 'conflict');
      assert.equal(await ids.replay(key(id), `0x${txidOf(1)}`, 1_500, WINDOW, 2), 'replayed');
      assert.equal(await ids.replay(key(id), txidOf(1), 1_600, WINDOW, 2), 'replayed');
      assert.equal(await ids.replay(key(id), txidOf(1), 1_700, WINDOW, 2), 'exhausted');
      assert.equal((await ids.binding(key(id)))?.replays, 2);
      const late = 'pay_fedcba9876543210';
      await ids.bind(key(late), txidOf(3), 1_000, WINDOW);
      assert.equal(await ids.replay(key(late), txidOf(3), 1_000 + WINDOW, WINDOW, 2), 'exhausted');
      const again = await ids.bind(key(late), txidOf(4), 1_000 + WINDOW, WINDOW);
      assert.deepEqual(again, { paymentTxid: txidOf(4), boundAt: 1_000 + WINDOW, replays: 0 });
    });

    test('50 racing binds of one id to different payments: one payment wins for all', async () => {
      const ids = methods(await create());
      const id = 'pay_race0123456789';
      const bound = await Promise.all(
        Array.from({ length: 50 }, (_, seed) => ids.bind(key(id), txidOf(seed + 1), 1_000, WINDOW)),
      );
      assert.equal(new Set(bound.map((each) => each.paymentTxid)).size, 1);
    });

    test('50 racing replays of one id with a limit of 3: exactly 3 are counted', async () => {
      const ids = methods(await create());
      const id = 'pay_race0123456789';
      await ids.bind(key(id), txidOf(1), 1_000, WINDOW);
      const replays = await Promise.all(
        Array.from({ length: 50 }, () => ids.replay(key(id), txidOf(1), 1_500, WINDOW, 3)),
      );
      assert.equal(replays.filter((replay) => replay === 'replayed').length, 3);
      assert.equal(replays.filter((replay) => replay === 'exhausted').length, 47);
    });

    test('prunePaymentIds forgets ids bound before the cut-off and keeps the rest', async () => {
      const ids = methods(await create());
      await ids.bind(key('pay_old0123456789ab'), txidOf(1), 1_000, WINDOW);
      await ids.bind(key('pay_new0123456789ab'), txidOf(2), 5_000, WINDOW);
      await ids.prune(5_000);
      assert.equal(await ids.binding(key('pay_old0123456789ab')), undefined);
      assert.equal((await ids.binding(key('pay_new0123456789ab')))?.paymentTxid, txidOf(2));
    });

    test('prunePaymentIds keeps, until unservedBefore, the id of a payment that may still be served: claimed for a resource, answered no success, and in flight, a success or a drop', async () => {
      const ledger = await create();
      const ids = methods(ledger);
      const resource = 'https://seller.example/paid';
      /** Claims settlement `seed` (for `resource` unless told otherwise), moves it to `state` and answers `answer`. */
      const settled = async (
        seed: number,
        state: 'claimed' | 'broadcast' | 'success' | 'aborted' | 'dropped' | 'refused',
        {
          answer,
          forResource = true,
        }: { answer?: 'pending' | 'success'; forResource?: boolean } = {},
      ) => {
        const claimed = settlement(seed, forResource ? { resource } : {});
        assert.ok((await ledger.claim(claimed)).claimed);
        const { paymentTxid } = claimed;
        if (state !== 'claimed')
          await ledger.update(paymentTxid, { state: 'broadcast' }, ['claimed']);
        const failed = { state: 'failed', errorReason: 'transaction_failed' } as const;
        const endings: Record<typeof state, SettlementUpdate | undefined> = {
          claimed: undefined,
          broadcast: undefined,
          success: { state: 'success' },
          aborted: { ...failed, errorMessage: 'abort_by_response' },
          dropped: { ...failed, errorMessage: 'dropped_stale_garbage_collect', releaseNonce: true },
          // The node's refusal, its nonces given back.
          refused: {
            state: 'failed',
            errorReason: 'broadcast_failed',
            errorMessage: 'ConflictingNonceInMempool',
            releaseNonce: true,
          },
        };
        const ended = endings[state];
        if (ended) assert.ok(await ledger.update(paymentTxid, ended, ['broadcast']));
        if (answer) assert.equal(await ledger.recordAnswer(paymentTxid, answer), undefined);
      };
      const cases = [
        ['pay_claimed_000000001', 11, () => settled(11, 'claimed'), true],
        ['pay_broadcast_0000001', 12, () => settled(12, 'broadcast'), true],
        ['pay_pending_confirmed', 13, () => settled(13, 'success', { answer: 'pending' }), true],
        ['pay_mined_unanswered1', 14, () => settled(14, 'success'), true],
        ['pay_dropped_000000001', 15, () => settled(15, 'dropped'), true],
        ['pay_served_0000000001', 16, () => settled(16, 'success', { answer: 'success' }), false],
        ['pay_aborted_000000001', 17, () => settled(17, 'aborted'), false],
        ['pay_no_resource_00001', 18, () => settled(18, 'success', { forResource: false }), false],
        ['pay_refused_000000001', 19, () => settled(19, 'refused'), false],
        ['pay_never_claimed_001', 20, async () => {}, false],
      ] as const;
      for (const [id, seed, settle] of cases) {
        await settle();
        await ids.bind(key(id), txidOf(seed), 1_000, WINDOW);
      }
      /** The ids still bound, of `cases`. */
      const bound = async () => {
        const kept: string[] = [];
        for (const [id] of cases) if (await ids.binding(key(id))) kept.push(id);
        return kept;
      };
      const mayBeServed = cases.filter(([, , , kept]) => kept).map(([id]) => id);
      // Judged before it left the window, or past where the judgement starts: nothing goes.
      await ids.prune(1_000, { unservedBefore: 500 });
      await ids.prune(5_000, { unservedBefore: 500, judgedFrom: 5_000 });
      assert.equal((await bound()).length, cases.length);
      await ids.prune(5_000, { unservedBefore: 500 });
      assert.deepEqual(await bound(), mayBeServed);
      // Judged once: an id judged by an earlier call is not judged again, whatever its payment became since.
      assert.equal(await ledger.recordAnswer(txidOf(14), 'success'), undefined);
      await ids.prune(6_000, { unservedBefore: 500, judgedFrom: 5_000 });
      assert.deepEqual(await bound(), mayBeServed);
      await ids.prune(6_000, { unservedBefore: 500 });
      assert.deepEqual(
        await bound(),
        mayBeServed.filter((id) => id !== 'pay_mined_unanswered1'),
      );
      await ids.prune(6_000, { unservedBefore: 1_001, judgedFrom: 5_000 });
      assert.deepEqual(await bound(), []);
    });

    test('an id kept past its window for a payment in flight still lapses: the payer binds it to another payment', async () => {
      const ledger = await create();
      const ids = methods(ledger);
      const id = 'pay_kept_then_reused_1';
      assert.ok(
        (await ledger.claim(settlement(31, { resource: 'https://seller.example/paid' }))).claimed,
      );
      await ids.bind(key(id), txidOf(31), 1_000, WINDOW);
      await ids.prune(1_000 + WINDOW + 1, { unservedBefore: 0 });
      assert.equal((await ids.binding(key(id)))?.paymentTxid, txidOf(31), 'kept');
      const rebound = await ids.bind(key(id), txidOf(32), 1_000 + WINDOW + 1, WINDOW);
      assert.deepEqual(rebound, {
        paymentTxid: txidOf(32),
        boundAt: 1_000 + WINDOW + 1,
        replays: 0,
      });
    });
  });

  describe(`${name}: dropped payments`, () => {
    const sponsorKey = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
    const limits: SponsorLimits = {
      maxInFlightPerPayer: 1_000,
      maxFeesPerPayer: 10n ** 12n,
      maxFeesTotal: 10n ** 12n,
      maxFailedPerPayer: 1_000,
      windowMs: 60_000,
    };
    /** Claims settlement `seed`, sponsored when asked, and broadcasts it. */
    async function broadcast(ledger: Ledger, seed: number, options: { sponsored?: boolean } = {}) {
      const claim = await ledger.claim(settlement(seed));
      assert.ok(claim.claimed);
      const { paymentTxid } = settlement(seed);
      if (options.sponsored) {
        const granted = await ledger.reserveSponsorship(
          {
            paymentTxid,
            claimedAt: claim.record.createdAt,
            network: NETWORK,
            payer: settlement(seed).payer,
            fee: 300n,
            candidates: [{ sponsor: sponsorKey, confirmedNext: 0n, possibleNext: 0n }],
            capacity: 1_000n,
            limits,
          },
          1_000_000,
        );
        assert.ok(granted.granted);
      }
      await ledger.update(paymentTxid, { state: 'broadcast' }, ['claimed']);
      return claim.record;
    }
    /** Fails a broadcast settlement as the tracker does: a drop gives both nonces back, an abort neither. */
    async function fail(ledger: Ledger, seed: number, how: 'dropped' | 'aborted') {
      const { paymentTxid } = settlement(seed);
      const errorMessage =
        how === 'dropped' ? 'dropped_stale_garbage_collect' : 'abort_by_response';
      const dropped = how === 'dropped';
      await ledger.update(
        paymentTxid,
        {
          state: 'failed',
          errorReason: 'transaction_failed',
          errorMessage,
          ...(dropped ? { releaseNonce: true } : {}),
        },
        ['broadcast'],
      );
      if (!dropped) return ledger.recordSponsorFailure(paymentTxid);
      const claimedAt = (await ledger.get(paymentTxid))!.createdAt;
      await ledger.releaseSponsorship(paymentTxid, true, claimedAt);
    }

    test('a release guarded by state drops a refused settlement only in those states, with its sponsor nonce as told', async () => {
      const ledger = await create();
      const refused = await broadcast(ledger, 1, { sponsored: true }); // sponsor nonce 0
      const { paymentTxid } = settlement(1);
      await ledger.release(paymentTxid, refused.createdAt, { from: ['failed'] });
      assert.equal((await ledger.get(paymentTxid))?.state, 'broadcast', 'not failed yet: kept');
      await ledger.update(
        paymentTxid,
        { state: 'failed', errorReason: 'broadcast_failed', releaseNonce: true },
        ['broadcast'],
      );
      await ledger.release(paymentTxid, refused.createdAt, { from: ['broadcast'] });
      assert.equal((await ledger.get(paymentTxid))?.state, 'failed', 'no longer broadcast: kept');
      await ledger.release(paymentTxid, refused.createdAt, {
        from: ['failed'],
        reuseSponsorNonce: false,
      });
      assert.equal(await ledger.get(paymentTxid), undefined, 'dropped');
      // The same payment, claimed afresh, is sponsored on the next nonce: the one something else spent stays spent.
      await broadcast(ledger, 1, { sponsored: true });
      assert.equal((await ledger.get(paymentTxid))?.sponsorNonce, 1n);
      const succeeded = await broadcast(ledger, 2, { sponsored: true });
      await ledger.update(settlement(2).paymentTxid, { state: 'success' }, ['broadcast']);
      await ledger.release(settlement(2).paymentTxid, succeeded.createdAt, {
        from: ['broadcast', 'failed'],
      });
      assert.equal(
        (await ledger.get(settlement(2).paymentTxid))?.state,
        'success',
        'a success is never dropped',
      );
    });

    test('a gap taken for a filler before a failed settlement releases its unspent nonce: the release hands nothing back', async () => {
      const ledger = await create();
      const account = { network: NETWORK, sponsor: sponsorKey };
      /** Claims, sponsors and broadcasts `seed`, then fails it as the tracker does before it releases the nonce. */
      const failedBeforeRelease = async (seed: number, how: 'refused' | 'dropped') => {
        const claim = await broadcast(ledger, seed, { sponsored: true });
        await ledger.update(
          settlement(seed).paymentTxid,
          how === 'refused'
            ? { state: 'failed', errorReason: 'broadcast_failed', releaseNonce: true }
            : {
                state: 'failed',
                errorReason: 'transaction_failed',
                errorMessage: 'dropped_stale_garbage_collect',
                releaseNonce: true,
              },
          ['broadcast'],
        );
        return claim;
      };
      const refused = await failedBeforeRelease(1, 'refused'); // sponsor nonce 0, its refusal being judged
      const refusedToo = await failedBeforeRelease(2, 'refused'); // 1
      const dropped = await failedBeforeRelease(3, 'dropped'); // 2
      await broadcast(ledger, 4, { sponsored: true }); // 3, in flight
      await broadcast(ledger, 5, { sponsored: true }); // 4, failed on chain: it spent its nonce
      await fail(ledger, 5, 'aborted');
      const untouched = await failedBeforeRelease(6, 'refused'); // 5, no filler on it
      for (const nonce of [0n, 1n, 2n]) {
        assert.equal(await ledger.takeSponsorGap(account, nonce), true, `nonce ${nonce}`);
      }
      assert.equal(
        await ledger.takeSponsorGap(account, 3n),
        false,
        'one in flight holds its nonce',
      );
      assert.equal(
        await ledger.takeSponsorGap(account, 4n),
        true,
        'a failure on chain is not in flight',
      );
      // Each release comes after its filler was sent: the judgements read the chain before it, the drop was seen before.
      await ledger.releaseSponsorship(settlement(1).paymentTxid, true, refused.createdAt);
      await ledger.release(settlement(2).paymentTxid, refusedToo.createdAt, {
        from: ['failed'],
        reuseSponsorNonce: true,
      });
      await ledger.releaseSponsorship(settlement(3).paymentTxid, true, dropped.createdAt);
      await ledger.releaseSponsorship(settlement(6).paymentTxid, true, untouched.createdAt);
      await broadcast(ledger, 7, { sponsored: true });
      await broadcast(ledger, 8, { sponsored: true });
      assert.deepEqual(
        [
          (await ledger.get(settlement(7).paymentTxid))?.sponsorNonce,
          (await ledger.get(settlement(8).paymentTxid))?.sponsorNonce,
        ],
        [5n, 6n],
        'only nonce 5, released with no filler on it, is handed out again; 0 to 2 are the fillers’',
      );
      // The failure on chain kept its hold: it still counts against its payer.
      const again = await ledger.claim(settlement(9, { payer: settlement(5).payer }));
      assert.ok(again.claimed);
      const refusedForFailures = await ledger.reserveSponsorship(
        {
          paymentTxid: settlement(9).paymentTxid,
          claimedAt: again.record.createdAt,
          network: NETWORK,
          payer: settlement(5).payer,
          fee: 300n,
          candidates: [{ sponsor: sponsorKey, confirmedNext: 0n, possibleNext: 0n }],
          capacity: 1_000n,
          limits: { ...limits, maxFailedPerPayer: 1 },
        },
        1_000_000,
      );
      assert.equal(
        !refusedForFailures.granted && refusedForFailures.reason,
        'sponsor_limit_exceeded',
      );
      assert.match(refusedForFailures.granted ? '' : refusedForFailures.message, /fail/);
    });

    test('a dropped settlement forgotten after a filler took its nonce, claimed afresh: the late release leaves the new claim alone', async () => {
      const ledger = await create();
      const account = { network: NETWORK, sponsor: sponsorKey };
      const first = await broadcast(ledger, 1, { sponsored: true }); // sponsor nonce 0
      const { paymentTxid } = settlement(1);
      await ledger.update(
        paymentTxid,
        {
          state: 'failed',
          errorReason: 'transaction_failed',
          errorMessage: 'dropped_stale_garbage_collect',
          releaseNonce: true,
        },
        ['broadcast'],
      );
      assert.equal(
        await ledger.forgetDropped?.(paymentTxid, first.createdAt),
        false,
        'its sponsor nonce still held: kept',
      );
      assert.equal(await ledger.takeSponsorGap(account, 0n), true);
      assert.equal(
        await ledger.forgetDropped?.(paymentTxid, first.createdAt),
        true,
        'now forgotten',
      );
      // The payment is claimed afresh a moment later (a later clock), and sponsored on the next nonce.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const second = await broadcast(ledger, 1, { sponsored: true });
      assert.notEqual(second.createdAt, first.createdAt);
      assert.equal((await ledger.get(paymentTxid))?.sponsorNonce, 1n);
      // The first tracker's release comes last, with its own claim's time.
      await ledger.releaseSponsorship(paymentTxid, true, first.createdAt);
      await broadcast(ledger, 2, { sponsored: true });
      assert.equal(
        (await ledger.get(settlement(2).paymentTxid))?.sponsorNonce,
        2n,
        'nonce 1 is still the new claim’s, and nonce 0 the filler’s',
      );
      assert.equal(await ledger.takeSponsorGap(account, 1n), false, 'the new claim holds nonce 1');
    });

    test('forgetDropped forgets a dropped settlement and its answer: the same bytes are claimed and answered anew', async () => {
      const ledger = await create();
      const { paymentTxid } = settlement(1);
      const claimed = await broadcast(ledger, 1);
      assert.equal(await ledger.recordAnswer(paymentTxid, 'pending'), undefined);
      await fail(ledger, 1, 'dropped');
      assert.equal(
        await ledger.forgetDropped?.(`0x${paymentTxid.toUpperCase()}`, claimed.createdAt),
        true,
      );
      assert.equal(await ledger.get(paymentTxid), undefined);
      assert.equal(await ledger.answerOf(paymentTxid), undefined);
      assert.equal((await ledger.claim(settlement(1))).claimed, true);
      assert.equal(await ledger.recordAnswer(paymentTxid, 'success'), undefined);
      assert.equal(
        await ledger.forgetDropped?.(paymentTxid, claimed.createdAt),
        false,
        'once only',
      );
    });

    test('forgetDropped keeps a drop a call answered success (its read, ahead of the drop, found it mined), with its answer', async () => {
      const ledger = await create();
      const { paymentTxid } = settlement(1);
      const claimed = await broadcast(ledger, 1);
      await fail(ledger, 1, 'dropped');
      assert.equal(await ledger.recordAnswer(paymentTxid, 'success', claimed.createdAt), undefined);
      assert.equal(await ledger.forgetDropped?.(paymentTxid, claimed.createdAt), false);
      assert.equal((await ledger.get(paymentTxid))?.state, 'failed');
      assert.equal(await ledger.answerOf(paymentTxid, claimed.createdAt), 'success');
      const claim = await ledger.claim(settlement(1));
      assert.equal(!claim.claimed && claim.conflict, 'txid', 'never claimed afresh');
    });

    test('forgetDropped keeps a failure on chain, another claim, an unfinished or refused settlement, and a drop still holding its sponsor nonce', async () => {
      const ledger = await create();
      const kept = async (seed: number, claimedAt: number, why: string) => {
        assert.equal(
          await ledger.forgetDropped?.(settlement(seed).paymentTxid, claimedAt),
          false,
          why,
        );
        assert.ok(await ledger.get(settlement(seed).paymentTxid), why);
      };
      const aborted = await broadcast(ledger, 1);
      await fail(ledger, 1, 'aborted');
      await kept(1, aborted.createdAt, 'failed on chain: its nonce is spent');
      const abortedSponsored = await broadcast(ledger, 2, { sponsored: true });
      await fail(ledger, 2, 'aborted');
      await kept(2, abortedSponsored.createdAt, 'failed on chain, sponsored');
      const other = await broadcast(ledger, 3);
      await fail(ledger, 3, 'dropped');
      await kept(3, other.createdAt + 1, 'another claim of the payment');
      const inFlight = await broadcast(ledger, 4);
      await kept(4, inFlight.createdAt, 'still broadcast');
      const refused = await broadcast(ledger, 5);
      await ledger.update(
        settlement(5).paymentTxid,
        {
          state: 'failed',
          errorReason: 'broadcast_failed',
          errorMessage: 'BadNonce',
          releaseNonce: true,
        },
        ['broadcast'],
      );
      await kept(5, refused.createdAt, 'refused by the node: not a drop');
      const halfway = await broadcast(ledger, 6, { sponsored: true });
      await ledger.update(
        settlement(6).paymentTxid,
        {
          state: 'failed',
          errorReason: 'transaction_failed',
          errorMessage: 'never_seen',
          releaseNonce: true,
        },
        ['broadcast'],
      );
      await kept(6, halfway.createdAt, 'its sponsor nonce not given back yet');
      assert.equal(await ledger.forgetDropped?.('cd'.repeat(32), 0), false, 'unknown');
    });

    test('a dropped sponsored payment, forgotten, is claimed again and gets its sponsor nonce back', async () => {
      const ledger = await create();
      const claimed = await broadcast(ledger, 1, { sponsored: true });
      assert.equal((await ledger.get(settlement(1).paymentTxid))?.sponsorNonce, 0n);
      await fail(ledger, 1, 'dropped');
      assert.equal(
        await ledger.forgetDropped?.(settlement(1).paymentTxid, claimed.createdAt),
        true,
      );
      await broadcast(ledger, 1, { sponsored: true });
      const again = await ledger.get(settlement(1).paymentTxid);
      assert.equal(again?.state, 'broadcast');
      assert.equal(again?.sponsorNonce, 0n, 'the nonce the drop gave back');
    });

    test('20 concurrent forgetDropped of one dropped settlement: exactly one forgets it', async () => {
      const ledger = await create();
      const claimed = await broadcast(ledger, 1);
      await fail(ledger, 1, 'dropped');
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          ledger.forgetDropped?.(settlement(1).paymentTxid, claimed.createdAt),
        ),
      );
      assert.equal(results.filter((forgotten) => forgotten === true).length, 1);
    });
  });
}

/** Claims `settlement(seed)`, which must be free: the claim's time. */
async function claimOnce(ledger: Ledger, seed: number): Promise<number> {
  const claim = await ledger.claim(settlement(seed));
  assert.ok(claim.claimed, `settlement ${seed} is claimed`);
  return claim.record.createdAt;
}

/**
 * `settlement(seed)` claimed and answered `pending`, then released and claimed afresh: the state a retry that followed
 * a broadcast leaves when the holder's claim is released under it (the broadcast never reached the node).
 */
async function pendingAboutReleasedClaim(ledger: Ledger, seed: number) {
  const { paymentTxid } = settlement(seed);
  const gone = await claimOnce(ledger, seed);
  assert.equal(await ledger.recordAnswer(paymentTxid, 'pending', gone), undefined);
  return { paymentTxid, gone, held: await claimAfresh(ledger, seed, gone) };
}

/**
 * Releases the claim of `settlement(seed)` made at `claimedAt` and claims the payment afresh, as a retry does after a
 * release: the new claim's time, never the old one's (claims are told apart by their time, to the millisecond).
 */
async function claimAfresh(ledger: Ledger, seed: number, claimedAt: number): Promise<number> {
  let previous = claimedAt;
  for (let attempt = 0; attempt < 100; attempt++) {
    await ledger.release(settlement(seed).paymentTxid, previous);
    const next = await claimOnce(ledger, seed);
    if (next !== claimedAt) return next;
    previous = next;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error('the ledger’s clock did not move in 100 claims');
}
