/**
 * Payment reservations: one handler run per payment with `settle: 'after-handler'`. There the handler runs before the
 * facilitator claims the payment, so every concurrent request carrying the same payment (or another payment on the
 * same payer nonce, of which at most one can ever settle) would pass `/verify` and run the handler; only one settles
 * and the others are discarded, but their side effects (an order, an email, a generation) are not. A request reserves
 * its payment here, by its signed txid and by (network, payer, nonce), before its handler runs; a second request
 * finds it taken.
 *
 * The registry is process-wide: two routes with the same price and payTo accept the same payment. It is bounded, and
 * every reservation has a lease, so an adapter that never finishes a request cannot hold a payment forever. A
 * settled payment is remembered as spent for a while after settle answered: the facilitator's `/verify` may read the
 * payer's nonce from a short cache and accept another payment on that nonce, which settle would then refuse.
 * @module
 */

/** What identifies a payment: its signed txid, and the account nonce it spends. */
export type ReservedPayment = {
  /** The txid of the transaction as the buyer signed it. */
  readonly txid: string;
  /** CAIP-2. */
  readonly network: string;
  readonly payer: string;
  readonly nonce: bigint;
};

/** A payment held by one request. Both calls are idempotent, and the first one decides. */
export type Reservation = {
  /** The request ends without a settlement (handler failed, client gone): the payment is free again. */
  release(): void;
  /** The facilitator claimed the payment: kept as spent, so that later requests with it are refused here. */
  consume(): void;
};

/**
 * The answer to `reserve`: the reservation, or why there is none. `by` tells which key is taken; `state` whether
 * the holder is still being served or already settled.
 */
export type ReserveOutcome =
  | { readonly reserved: true; readonly reservation: Reservation }
  | {
      readonly reserved: false;
      readonly by: 'txid' | 'nonce';
      readonly state: 'in-progress' | 'spent';
    }
  | { readonly reserved: false; readonly by: 'capacity' };

/**
 * A registry of payments being served.
 * @example
 * ```ts
 * const outcome = paymentReservations.reserve({ txid, network, payer, nonce }, 300_000);
 * if (!outcome.reserved) return refuse();
 * try { await handle(); } finally { outcome.reservation.release(); }
 * ```
 */
export type PaymentReservations = {
  /** Reserves the payment for `leaseMs` at most, unless its txid or (network, payer, nonce) is held already. */
  reserve(payment: ReservedPayment, leaseMs: number): ReserveOutcome;
  /** Reservations and spent payments held now, expired ones included until they are swept. */
  readonly size: number;
};

/** Options of {@link createPaymentReservations}. */
export type PaymentReservationsOptions = {
  /** Most payments held at once. Default 10,000. */
  readonly capacity?: number;
  /** How long a settled payment is remembered. Default 60 s: the largest verify cache the facilitator allows. */
  readonly spentMemoryMs?: number;
  readonly now?: () => number;
};

type Entry = {
  readonly keys: readonly [string, string];
  state: 'in-progress' | 'spent';
  expiresAt: number;
};

/**
 * Creates a registry. The middleware uses the process-wide {@link paymentReservations}; a separate one is for tests.
 *
 * At capacity, expired entries go first, then spent ones, oldest first. A payment still in progress is never
 * dropped before its lease ends: with every entry in progress, a new payment is refused (nothing is settled, the
 * buyer can retry) rather than let a handler run twice.
 *
 * @example
 * ```ts
 * const reservations = createPaymentReservations({ capacity: 100, now: () => clock });
 * ```
 */
export function createPaymentReservations(
  options: PaymentReservationsOptions = {},
): PaymentReservations {
  const capacity = options.capacity ?? 10_000;
  const spentMemoryMs = options.spentMemoryMs ?? 60_000;
  const now = options.now ?? Date.now;
  // Both keys of an entry point at it; the set keeps the entries in the order they were made (oldest first).
  const byKey = new Map<string, Entry>();
  const entries = new Set<Entry>();

  function drop(entry: Entry): void {
    if (!entries.delete(entry)) return;
    for (const key of entry.keys) if (byKey.get(key) === entry) byKey.delete(key);
  }

  function makeRoom(at: number): void {
    for (const entry of entries) if (entry.expiresAt <= at) drop(entry);
    for (const entry of entries) {
      if (entries.size < capacity) return;
      if (entry.state === 'spent') drop(entry);
    }
  }

  function reserve(payment: ReservedPayment, leaseMs: number): ReserveOutcome {
    const at = now();
    const keys = [
      `txid:${payment.txid.toLowerCase()}`,
      `nonce:${payment.network}:${payment.payer}:${payment.nonce}`,
    ] as const;
    for (const [index, key] of keys.entries()) {
      const holder = byKey.get(key);
      if (!holder) continue;
      if (holder.expiresAt <= at) {
        drop(holder);
        continue;
      }
      return { reserved: false, by: index === 0 ? 'txid' : 'nonce', state: holder.state };
    }
    if (entries.size >= capacity) makeRoom(at);
    if (entries.size >= capacity) return { reserved: false, by: 'capacity' };

    const entry: Entry = { keys, state: 'in-progress', expiresAt: at + leaseMs };
    entries.add(entry);
    for (const key of keys) byKey.set(key, entry);
    let open = true;
    return {
      reserved: true,
      reservation: {
        release() {
          if (!open) return;
          open = false;
          drop(entry);
        },
        consume() {
          if (!open) return;
          open = false;
          // Past its lease, the entry may be gone (swept, or taken over): there is nothing left to mark.
          if (!entries.has(entry)) return;
          entry.state = 'spent';
          entry.expiresAt = now() + spentMemoryMs;
          // Re-added at the end: entries stay ordered by age, which is what makeRoom evicts by.
          entries.delete(entry);
          entries.add(entry);
        },
      },
    };
  }

  return {
    reserve,
    get size() {
      return entries.size;
    },
  };
}

/**
 * The process-wide registry every payment middleware in this process shares.
 * @example
 * ```ts
 * const outcome = paymentReservations.reserve(payment, requirements.maxTimeoutSeconds * 1000);
 * ```
 */
export const paymentReservations: PaymentReservations = processWide();

// Kept on globalThis: the ESM and CJS builds (or two installed copies) loaded in one process must still share one
// registry, or the same payment could run a handler once per copy.
function processWide(): PaymentReservations {
  const slot = Symbol.for('x402-stacks.paymentReservations');
  const global = globalThis as Record<symbol, PaymentReservations | undefined>;
  global[slot] ??= createPaymentReservations();
  return global[slot];
}
