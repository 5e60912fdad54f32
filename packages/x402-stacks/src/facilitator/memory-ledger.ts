import type {
  ClaimResult,
  Ledger,
  NewSettlement,
  SettlementRecord,
  SettlementState,
  SettlementUpdate,
  SponsorAccount,
} from './ledger.js';

type SponsorNonces = { next: bigint; released: Set<bigint> };

/**
 * A Ledger in memory, for one process: tests, and sellers that settle in-process. Every method runs to completion
 * without awaiting, so each is atomic on Node's single thread. State is lost when the process exits; use the
 * facilitator service's SQLite or PostgreSQL ledger when settlements must survive a restart.
 *
 * @example
 * ```ts
 * import { InMemoryLedger } from 'x402-stacks/facilitator';
 * const ledger = new InMemoryLedger({ now: () => Date.now() });
 * ```
 */
export class InMemoryLedger implements Ledger {
  readonly #byPaymentTxid = new Map<string, SettlementRecord>();
  /** On-chain txid → payment txid, for settlements whose id changed when sponsored. */
  readonly #byChainTxid = new Map<string, string>();
  /** `<network>|<payer>|<nonce>` → payment txid. */
  readonly #byNonce = new Map<string, string>();
  readonly #sponsorNonces = new Map<string, SponsorNonces>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async claim(settlement: NewSettlement): Promise<ClaimResult> {
    const paymentTxid = normalize(settlement.paymentTxid);
    const txid = normalize(settlement.txid);
    const existing = this.#find(paymentTxid) ?? this.#find(txid);
    if (existing) return { claimed: false, conflict: 'txid', existing };
    const nonceKey = nonceKeyOf(settlement);
    const holder = this.#byNonce.get(nonceKey);
    if (holder)
      return { claimed: false, conflict: 'nonce', existing: this.#byPaymentTxid.get(holder)! };
    const now = this.#now();
    const record: SettlementRecord = Object.freeze({
      ...settlement,
      paymentTxid,
      txid,
      state: 'claimed',
      createdAt: now,
      updatedAt: now,
    });
    this.#byPaymentTxid.set(record.paymentTxid, record);
    this.#byChainTxid.set(record.txid, record.paymentTxid);
    this.#byNonce.set(nonceKey, record.paymentTxid);
    return { claimed: true, record };
  }

  async get(txid: string): Promise<SettlementRecord | undefined> {
    return this.#find(txid);
  }

  async update(
    paymentTxid: string,
    update: SettlementUpdate,
    from: readonly SettlementState[],
  ): Promise<SettlementRecord | undefined> {
    const current = this.#find(paymentTxid);
    if (!current || !from.includes(current.state)) return undefined;
    const next: SettlementRecord = Object.freeze({
      ...current,
      ...update,
      ...(update.txid === undefined ? {} : { txid: normalize(update.txid) }),
      updatedAt: this.#now(),
    });
    this.#byPaymentTxid.set(current.paymentTxid, next);
    if (next.txid !== current.txid) {
      this.#byChainTxid.delete(current.txid);
      this.#byChainTxid.set(next.txid, current.paymentTxid);
    }
    return next;
  }

  async release(paymentTxid: string): Promise<void> {
    const record = this.#find(paymentTxid);
    if (!record) return;
    this.#byPaymentTxid.delete(record.paymentTxid);
    this.#byChainTxid.delete(record.txid);
    this.#byNonce.delete(nonceKeyOf(record));
  }

  async releaseNonce(txid: string): Promise<void> {
    const record = this.#find(txid);
    if (!record) return;
    const key = nonceKeyOf(record);
    if (this.#byNonce.get(key) === record.paymentTxid) this.#byNonce.delete(key);
  }

  async unfinished(): Promise<SettlementRecord[]> {
    return [...this.#byPaymentTxid.values()].filter(
      (record) => record.state === 'claimed' || record.state === 'broadcast',
    );
  }

  async reserveSponsorNonce(account: SponsorAccount, chainNextNonce: bigint): Promise<bigint> {
    const nonces = this.#sponsor(account);
    // Released nonces below the chain's next are spent by something else by now; forget them.
    for (const nonce of nonces.released) if (nonce < chainNextNonce) nonces.released.delete(nonce);
    if (nonces.released.size > 0) {
      const lowest = [...nonces.released].reduce((a, b) => (b < a ? b : a));
      nonces.released.delete(lowest);
      return lowest;
    }
    const nonce = nonces.next > chainNextNonce ? nonces.next : chainNextNonce;
    nonces.next = nonce + 1n;
    return nonce;
  }

  async releaseSponsorNonce(account: SponsorAccount, nonce: bigint): Promise<void> {
    const nonces = this.#sponsor(account);
    if (nonce >= nonces.next) return;
    if (nonce === nonces.next - 1n) nonces.next = nonce;
    else nonces.released.add(nonce);
  }

  #find(txid: string): SettlementRecord | undefined {
    const key = normalize(txid);
    return (
      this.#byPaymentTxid.get(key) ?? this.#byPaymentTxid.get(this.#byChainTxid.get(key) ?? '')
    );
  }

  #sponsor(account: SponsorAccount): SponsorNonces {
    const key = `${account.network}|${account.sponsor}`;
    let nonces = this.#sponsorNonces.get(key);
    if (!nonces) {
      nonces = { next: 0n, released: new Set() };
      this.#sponsorNonces.set(key, nonces);
    }
    return nonces;
  }
}

function nonceKeyOf(settlement: Pick<SettlementRecord, 'network' | 'payer' | 'nonce'>): string {
  return `${settlement.network}|${settlement.payer}|${settlement.nonce}`;
}

function normalize(txid: string): string {
  return (txid.startsWith('0x') ? txid.slice(2) : txid).toLowerCase();
}
