/**
 * What verification reads from the chain about a payer: the next nonce and the balances that pay. `/verify` may read
 * it through a short per-payer cache (a seller that verifies before it settles asks twice for the same payer within
 * milliseconds); `/settle` always reads it fresh, and the node's answer to the broadcast is final either way.
 * @module
 */
import type { ChainClient } from '../chain/client.js';

/** A payer's chain state, as verification uses it. */
export type PayerChainState = {
  /** The next possible nonce, mempool counted. */
  readonly nonce: bigint;
  /** The next nonce a block needs: transactions of the payer below it are mined. */
  readonly confirmedNonce: bigint;
  readonly stx: bigint;
  /** The paid token's balance; undefined for STX payments. */
  readonly token: bigint | undefined;
};

export type ChainStateReader = {
  /** Reads a payer's state; `fresh` skips the cache (and refreshes it). */
  read(
    chain: ChainClient,
    key: { network: string; payer: string; token: string | undefined },
    fresh: boolean,
  ): Promise<PayerChainState>;
};

/** Enough payers for a busy facilitator; past it the oldest entries go first. */
const MAX_ENTRIES = 10_000;

/**
 * @param ttlMs how long a read may be reused by a later non-fresh read; 0 turns the cache off.
 * @example
 * ```ts
 * const reader = createChainStateReader(2_000, Date.now);
 * const state = await reader.read(chain, { network: 'stacks:2147483648', payer, token: undefined }, false);
 * ```
 */
export function createChainStateReader(ttlMs: number, now: () => number): ChainStateReader {
  // A promise per key, so concurrent verifies of one payer share a single round of chain reads.
  const entries = new Map<string, { at: number; state: Promise<PayerChainState> }>();

  function load(chain: ChainClient, payer: string, token: string | undefined) {
    return Promise.all([
      chain.getNextNonce(payer),
      chain.getAccount(payer),
      token ? chain.getFtBalance(payer, token) : Promise.resolve(undefined),
    ]).then(([nonce, account, tokenBalance]) => ({
      nonce,
      confirmedNonce: account.nonce,
      stx: account.balance,
      token: tokenBalance,
    }));
  }

  return {
    read(chain, { network, payer, token }, fresh) {
      if (ttlMs <= 0) return load(chain, payer, token);
      const key = `${network}|${payer}|${token ?? ''}`;
      const cached = entries.get(key);
      if (!fresh && cached && now() - cached.at < ttlMs) return cached.state;
      const state = load(chain, payer, token);
      entries.delete(key);
      entries.set(key, { at: now(), state });
      // A failed read is not worth remembering: the next verify asks again.
      state.catch(() => {
        if (entries.get(key)?.state === state) entries.delete(key);
      });
      if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
      return state;
    },
  };
}
