/**
 * What verification reads from the chain about a payer: the next nonce and the balances that pay. Callers about the
 * same payer at the same time share one read. `/verify` may also take a read from a short per-payer cache (a seller
 * that verifies before it settles asks twice for the same payer within milliseconds); `/settle` takes a shared read
 * only where that is safe for money (see `settleMayShare` in verify.ts), and the node's answer to the broadcast is
 * final either way.
 *
 * A settlement the payer pays the fee of that reads for itself reads the account first, and the mempool only when the
 * payment's nonce is not the confirmed one: at the confirmed nonce the mempool could only show the payer's own pending
 * transaction at that nonce, and the node settles that at the broadcast (it refuses the payment, or the payer's higher
 * fee replaces its own transaction), which is the very case `settleMayShare` accepts for a shared read. One request
 * instead of two on the common path. A sponsored settlement reads both, afresh: a refusal there would cost a sponsor
 * nonce.
 *
 * A settlement seen succeeding here leaves a state of its own (`settled`). Judged on a state that saw the payer's
 * confirmed nonce and nothing of it pending, it says what the payer held just before the transaction; once the
 * transaction is mined, the next nonce is confirmed and the balances are at least that less what it spent (what the
 * payer receives only adds). That state judges the settlement of the payer's next nonce in place of a read, on the
 * grounds `settleMayShare` gives for a shared read: if the payer spent that nonce elsewhere meanwhile, the node refuses
 * the payment, nothing served and nothing charged (and the refusal forgets the state, `forget`). It is never shared
 * with verify (it saw nothing of the mempool since), and it lasts the cache time from the chain read it comes from,
 * however many settlements pass it on: a payer paying without pause is read again that often. So it helps only where
 * a payment confirms within the cache time of its read (fast blocks, a payer paying again at once); where blocks come
 * seconds apart, nothing is derived.
 * @module
 */
import type { ChainClient } from '../chain/client.js';

/** A payer's chain state, as verification uses it. */
export type PayerChainState = {
  /**
   * The next possible nonce, mempool counted; in a settlement's own read at the confirmed nonce (the mempool unread),
   * the confirmed nonce.
   */
  readonly nonce: bigint;
  /** The next nonce a block needs: transactions of the payer below it are mined. */
  readonly confirmedNonce: bigint;
  readonly stx: bigint;
  /** The paid token's balance; undefined for STX payments. */
  readonly token: bigint | undefined;
};

/** Whose state, on which network, with which token's balance (undefined for STX payments). */
export type PayerKey = { network: string; payer: string; token: string | undefined };

/** A read of a payer's state, and whether it was another caller's (in flight or recent) rather than this one's. */
export type ChainStateRead = { readonly state: PayerChainState; readonly shared: boolean };

export type ChainStateReader = {
  /**
   * Reads a payer's state. With `share`, a read of the same payer still in flight (concurrent callers ask the chain
   * once) or younger than the cache time answers; without it the chain is asked anew, and that read replaces the
   * cached one.
   * @param settleNonce for a settlement the payer pays the fee of, its payment's nonce: a read this caller makes skips
   *   the mempool when the confirmed nonce is that one (a payment the node then refuses costs a claim and a
   *   broadcast, no sponsor nonce), and such a read, which says nothing of pending transactions, is neither cached nor shared.
   */
  read(
    chain: ChainClient,
    key: PayerKey,
    share: boolean,
    settleNonce?: bigint,
  ): Promise<ChainStateRead>;
  /**
   * Records a settlement of the payer's that this facilitator saw succeed, judged on `judgedOn` (a state this reader
   * gave) at the payer's confirmed nonce: the state it leaves, the payer's next nonce confirmed and what the
   * transaction spent taken off, may answer the settlement of the payer's next nonce in place of a read, until the
   * read it derives from is older than the cache time. See `settleMayShare` for why that is safe.
   */
  settled(
    key: PayerKey,
    judgedOn: PayerChainState,
    spent: { readonly nonce: bigint; readonly stx: bigint; readonly token: bigint },
  ): void;
  /** Drops what `settled` left for the payer: the node refused a payment of the payer's, so the chain is read again. */
  forget(key: PayerKey): void;
};

/** Enough payers for a busy facilitator; past it the oldest entries go first. */
const MAX_ENTRIES = 10_000;

/**
 * @param ttlMs how long a finished read may answer later callers that share; 0 shares only reads still in flight.
 * @example
 * ```ts
 * const reader = createChainStateReader(2_000, Date.now);
 * const { state } = await reader.read(chain, { network: 'stacks:2147483648', payer, token: undefined }, true);
 * ```
 */
