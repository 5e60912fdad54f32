/**
 * What a seller remembers for sign-in-with-x: who paid for what and when (so a returning payer is served without
 * paying again), and which challenge nonces were already used (so a proof is good once). The in-memory store here
 * serves one process; several processes behind one domain need one shared store, or a proof used on one process
 * could be used again on another.
 * @module
 */
import type { Payment } from './payment.js';

/**
 * One settled payment, as sign-in remembers it: the scope it bought, the payer, when, and the payment itself (what
 * `getPayment` gives a handler serving a signed-in request).
 * @example
 * ```ts
 * const record: SiwxPaymentRecord = { scope: 'https://api.example.com/data', address: payment.payer, paidAt: Date.now(), payment };
 * ```
 */
export type SiwxPaymentRecord = {
  readonly scope: string;
  readonly address: string;
  /** When the payment settled, ms since the epoch. */
  readonly paidAt: number;
  readonly payment: Payment;
};

/**
 * What using a nonce answered: first use, already used, or the store cannot take more now.
 * @example
 * ```ts
 * const use: SiwxNonceUse = await store.useNonce(nonce, { address, expiresAt });
 * ```
 */
export type SiwxNonceUse = 'fresh' | 'reused' | 'full';

/**
 * The seller's sign-in memory. Give your own for several processes (a database, Redis): `useNonce` must be atomic
 * across them (an insert that fails on a duplicate key, `SET NX`), and `lastPayment` must see every process's
 * `recordPayment`. Entries may be dropped once `expiresAt` (nonces) or the access period (payments) has passed.
 * @example
 * ```ts
 * paymentMiddleware({ …, signInWithX: { origin: 'https://api.example.com', accessMs: 86_400_000, store: myStore } });
 * ```
 */
export type SiwxStore = {
  /** Remembers a settled payment; a later one for the same scope and address replaces it. */
  recordPayment(record: SiwxPaymentRecord): void | Promise<void>;
  /** The latest payment of `address` for `scope`, if any is remembered. */
  lastPayment(
    scope: string,
    address: string,
  ): SiwxPaymentRecord | undefined | Promise<SiwxPaymentRecord | undefined>;
  /** Marks `nonce` used, atomically: `'fresh'` exactly once per nonce. */
  useNonce(
    nonce: string,
    use: { readonly address: string; readonly expiresAt: number },
  ): SiwxNonceUse | Promise<SiwxNonceUse>;
};

/**
 * Bounds of the in-memory store.
 * @example
 * ```ts
 * createMemorySiwxStore({ retainMs: 86_400_000, maxNoncesPerAddress: 20 });
 * ```
 */
export type MemorySiwxStoreOptions = {
  /** How long a payment is kept: the route's access period. */
  readonly retainMs: number;
  /** Payments kept at most; past it the oldest go first. Default 100,000. */
  readonly maxPayments?: number;
  /** Used nonces kept at most (until each expires); past it `useNonce` answers `'full'`. Default 100,000. */
  readonly maxNonces?: number;
  /** Used, unexpired nonces per address; past it that address's `useNonce` answers `'full'`. Default 100. */
  readonly maxNoncesPerAddress?: number;
  /** The clock, ms since the epoch. Default `Date.now`. */
  readonly clock?: () => number;
};

/**
 * The default store: one process's memory, bounded. Payments are kept for `retainMs` (at most `maxPayments`, oldest
 * out first); a used nonce until its challenge expires (at most `maxNonces`, and `maxNoncesPerAddress` per address, so
 * one paying address signing in a loop cannot fill memory).
 * @example
 * ```ts
 * const store = createMemorySiwxStore({ retainMs: 3_600_000 });
 * ```
 */
export function createMemorySiwxStore(options: MemorySiwxStoreOptions): SiwxStore {
  const {
    retainMs,
    maxPayments = 100_000,
    maxNonces = 100_000,
    maxNoncesPerAddress = 100,
    clock = Date.now,
  } = options;
  // Insertion order is age order: a payment is re-inserted when renewed, so the first entries are the oldest.
  const payments = new Map<string, SiwxPaymentRecord>();
  const nonces = new Map<string, { address: string; expiresAt: number }>();
  const perAddress = new Map<string, number>();
  const keyOf = (scope: string, address: string) => `${scope}\n${address}`;

  const dropNonce = (nonce: string, address: string) => {
    nonces.delete(nonce);
    const left = (perAddress.get(address) ?? 1) - 1;
    if (left <= 0) perAddress.delete(address);
    else perAddress.set(address, left);
  };
  // The earliest expiry among kept nonces: a full store is scanned only once something in it has expired, so a
  // caller at its cap does not make every request walk the whole map.
  let earliestExpiry = Number.POSITIVE_INFINITY;
  const pruneNonces = (now: number) => {
    if (now < earliestExpiry) return;
    earliestExpiry = Number.POSITIVE_INFINITY;
    for (const [nonce, use] of nonces) {
      if (use.expiresAt <= now) dropNonce(nonce, use.address);
      else earliestExpiry = Math.min(earliestExpiry, use.expiresAt);
    }
  };
  const prunePayments = (now: number) => {
    for (const [key, record] of payments) {
      if (record.paidAt + retainMs > now && payments.size <= maxPayments) break;
      payments.delete(key);
    }
  };

  return {
    recordPayment(record) {
      const key = keyOf(record.scope, record.address);
      payments.delete(key);
      payments.set(key, record);
      prunePayments(clock());
    },
    lastPayment(scope, address) {
      const record = payments.get(keyOf(scope, address));
      if (record && record.paidAt + retainMs <= clock()) {
        payments.delete(keyOf(scope, address));
        return undefined;
      }
      return record;
    },
    useNonce(nonce, { address, expiresAt }) {
      if (nonces.has(nonce)) return 'reused';
      const now = clock();
      if (nonces.size >= maxNonces || (perAddress.get(address) ?? 0) >= maxNoncesPerAddress) {
        pruneNonces(now);
      }
      if (nonces.size >= maxNonces || (perAddress.get(address) ?? 0) >= maxNoncesPerAddress) {
        return 'full';
      }
      nonces.set(nonce, { address, expiresAt });
      earliestExpiry = Math.min(earliestExpiry, expiresAt);
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
      return 'fresh';
    },
  };
}
