import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChainClient } from '../chain/client.js';
import { createChainStateReader, type PayerChainState } from './chain-state.js';

const TTL = 2_000;
const PAYER = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM';
type Key = { network: string; payer: string; token: string | undefined };
const STX_KEY: Key = { network: 'stacks:2147483648', payer: PAYER, token: undefined };
const TOKEN = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.sbtc-token::sbtc-token';
const TOKEN_KEY: Key = { ...STX_KEY, token: TOKEN };

/** A chain whose account reads answer what the test sets, counted; and a clock the test moves. */
function harness() {
  let clock = 1_000_000;
  const chainHolds = { nonce: 5n, pending: 0n, stx: 10_000n, token: 700n };
  const calls = { accounts: 0, nonces: 0, tokens: 0 };
  const chain = {
    async getAccount() {
      calls.accounts++;
      return { nonce: chainHolds.nonce, balance: chainHolds.stx };
    },
    async getNextNonce() {
      calls.nonces++;
      return chainHolds.nonce + chainHolds.pending;
    },
    async getFtBalance() {
      calls.tokens++;
      return chainHolds.token;
    },
  } as unknown as ChainClient;
  const reader = createChainStateReader(TTL, () => clock);
  return {
    reader,
    chain,
    calls,
    chainHolds,
    /** Moves the clock; a negative step sets it back, as a wall clock can be. */
    tick(ms: number) {
      clock += ms;
    },
  };
}

/** Settle's first read of a payment at `nonce`, as `readPayerState` asks it. */
const settleRead = (h: ReturnType<typeof harness>, nonce: bigint, key = STX_KEY) =>
  h.reader.read(h.chain, key, true, nonce);