export function createChainStateReader(ttlMs: number, now: () => number): ChainStateReader {
  // A promise per key, so concurrent callers about one payer share a single round of chain reads. `at` is when the
  // read started: its answer is at least that fresh.
  const entries = new Map<string, { at: number; state: Promise<PayerChainState>; done: boolean }>();
  /** When the chain read behind each state this reader gave began: a state derived from another keeps its read's. */
  const readAt = new WeakMap<PayerChainState, number>();
  /** The state the payer's last settlement seen succeeding here left, by key (see `settled`). */
  const afterSettlement = new Map<string, PayerChainState>();
  /** Whether something read at `at` may still answer: a clock stepped back (or not a number) says it may not. */
  const young = (at: number) => {
    const age = now() - at;
    return age >= 0 && age < ttlMs;
  };
  const fresh = (state: PayerChainState) => {
    const at = readAt.get(state);
    return at !== undefined && young(at);
  };

  function load(chain: ChainClient, payer: string, token: string | undefined) {
    return Promise.all([
      chain.getNextNonce(payer),
      chain.getAccount(payer),
      tokenBalanceOf(chain, payer, token),
    ]).then(([nonce, account, tokenBalance]) => ({
      nonce,
      confirmedNonce: account.nonce,
      stx: account.balance,
      token: tokenBalance,
    }));
  }

  async function loadForSettle(
    chain: ChainClient,
    payer: string,
    token: string | undefined,
    settleNonce: bigint,
  ): Promise<PayerChainState> {
    const [account, tokenBalance] = await Promise.all([
      chain.getAccount(payer),
      tokenBalanceOf(chain, payer, token),
    ]);
    const nonce = account.nonce === settleNonce ? account.nonce : await chain.getNextNonce(payer);
    return { nonce, confirmedNonce: account.nonce, stx: account.balance, token: tokenBalance };
  }

  /** Remembers when the read behind `state` began. */
  function stamped(state: PayerChainState, at: number): PayerChainState {
    readAt.set(state, at);
    return state;
  }

  return {
    async read(chain, payerKey, share, settleNonce) {
      const { payer, token } = payerKey;
      const key = keyOf(payerKey);
      if (share && settleNonce !== undefined) {
        const left = afterSettlement.get(key);
        if (left && left.confirmedNonce === settleNonce && fresh(left))
          return { state: left, shared: true };
      }
      const cached = entries.get(key);
      if (share && cached && (!cached.done || young(cached.at)))
        return { state: await cached.state, shared: true };
      const at = now();
      if (settleNonce !== undefined) {
        // The chain's word is newer than any state derived before it.
        afterSettlement.delete(key);
        return {
          state: stamped(await loadForSettle(chain, payer, token, settleNonce), at),
          shared: false,
        };
      }
      const entry = {
        at,
        state: load(chain, payer, token).then((state) => stamped(state, at)),
        done: false,
      };
      entries.delete(key);
      entries.set(key, entry);
      if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
      try {
        return { state: await entry.state, shared: false };
      } catch (error) {
        // A failed read is not worth remembering: the next caller asks again.
        if (entries.get(key) === entry) entries.delete(key);
        throw error;
      } finally {
        entry.done = true;
        if (ttlMs <= 0 && entries.get(key) === entry) entries.delete(key);
      }
    },

    settled(payerKey, judgedOn, spent) {
      // Only a state that saw the payer's nonce confirmed and nothing of it pending says what the payer held just
      // before this transaction.
      const at = readAt.get(judgedOn);
      if (
        at === undefined ||
        !young(at) ||
        judgedOn.confirmedNonce !== spent.nonce ||
        judgedOn.nonce !== spent.nonce
      )
        return;
      const left = (balance: bigint, less: bigint) => (balance > less ? balance - less : 0n);
      const next = spent.nonce + 1n;
      const key = keyOf(payerKey);
      afterSettlement.delete(key);
      afterSettlement.set(
        key,
        stamped(
          {
            nonce: next,
            confirmedNonce: next,
            stx: left(judgedOn.stx, spent.stx),
            token: judgedOn.token === undefined ? undefined : left(judgedOn.token, spent.token),
          },
          at,
        ),
      );
      if (afterSettlement.size > MAX_ENTRIES)
        afterSettlement.delete(afterSettlement.keys().next().value!);
    },

    forget(payerKey) {
      afterSettlement.delete(keyOf(payerKey));
    },
  };
}

function keyOf({ network, payer, token }: PayerKey): string {
  return `${network}|${payer}|${token ?? ''}`;
}

function tokenBalanceOf(
  chain: ChainClient,
  payer: string,
  token: string | undefined,
): Promise<bigint | undefined> {
  return token ? chain.getFtBalance(payer, token) : Promise.resolve(undefined);
}
