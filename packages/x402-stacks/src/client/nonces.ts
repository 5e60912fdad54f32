/**
 * Nonces for one paying account. The facilitator admits only the account's next possible nonce, so payments from one
 * account are handed out one at a time, in nonce order: a payment holds its turn from signing until its transaction
 * is in the mempool (then the next one may follow at `nonce + 1`) or the server has answered. The counter is local,
 * because right after a broadcast the API may not count the new transaction yet, and reading it again would hand
 * out the same nonce twice. Any doubt sends the next turn back to the chain.
 *
 * Parallel nonces: when the facilitator accepts chained nonces (it advertises `maxNonceAhead`, and holds a payment
 * until the ones before it are in the mempool), `acquire({ inFlight: k })` passes the turn on as soon as the payment
 * is sent (`watch`), so up to `k` payments of the account are in flight at once, on consecutive nonces. Any doubt
 * about one of them (a refusal, an unknown outcome) still sends the next turn back to the chain.
 *
 * Confirmed turns: a sponsored payment is admitted only at its payer's confirmed next nonce (a sponsor will not wait
 * behind a pending transaction that could be replaced and never mined), so a payment sent while the one before it is
 * still pending would wait at the facilitator, holding one of its nonce-wait slots. `acquire({ confirmed: true })`
 * passes the turn on only once the chain confirms this payment's nonce, or its answer says it settled.
 *
 * A turn is bounded: after `leaseMs` the lease expires and the next payment reads its nonce from the chain, so one
 * server that never answers cannot block the account. If the expired payment was not spent, the next one reuses its
 * nonce; two transactions on one nonce are mutually exclusive (at most one lands), so this never charges twice.
 * @module
 */
import type { ChainClient } from '../chain/client.js';

/**
 * One payment's turn and its nonce. The first of `used`, `resync`, `pending` (unless acquired `confirmed`), the
 * transaction showing up in the mempool while `watch` runs (acquired `confirmed`: confirmed), or the lease expiring
 * (`leaseMs`, then as `resync`) ends the turn; later calls are ignored.
 * @example
 * ```ts
 * const lease = await nonces.acquire();
 * lease.used(); // the next payment takes lease.nonce + 1
 * ```
 */
export type NonceLease = {
  readonly nonce: bigint;
  /** The transaction settled (or, without `confirmed`, reached the chain): the next payment takes `nonce + 1`. */
  used(): void;
  /**
   * The server answered that the transaction is pending, not yet settled. As `used`, but a lease acquired with
   * `confirmed` keeps the turn until the chain confirms the nonce (looked up every `watchMs` while another payment
   * waits), or its lease expires.
   */
  pending(): void;
  /** The nonce may be unused (refused, or the outcome is unknown): the next payment reads the chain again. */
  resync(): void;
  /**
   * The payment is on its way. While other payments of the account wait, the chain is asked every `watchMs` whether
   * this nonce is spent (the transaction is in the mempool; acquired `confirmed`, confirmed); once it is, the turn
   * passes on without waiting for the server's answer.
   */
  watch(): void;
};

/**
 * Hands out consecutive nonces to the payments of one account.
 * @example
 * ```ts
 * const nonces = createNonceAllocator(chain, account.address);
 * const lease = await nonces.acquire(); // waits for the previous payment's turn to end
 * try { await pay(lease.nonce); lease.used(); } catch (error) { lease.resync(); throw error; }
 * ```
 */
export type NonceAllocator = {
  /**
   * Waits for the account's previous payment to finish its turn, then leases the next nonce. With `inFlight` above 1
   * (a facilitator that accepts chained nonces), a sent payment passes its turn on at once, and the lease waits only
   * until fewer than `inFlight` payments of the account are unanswered.
   */
  acquire(options?: NonceAcquireOptions): Promise<NonceLease>;
  /** Forgets the local counter; the next lease reads the chain. */
  resync(): void;
};

/**
 * Options of one {@link NonceAllocator.acquire}.
 * @example
 * ```ts
 * const lease = await nonces.acquire({ confirmed: offer.terms.sponsor !== undefined });
 * ```
 */
export type NonceAcquireOptions = {
  /** How many of the account's payments may be unanswered at once (chained nonces). Default 1. */
  readonly inFlight?: number;
  /**
   * The turn passes on only once the chain confirms this payment's nonce (or the server answers that it settled), not
   * as soon as the mempool has it: for a sponsored payment, which the facilitator admits only at the payer's confirmed
   * next nonce. Ignored with `inFlight` above 1.
   */
  readonly confirmed?: boolean;
};

