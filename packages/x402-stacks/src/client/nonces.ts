/**
 * Nonces for one paying account. The facilitator admits only the account's next possible nonce, so payments from one
 * account are handed out one at a time, in nonce order: a payment holds its turn from signing until the server has
 * answered the paid request. The counter is local, because right after a broadcast the API may not count the new
 * transaction yet, and reading it again would hand out the same nonce twice. Any doubt sends the next turn back to
 * the chain.
 * @module
 */
import type { ChainClient } from '../chain/client.js';

/**
 * One payment's turn and its nonce. Exactly one of `used` or `resync` ends the turn; later calls are ignored.
 * @example
 * ```ts
 * const lease = await nonces.acquire();
 * lease.used(); // the next payment takes lease.nonce + 1
 * ```
 */
export type NonceLease = {
  readonly nonce: bigint;
  /** The transaction reached the chain (settled or pending): the next payment takes `nonce + 1`. */
  used(): void;
  /** The nonce may be unused (refused, or the outcome is unknown): the next payment reads the chain again. */
  resync(): void;
};

/**
 * Hands out consecutive nonces to the payments of one account.
 * @example
 * ```ts
 * const nonces = createNonceAllocator(chain, account.address);
 * const lease = await nonces.acquire(); // waits for the previous payment to finish
 * try { await pay(lease.nonce); lease.used(); } catch (error) { lease.resync(); throw error; }
 * ```
 */
export type NonceAllocator = {
  /** Waits for the account's previous payment to finish, then leases the next nonce. */
  acquire(): Promise<NonceLease>;
  /** Forgets the local counter; the next lease reads the chain. */
  resync(): void;
};

/**
 * Creates the nonce allocator of one account over a chain client (which reads `possible_next_nonce`, mempool
 * included).
 * @example
 * ```ts
 * const nonces = createNonceAllocator(createChainClient({ network: 'testnet' }), account.address);
 * ```
 */
export function createNonceAllocator(chain: ChainClient, address: string): NonceAllocator {
  let next: bigint | undefined;
  // The end of the current turn: each acquire waits on the previous one.
  let turn: Promise<void> = Promise.resolve();

  return {
    async acquire() {
      let endTurn!: () => void;
      const previous = turn;
      turn = new Promise<void>((resolve) => {
        endTurn = resolve;
      });
      await previous;
      let nonce: bigint;
      try {
        nonce = next ?? (await chain.getNextNonce(address));
      } catch (error) {
        endTurn();
        throw error;
      }
      let ended = false;
      const end = (following: bigint | undefined) => {
        if (ended) return;
        ended = true;
        next = following;
        endTurn();
      };
      return { nonce, used: () => end(nonce + 1n), resync: () => end(undefined) };
    },
    resync() {
      next = undefined;
    },
  };
}
