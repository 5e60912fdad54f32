/**
 * The Ledger: what a facilitator must remember so that money moves at most once. It holds settlement claims (one per
 * transaction id and one per (network, payer, nonce)), their states, and the sponsor nonces it hands out. Every
 * method is atomic: implementations over a shared database make the same guarantees across processes.
 * @module
 */
import type { StacksNetworkId } from '../stacks/networks.js';

/**
 * Where a settlement stands.
 * - `claimed`: claimed, not yet handed to the node (a restart must broadcast it);
 * - `broadcast`: the node may hold it (a restart must only track it, never broadcast it again);
 * - `success` / `failed`: final.
 */
export type SettlementState = 'claimed' | 'broadcast' | 'success' | 'failed';

/** A settlement as the ledger keeps it. Amounts and nonces are bigints; times are epoch milliseconds. */
export type SettlementRecord = {
  /** The id of the bytes the client signed. Claims are keyed on it. */
  readonly paymentTxid: string;
  /** The id that goes on chain: after sponsoring, the sponsored transaction's id; otherwise `paymentTxid`. */
  readonly txid: string;
  readonly network: StacksNetworkId;
  readonly payer: string;
  readonly nonce: bigint;
  readonly sponsor?: string;
  readonly sponsorNonce?: bigint;
  readonly amount: bigint;
  /** `'STX'` or `'<contract id>::<asset name>'`. */
  readonly asset: string;
  readonly payTo: string;
  /** The hex to broadcast (sponsored when the facilitator pays the fee), kept so a restart can finish the job. */
  readonly transaction: string;
  readonly state: SettlementState;
  readonly errorReason?: string;
  readonly errorMessage?: string;
  readonly blockHeight?: number;
  readonly createdAt: number;
  readonly updatedAt: number;
};

/** What a new claim carries. */
export type NewSettlement = Omit<SettlementRecord, 'state' | 'createdAt' | 'updatedAt'>;

/** The outcome of a claim: ours, or the settlement that already holds the txid or the (payer, nonce). */
export type ClaimResult =
  | { readonly claimed: true; readonly record: SettlementRecord }
  | {
      readonly claimed: false;
      /** `txid`: the same payment again. `nonce`: another transaction spending the same (payer, nonce). */
      readonly conflict: 'txid' | 'nonce';
      readonly existing: SettlementRecord;
    };

/** Fields a state change may set. */
export type SettlementUpdate = Partial<
  Pick<
    SettlementRecord,
    | 'txid'
    | 'transaction'
    | 'sponsor'
    | 'sponsorNonce'
    | 'errorReason'
    | 'errorMessage'
    | 'blockHeight'
  >
> & { readonly state: SettlementState };

/** A sponsor account on one network. */
export type SponsorAccount = { readonly network: StacksNetworkId; readonly sponsor: string };

/**
 * Storage for settlements and sponsor nonces. Implementations must make each method atomic, across processes when
 * the storage is shared.
 *
 * @example
 * ```ts
 * import { InMemoryLedger } from 'x402-stacks/facilitator';
 * const ledger: Ledger = new InMemoryLedger();
 * const result = await ledger.claim(settlement);
 * if (!result.claimed) return { success: false, errorReason: 'duplicate_settlement', transaction: result.existing.txid };
 * ```
 */
export interface Ledger {
  /** Claims a payment's txid and its (network, payer, nonce) together, or reports which one is taken. */
  claim(settlement: NewSettlement): Promise<ClaimResult>;
  /** A settlement by its payment txid or its on-chain txid. */
  get(txid: string): Promise<SettlementRecord | undefined>;
  /**
   * Moves a settlement to a new state. `from` guards the change: it applies only while the settlement is in one of
   * those states, so two processes cannot both finish or both broadcast it.
   * @param txid The payment txid or the on-chain txid (they differ once a sponsor signed).
   * @returns the updated record, or undefined when the guard did not hold (or the settlement is unknown).
   */
  update(
    txid: string,
    update: SettlementUpdate,
    from: readonly SettlementState[],
  ): Promise<SettlementRecord | undefined>;
  /** Drops a claim that provably never reached the node, so the same payment may be settled again. Either txid. */
  release(txid: string): Promise<void>;
  /**
   * Frees the (network, payer, nonce) of a settlement whose transaction can no longer spend it (refused by the node,
   * or dropped), keeping the txid claimed: the same transaction stays a duplicate, a new one may use the nonce.
   */
  releaseNonce(txid: string): Promise<void>;
  /** Settlements in `claimed` or `broadcast`: what a restarted facilitator must finish. */
  unfinished(): Promise<SettlementRecord[]>;
  /**
   * Hands out the sponsor's next nonce: a released nonce at or above `chainNextNonce` first (lowest first), else the
   * larger of `chainNextNonce` and one past the highest handed out. Never the same nonce twice until released.
   */
  reserveSponsorNonce(account: SponsorAccount, chainNextNonce: bigint): Promise<bigint>;
  /** Returns a nonce whose transaction was refused, so the next reservation fills the gap instead of leaving it. */
  releaseSponsorNonce(account: SponsorAccount, nonce: bigint): Promise<void>;
}