describe('chain state after a settlement seen here', () => {
  test("the payer's next nonce is judged on what the settlement left, without a read", async () => {
    const h = harness();
    const judged = await settleRead(h, 5n);
    assert.deepEqual(judged, {
      state: { nonce: 5n, confirmedNonce: 5n, stx: 10_000n, token: undefined },
      shared: false,
    });
    assert.equal(h.calls.accounts, 1);
    h.tick(300);
    h.reader.settled(STX_KEY, judged.state, { nonce: 5n, stx: 1_300n, token: 0n });
    const next = await settleRead(h, 6n);
    assert.deepEqual(next, {
      state: { nonce: 6n, confirmedNonce: 6n, stx: 8_700n, token: undefined },
      shared: true,
    });
    assert.equal(h.calls.accounts, 1, 'no read for the next nonce');
    // Another nonce than the one the settlement leaves next is read from the chain.
    await settleRead(h, 7n);
    assert.equal(h.calls.accounts, 2);
  });

  test('a token payment leaves its amount off the token and its fee off STX', async () => {
    const h = harness();
    const judged = await settleRead(h, 5n, TOKEN_KEY);
    h.reader.settled(TOKEN_KEY, judged.state, { nonce: 5n, stx: 300n, token: 200n });
    assert.deepEqual((await settleRead(h, 6n, TOKEN_KEY)).state, {
      nonce: 6n,
      confirmedNonce: 6n,
      stx: 9_700n,
      token: 500n,
    });
    assert.equal(h.calls.tokens, 1);
    // The STX key of the same payer knows nothing of it.
    await settleRead(h, 6n);
    assert.equal(h.calls.accounts, 2);
  });

  test('a derived state lasts the cache time of the read it comes from, however many settlements it passes through', async () => {
    const h = harness();
    let state = (await settleRead(h, 5n)).state;
    for (let nonce = 5n; nonce < 9n; nonce++) {
      h.tick(400);
      h.reader.settled(STX_KEY, state, { nonce, stx: 100n, token: 0n });
      const next = await settleRead(h, nonce + 1n);
      assert.equal(next.shared, true, `nonce ${nonce + 1n} at ${(nonce - 4n) * 400n} ms`);
      state = next.state;
    }
    assert.equal(h.calls.accounts, 1);
    assert.equal(state.stx, 9_600n);
    // 2,000 ms after the read: the next settlement asks the chain.
    h.tick(400);
    h.reader.settled(STX_KEY, state, { nonce: 9n, stx: 100n, token: 0n });
    assert.equal((await settleRead(h, 10n)).shared, false);
    assert.equal(h.calls.accounts, 2);
  });

  test('nothing is derived from a state judged below the confirmed nonce, from a state the reader did not give, or with the cache off', async () => {
    const h = harness();
    h.chainHolds.nonce = 3n;
    // Payments 3 and 4 pending: the state read for nonce 5 has the payer's balance before them.
    const ahead = await settleRead(h, 5n);
    assert.equal(ahead.state.confirmedNonce, 3n);
    h.reader.settled(STX_KEY, ahead.state, { nonce: 5n, stx: 100n, token: 0n });
    const made: PayerChainState = {
      nonce: 5n,
      confirmedNonce: 5n,
      stx: 10n ** 9n,
      token: undefined,
    };
    h.reader.settled(STX_KEY, made, { nonce: 5n, stx: 100n, token: 0n });
    await settleRead(h, 6n);
    assert.equal(h.calls.accounts, 2, 'read from the chain');

    const off = createChainStateReader(0, () => 0);
    const judged = await off.read(h.chain, STX_KEY, true, 3n);
    off.settled(STX_KEY, judged.state, { nonce: 3n, stx: 100n, token: 0n });
    assert.equal((await off.read(h.chain, STX_KEY, true, 4n)).shared, false);
  });

  test('verify never takes a derived state: it reads the mempool', async () => {
    const h = harness();
    const judged = await settleRead(h, 5n);
    h.reader.settled(STX_KEY, judged.state, { nonce: 5n, stx: 100n, token: 0n });
    const verified = await h.reader.read(h.chain, STX_KEY, true);
    assert.equal(verified.shared, false);
    assert.equal(h.calls.nonces, 1);
    assert.equal(h.calls.accounts, 2);
  });

  test("a settlement's own chain read replaces a derived state", async () => {
    const h = harness();
    const judged = await settleRead(h, 5n);
    h.reader.settled(STX_KEY, judged.state, { nonce: 5n, stx: 100n, token: 0n });
    // A settlement not at the derived nonce reads the chain, and the derived state goes.
    await settleRead(h, 7n);
    assert.equal(h.calls.accounts, 2);
    assert.equal((await settleRead(h, 6n)).shared, false);
    assert.equal(h.calls.accounts, 3);
  });

  test('a balance never goes below zero', async () => {
    const h = harness();
    const judged = await settleRead(h, 5n);
    h.reader.settled(STX_KEY, judged.state, { nonce: 5n, stx: 20_000n, token: 0n });
    assert.equal((await settleRead(h, 6n)).state.stx, 0n);
  });

  test('a clock stepped back answers nothing from memory, and derives nothing with the cache off', async () => {
    const h = harness();
    const judged = await settleRead(h, 5n);
    h.reader.settled(STX_KEY, judged.state, { nonce: 5n, stx: 100n, token: 0n });
    await h.reader.read(h.chain, STX_KEY, true);
    const reads = h.calls.accounts;
    h.tick(-60 * 60_000);
    assert.equal((await settleRead(h, 6n)).shared, false, 'the derived state');
    assert.equal((await h.reader.read(h.chain, STX_KEY, true)).shared, false, "a verify's read");
    assert.equal(h.calls.accounts, reads + 2);

    let clock = 10_000;
    const off = createChainStateReader(0, () => clock);
    const read = await off.read(h.chain, STX_KEY, true, 5n);
    clock -= 5_000;
    off.settled(STX_KEY, read.state, { nonce: 5n, stx: 100n, token: 0n });
    assert.equal((await off.read(h.chain, STX_KEY, true, 6n)).shared, false);
  });

  test('nothing is derived from a state that saw the payer pending, and a refusal forgets what was derived', async () => {
    const h = harness();
    // A verify's read while the payer's nonce 5 is pending: nonce 6 possible, 5 confirmed.
    h.chainHolds.pending = 1n;
    const seen = await h.reader.read(h.chain, STX_KEY, true);
    assert.deepEqual([seen.state.nonce, seen.state.confirmedNonce], [6n, 5n]);
    h.reader.settled(STX_KEY, seen.state, { nonce: 5n, stx: 100n, token: 0n });
    const next = await settleRead(h, 6n);
    assert.deepEqual(
      [next.shared, next.state.stx, next.state.confirmedNonce],
      [true, 10_000n, 5n],
      "the verify's read, shared as before: nothing derived",
    );

    const other = harness();
    const judged = await settleRead(other, 5n);
    other.reader.settled(STX_KEY, judged.state, { nonce: 5n, stx: 100n, token: 0n });
    assert.equal((await settleRead(other, 6n)).state.stx, 9_900n);
    other.reader.forget(STX_KEY);
    assert.deepEqual(await settleRead(other, 6n), {
      state: { nonce: 5n, confirmedNonce: 5n, stx: 10_000n, token: undefined },
      shared: false,
    });
  });
});