/**
 * Options of {@link createNonceAllocator}.
 * @example
 * ```ts
 * const options: NonceAllocatorOptions = { watchMs: 500 };
 * ```
 */
export type NonceAllocatorOptions = {
  /** How often a payment in flight is looked up in the mempool while others wait, ms. Default 1,000. */
  watchMs?: number;
  /**
   * The longest a payment holds the account's turn, ms. Past it, the turn passes on and the next payment reads its
   * nonce from the chain (it reuses the nonce if that one was not spent, and at most one of the two lands). Default
   * 30,000.
   */
  leaseMs?: number;
};

/**
 * Creates the nonce allocator of one account over a chain client (which reads `possible_next_nonce`, mempool
 * included).
 * @example
 * ```ts
 * const nonces = createNonceAllocator(createChainClient({ network: 'testnet' }), account.address);
 * ```
 */
export function createNonceAllocator(
  chain: ChainClient,
  address: string,
  { watchMs = 1_000, leaseMs = 30_000 }: NonceAllocatorOptions = {},
): NonceAllocator {
  let next: bigint | undefined;
  // The end of the current turn: each acquire waits on the previous one.
  let turn: Promise<void> = Promise.resolve();
  let waiting = 0;
  // Payments handed a nonce and not yet answered, and those waiting for one of them to be.
  let unanswered = 0;
  const freed: (() => void)[] = [];

  return {
    async acquire(options = {}) {
      const inFlight = Math.max(1, Math.floor(options.inFlight ?? 1));
      const confirmed = inFlight === 1 && options.confirmed === true;
      let endTurn!: () => void;
      const previous = turn;
      turn = new Promise<void>((resolve) => {
        endTurn = resolve;
      });
      waiting++;
      // The turn waited on may end only by a look at the chain or its lease, on timers that never keep Node alive (a
      // turn nobody waits for must not): this payment, waiting, does.
      const alive = keepAlive();
      try {
        await previous;
        // One payment at a time passes its turn on when the chain has it; chained ones, up to `inFlight` unanswered.
        while (inFlight > 1 && unanswered >= inFlight) {
          await new Promise<void>((resolve) => freed.push(resolve));
        }
      } finally {
        clearInterval(alive);
      }
      waiting--;
      let nonce: bigint;
      try {
        nonce = next ?? (await chain.getNextNonce(address));
      } catch (error) {
        endTurn();
        throw error;
      }
      let ended = false;
      let answered = false;
      unanswered++;
      const answer = () => {
        if (answered) return;
        answered = true;
        unanswered--;
        freed.shift()?.();
      };
      const end = (following: bigint | undefined) => {
        if (ended) return;
        ended = true;
        next = following;
        endTurn();
      };
      const outcome = (following: bigint | undefined) => {
        clearTimeout(expiry);
        // A payment that passed its turn on early and then failed: the nonces after it may be unused, so the chain
        // decides the next one.
        if (ended && following === undefined && !answered) next = undefined;
        end(following);
        answer();
      };
      // Past its lease, a payment's outcome is unknown: the chain decides the next nonce.
      const expiry = later(() => outcome(undefined), leaseMs);
      const spent = async (): Promise<boolean> => {
        try {
          const reached = confirmed
            ? (await chain.getNonces(address)).confirmedNext
            : await chain.getNextNonce(address);
          return reached > nonce;
        } catch {
          return false; // the server's answer, or the lease, will end the turn instead
        }
      };
      let watching = false;
      const watch = () => {
        if (watching) return;
        watching = true;
        const look = async () => {
          if (ended) return;
          // Without a payment waiting, there is nothing to gain and an API quota to spend.
          if (waiting > 0 && (await spent())) end(nonce + 1n);
          else later(look, watchMs);
        };
        later(look, watchMs);
      };
      return {
        nonce,
        used: () => outcome(nonce + 1n),
        pending() {
          if (!confirmed) {
            outcome(nonce + 1n);
            return;
          }
          // Answered: the turn alone is kept, until the chain confirms the nonce or the lease runs out.
          answer();
          watch();
        },
        resync: () => outcome(undefined),
        watch() {
          // Chained nonces: the facilitator holds this one's successors until it is in the mempool.
          if (inFlight > 1) {
            end(nonce + 1n);
            return;
          }
          watch();
        },
      };
    },
    resync() {
      next = undefined;
    },
  };
}

/** A timer that keeps Node alive until cleared, and does nothing else. */
function keepAlive(): ReturnType<typeof setInterval> {
  return setInterval(() => {}, 1 << 30);
}

// A watch or an expiry must never keep Node alive; browsers have no unref.
function later(task: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(task, ms);
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
